"""Where a bank-file distribution pays each holder: the register computed at the record date (on a real anvil)
says which holders have bank details on file and which do not, the preview shows each holder's account, and the
payment runs keep the status true as holders add details."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from distributions.models import DestinationStatus, Distribution, DistributionLine, DistributionState, LinePaymentState
from distributions.services.bank_file import bank_payment_run_create
from distributions.services.declaring import distribution_declare
from distributions.services.register import distribution_register_compute
from distributions.tests.bank_support import bank_details, paying_account
from distributions.tests.support import declaration, payable_today, w9
from registry.tests.conftest import Closed
from tokens.selectors import chain_head_time
from tokens.tests.support import Chain, chain_indexed, drain

pytestmark = [pytest.mark.chain, pytest.mark.django_db]


def _computed(closed: Closed, cast) -> Distribution:
    """A bank-file dividend on the closed offering (Alice 200 units, Bob 300), its register computed."""
    w9(closed.alice)
    record_at = max(timezone.now(), chain_head_time()) + dt.timedelta(minutes=10)
    distribution = distribution_declare(
        issuer=cast.issuer,
        offering=closed.offering,
        actor=cast.admin,
        data=declaration(record_at=record_at, payment_method="bank_file", **payable_today()),
    )
    drain()
    chain = Chain(rpc_url=closed.rpc_url)
    chain.rpc("evm_setNextBlockTimestamp", [int(record_at.timestamp()) + 1])
    chain.rpc("evm_mine")
    drain()
    chain_indexed(closed.rpc_url)
    return distribution_register_compute(distribution=distribution, actor=cast.admin)


def _status(distribution: Distribution, investor) -> str:
    return DistributionLine.objects.get(distribution=distribution, investor=investor).destination_status


def test_the_preview_register_shows_the_bank_account_of_holders_who_have_one_and_flags_the_others(
    closed: Closed, cast
) -> None:
    account = bank_details(closed.alice, n=0)  # Alice gave her IBAN; Bob gave nothing
    distribution = _computed(closed, cast)

    assert distribution.state == DistributionState.DRAFT
    assert _status(distribution, closed.alice) == DestinationStatus.BANK_ACCOUNT
    assert _status(distribution, closed.bob) == DestinationStatus.BANK_MISSING

    client = Client()
    client.force_login(cast.admin)
    page = client.get(reverse("distribution_detail", args=[cast.issuer.slug, distribution.public_id])).content.decode()
    register = page.split('id="register"')[1].split("</table>")[0]
    rows = {row.split("</td>")[0].split("<td>")[-1]: row for row in register.split("<tr>")[2:]}
    alice_row = next(row for name, row in rows.items() if str(closed.alice) in name)
    bob_row = next(row for name, row in rows.items() if str(closed.bob) in name)
    assert f"Bank account: {account}" in alice_row and "No bank details" not in alice_row
    assert "No bank details on file" in bob_row
    # One holder, not both, is counted as waiting for details.
    assert "1 holder has no bank details on file yet" in page


def test_a_payment_run_holds_a_holder_without_details_and_the_next_one_pays_them_once_they_give_some(
    closed: Closed, cast
) -> None:
    from core.approvals import approval_approve
    from distributions.services.approval import distribution_propose
    from distributions.tests.support import second_admin

    bank_details(closed.alice, n=0)
    distribution = _computed(closed, cast)
    outcome = distribution_propose(distribution=distribution, actor=cast.admin)
    assert outcome.request is not None
    approval_approve(request=outcome.request, actor=second_admin(cast.issuer))
    paying_account(cast.issuer, cast.admin)

    first = bank_payment_run_create(distribution=distribution, actor=cast.admin, today=distribution.payment_date)
    assert first.run is not None and first.run.line_count == 1 and first.held == 1
    bob = DistributionLine.objects.get(distribution=distribution, investor=closed.bob)
    assert (bob.payment_state, bob.destination_status) == (LinePaymentState.HELD, DestinationStatus.BANK_MISSING)

    bank_details(closed.bob, n=1)
    second = bank_payment_run_create(distribution=distribution, actor=cast.admin, today=distribution.payment_date)
    assert second.run is not None and second.run.line_count == 1
    bob.refresh_from_db()
    assert (bob.payment_state, bob.destination_status) == (LinePaymentState.SENDING, DestinationStatus.BANK_ACCOUNT)

"""A dealing day paid by bank file on a real anvil: the burned lines go out in a pain.001 file the schema accepts,
a holder without bank details is held until they add them, the bank's confirmation marks each line paid once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from core.approvals import approval_approve
from core.errors import ApplicationError
from core.fields import decrypt_bytes
from distributions.iso20022 import pain001_read, pain001_validate
from distributions.models import LinePaymentState
from distributions.tests.bank_support import bank_details, paying_account
from distributions.tests.support import second_admin
from redemptions.models import DealingDay, DealingState, RedemptionBankEntry, RedemptionRequest, RequestState
from redemptions.services.approval import dealing_day_propose
from redemptions.services.bank import redemption_bank_confirmation_import, redemption_bank_run_create
from redemptions.services.dealing import dealing_day_nav_enter, dealing_day_price
from redemptions.services.settling import dealing_day_settle
from redemptions.tests.support import requested, settled_on_chain, terms_set
from registry.tests.conftest import Closed
from tokens.tests.support import WALLETS, token_balance

pytestmark = [pytest.mark.chain]


def _csv(*rows: tuple[str, str]) -> SimpleUploadedFile:
    body = "end_to_end_id,status,reason_code,reason,bank_reference\n" + "".join(
        f"{e2e},{status},,,BANK-{n}\n" for n, (e2e, status) in enumerate(rows)
    )
    return SimpleUploadedFile("confirmation.csv", body.encode(), "text/csv")


@pytest.mark.django_db
def test_burned_lines_go_out_in_a_payment_file_and_the_banks_confirmation_pays_each_once(closed: Closed, cast) -> None:
    terms_set(closed.offering, cast.admin, payout_method="bank_file")
    paying_account(cast.issuer, cast.admin)
    bank_details(closed.alice, aba=True)
    alice = requested(closed.offering, closed.alice, WALLETS[0], 150)
    bob = requested(closed.offering, closed.bob, WALLETS[2], 100)  # no bank details yet
    settled_on_chain(closed)
    DealingDay.objects.filter(pk=alice.dealing_day_id).update(cutoff_at=timezone.now() - dt.timedelta(seconds=1))
    day = DealingDay.objects.get(pk=alice.dealing_day_id)
    dealing_day_nav_enter(day=day, actor=cast.admin, nav="1.02345678", source="NAV statement")
    day = dealing_day_price(day_id=day.pk)
    outcome = dealing_day_propose(day=day, actor=cast.admin)  # no treasury needed to pay by bank
    assert outcome.request is not None
    approval_approve(request=outcome.request, actor=second_admin(cast.issuer))
    for _ in range(6):
        dealing_day_settle(day_id=day.pk)
        settled_on_chain(closed)
    assert {r.state for r in RedemptionRequest.objects.all()} == {RequestState.BURNED}
    assert token_balance(closed.rpc_url, closed.token, WALLETS[0]) == 50

    first = redemption_bank_run_create(day=day, actor=cast.admin)
    assert first.run is not None and first.held == 1 and first.run.line_count == 1
    assert first.run.total_minor == 153_13
    with first.run.xml_file.open("rb") as handle:
        xml = decrypt_bytes(handle.read())
    pain001_validate(xml)
    (transfer,) = pain001_read(xml).transfers
    assert (transfer.amount_minor, transfer.currency) == (153_13, "USD")
    bob.refresh_from_db()
    assert bob.payment_state == LinePaymentState.HELD and "No bank details" in bob.payment_failure
    again = redemption_bank_run_create(day=day, actor=cast.admin)
    assert again.run is None  # Alice's line is in a live run; Bob is still held

    bank_details(closed.bob, n=1, aba=True)
    second = redemption_bank_run_create(day=day, actor=cast.admin)
    assert second.run is not None and second.run.line_count == 1 and second.run.total_minor == 102_08

    e2e = {e.request_id: e.end_to_end_id for e in RedemptionBankEntry.objects.all()}
    with pytest.raises(ApplicationError, match="not in this dealing day's runs"):
        redemption_bank_confirmation_import(day=day, upload=_csv(("NOT-OURS-01", "paid")), actor=cast.admin)
    assert redemption_bank_confirmation_import(day=day, upload=_csv((e2e[alice.pk], "paid")), actor=cast.admin) == (
        1,
        0,
    )
    # The same answer again pays nothing twice.
    assert redemption_bank_confirmation_import(day=day, upload=_csv((e2e[alice.pk], "paid")), actor=cast.admin) == (
        0,
        0,
    )
    day.refresh_from_db()
    assert day.state == DealingState.SETTLING
    redemption_bank_confirmation_import(day=day, upload=_csv((e2e[bob.pk], "paid")), actor=cast.admin)
    day.refresh_from_db()
    assert day.state == DealingState.SETTLED
    alice.refresh_from_db()
    assert alice.state == RequestState.PAID and alice.payment_reference == "BANK-0"

"""The issuer admins' distribution pages: declaring with clear errors, who may open them, the register
with its totals in a bounded number of queries, and four eyes on approval."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.models import ApprovalRequest, ApprovalState, AuditEvent
from distributions.models import (
    DestinationStatus,
    Distribution,
    DistributionLine,
    DistributionState,
    WithholdingReason,
)
from distributions.tests.support import second_admin
from investors.tests.support import verified_investor
from offerings.models import Offering
from offerings.tests.support import offering_draft
from tokens.models import ChainTransaction, ContractDeployment, ContractKind

pytestmark = pytest.mark.django_db


@pytest.fixture
def offering(cast) -> Offering:
    """An offering whose token is on the chain (recorded as the pipeline records a deployment)."""
    offering = offering_draft(cast.issuer, cast.admin)
    ContractDeployment.objects.create(
        chain_id=settings.CHAIN_ID,
        kind=ContractKind.SECURITY_TOKEN,
        owner_ref=offering.owner_ref,
        name=offering.token_name,
        address="0x" + "ab" * 20,
    )
    return offering


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _form(**overrides: Any) -> dict[str, str]:
    record = timezone.localdate() + dt.timedelta(days=7)
    values = {
        "kind": "dividend",
        "amount_basis": "total",
        "amount": "250,000.00",
        "currency": "USD",
        "record_date": record.isoformat(),
        "payment_date": (record + dt.timedelta(days=14)).isoformat(),
        "payment_method": "bank_file",
        "excluded_wallets": "",
        "reinvestment_price": "",
    }
    values.update(overrides)
    return values


def _declare_url(cast, offering: Offering) -> str:
    return reverse("distribution_declare", args=[cast.issuer.slug, offering.public_id])


def test_an_admin_declares_a_dividend_and_its_record_date_is_scheduled_on_the_token(cast, offering) -> None:
    response = _client(cast.admin).post(_declare_url(cast, offering), _form(excluded_wallets="0x" + "cd" * 20))
    distribution = Distribution.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("distribution_detail", args=[cast.issuer.slug, distribution.public_id])
    assert (distribution.amount_minor, distribution.state) == (250_000_00, DistributionState.DRAFT)
    assert distribution.record_at == timezone.make_aware(
        dt.datetime.combine(distribution.record_date, dt.time(23, 59, 59))
    )
    assert [wallet.lower() for wallet in distribution.excluded_wallets] == ["0x" + "cd" * 20]
    tx = distribution.record_transaction
    assert tx is not None
    assert tx.idempotency_key.endswith(":record-date") and "Record date" in tx.purpose
    assert AuditEvent.objects.filter(action="distribution.declared", object_id=str(distribution.pk)).exists()
    page = _client(cast.admin).get(response["Location"])
    assert page.status_code == 200
    assert b"computed once the record date has passed" in page.content


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"payment_date": "2020-01-01"}, "The payment date cannot be before the record date."),
        ({"amount": "0"}, "The amount must be above zero."),
        ({"amount": "-5"}, "The amount cannot be negative."),
        ({"amount": "1e9"}, "Enter the amount as a number"),
        ({"amount": "99999999999999999999"}, "The amount is too large."),
        ({"amount": "12.345"}, "more decimal places than USD allows"),
        ({"amount": "10,000,000,000,000.00"}, "The amount must be at most 9,999,999,999,999.99 USD"),
        ({"record_date": "2020-01-01", "payment_date": "2020-02-01"}, "The record date must be in the future"),
        ({"payment_method": "stablecoin", "currency": "EUR"}, "The stablecoin pays USD"),
        ({"reinvestment_price": "10.00", "currency": "GBP"}, "Reinvestment buys tokens priced in USD"),
        ({"excluded_wallets": "0xnot-a-wallet"}, "is not a wallet address"),
    ],
)
def test_a_bad_declaration_is_refused_with_a_clear_error_and_nothing_is_declared(
    cast, offering, overrides: dict[str, str], message: str
) -> None:
    response = _client(cast.admin).post(_declare_url(cast, offering), _form(**overrides))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Distribution.objects.exists()
    assert not ChainTransaction.objects.exists()


def test_a_second_record_date_while_one_is_ahead_is_refused(cast, offering) -> None:
    client = _client(cast.admin)
    assert client.post(_declare_url(cast, offering), _form()).status_code == 302
    response = client.post(_declare_url(cast, offering), _form(kind="interest"))
    assert "takes one record date at a time" in response.content.decode()
    assert Distribution.objects.count() == 1


def test_a_transfer_agent_or_compliance_officer_cannot_declare_and_another_issuers_admin_sees_nothing(
    cast, offering
) -> None:
    for user in (cast.agent, cast.compliance):
        assert _client(user).get(_declare_url(cast, offering)).status_code == 403
        assert _client(user).post(_declare_url(cast, offering), _form()).status_code == 403
    assert not Distribution.objects.exists()
    _client(cast.admin).post(_declare_url(cast, offering), _form())
    distribution = Distribution.objects.get()
    stranger = _client(cast.other_admin)
    assert (
        stranger.get(reverse("distribution_detail", args=[cast.issuer.slug, distribution.public_id])).status_code == 403
    )
    # Through their own issuer the distribution does not exist.
    own = cast.other_issuer.slug
    assert stranger.get(reverse("distribution_detail", args=[own, distribution.public_id])).status_code == 404
    assert stranger.post(reverse("distribution_propose", args=[own, distribution.public_id])).status_code == 404
    assert stranger.get(reverse("distribution_list", args=[own, offering.public_id])).status_code == 404


def _computed(cast, offering: Offering, *, holders: int) -> Distribution:
    """A declared dividend whose register is written as the computation writes it (no chain here)."""
    _client(cast.admin).post(_declare_url(cast, offering), _form())
    distribution = Distribution.objects.get()
    lines = []
    for n in range(holders):
        investor = verified_investor(country="US")
        lines.append(
            DistributionLine(
                distribution=distribution,
                line_index=n,
                investor=investor,
                balance_at_record=10,
                gross_minor=100_00,
                withholding_rate_bps=2400,
                withholding_reason=WithholdingReason.US_BACKUP,
                withheld_minor=24_00,
                net_minor=76_00,
                cash_minor=76_00,
                destination_status=DestinationStatus.BANK_MISSING,
                idempotency_key=f"test:{distribution.pk}:{n}",
            )
        )
    DistributionLine.objects.bulk_create(lines)
    Distribution.objects.filter(pk=distribution.pk).update(
        register_computed_at=timezone.now(),
        holders=holders,
        eligible_units=10 * holders,
        total_gross_minor=100_00 * holders,
        total_withheld_minor=24_00 * holders,
        total_net_minor=76_00 * holders,
    )
    distribution.refresh_from_db()
    return distribution


def test_the_preview_register_shows_totals_and_tax_to_remit_in_a_bounded_number_of_queries(cast, offering) -> None:
    distribution = _computed(cast, offering, holders=3)
    url = reverse("distribution_detail", args=[cast.issuer.slug, distribution.public_id])
    client = _client(cast.admin)
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        page = client.get(url)
    html = page.content.decode()
    assert 'Tax withheld to remit: <span id="withheld-to-remit">72.00 USD</span>' in html
    assert "Backup withholding: US holder without a certified W-9" in html
    assert "No bank details on file" in html
    more = DistributionLine.objects.filter(distribution=distribution).count()
    for n in range(60):
        investor = verified_investor(country="US")
        DistributionLine.objects.create(
            distribution=distribution,
            line_index=more + n,
            investor=investor,
            balance_at_record=1,
            gross_minor=0,
            withholding_rate_bps=0,
            withholding_reason=WithholdingReason.US_W9,
            withheld_minor=0,
            net_minor=0,
            cash_minor=0,
            destination_status=DestinationStatus.BANK_MISSING,
            idempotency_key=f"more:{n}",
        )
    with CaptureQueriesContext(connection) as many:
        page = client.get(url)
    assert more == 3 and page.status_code == 200
    assert len(many.captured_queries) == len(few.captured_queries)
    assert "Page 1 of 2" in page.content.decode()


def test_the_declarer_cannot_approve_a_second_admin_approves_and_a_rejection_sends_it_back_to_draft(
    cast, offering
) -> None:
    distribution = _computed(cast, offering, holders=2)
    other = second_admin(cast.issuer)
    decide = reverse("distribution_decide", args=[cast.issuer.slug, distribution.public_id])
    propose = reverse("distribution_propose", args=[cast.issuer.slug, distribution.public_id])
    _client(cast.admin).post(propose)
    distribution.refresh_from_db()
    assert distribution.state == DistributionState.PROPOSED

    declarer = _client(cast.admin)
    page = declarer.get(reverse("distribution_detail", args=[cast.issuer.slug, distribution.public_id]))
    assert "another admin of Harbor Street Capital approves it" in page.content.decode()
    response = declarer.post(decide, {"decision": "approve"}, follow=True)
    assert "another admin of the issuer must approve it" in response.content.decode()
    distribution.refresh_from_db()
    assert distribution.state == DistributionState.PROPOSED

    _client(other).post(decide, {"decision": "reject", "note": "Record date should be the 30th"})
    distribution.refresh_from_db()
    assert distribution.state == DistributionState.DRAFT
    assert ApprovalRequest.objects.get().state == ApprovalState.REJECTED

    # Asked again by the second admin: neither they (who asked) nor the declarer may approve it.
    _client(other).post(propose)
    response = _client(other).post(decide, {"decision": "approve"}, follow=True)
    assert "another admin of the issuer must approve it" in response.content.decode()
    third = second_admin(cast.issuer, email="third@harbor.example")
    _client(third).post(decide, {"decision": "approve"})
    distribution.refresh_from_db()
    assert distribution.state == DistributionState.APPROVED and distribution.approved_by == third
    assert AuditEvent.objects.filter(action="distribution.approved", object_id=str(distribution.pk)).exists()
    # Approving twice does nothing more.
    response = _client(third).post(decide, {"decision": "approve"}, follow=True)
    assert "Nothing of this distribution waits for approval." in response.content.decode()


def test_the_list_shows_each_distribution_of_the_offering(cast, offering) -> None:
    client = _client(cast.admin)
    empty = client.get(reverse("distribution_list", args=[cast.issuer.slug, offering.public_id]))
    assert "No distribution declared yet" in empty.content.decode()
    client.post(_declare_url(cast, offering), _form())
    page = client.get(reverse("distribution_list", args=[cast.issuer.slug, offering.public_id]))
    assert "Dividend" in page.content.decode() and "after the record date" in page.content.decode()


def test_a_paying_distribution_shows_paid_pending_held_and_failed_with_reasons_and_a_retry_that_is_audited(
    cast, offering
) -> None:
    distribution = _computed(cast, offering, holders=4)
    Distribution.objects.filter(pk=distribution.pk).update(state=DistributionState.PAYING, payment_method="stablecoin")
    states = ["paid", "sending", "held", "failed"]
    for line, state in zip(DistributionLine.objects.filter(distribution=distribution).order_by("line_index"), states):
        line.payment_state = state
        line.failure_reason = "The treasury held 0 units of the stablecoin, short of the 760000 this batch needed."
        if state == "paid":
            line.payment_reference = "0x" + "ab" * 32
        line.save()
    detail = reverse("distribution_detail", args=[cast.issuer.slug, distribution.public_id])
    client = _client(cast.admin)
    html = client.get(detail).content.decode()
    assert 'data-poll-url="' in html and "distribution-payment.js" in html
    assert 'id="paid-count">1 line · 76.00 USD' in html
    assert 'id="pending-count">1 line · 76.00 USD' in html
    assert 'id="held-count">1 line · 76.00 USD' in html
    assert 'id="failed-count">1 line · 76.00 USD' in html
    assert "pct-25" in html and "short of the 760000 this batch needed" in html
    assert "Held: no wallet on file" in html and "Retry the 1 failed line" in html
    fragment = client.get(reverse("distribution_payment_progress", args=[cast.issuer.slug, distribution.public_id]))
    assert fragment.status_code == 200 and 'id="payment-progress"' in fragment.content.decode()
    assert "<html" not in fragment.content.decode()

    # A transfer agent cannot retry; an admin can, without a second admin, and it is audited.
    retry = reverse("distribution_retry", args=[cast.issuer.slug, distribution.public_id])
    assert _client(cast.agent).post(retry).status_code == 403
    response = client.post(retry, follow=True)
    assert "The failed lines are being sent again" in response.content.decode()
    assert not DistributionLine.objects.filter(distribution=distribution, payment_state="failed").exists()
    assert AuditEvent.objects.filter(action="distribution.retry_requested", object_id=str(distribution.pk)).exists()
    again = client.post(retry, follow=True)
    assert "No line of this distribution has failed." in again.content.decode()


def test_a_paid_distribution_stops_refreshing_and_shows_each_lines_transaction(cast, offering) -> None:
    distribution = _computed(cast, offering, holders=2)
    Distribution.objects.filter(pk=distribution.pk).update(state=DistributionState.PAID, payment_method="stablecoin")
    DistributionLine.objects.filter(distribution=distribution).update(
        payment_state="paid", payment_reference="0x" + "cd" * 32, paid_at=timezone.now()
    )
    html = _client(cast.admin).get(reverse("distribution_detail", args=[cast.issuer.slug, distribution.public_id]))
    text = html.content.decode()
    assert "data-poll-url" not in text and "distribution-payment.js" not in text
    assert "Paid: every line is paid, each once" in text and "pct-100" in text
    assert "0xcdcdcdcdcdc" in text

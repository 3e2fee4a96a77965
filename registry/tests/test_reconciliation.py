"""Reconciliation on a real anvil: control book issued, on-chain supply and ledger total agree after a
closing; a mint made with the agent key outside the portal is a record difference with its transaction
and age, aged after 30 calendar days, shown on the issuer's dashboard, and resolved once recorded."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from core.approvals import approval_approve
from core.errors import ApplicationError
from core.models import AuditEvent
from registry.models import DifferenceKind, Reconciliation, RecordDifference
from registry.selectors.control_book import differences_open
from registry.services.control_book import authorization_propose
from registry.services.reconciliation import reconcile, reconcile_all
from registry.tasks import reconcile_task
from registry.tests.conftest import Closed
from registry.tests.support import authorized, resolution, second_admin
from tokens.tests.support import WALLETS, chain_indexed, contract_send, drain

pytestmark = [pytest.mark.chain, pytest.mark.django_db]


def _resolution(actor, closed: Closed, quantity: int):
    return authorized(closed.offering, quantity, actor=actor)


def _agent_mint_outside_the_portal(closed: Closed, wallet: str, amount: int) -> str:
    """The agent key signs a mint itself: no outbox row, no control book entry."""
    agent = settings.ANVIL_DEV_ADDRESS
    receipt = contract_send(closed.rpc_url, agent, closed.token.address, "SecurityToken", "mint", wallet, amount)
    assert receipt["status"] == 1
    return "0x" + bytes(receipt["transactionHash"]).hex()


def test_after_a_closing_issued_supply_and_ledger_agree(cast, closed: Closed) -> None:
    _resolution(cast.admin, closed, 1_000)
    chain_indexed(closed.rpc_url)
    run = reconcile(offering=closed.offering)
    assert run is not None
    assert (run.authorized, run.issued, run.on_chain_supply, run.ledger_total) == (1_000, 500, 500, 500)
    assert run.balanced and run.differences_open == 0
    assert not RecordDifference.objects.exists()
    assert AuditEvent.objects.filter(action="registry.reconciled").count() == 1
    assert AuditEvent.objects.filter(action="registry.issuance_entered").count() == 1  # one batch of two holders


def test_a_mint_with_the_agent_key_outside_the_portal_is_a_record_difference(cast, closed: Closed) -> None:
    _resolution(cast.admin, closed, 1_000)
    planted = _agent_mint_outside_the_portal(closed, WALLETS[2], 40)
    chain_indexed(closed.rpc_url)
    run = reconcile(offering=closed.offering)
    assert run is not None
    assert (run.issued, run.on_chain_supply, run.ledger_total) == (500, 540, 540)
    (diff,) = RecordDifference.objects.filter(resolved_at__isnull=True)
    assert diff.kind == DifferenceKind.UNRECORDED_ISSUANCE
    assert diff.transaction_hash == planted and (diff.expected, diff.actual) == (0, 40)
    assert AuditEvent.objects.filter(action="registry.difference_found", object_id=str(diff.pk)).exists()

    # Its age counts from the block that made it; past 30 calendar days it is aged.
    rows = differences_open(offering=closed.offering)
    assert rows[0].age_days == 0 and not rows[0].aged
    day_30 = differences_open(offering=closed.offering, now=diff.arose_at + dt.timedelta(days=30))
    assert day_30[0].age_days == 30 and not day_30[0].aged
    later = differences_open(offering=closed.offering, now=diff.arose_at + dt.timedelta(days=30, hours=1))
    assert later[0].aged

    # A second run finds the same difference: it keeps its age and is not recorded twice.
    reconcile(offering=closed.offering)
    assert RecordDifference.objects.get().first_found_at == diff.first_found_at

    # The issuer's dashboard shows it with the transaction that caused it.
    client = Client()
    client.force_login(cast.admin)
    page = client.get(f"/issuers/{cast.issuer.slug}/offerings/{closed.offering.public_id}/dashboard/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "On-chain issuance or cancellation not in the control book" in html
    assert planted[:15] in html and 'id="control-supply">540<' in html


def test_issued_beyond_the_authorized_quantity_is_a_difference(cast, closed: Closed) -> None:
    _resolution(cast.admin, closed, 400)
    chain_indexed(closed.rpc_url)
    reconcile(offering=closed.offering)
    (diff,) = RecordDifference.objects.all()
    assert diff.kind == DifferenceKind.OVER_AUTHORIZED and (diff.expected, diff.actual) == (400, 500)
    # A raise proposed but not yet approved by a second admin changes nothing.
    pending = authorization_propose(
        offering=closed.offering,
        authorized_quantity=600,
        description="Board resolution: more Class A units",
        document=resolution(),
        authorized_on=dt.date(2026, 11, 20),
        actor=cast.admin,
    )
    assert pending.pending and pending.request is not None
    reconcile(offering=closed.offering)
    diff.refresh_from_db()
    latest = Reconciliation.objects.order_by("-pk").first()
    assert diff.resolved_at is None and latest is not None and latest.authorized == 400
    # Approved, the new authorization raises the authorized quantity; the next run resolves the difference.
    approval_approve(request=pending.request, actor=second_admin(cast.issuer))
    reconcile(offering=closed.offering)
    diff.refresh_from_db()
    assert diff.resolved_at is not None
    assert AuditEvent.objects.filter(action="registry.authorization_recorded").count() == 2
    assert AuditEvent.objects.filter(action="registry.authorization_effective").count() == 2


def test_an_issuance_the_ledger_has_not_posted_is_a_difference_until_it_is(closed: Closed) -> None:
    # The closing mints are confirmed but the indexer has not read them yet.
    run = reconcile(offering=closed.offering)
    assert run is not None and run.issued == 500 and run.ledger_total == 0
    assert set(RecordDifference.objects.values_list("kind", flat=True)) == {DifferenceKind.UNPOSTED_ISSUANCE}
    chain_indexed(closed.rpc_url)
    assert reconcile_all() == 1
    assert not RecordDifference.objects.filter(resolved_at__isnull=True).exists()
    assert Reconciliation.objects.count() == 2


def test_the_scheduled_task_reconciles_every_token(closed: Closed) -> None:
    drain()
    chain_indexed(closed.rpc_url)
    assert reconcile_task.apply().get() == 1
    assert Reconciliation.objects.get().balanced


def test_an_authorization_needs_a_document_and_a_description(cast, closed: Closed) -> None:
    with pytest.raises(ApplicationError):
        authorization_propose(
            offering=closed.offering,
            authorized_quantity=10,
            description=" ",
            document=SimpleUploadedFile("r.pdf", b"x"),
            authorized_on=timezone.now().date(),
            actor=cast.admin,
        )


def test_the_monthly_report_values_aged_differences_at_the_offerings_price(cast, closed: Closed) -> None:
    """17Ad-11 on a real token: the issue's capitalization is its ledger total at the month's end × price."""
    from registry.services.difference_reports import record_difference_report_build

    _resolution(cast.admin, closed, 1_000)
    planted = _agent_mint_outside_the_portal(closed, WALLETS[2], 40)
    chain_indexed(closed.rpc_url)
    reconcile(offering=closed.offering)
    diff = RecordDifference.objects.get(resolved_at__isnull=True)
    month = (diff.arose_at + dt.timedelta(days=40)).date().replace(day=1)
    report, built = record_difference_report_build(
        issuer=cast.issuer, month=month, now=timezone.now() + dt.timedelta(days=80)
    )
    assert built
    (line,) = report.issues.all()
    price = closed.offering.price_minor
    assert (line.units_outstanding, line.capitalization_minor) == (540, 540 * price)
    assert line.aged_units == 40 and line.aged_value_minor == 40 * price
    assert line.differences[0]["transaction_hash"] == planted
    # 40 units at the offering's price are far under $50,000: nothing to file.
    assert not report.must_report

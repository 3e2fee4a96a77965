"""The issuer's backing pages: the rule and a statement entered on the page, approved by a second admin there;
transfer agents read them and change nothing; investors do not open them. The NAV page shows the token's oracle
and where each NAV point comes from."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from backing.models import BackingRule, ReserveStatement, StatementState
from backing.services.nav_oracle import nav_oracle_read
from backing.tests.support import attestation, rule_set, statement_entered
from backing.tests.test_nav import nav_approved
from backing.tests.test_nav_oracle import WEDNESDAY, at, fund, portal_feed, published
from core.approvals import approval_approve
from core.models import ApprovalRequest
from core.tests.files import pdf_bytes
from offerings.tests.support import offering_open
from registry.tests.support import second_admin

pytestmark = pytest.mark.django_db


@pytest.fixture
def offering(cast):
    return offering_open(cast.issuer, cast.admin)


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _url(name: str, offering) -> str:
    return reverse(name, args=[offering.issuer.slug, offering.public_id])


def test_a_token_without_a_backing_rule_says_its_mints_are_unguarded(cast, offering) -> None:
    page = _client(cast.admin).get(_url("backing_overview", offering))
    assert page.status_code == 200
    assert "Unguarded." in page.content.decode() and "not limited by reserves" in page.content.decode()


def test_an_admin_sets_the_rule_enters_a_statement_and_a_second_admin_approves_it(cast, offering) -> None:
    admin = _client(cast.admin)
    saved = admin.post(
        _url("backing_rule_edit", offering),
        {"unit_code": "USD", "unit_scale": "2", "reserve_per_token": "10.00", "staleness_days": "35"},
    )
    assert saved.status_code == 302
    assert not BackingRule.objects.filter(offering=offering).exists()  # proposed: it waits for a second admin
    other = _client(second_admin(cast.issuer))
    pending = other.get(_url("backing_rule_edit", offering)).content.decode()
    assert "A change waits for a second admin" in pending and "10.00 USD per token" in pending
    approval = ApprovalRequest.objects.get(kind="backing.rule_change")
    other.post(reverse("issuer_approval_decide", args=[cast.issuer.slug, approval.pk]), {"decision": "approve"})
    rule = BackingRule.objects.get(offering=offering)
    assert (rule.reserve_per_token_numerator, rule.reserve_per_token_denominator) == (1000, 1)

    today = timezone.localdate().isoformat()
    lines = {"lines-TOTAL_FORMS": "2", "lines-INITIAL_FORMS": "0"}
    lines |= {"lines-0-asset_kind": "cash", "lines-0-custodian": "First Bank", "lines-0-amount": "2,500.00"}
    lines |= {"lines-1-asset_kind": "treasuries", "lines-1-custodian": "Custody Inc", "lines-1-amount": "2500.5"}
    entered = admin.post(
        _url("reserve_statement_new", offering),
        {
            "as_of": today,
            "period_start": today,
            "period_end": today,
            "attestor_name": "Moss & Partners LLP",
            "attestor_kind": "accounting_firm",
            "document": SimpleUploadedFile("nov.pdf", pdf_bytes("nov"), "application/pdf"),
            **lines,
        },
    )
    assert entered.status_code == 302
    statement = ReserveStatement.objects.get(offering=offering)
    assert statement.total_amount == 5_000_50 and statement.state == StatementState.PENDING
    detail = reverse("reserve_statement_detail", args=[cast.issuer.slug, statement.public_id])
    own = admin.get(detail).content.decode()
    assert "another admin of" in own and 'value="approve"' not in own
    assert statement.document_sha256 in own

    assert 'value="approve"' in other.get(detail).content.decode()
    other.post(
        reverse("reserve_statement_decide", args=[cast.issuer.slug, statement.public_id]), {"decision": "approve"}
    )
    statement.refresh_from_db()
    assert statement.state == StatementState.APPROVED
    overview = admin.get(_url("backing_overview", offering)).content.decode()
    assert "5,000.50 USD" in overview and "500 more units may be minted" in overview


def test_a_statement_that_is_not_a_pdf_is_refused_on_the_page_with_the_reason(cast, offering) -> None:
    rule_set(offering, cast.admin)
    today = timezone.localdate().isoformat()
    page = _client(cast.admin).post(
        _url("reserve_statement_new", offering),
        {
            "as_of": today,
            "period_start": today,
            "period_end": today,
            "attestor_name": "Moss LLP",
            "attestor_kind": "auditor",
            "document": SimpleUploadedFile("report.txt", b"not a pdf", "text/plain"),
            "lines-TOTAL_FORMS": "1",
            "lines-INITIAL_FORMS": "0",
            "lines-0-asset_kind": "cash",
            "lines-0-custodian": "First Bank",
            "lines-0-amount": "100",
        },
    )
    assert page.status_code == 400
    assert "is not a PDF" in page.content.decode()
    assert not ReserveStatement.objects.exists()


def test_the_csv_import_page_lists_each_bad_row_and_imports_nothing(cast, offering) -> None:
    rule_set(offering, cast.admin)
    csv = (
        "as_of,period_start,period_end,attestor_name,attestor_kind,asset_type,custodian,amount\n"
        "2026-11-30,2026-11-01,2026-11-30,Moss LLP,auditor,cash,First Bank,-5\n"
    )
    page = _client(cast.admin).post(
        _url("reserve_statement_import", offering),
        {
            "csv_file": SimpleUploadedFile("r.csv", csv.encode(), "text/csv"),
            "document": attestation(),
        },
    )
    assert page.status_code == 400
    body = page.content.decode()
    assert "Nothing was imported" in body and "Row 2:" in body and "cannot be negative" in body
    assert not ReserveStatement.objects.exists()


def test_a_transfer_agent_reads_the_backing_pages_and_changes_nothing(cast, offering) -> None:
    rule_set(offering, cast.admin)
    statement = statement_entered(offering, cast.admin, 1_000_00)
    agent = _client(cast.agent)
    assert agent.get(_url("backing_overview", offering)).status_code == 200
    assert agent.get(_url("reserve_statements", offering)).status_code == 200
    assert (
        agent.get(reverse("reserve_statement_document", args=[cast.issuer.slug, statement.public_id])).status_code
        == 200
    )
    detail = agent.get(reverse("reserve_statement_detail", args=[cast.issuer.slug, statement.public_id]))
    assert detail.status_code == 200 and 'value="approve"' not in detail.content.decode()
    assert agent.get(_url("backing_rule_edit", offering)).status_code == 403
    refused = agent.post(
        reverse("reserve_statement_decide", args=[cast.issuer.slug, statement.public_id]), {"decision": "approve"}
    )
    assert refused.status_code == 403
    statement.refresh_from_db()
    assert statement.state == StatementState.PENDING


def test_an_investor_opens_no_backing_page_of_an_issuer(cast, offering) -> None:
    investor = _client(cast.investor)
    for name in ("backing_overview", "reserve_statements", "backing_profile_edit"):
        assert investor.get(_url(name, offering)).status_code == 403


@pytest.mark.chain
def test_the_nav_page_shows_the_oracle_and_where_each_point_comes_from(cast, chain_settings) -> None:
    offering = fund(cast)
    approver = second_admin(cast.issuer)
    document_point = nav_approved(offering, cast.admin, approver, WEDNESDAY - dt.timedelta(days=1), "100.00000000")
    address = portal_feed(offering)
    published(offering, 100_25000000, at(WEDNESDAY, 18), "nav-1")
    admin = _client(cast.admin)
    edit = reverse("nav_oracle_edit", args=[cast.issuer.slug, offering.public_id])
    overview = reverse("nav_overview", args=[cast.issuer.slug, offering.public_id])

    refused = admin.post(edit, {"address": "0x" + "ab" * 20})
    assert refused.status_code == 400 and "There is no contract at" in refused.content.decode()
    assert admin.post(edit, {"address": address}).status_code == 302
    page = admin.get(overview).content.decode()
    assert 'id="nav-oracle-pending"' in page and "Waiting for a second admin" in page
    request = ApprovalRequest.objects.get(kind="backing.nav_oracle_change")
    approval_approve(request=request, actor=approver)
    assert nav_oracle_read(offering_id=offering.pk) == 1

    page = admin.get(overview).content.decode()
    assert 'id="nav-oracle"' in page and address in page and "Harbor Fund Administration NAV (USD)" in page
    assert "Round 1, read" in page and f"approved by {approver.email}" in page
    points = page[page.index('id="nav-points"') :]
    assert "100.25000000 USD" in points and ", round 1" in points and "read from the oracle" in points
    assert document_point.document_sha256[:16] in points and cast.admin.email in points
    assert '"nav": [10000000000, 10025000000]' in page  # the chart draws both, oldest first
    point = offering.nav_points.get(oracle_round_id="1")
    detail = admin.get(reverse("nav_point_detail", args=[cast.issuer.slug, point.public_id])).content.decode()
    assert 'id="nav-round"' in detail and "Round 1, updated 4 Mar 2026 18:00 UTC" in detail and "In force" in detail
    assert admin.get(reverse("nav_point_document", args=[cast.issuer.slug, point.public_id])).status_code == 404

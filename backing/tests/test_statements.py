"""Reserve statements: four eyes, never edited but superseded, PDF documents with their hash, CSV all or nothing."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from backing.models import ReserveStatement, StatementState
from backing.services.statements import ImportRefused, reserve_statement_import, reserve_statement_propose
from backing.tests.support import attestation, rule_set, statement_approved, statement_entered, statement_input
from core.approvals import approval_approve, approval_reject
from core.errors import ApplicationError, NotPermitted
from core.models import ApprovalRequest
from core.tests.files import pdf_bytes, png_bytes
from offerings.tests.support import offering_open
from registry.tests.support import second_admin

pytestmark = pytest.mark.django_db


def _request(statement: ReserveStatement) -> ApprovalRequest:
    assert statement.approval_request is not None
    return statement.approval_request


@pytest.fixture
def offering(cast):
    offering = offering_open(cast.issuer, cast.admin)
    rule_set(offering, cast.admin)
    return offering


def test_the_admin_who_entered_a_statement_cannot_approve_it(cast, offering) -> None:
    statement = statement_entered(offering, cast.admin, 1_000_00)
    with pytest.raises(NotPermitted):
        approval_approve(request=_request(statement), actor=cast.admin)
    statement.refresh_from_db()
    assert statement.state == StatementState.PENDING and statement.approved_by is None
    # The database refuses it too, whatever the code path.
    statement.state, statement.approved_by = StatementState.APPROVED, cast.admin
    with pytest.raises(IntegrityError), transaction.atomic():
        statement.save(update_fields=["state", "approved_by"])


def test_a_second_admin_approves_and_the_statement_becomes_current(cast, offering) -> None:
    statement = statement_approved(offering, cast.admin, second_admin(cast.issuer), 600_00, 400_00)
    assert statement.state == StatementState.APPROVED
    assert statement.total_amount == 1_000_00
    assert [line.amount for line in statement.lines.all()] == [600_00, 400_00]


def test_a_newer_statement_supersedes_the_current_one_which_keeps_what_it_said(cast, offering) -> None:
    approver = second_admin(cast.issuer)
    today = timezone.localdate()
    first = statement_approved(offering, cast.admin, approver, 1_000_00, as_of=today - dt.timedelta(days=30))
    second = statement_approved(offering, cast.admin, approver, 2_500_00, as_of=today)
    first.refresh_from_db()
    assert first.state == StatementState.SUPERSEDED and first.total_amount == 1_000_00
    assert second.supersedes == first and second.state == StatementState.APPROVED
    assert ReserveStatement.objects.filter(offering=offering, state=StatementState.APPROVED).get() == second


def test_a_statement_is_never_edited_not_even_in_the_database(cast, offering) -> None:
    statement = statement_approved(offering, cast.admin, second_admin(cast.issuer), 1_000_00)
    statement.total_amount = 9_000_00
    with pytest.raises(RuntimeError, match="never edited"):
        statement.save()
    with pytest.raises(Exception, match="never edited"), transaction.atomic():
        ReserveStatement.objects.filter(pk=statement.pk).update(total_amount=9_000_00)
    with pytest.raises(Exception, match="never edited"), transaction.atomic():
        statement.lines.update(amount=1)
    statement.refresh_from_db()
    assert statement.total_amount == 1_000_00


def test_an_older_statement_cannot_supersede_a_newer_one(cast, offering) -> None:
    approver = second_admin(cast.issuer)
    today = timezone.localdate()
    statement_approved(offering, cast.admin, approver, 1_000_00, as_of=today)
    late = statement_entered(offering, cast.admin, 5_000_00, as_of=today - dt.timedelta(days=60))
    with pytest.raises(ApplicationError, match="older statement cannot supersede"):
        approval_approve(request=_request(late), actor=approver)


def test_a_declined_statement_never_counts(cast, offering) -> None:
    statement = statement_entered(offering, cast.admin, 1_000_00)
    approval_reject(request=_request(statement), actor=second_admin(cast.issuer), note="Figures differ")
    statement.refresh_from_db()
    assert statement.state == StatementState.DECLINED


def test_the_document_is_kept_with_its_sha256(cast, offering) -> None:
    content = pdf_bytes("November attestation")
    statement = reserve_statement_propose(
        offering=offering,
        data=statement_input(1_000_00),
        document=SimpleUploadedFile("nov.pdf", content, "application/pdf"),
        actor=cast.admin,
    )
    assert statement.document_sha256 == hashlib.sha256(content).hexdigest()
    assert statement.document.read() == content


def test_a_document_that_is_not_a_pdf_is_refused_with_a_reason(cast, offering) -> None:
    with pytest.raises(ApplicationError, match="is not a PDF"):
        reserve_statement_propose(
            offering=offering,
            data=statement_input(1_000_00),
            document=SimpleUploadedFile("scan.png", png_bytes(), "image/png"),
            actor=cast.admin,
        )
    assert not ReserveStatement.objects.exists()


def test_a_document_too_large_is_refused_with_the_limit(cast, offering, settings) -> None:
    settings.RESERVE_DOCUMENT_MAX_BYTES = 1024 * 1024
    big = SimpleUploadedFile("big.pdf", pdf_bytes("x" * (1024 * 1024 + 10)), "application/pdf")
    with pytest.raises(ApplicationError, match="larger than 1 MB"):
        reserve_statement_propose(offering=offering, data=statement_input(1_000_00), document=big, actor=cast.admin)


HEADER = "as_of,period_start,period_end,attestor_name,attestor_kind,asset_type,custodian,amount\n"


def _csv(*rows: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("reserves.csv", (HEADER + "\n".join(rows) + "\n").encode(), "text/csv")


def test_csv_import_with_bad_rows_imports_nothing_and_names_each_row(cast, offering) -> None:
    rows = (
        "2026-11-30,2026-11-01,2026-11-30,Moss LLP,accounting_firm,cash,First Bank,1250000.00",
        "2026-11-30,2026-11-01,2026-11-30,Moss LLP,accounting_firm,gold coins,Vault Co,10.00",
        "2026-11-30,2026-11-01,2026-11-30,Moss LLP,accounting_firm,treasuries,Custody Inc,12.345",
    )
    with pytest.raises(ImportRefused) as refused:
        reserve_statement_import(offering=offering, csv_file=_csv(*rows), document=attestation(), actor=cast.admin)
    errors = refused.value.extra["errors"]
    assert len(errors) == 2
    assert errors[0].startswith("Row 3:") and "gold coins" in errors[0]
    assert errors[1].startswith("Row 4:") and "more than 2 decimal places" in errors[1]
    assert not ReserveStatement.objects.exists()


def test_csv_import_of_a_good_file_makes_one_statement_waiting_for_approval(cast, offering) -> None:
    as_of = timezone.localdate().isoformat()
    rows = (
        f'{as_of},2026-11-01,{as_of},Moss LLP,Accounting firm,cash,First Bank,"1,250,000.00"',
        f"{as_of},2026-11-01,{as_of},Moss LLP,Accounting firm,Government treasuries,Custody Inc,750000.5",
    )
    statement = reserve_statement_import(
        offering=offering, csv_file=_csv(*rows), document=attestation(), actor=cast.admin
    )
    assert statement.state == StatementState.PENDING and statement.source == "csv"
    assert statement.total_amount == 1_250_000_00 + 750_000_50
    assert [(line.asset_kind, line.amount) for line in statement.lines.all()] == [
        ("cash", 1_250_000_00),
        ("treasuries", 750_000_50),
    ]

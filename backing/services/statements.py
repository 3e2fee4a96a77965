"""Reserve statements: entered by the issuer's staff (on the page or from CSV) with their attestation
document, approved by a second person, never edited. An approved statement becomes the token's current
one and supersedes the one before it, which stays readable with its document.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from backing.models import (
    RESERVE_STATEMENT_APPROVAL_KIND,
    AttestorKind,
    BackingAsset,
    BackingRule,
    ReserveLine,
    ReserveStatement,
    StatementSource,
    StatementState,
)
from backing.quantities import MAX_RESERVE_AMOUNT, QuantityInvalid, amount_parse, amount_text
from backing.services.publication import reserve_statement_published
from backing.transparency import transparency_forget
from core.approvals import ApprovalKind, approval_kind_register, approval_propose
from core.audit import audit_record
from core.errors import ApplicationError, Conflict, NotPermitted
from core.filetypes import PDF, UnreadableFile, file_type_read
from core.models import ApprovalRequest, User
from offerings.models import Offering

MAX_LINES = 200
MAX_CSV_BYTES = 1024 * 1024
CSV_COLUMNS = (
    "as_of",
    "period_start",
    "period_end",
    "attestor_name",
    "attestor_kind",
    "asset_type",
    "custodian",
    "amount",
)


@dataclass(frozen=True)
class LineInput:
    asset_kind: str
    custodian: str
    amount: int


@dataclass(frozen=True)
class StatementInput:
    as_of: dt.date
    period_start: dt.date
    period_end: dt.date
    attestor_name: str
    attestor_kind: str
    lines: Sequence[LineInput]


def _max_document_bytes() -> int:
    return int(getattr(settings, "RESERVE_DOCUMENT_MAX_BYTES", 20 * 1024 * 1024))


def pdf_document_read(document: UploadedFile | None, *, what: str = "the attestation or audit report") -> bytes:
    """The uploaded PDF's bytes, refused with the reason when missing, too large or not a PDF."""
    limit = _max_document_bytes()
    megabytes = limit // (1024 * 1024)
    if not document:
        raise ApplicationError(f"Attach {what} as a PDF.", code="document_required")
    if document.size is not None and document.size > limit:
        raise ApplicationError(
            f"“{document.name}” is larger than {megabytes} MB; upload a PDF of at most {megabytes} MB.",
            code="too_large",
        )
    document.seek(0)
    content = document.read(limit + 1)
    if len(content) > limit:
        raise ApplicationError(
            f"“{document.name}” is larger than {megabytes} MB; upload a PDF of at most {megabytes} MB.",
            code="too_large",
        )
    try:
        kind = file_type_read(content, accepted=(PDF,))
    except UnreadableFile as exc:
        raise ApplicationError(f"“{document.name}” was refused: {exc}.", code="unreadable_document") from exc
    if kind is None:
        raise ApplicationError(f"“{document.name}” is not a PDF. Upload {what} as a PDF.", code="document_type")
    return content


def _rule(offering: Offering) -> BackingRule:
    rule = BackingRule.objects.filter(offering=offering).first()
    if rule is None:
        raise ApplicationError(
            "Set the token's backing rule first: it declares the unit and the decimal places reserves are counted in.",
            code="no_rule",
        )
    return rule


def _validate(data: StatementInput) -> list[LineInput]:
    today = timezone.localdate()
    if data.as_of > today:
        raise ApplicationError("The reserves' date cannot be in the future.", code="as_of_future")
    if data.period_start > data.period_end:
        raise ApplicationError("The period's start comes after its end.", code="period_order")
    if not data.attestor_name.strip():
        raise ApplicationError("Name the attestor (the firm or custodian that signed the report).", code="attestor")
    if data.attestor_kind not in AttestorKind.values:
        raise ApplicationError("Choose what kind of attestor signed the report.", code="attestor_kind")
    lines = list(data.lines)
    if not lines:
        raise ApplicationError("Enter at least one composition line (asset type, custodian, amount).", code="no_lines")
    if len(lines) > MAX_LINES:
        raise ApplicationError(f"A statement has at most {MAX_LINES} lines.", code="too_many_lines")
    for n, line in enumerate(lines, start=1):
        if line.asset_kind not in BackingAsset.values:
            raise ApplicationError(f"Line {n}: choose the asset type from the list.", code="asset_kind")
        if not line.custodian.strip():
            raise ApplicationError(f"Line {n}: name the custodian that holds it.", code="custodian")
        if isinstance(line.amount, bool) or not isinstance(line.amount, int) or line.amount < 0:
            raise ApplicationError(f"Line {n}: the amount must be zero or more.", code="amount")
    if sum(line.amount for line in lines) > MAX_RESERVE_AMOUNT:
        raise ApplicationError("The statement's total is too large.", code="amount")
    return lines


@transaction.atomic
def reserve_statement_propose(
    *,
    offering: Offering,
    data: StatementInput,
    document: UploadedFile | None,
    actor: User,
    source: str = StatementSource.FORM,
) -> ReserveStatement:
    """Enter a statement with its document; it counts only once a second person approves it."""
    rule = _rule(offering)
    lines = _validate(data)
    content = pdf_document_read(document)
    Offering.objects.select_for_update().only("pk").get(pk=offering.pk)
    statement = ReserveStatement(
        offering=offering,
        as_of=data.as_of,
        period_start=data.period_start,
        period_end=data.period_end,
        unit_code=rule.unit_code,
        unit_scale=rule.unit_scale,
        total_amount=sum(line.amount for line in lines),
        attestor_name=data.attestor_name.strip()[:200],
        attestor_kind=data.attestor_kind,
        document_sha256=hashlib.sha256(content).hexdigest(),
        document_name=((document.name if document else "") or "attestation.pdf")[:200],
        document_size=len(content),
        source=source,
        entered_by=actor,
    )
    statement.document.save(f"{offering.public_id}-{uuid.uuid4().hex}.pdf", ContentFile(content), save=False)
    statement.save()
    ReserveLine.objects.bulk_create(
        [
            ReserveLine(
                statement=statement,
                position=n,
                asset_kind=line.asset_kind,
                custodian=line.custodian.strip()[:200],
                amount=line.amount,
            )
            for n, line in enumerate(lines, start=1)
        ]
    )
    audit_record(
        actor=actor,
        action="backing.reserve_statement_entered",
        obj=statement,
        issuer=offering.issuer,
        after={
            "as_of": statement.as_of.isoformat(),
            "total": statement.total_amount,
            "unit": statement.unit_code,
            "scale": statement.unit_scale,
            "lines": len(lines),
            "document_sha256": statement.document_sha256,
            "attestor": statement.attestor_name,
            "source": source,
        },
    )
    outcome = approval_propose(
        issuer=offering.issuer,
        kind=RESERVE_STATEMENT_APPROVAL_KIND,
        proposer=actor,
        summary=(
            f"{offering.token_symbol}: reserves of {amount_text(statement.total_amount, scale=statement.unit_scale)} "
            f"{statement.unit_code} as of {statement.as_of:%d %B %Y}, attested by {statement.attestor_name}; the "
            "document is on the token's reserve statements page"
        ),
        amount_minor=0,
        currency="",
        payload={"statement_id": statement.pk},
        obj=statement,
        required=True,
    )
    statement.approval_request = outcome.request
    statement.save(update_fields=["approval_request"])
    return statement


def _locked(statement_id: int) -> ReserveStatement:
    return (
        ReserveStatement.objects.select_for_update(of=("self",)).select_related("offering__issuer").get(pk=statement_id)
    )


def _approve_perform(request: ApprovalRequest, actor: User) -> ReserveStatement:
    statement = ReserveStatement.objects.only("offering_id").get(pk=int(request.payload["statement_id"]))
    Offering.objects.select_for_update().only("pk").get(pk=statement.offering_id)
    statement = _locked(statement.pk)
    if statement.state != StatementState.PENDING:
        raise Conflict(f"This statement is {statement.get_state_display().lower()}, not waiting.", code="state")
    if statement.entered_by_id == actor.pk:
        raise NotPermitted(
            "You entered this statement, so another admin of the issuer must approve it.", code="four_eyes"
        )
    current = (
        ReserveStatement.objects.select_for_update(of=("self",))
        .filter(offering_id=statement.offering_id, state=StatementState.APPROVED)
        .first()
    )
    if current is not None and current.as_of > statement.as_of:
        raise ApplicationError(
            f"The current statement is as of {current.as_of:%d %B %Y}, later than this one's "
            f"{statement.as_of:%d %B %Y}; an older statement cannot supersede it. Decline this one.",
            code="older_than_current",
        )
    now = timezone.now()
    if current is not None:
        current.state, current.superseded_at = StatementState.SUPERSEDED, now
        current.save(update_fields=["state", "superseded_at"])
    statement.state, statement.approved_by, statement.approved_at = StatementState.APPROVED, actor, now
    statement.supersedes = current
    statement.save(update_fields=["state", "approved_by", "approved_at", "supersedes"])
    audit_record(
        actor=actor,
        action="backing.reserve_statement_approved",
        obj=statement,
        issuer=statement.offering.issuer,
        before={"state": StatementState.PENDING, "current": current.pk if current else None},
        after={
            "state": statement.state,
            "supersedes": current.pk if current else None,
            "total": statement.total_amount,
            "as_of": statement.as_of.isoformat(),
            "entered_by": statement.entered_by_id,
        },
    )
    reserve_statement_published(statement=statement)
    transparency_forget(offering=statement.offering)
    return statement


def _decline(request: ApprovalRequest, actor: User) -> None:
    statement = _locked(int(request.payload["statement_id"]))
    if statement.state != StatementState.PENDING:
        return
    statement.state = StatementState.DECLINED
    statement.save(update_fields=["state"])
    audit_record(
        actor=actor,
        action="backing.reserve_statement_declined",
        obj=statement,
        issuer=statement.offering.issuer,
        before={"state": StatementState.PENDING},
        after={"state": statement.state, "approval": request.state, "note": request.decision_note},
    )


approval_kind_register(
    ApprovalKind(
        kind=RESERVE_STATEMENT_APPROVAL_KIND,
        label="Approve a reserve statement",
        perform=_approve_perform,
        on_decline=_decline,
    )
)


# --------------------------------------------------------------------------- CSV import


class ImportRefused(ApplicationError):
    """The file has errors; nothing was saved. `extra["errors"]` lists them per row."""

    code = "import_refused"


def _label_or_value(text: str, choices: type[BackingAsset] | type[AttestorKind]) -> str | None:
    wanted = text.strip().lower()
    for value, label in choices.choices:
        if wanted in (str(value).lower(), str(label).lower()):
            return str(value)
    return None


def _date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        return None


def reserve_statement_csv_read(*, content: bytes, scale: int) -> StatementInput:
    """A statement from CSV, one row per composition line (columns CSV_COLUMNS; the statement's columns
    repeat on every row and must agree). Every row is checked; any error refuses the whole file."""
    if len(content) > MAX_CSV_BYTES:
        raise ImportRefused("The CSV file is larger than 1 MB.", extra={"errors": []})
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportRefused("The CSV file is not UTF-8 text.", extra={"errors": []}) from exc
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        raise ImportRefused(
            f"The CSV file's first row must name the columns {', '.join(CSV_COLUMNS)}; missing: {', '.join(missing)}.",
            extra={"errors": []},
        )
    reader.fieldnames = header
    errors: list[str] = []
    lines: list[LineInput] = []
    head: tuple[object, ...] | None = None
    heads: dict[str, object] = {}
    for number, row in enumerate(reader, start=2):
        if len(lines) + len(errors) >= MAX_LINES + 1:
            errors.append(f"Row {number}: a statement has at most {MAX_LINES} lines.")
            break
        cells = {k: (row.get(k) or "").strip() for k in CSV_COLUMNS}
        if not any(cells.values()):
            continue
        problems = []
        as_of, start, end = _date(cells["as_of"]), _date(cells["period_start"]), _date(cells["period_end"])
        for column, value in (("as_of", as_of), ("period_start", start), ("period_end", end)):
            if value is None:
                problems.append(f"{column} “{cells[column]}” is not a date like 2026-11-30")
        attestor_kind = _label_or_value(cells["attestor_kind"], AttestorKind)
        if attestor_kind is None:
            problems.append(f"attestor_kind “{cells['attestor_kind']}” is not one of {', '.join(AttestorKind.values)}")
        if not cells["attestor_name"]:
            problems.append("attestor_name is empty")
        asset = _label_or_value(cells["asset_type"], BackingAsset)
        if asset is None:
            problems.append(f"asset_type “{cells['asset_type']}” is not one of {', '.join(BackingAsset.values)}")
        if not cells["custodian"]:
            problems.append("custodian is empty")
        amount = None
        try:
            amount = amount_parse(cells["amount"], scale=scale, label="amount")
        except QuantityInvalid as exc:
            problems.append(exc.message[0].lower() + exc.message[1:].rstrip("."))
        row_head = (as_of, start, end, cells["attestor_name"], attestor_kind)
        if not problems:
            if head is None:
                head = row_head
                heads = {"as_of": as_of, "start": start, "end": end}
            elif row_head != head:
                problems.append("as_of, period and attestor differ from the first row (one statement per file)")
        if problems:
            errors.append(f"Row {number}: " + "; ".join(problems) + ".")
        elif asset is not None and amount is not None:
            lines.append(LineInput(asset_kind=asset, custodian=cells["custodian"], amount=amount))
    if errors:
        raise ImportRefused(
            f"Nothing was imported: {len(errors)} row{'s' if len(errors) != 1 else ''} of the file "
            f"{'have' if len(errors) != 1 else 'has'} errors. Correct them and import the whole file again.",
            extra={"errors": errors},
        )
    if head is None:
        raise ImportRefused("The CSV file has no composition lines.", extra={"errors": []})
    return StatementInput(
        as_of=heads["as_of"],  # type: ignore[arg-type]
        period_start=heads["start"],  # type: ignore[arg-type]
        period_end=heads["end"],  # type: ignore[arg-type]
        attestor_name=str(head[3]),
        attestor_kind=str(head[4]),
        lines=lines,
    )


@transaction.atomic
def reserve_statement_import(
    *, offering: Offering, csv_file: UploadedFile | None, document: UploadedFile | None, actor: User
) -> ReserveStatement:
    """Import a statement from CSV with its PDF: all of it, or nothing when any row is wrong."""
    rule = _rule(offering)
    if not csv_file:
        raise ImportRefused("Choose the CSV file to import.", extra={"errors": []})
    csv_file.seek(0)
    data = reserve_statement_csv_read(content=csv_file.read(MAX_CSV_BYTES + 1), scale=rule.unit_scale)
    return reserve_statement_propose(
        offering=offering, data=data, document=document, actor=actor, source=StatementSource.CSV
    )

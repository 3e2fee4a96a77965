"""What the bank says back about a payment run: lines marked paid by hand, or a confirmation file (camt.054, pain.002
or a CSV of end-to-end id, status, reason) imported whole or not at all.

Paid lines carry the bank's reference; returned or rejected lines carry the reason code and text, are listed as
returned payments, and go out again in the next run once the holder gives new bank details.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections import Counter
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.audit import audit_record
from core.errors import ApplicationError, Conflict
from core.fields import encrypt_bytes
from core.models import User
from core.money import money_text
from distributions.files import stored_files_remove
from distributions.iso20022 import (
    BankOutcome,
    MessageInvalid,
    camt054_read,
    message_kind,
    pain002_read,
    xml_parse,
)
from distributions.models import (
    BankConfirmation,
    BankEntryState,
    BankPaymentEntry,
    ConfirmationFormat,
    Distribution,
    DistributionLine,
    DistributionState,
    LinePaymentState,
    PaymentMethod,
)
from distributions.notices import distribution_lines_paid_notify
from distributions.services.bank_file import bank_distribution_settle
from investors.models import BankAccount

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
CSV_PAID = frozenset({"paid", "accepted", "settled", "acsc", "accc", "booked"})
CSV_RETURNED = frozenset({"returned", "rejected", "rjct", "failed", "canc"})
CSV_PENDING = frozenset({"pending", "pdng", "acsp", "actc", "accp"})
SETTLING = (DistributionState.PAYING, DistributionState.PAID)
LISTED = 5


@dataclass(frozen=True)
class ConfirmationReport:
    format: str
    paid: int
    returned: int
    pending: int
    already: int


def _listed(ids: list[str]) -> str:
    more = f" and {len(ids) - LISTED} more" if len(ids) > LISTED else ""
    return ", ".join(ids[:LISTED]) + more


def _csv_read(content: bytes) -> list[BankOutcome]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ApplicationError(
            "The file is neither a camt.054 or pain.002 message nor a UTF-8 CSV.", code="bad_format"
        ) from exc
    reader = csv.DictReader(io.StringIO(text))
    header = {(name or "").strip().lower() for name in reader.fieldnames or []}
    if not {"end_to_end_id", "status"} <= header:
        raise ApplicationError(
            "The file is not a confirmation this page reads: a camt.054 or pain.002 message, or a CSV whose "
            "first line names the columns end_to_end_id, status, reason_code, reason and bank_reference.",
            code="bad_format",
        )
    found = []
    for number, row in enumerate(reader, start=2):
        cells = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items() if k is not None}
        status = cells.get("status", "").lower()
        if status in CSV_PAID:
            outcome = "paid"
        elif status in CSV_RETURNED:
            outcome = "returned"
        elif status in CSV_PENDING:
            outcome = "pending"
        else:
            raise ApplicationError(
                f"Line {number}: the status {cells.get('status')!r} is none of paid, returned, rejected or pending.",
                code="bad_status",
            )
        found.append(
            BankOutcome(
                end_to_end_id=cells.get("end_to_end_id", ""),
                outcome=outcome,
                bank_reference=cells.get("bank_reference", ""),
                reason_code=cells.get("reason_code", "")[:8],
                reason_text=cells.get("reason", "")[:300],
            )
        )
    return found


def confirmation_read(content: bytes) -> tuple[str, list[BankOutcome]]:
    """The file's format and what it says of each transfer; an ApplicationError when it cannot be read."""
    if not content.strip():
        raise ApplicationError("The file is empty.", code="empty_file")
    if len(content) > MAX_UPLOAD_BYTES:
        raise ApplicationError(
            "The file is larger than 20 MB: split it, or ask the bank for one per run.", code="too_big"
        )
    if content.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        try:
            root = xml_parse(content)
            kind = message_kind(root)
            if kind == "pain002":
                return ConfirmationFormat.PAIN002, pain002_read(root)
            if kind == "camt054":
                return ConfirmationFormat.CAMT054, camt054_read(root)
        except MessageInvalid as exc:
            raise ApplicationError(f"The file cannot be read: {exc}", code="bad_format") from exc
        if kind == "pain001":
            raise ApplicationError(
                "This is a payment file the portal wrote (pain.001), not the bank's answer to it: upload the bank's "
                "camt.054 notification or pain.002 status report.",
                code="bad_format",
            )
        raise ApplicationError(
            "This XML is neither a camt.054 notification nor a pain.002 status report.", code="bad_format"
        )
    return ConfirmationFormat.CSV, _csv_read(content)


def _lock_entries(distribution: Distribution, e2e_ids: list[str]) -> dict[str, BankPaymentEntry]:
    """The entries named, with their lines, locked in primary-key order (lines first, as a run locks them)."""
    entries = list(BankPaymentEntry.objects.filter(end_to_end_id__in=e2e_ids).select_related("run").order_by("pk"))
    line_ids = sorted({e.line_id for e in entries if e.run.distribution_id == distribution.pk})
    list(DistributionLine.objects.select_for_update(of=("self",)).filter(pk__in=line_ids).order_by("pk"))
    locked = BankPaymentEntry.objects.select_for_update(of=("self",)).filter(pk__in=[e.pk for e in entries])
    return {e.end_to_end_id: e for e in locked.select_related("run", "line").order_by("pk")}


def _check(distribution: Distribution, outcomes: list[BankOutcome]) -> dict[str, BankPaymentEntry]:
    if not outcomes:
        raise ApplicationError("The file reports no transfer.", code="no_transfers")
    blank = [o for o in outcomes if not o.end_to_end_id]
    if blank:
        raise ApplicationError(f"{len(blank)} transfer(s) in the file carry no end-to-end id.", code="missing_id")
    counts = Counter(o.end_to_end_id for o in outcomes)
    doubled = sorted(e2e for e2e, n in counts.items() if n > 1)
    if doubled:
        raise ApplicationError(
            f"The file reports the same transfer more than once ({_listed(doubled)}); nothing was applied.",
            code="duplicate_ids",
        )
    entries = _lock_entries(distribution, list(counts))
    unknown = sorted(e2e for e2e in counts if e2e not in entries)
    if unknown:
        raise ApplicationError(
            f"{len(unknown)} end-to-end id(s) are in no payment run of the portal ({_listed(unknown)}); nothing "
            "was applied. Check that this is the answer to one of this distribution's files.",
            code="unknown_ids",
        )
    foreign = sorted(e2e for e2e, entry in entries.items() if entry.run.distribution_id != distribution.pk)
    if foreign:
        raise ApplicationError(
            f"{len(foreign)} transfer(s) belong to another distribution's payment run ({_listed(foreign)}); "
            "nothing was applied. Upload the file on that distribution's page.",
            code="other_distribution",
        )
    for o in outcomes:
        entry = entries[o.end_to_end_id]
        if o.amount_minor is not None and (o.amount_minor != entry.amount_minor or o.currency != entry.run.currency):
            raise ApplicationError(
                f"The bank reports {o.end_to_end_id} as {money_text(o.amount_minor, o.currency)}; the file "
                f"sent {money_text(entry.amount_minor, entry.run.currency)}. Nothing was applied: ask the bank.",
                code="amount_differs",
            )
        if o.outcome == "paid" and entry.state == BankEntryState.RETURNED:
            raise ApplicationError(
                f"{o.end_to_end_id} was returned earlier; the bank now reports it paid. Nothing was applied: "
                "ask the bank which is right.",
                code="paid_after_return",
            )
    return entries


def _apply(
    distribution: Distribution, entries: dict[str, BankPaymentEntry], outcomes: list[BankOutcome]
) -> tuple[int, int, int, int, list[str], list[str]]:
    now = timezone.now()
    paid = returned = pending = already = 0
    paid_ids: list[str] = []
    returned_ids: list[str] = []
    for o in outcomes:
        entry = entries[o.end_to_end_id]
        line = entry.line
        if o.outcome == "pending":
            pending += 1
            continue
        if o.outcome == "paid":
            if entry.state == BankEntryState.PAID:
                already += 1
                continue
            entry.state, entry.bank_reference, entry.settled_at = BankEntryState.PAID, o.bank_reference[:140], now
            entry.save(update_fields=["state", "bank_reference", "settled_at"])
            line.payment_state = LinePaymentState.PAID
            line.payment_reference = (o.bank_reference or entry.end_to_end_id)[:140]
            line.paid_at, line.failure_reason = now, ""
            line.save(update_fields=["payment_state", "payment_reference", "paid_at", "failure_reason"])
            distribution_lines_paid_notify(line_ids=[line.pk])
            BankAccount.objects.filter(pk=entry.bank_account_id, verified_at__isnull=True).update(verified_at=now)
            paid += 1
            paid_ids.append(entry.end_to_end_id)
            continue
        if entry.state == BankEntryState.RETURNED:
            already += 1
            continue
        code = o.reason_code[:8] or "NARR"
        text = o.reason_text[:300] or "Returned by the bank without a reason."
        entry.state, entry.settled_at = BankEntryState.RETURNED, now
        entry.reason_code, entry.reason_text = code, text
        entry.bank_reference = o.bank_reference[:140] or entry.bank_reference
        entry.save(update_fields=["state", "settled_at", "reason_code", "reason_text", "bank_reference"])
        line.payment_state = LinePaymentState.RETURNED
        line.payment_reference, line.paid_at = "", None
        line.failure_reason = f"{code}: {text}"
        line.save(update_fields=["payment_state", "payment_reference", "paid_at", "failure_reason"])
        returned += 1
        returned_ids.append(entry.end_to_end_id)
    return paid, returned, pending, already, paid_ids, returned_ids


def _locked_distribution(distribution: Distribution) -> Distribution:
    locked = (
        Distribution.objects.select_for_update(of=("self",)).select_related("offering__issuer").get(pk=distribution.pk)
    )
    if locked.payment_method != PaymentMethod.BANK_FILE:
        raise ApplicationError("This distribution is paid on-chain, not by bank file.", code="not_bank_file")
    if locked.state not in SETTLING:
        raise Conflict("No payment file of this distribution has gone to the bank yet.", code="state")
    return locked


def bank_confirmation_import(
    *, distribution: Distribution, actor: User, filename: str, content: bytes
) -> ConfirmationReport:
    """Apply the bank's confirmation to this distribution's payment runs: every transfer in it, or none."""
    fmt, outcomes = confirmation_read(content)
    digest = hashlib.sha256(content).hexdigest()
    stored: list[BankConfirmation] = []
    try:
        with transaction.atomic():
            locked = _locked_distribution(distribution)
            if BankConfirmation.objects.filter(distribution=locked, sha256=digest).exists():
                raise Conflict(
                    "This very file was imported before; nothing was applied again.", code="already_imported"
                )
            entries = _check(locked, outcomes)
            paid, returned, pending, already, paid_ids, returned_ids = _apply(locked, entries, outcomes)
            confirmation = BankConfirmation(
                distribution=locked,
                format=fmt,
                filename=(filename or "")[:200],
                sha256=digest,
                paid_count=paid,
                returned_count=returned,
                applied_by=actor,
            )
            confirmation.file.save(f"{digest[:16]}.bin", ContentFile(encrypt_bytes(content)), save=False)
            stored.append(confirmation)
            confirmation.save()
            before = locked.state
            after = bank_distribution_settle(locked)
            audit_record(
                actor=actor,
                action="distribution.bank_confirmation_imported",
                obj=confirmation,
                issuer=locked.offering.issuer,
                before={"state": before},
                after={
                    "state": after,
                    "format": fmt,
                    "sha256": digest,
                    "paid": paid_ids,
                    "returned": returned_ids,
                    "pending": pending,
                    "already": already,
                },
            )
    except IntegrityError as exc:  # the same file imported at the same moment by someone else
        stored_files_remove(stored, "file")
        raise Conflict(
            "This very file was imported before; nothing was applied again.", code="already_imported"
        ) from exc
    except BaseException:
        stored_files_remove(stored, "file")  # the transaction rolled back: no row points at the file any more
        raise
    return ConfirmationReport(format=fmt, paid=paid, returned=returned, pending=pending, already=already)


@transaction.atomic
def bank_entries_mark_paid(
    *, distribution: Distribution, actor: User, end_to_end_ids: list[str], bank_reference: str = ""
) -> ConfirmationReport:
    """Mark lines paid by hand (the bank's statement shows them), all of the chosen ones or none."""
    if not end_to_end_ids:
        raise ApplicationError("Choose the lines the bank's statement shows as paid.", code="nothing_chosen")
    locked = _locked_distribution(distribution)
    outcomes = [BankOutcome(e2e, "paid", bank_reference.strip(), "", "") for e2e in end_to_end_ids]
    entries = _check(locked, outcomes)
    settled = sorted(e2e for e2e, entry in entries.items() if entry.state != BankEntryState.SENT)
    if settled:
        raise Conflict(
            f"{_listed(settled)} {'is' if len(settled) == 1 else 'are'} already settled; nothing was marked. "
            "Reload the page and choose again.",
            code="already_settled",
        )
    paid, _returned, _pending, _already, paid_ids, _ = _apply(locked, entries, outcomes)
    confirmation = BankConfirmation.objects.create(
        distribution=locked, format=ConfirmationFormat.MANUAL, paid_count=paid, applied_by=actor
    )
    before = locked.state
    after = bank_distribution_settle(locked)
    audit_record(
        actor=actor,
        action="distribution.bank_lines_marked_paid",
        obj=confirmation,
        issuer=locked.offering.issuer,
        before={"state": before},
        after={"state": after, "paid": paid_ids, "bank_reference": bank_reference.strip()},
    )
    return ConfirmationReport(format=ConfirmationFormat.MANUAL, paid=paid, returned=0, pending=0, already=0)

"""Incoming wires: recorded by hand or imported from a bank statement CSV, matched by reference.

A wire for the exact amount due pays the subscription. Partial and over-payments are recorded as
received (the money is in the account) and flagged for a person; nothing is guessed.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.approvals import ApprovalKind, ApprovalOutcome, approval_kind_register, approval_propose
from core.audit import audit_record
from core.errors import ApplicationError, Conflict
from core.models import ApprovalRequest, Issuer, User
from core.money import AmountInvalid, Money, amount_bounds_check, amount_parse
from offerings.models import (
    OPEN_SUBSCRIPTION_STATUSES,
    Offering,
    Payment,
    PaymentStatus,
    Subscription,
    WireMatch,
    WireReceipt,
)
from offerings.services.notifications import wire_received_notify, wires_imported_notify
from offerings.services.payments import payment_received

REFERENCE_PATTERN = re.compile(r"TSR[\s-]*([0-9A-Z]{4})[\s-]*([0-9A-Z]{5})", re.IGNORECASE)
PROVIDER = "wire"


def reference_find(text: str) -> str | None:
    """The portal reference inside a bank's free-text field (banks add words, drop or add dashes)."""
    match = REFERENCE_PATTERN.search(text or "")
    return f"TSR-{match[1].upper()}-{match[2].upper()}" if match else None


def parse_amount(text: str, currency: str) -> int:
    """An amount as the bank prints it ("1,250.00") to exact minor units (core.money's one parser)."""
    try:
        return amount_parse(text, currency, label="amount received", minimum=1)
    except AmountInvalid as exc:
        raise ApplicationError(f"“{text[:40]}”: {exc.message}", code="invalid_amount") from exc


def _wire_payment(subscription: Subscription) -> Payment:
    payment, _ = Payment.objects.get_or_create(
        provider=PROVIDER,
        external_id=subscription.wire_reference,
        defaults={
            "subscription": subscription,
            "amount_minor": subscription.amount_minor,
            "currency": subscription.currency,
            "status": PaymentStatus.STARTED,
        },
    )
    return payment


def bank_reference_normalise(text: str) -> str:
    """The bank's reference as one comparable string: case, spaces and dashes as typed do not matter."""
    return re.sub(r"[\s\-]+", "", text or "").upper()[:200]


class DuplicateWire(Conflict):
    """The wire is already recorded (same bank reference, or the same wire seen from another source)."""

    code = "duplicate_line"

    def __init__(self, message: str, *, receipt: WireReceipt) -> None:
        super().__init__(message, code="duplicate_line", extra={"receipt": receipt.pk})
        self.receipt = receipt


def _same_wire(
    *,
    issuer: Issuer,
    bank_reference: str,
    reference: str,
    subscription: Subscription | None,
    amount_minor: int,
    currency: str,
    received_on: dt.date,
    occurrence: int,
) -> WireReceipt | None:
    """The receipt already recorded for this wire, if any.

    A wire is known by the bank's reference when the bank gave one. Without it on one side (a statement
    without an id column, or a line recorded before references were kept), the same portal reference,
    amount, currency and date on the same day is the same wire: the n-th such line of a statement is a
    duplicate when n such receipts are already recorded.
    """
    if bank_reference:
        known = WireReceipt.objects.filter(issuer=issuer, bank_reference=bank_reference).first()
        if known is not None:
            return known
    alike = WireReceipt.objects.filter(
        issuer=issuer, amount_minor=amount_minor, currency=currency, received_on=received_on
    ).order_by("pk")
    alike = alike.filter(subscription=subscription) if subscription else alike.filter(reference__iexact=reference)
    if bank_reference:
        # Two different bank references are two wires; a receipt without one may be this wire.
        return alike.filter(bank_reference="").first()
    rows = list(alike[:occurrence])
    return rows[occurrence - 1] if len(rows) >= occurrence else None


def _recorded_how(receipt: WireReceipt) -> str:
    how = "by hand" if receipt.source == "manual" else "from a bank statement"
    ref = f" with bank reference {receipt.bank_reference}" if receipt.bank_reference else ""
    return f"recorded {how}{ref} on {receipt.recorded_at:%d %B %Y}"


def _subscription_of(issuer: Issuer, reference: str, *, lock: bool = False) -> Subscription | None:
    """The issuer's subscription whose reference the text holds; with `lock`, its offering's row and then
    its own row are locked (core.audit's order)."""
    found = reference_find(reference)
    if not found:
        return None
    rows = Subscription.objects.select_related("offering").filter(wire_reference=found, offering__issuer=issuer)
    if not lock:
        return rows.first()
    target = rows.values("pk", "offering_id").first()
    if target is None:
        return None
    Offering.objects.select_for_update().filter(pk=target["offering_id"]).first()
    return Subscription.objects.select_for_update(of=("self",)).select_related("offering").get(pk=target["pk"])


def _refuse_if_recorded(
    *,
    issuer: Issuer,
    bank_reference: str,
    reference: str,
    subscription: Subscription | None,
    amount_minor: int,
    currency: str,
    received_on: dt.date,
    occurrence: int = 1,
) -> None:
    known = _same_wire(
        issuer=issuer,
        bank_reference=bank_reference,
        reference=reference.strip()[:140],
        subscription=subscription,
        amount_minor=amount_minor,
        currency=currency,
        received_on=received_on,
        occurrence=max(occurrence, 1),
    )
    if known is not None:
        raise DuplicateWire(
            f"This wire was already {_recorded_how(known)} ({known.reference}, "
            f"{money(known.amount_minor, known.currency)} received {known.received_on:%d %B %Y}); "
            "it is credited once.",
            receipt=known,
        )


def _wire_input_check(
    *, amount_minor: int, currency: str, received_on: dt.date, bank_reference: str, by_hand: bool
) -> None:
    if amount_minor <= 0:
        raise ApplicationError("The amount received must be above zero.", code="invalid_amount")
    try:
        amount_bounds_check(amount_minor, currency=currency, label="amount received", minimum=1)
    except AmountInvalid as exc:
        raise ApplicationError(exc.message, code="invalid_amount") from exc
    if received_on > timezone.localdate():
        raise ApplicationError("The date received cannot be in the future.", code="future_date")
    if by_hand and not bank_reference:
        raise ApplicationError(
            "Enter the bank's reference of the wire (its transaction or IMAD number on the statement), so the "
            "same wire is never credited twice.",
            code="bank_reference_missing",
        )


WIRE_RECORD = "wire.record"


def _wire_record_perform(request: ApprovalRequest, actor: User) -> WireReceipt:
    data = request.payload
    return wire_receipt_record(
        issuer=request.issuer,
        actor=actor,
        reference=data["reference"],
        amount_minor=int(data["amount_minor"]),
        currency=data["currency"],
        received_on=dt.date.fromisoformat(data["received_on"]),
        bank_reference=data.get("bank_reference", ""),
        payer=data.get("payer", ""),
    )


approval_kind_register(ApprovalKind(kind=WIRE_RECORD, label="Record a wire received", perform=_wire_record_perform))


@transaction.atomic
def wire_receipt_propose(
    *,
    issuer: Issuer,
    actor: User,
    reference: str,
    amount_minor: int,
    currency: str,
    received_on: dt.date,
    bank_reference: str = "",
    payer: str = "",
) -> ApprovalOutcome:
    """A wire recorded by hand: recorded now within the issuer's four-eyes threshold, else once a
    second admin approves (the statement import, read from the bank's own file, needs no second person)."""
    currency = (currency or "").upper()
    bank_reference = bank_reference_normalise(bank_reference)
    _wire_input_check(
        amount_minor=amount_minor,
        currency=currency,
        received_on=received_on,
        bank_reference=bank_reference,
        by_hand=True,
    )
    # Told at once when the wire is already booked; the approval would only fail later.
    _refuse_if_recorded(
        issuer=issuer,
        bank_reference=bank_reference,
        reference=reference,
        subscription=_subscription_of(issuer, reference),
        amount_minor=amount_minor,
        currency=currency,
        received_on=received_on,
    )
    return approval_propose(
        issuer=issuer,
        kind=WIRE_RECORD,
        proposer=actor,
        summary=f"Record a wire of {money(amount_minor, currency)} received {received_on.isoformat()}, "
        f"reference {reference.strip()[:140]}, bank reference {bank_reference}",
        amount_minor=amount_minor,
        currency=currency,
        payload={
            "reference": reference.strip()[:140],
            "amount_minor": amount_minor,
            "currency": currency,
            "received_on": received_on.isoformat(),
            "bank_reference": bank_reference,
            "payer": payer.strip()[:200],
        },
        # One open proposal per bank wire: the same wire proposed twice waits once.
        object_key=("offerings.bank_wire", bank_reference[:64]),
    )


@transaction.atomic
def wire_receipt_record(
    *,
    issuer: Issuer,
    actor: User,
    reference: str,
    amount_minor: int,
    currency: str,
    received_on: dt.date,
    bank_reference: str = "",
    bank_line_id: str = "",
    payer: str = "",
    source: str = "manual",
    occurrence: int = 1,
    announce: bool = True,
) -> WireReceipt:
    """Record one wire the bank received and credit it once (`announce`: tell the issuer's other admins).

    The same wire recorded twice, or by hand and then from a statement, is refused as a duplicate
    (`DuplicateWire`) and credited only the first time. A wire recorded by hand carries the bank's
    reference, date and amount.
    """
    currency = (currency or "").upper()
    bank_reference = bank_reference_normalise(bank_reference)
    _wire_input_check(
        amount_minor=amount_minor,
        currency=currency,
        received_on=received_on,
        bank_reference=bank_reference,
        by_hand=source == "manual",
    )
    # One recorder of an issuer's wires at a time: the duplicate check below reads what others write.
    Issuer.objects.select_for_update().filter(pk=issuer.pk).first()
    # Offering, then subscription, locked before anything is written (so before the audit chain head):
    # the order of core/audit.py, which a cancellation follows too, so the two cannot deadlock.
    subscription = _subscription_of(issuer, reference, lock=True)
    _refuse_if_recorded(
        issuer=issuer,
        bank_reference=bank_reference,
        reference=reference,
        subscription=subscription,
        amount_minor=amount_minor,
        currency=currency,
        received_on=received_on,
        occurrence=occurrence,
    )
    if subscription is None:
        match = WireMatch.UNMATCHED
    elif currency != subscription.currency:
        match = WireMatch.WRONG_CURRENCY
    else:
        held = subscription.paid_minor + amount_minor
        if subscription.status not in OPEN_SUBSCRIPTION_STATUSES:
            match = WireMatch.CLOSED
        elif held < subscription.amount_minor:
            match = WireMatch.PARTIAL
        elif held > subscription.amount_minor:
            match = WireMatch.OVERPAID
        else:
            match = WireMatch.EXACT
    line_id = (
        bank_line_id.strip()
        or (f"bank:{bank_reference}" if bank_reference else "")
        or f"{source}:"
        + hashlib.sha256(
            f"{reference}|{amount_minor}|{currency}|{received_on}|{timezone.now().isoformat()}".encode()
        ).hexdigest()
    )
    try:
        with transaction.atomic():
            receipt = WireReceipt.objects.create(
                issuer=issuer,
                subscription=subscription,
                reference=reference.strip()[:140],
                amount_minor=amount_minor,
                currency=currency,
                received_on=received_on,
                bank_line_id=line_id[:200],
                bank_reference=bank_reference,
                source=source,
                match=match,
                payer=payer.strip()[:200],
                recorded_by=actor,
            )
    except IntegrityError as exc:
        raise Conflict("This bank line was already recorded.", code="duplicate_line") from exc
    audit_record(
        actor=actor,
        action="wire.recorded",
        obj=receipt,
        issuer=issuer,
        after={
            "reference": receipt.reference,
            "bank_reference": bank_reference,
            "amount_minor": amount_minor,
            "currency": currency,
            "received_on": received_on.isoformat(),
            "match": match,
        },
    )
    if announce:
        wire_received_notify(receipt=receipt, actor=actor)
    if subscription is not None and match != WireMatch.WRONG_CURRENCY:
        # The money is in the account: the ledger says so whatever the flag. Ended subscriptions refund it.
        payment_received(
            payment=_wire_payment(subscription),
            amount_minor=amount_minor,
            currency=currency,
            external_ref=f"wire:{receipt.pk}",
            occurred_at=dt.datetime.combine(received_on, dt.time(12), tzinfo=dt.UTC),
            actor=actor,
            note=f"Wire {receipt.reference} ({receipt.get_match_display().lower()})",
        )
    return receipt


@transaction.atomic
def wire_receipt_resolve(*, receipt: WireReceipt, actor: User, note: str) -> WireReceipt:
    """A person dealt with a flagged wire (returned it, asked for the balance, ...) and says how."""
    note = note.strip()
    if not note:
        raise ApplicationError("Say how the flag was resolved.", code="note_required")
    receipt = WireReceipt.objects.select_for_update().get(pk=receipt.pk)
    if receipt.resolved_at is not None:
        raise Conflict("This wire was already resolved.", code="resolved")
    receipt.resolved_at = timezone.now()
    receipt.save(update_fields=["resolved_at"])
    audit_record(actor=actor, action="wire.resolved", obj=receipt, after={"note": note})
    return receipt


@dataclass
class ImportReport:
    recorded: list[WireReceipt] = field(default_factory=list)
    duplicates: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def flagged(self) -> list[WireReceipt]:
        return [r for r in self.recorded if r.flagged]


REQUIRED_COLUMNS = ("date", "amount", "currency", "reference")
MAX_STATEMENT_BYTES = 5 * 1024 * 1024


def _parse_date(text: str) -> dt.date:
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y"):
        try:
            return dt.datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    raise ApplicationError(f"“{text}” is not a date (use YYYY-MM-DD).", code="invalid_date")


def _statement_cells(line: str) -> list[str]:
    return next(csv.reader([line], strict=True), [])


def bank_statement_import(*, issuer: Issuer, actor: User, content: bytes) -> ImportReport:
    """Record each line of a statement (columns date, amount, currency, reference; optional id, payer).

    Good lines are recorded even when others are wrong; each wrong line is reported with its number.
    A line imported before (same bank id, or same content at the same position among equal lines) is skipped.
    """
    report = ImportReport()
    if len(content) > MAX_STATEMENT_BYTES:
        report.errors.append("The file is larger than 5 MB; split the statement.")
        return report
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        report.errors.append("The file is not UTF-8 text. Export the statement as CSV (UTF-8).")
        return report
    # A statement has one entry per line: each line is parsed on its own, so a stray quote in one line
    # can never swallow the lines after it.
    lines = text.splitlines()
    try:
        header = _statement_cells(lines[0]) if lines else []
    except csv.Error:
        header = []
    headers = [h.strip().lower() for h in header]
    missing = [c for c in REQUIRED_COLUMNS if c not in headers]
    if missing:
        report.errors.append(
            f"The first line must name the columns; missing: {', '.join(missing)}. "
            "Expected: date, amount, currency, reference (and optionally id, payer)."
        )
        return report
    seen: dict[str, int] = {}
    for number, line in enumerate(lines[1:], start=2):
        try:
            cells = _statement_cells(line)
        except csv.Error as exc:
            report.errors.append(f"Line {number}: not a CSV line ({exc}).")
            continue
        row = dict.fromkeys(REQUIRED_COLUMNS, "") | {h: v.strip() for h, v in zip(headers, cells, strict=False)}
        if not any(row.values()):
            continue
        try:
            currency = row["currency"].upper()
            amount = parse_amount(row["amount"], currency)
            received_on = _parse_date(row["date"])
        except ApplicationError as exc:
            report.errors.append(f"Line {number}: {exc.message}")
            continue
        if not row["reference"]:
            report.errors.append(f"Line {number}: the reference is empty.")
            continue
        # Equal lines without the bank's id are told apart by their position among equal lines.
        fingerprint = "|".join([received_on.isoformat(), str(amount), currency, row["reference"]])
        seen[fingerprint] = seen.get(fingerprint, 0) + 1
        bank_id = row.get("id", "")
        line_id = bank_id or "csv:" + hashlib.sha256(f"{fingerprint}#{seen[fingerprint]}".encode()).hexdigest()
        try:
            receipt = wire_receipt_record(
                issuer=issuer,
                actor=actor,
                reference=row["reference"],
                amount_minor=amount,
                currency=currency,
                received_on=received_on,
                bank_reference=bank_id,
                bank_line_id=line_id,
                payer=row.get("payer", ""),
                source="csv",
                occurrence=seen[fingerprint],
                announce=False,
            )
        except Conflict as exc:
            if exc.code == "duplicate_line":
                report.duplicates.append(number)
            else:
                report.errors.append(f"Line {number}: {exc.message}")
            continue
        except ApplicationError as exc:
            report.errors.append(f"Line {number}: {exc.message}")
            continue
        report.recorded.append(receipt)
    if report.recorded:
        to_match = sum(1 for r in report.recorded if r.match in NEEDS_MATCHING)
        with transaction.atomic():
            wires_imported_notify(
                issuer_id=issuer.pk,
                import_key=hashlib.sha256(",".join(str(r.pk) for r in report.recorded).encode()).hexdigest(),
                recorded=len(report.recorded),
                to_match=to_match,
                actor=actor,
            )
    return report


# A wire in one of these states waits for a person to match it or send it back.
NEEDS_MATCHING = frozenset({WireMatch.UNMATCHED, WireMatch.WRONG_CURRENCY, WireMatch.CLOSED})


def money(minor: int, currency: str) -> str:
    return str(Money(minor, currency))

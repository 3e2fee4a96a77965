"""Payout by bank file: the burned lines of a bank-paid dealing day go out in a payment run, a pain.001.001.09
credit transfer and a CSV of the same lines, written by the distributions' ISO 20022 writer from the issuer's
paying account; the bank's confirmation (camt.054, pain.002 or CSV, read by the distributions' reader) marks
them paid or returned.

A line goes out only once its burn is final, under an end-to-end id derived from its request and its attempt, and
is in at most one live run (the partial unique constraint holds that against two runs at once). A line whose
holder has no bank details is held and listed; it goes out in the next run once they add them; a returned line
goes out again only to new details.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from core.audit import audit_record
from core.csv import csv_lines
from core.errors import ApplicationError, Conflict
from core.fields import encrypt_bytes
from core.models import User
from distributions.iso20022 import SCHEMA, Account, Transfer, amount_text, pain001_write
from distributions.models import BankEntryState, LinePaymentState, PaymentMethod
from distributions.selectors import paying_account_current
from distributions.services.bank_file import end_to_end_id_for
from distributions.services.bank_reconciliation import confirmation_read
from investors.models import BankAccount
from redemptions.locks import dealing_day_locked
from redemptions.models import (
    DealingDay,
    DealingState,
    RedemptionBankEntry,
    RedemptionBankRun,
    RedemptionRequest,
    RequestState,
)
from redemptions.notices import dealing_day_notify
from redemptions.services.settling import dealing_day_settle_if_done

PAYABLE = (LinePaymentState.PENDING, LinePaymentState.HELD, LinePaymentState.RETURNED)
CSV_HEADER = (
    "end_to_end_id",
    "line",
    "investor",
    "account_holder",
    "iban",
    "bic",
    "aba_routing",
    "account_number",
    "amount",
    "currency",
    "remittance",
)
MAX_UPLOAD_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class RunOutcome:
    run: RedemptionBankRun | None
    held: int
    waiting: int


def _locked(day: DealingDay) -> DealingDay:
    return dealing_day_locked(day.pk)


def _account(account: BankAccount) -> Account:
    return Account(
        name=account.holder_name,
        iban=account.iban,
        bic=account.bic,
        routing_number=account.routing_number,
        account_number=account.account_number,
    )


@transaction.atomic
def redemption_bank_run_create(*, day: DealingDay, actor: User | None) -> RunOutcome:
    """Write the next payment run of a bank-paid dealing day: every burned line whose holder has bank details."""
    locked = _locked(day)
    if locked.payout_method != PaymentMethod.BANK_FILE:
        raise ApplicationError("This dealing day is paid by stablecoin, not by bank file.", code="not_bank_file")
    if locked.state != DealingState.SETTLING:
        raise Conflict(f"It is {locked.get_state_display().lower()}: only an approved day is paid.", code="state")
    issuer = locked.offering.issuer
    paying = paying_account_current(issuer=issuer, currency=locked.currency)
    if paying is None:
        raise ApplicationError(
            f"Set the {locked.currency} account the payments leave from first (on any distribution's bank page): it "
            "is the debtor of the file.",
            code="no_paying_account",
        )
    lines = list(
        RedemptionRequest.objects.select_for_update(of=("self",))
        .select_related("investor")
        .filter(dealing_day=locked, state=RequestState.BURNED, payment_state__in=PAYABLE, net_minor__gt=0)
        .order_by("pk")
    )
    accounts = {
        a.investor_id: a
        for a in BankAccount.objects.filter(investor_id__in={r.investor_id for r in lines}, superseded_at__isnull=True)
    }
    earlier: dict[int, RedemptionBankEntry] = {}
    for entry in RedemptionBankEntry.objects.filter(request__in=lines).order_by("attempt"):
        earlier[entry.request_id] = entry
    chosen: list[tuple[RedemptionRequest, BankAccount, int]] = []
    held = waiting = 0
    to_hold: list[int] = []
    for line in lines:
        account, previous = accounts.get(line.investor_id), earlier.get(line.pk)
        if account is None:
            held += 1
            if line.payment_state == LinePaymentState.PENDING:
                to_hold.append(line.pk)
            continue
        if previous is not None and previous.bank_account_id == account.pk:
            waiting += 1  # returned from this very account: paid again only to new details
            continue
        chosen.append((line, account, previous.attempt + 1 if previous else 1))
    if to_hold:
        RedemptionRequest.objects.filter(pk__in=to_hold).update(
            payment_state=LinePaymentState.HELD, payment_failure="No bank details on file: held until you add them."
        )
    if not chosen:
        return RunOutcome(run=None, held=held, waiting=waiting)
    number = (
        RedemptionBankRun.objects.filter(dealing_day=locked)
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
        or 0
    ) + 1
    message_id = f"TSR{locked.public_id.hex[:20].upper()}D{number:04d}"
    remittance = f"Redemption {locked.offering.token_symbol} dealing day {locked.dealing_date:%Y-%m-%d}"
    entries = [
        RedemptionBankEntry(
            request=line,
            attempt=attempt,
            end_to_end_id=end_to_end_id_for(idempotency_key=f"redemption:{line.public_id}", attempt=attempt),
            amount_minor=line.net_minor,
            bank_account=account,
            state=BankEntryState.SENT,
        )
        for line, account, attempt in chosen
    ]
    now = timezone.now()
    execution_date = timezone.localdate()
    xml = pain001_write(
        message_id=message_id,
        debtor=Account(
            name=paying.holder_name,
            iban=paying.iban,
            bic=paying.bic,
            routing_number=paying.routing_number,
            account_number=paying.account_number,
        ),
        currency=locked.currency,
        execution_date=execution_date,
        transfers=[
            Transfer(
                end_to_end_id=e.end_to_end_id, amount_minor=e.amount_minor, creditor=_account(a), remittance=remittance
            )
            for e, (_l, a, _n) in zip(entries, chosen, strict=True)
        ],
        created_at=now,
    )
    csv_content = "".join(
        csv_lines(
            CSV_HEADER,
            (
                (
                    e.end_to_end_id,
                    line.line_index,
                    str(line.investor.public_id),
                    a.holder_name,
                    a.iban,
                    a.bic,
                    a.routing_number,
                    a.account_number,
                    amount_text(e.amount_minor, locked.currency),
                    locked.currency,
                    remittance,
                )
                for e, (line, a, _n) in zip(entries, chosen, strict=True)
            ),
        )
    ).encode("utf-8")
    run = RedemptionBankRun(
        dealing_day=locked,
        number=number,
        message_id=message_id,
        schema=SCHEMA,
        paying_account=paying,
        currency=locked.currency,
        execution_date=execution_date,
        line_count=len(entries),
        total_minor=sum(e.amount_minor for e in entries),
        xml_sha256=hashlib.sha256(xml).hexdigest(),
        csv_sha256=hashlib.sha256(csv_content).hexdigest(),
        created_by=actor,
    )
    # The files carry full account numbers: stored encrypted, like identity documents.
    run.xml_file.save(f"{message_id}.xml", ContentFile(encrypt_bytes(xml)), save=False)
    run.csv_file.save(f"{message_id}.csv", ContentFile(encrypt_bytes(csv_content)), save=False)
    run.save()
    for entry in entries:
        entry.run = run
    RedemptionBankEntry.objects.bulk_create(entries)
    RedemptionRequest.objects.filter(pk__in=[line.pk for line, _a, _n in chosen]).update(
        payment_state=LinePaymentState.SENDING, payment_failure="", payment_reference=""
    )
    audit_record(
        actor=actor if actor is not None else "redemptions",
        action="redemption.bank_run_created",
        obj=run,
        issuer=issuer,
        after={
            "run": number,
            "message_id": message_id,
            "lines": run.line_count,
            "total_minor": run.total_minor,
            "xml_sha256": run.xml_sha256,
            "csv_sha256": run.csv_sha256,
            "held": held,
        },
    )
    return RunOutcome(run=run, held=held, waiting=waiting)


@transaction.atomic
def redemption_bank_confirmation_import(*, day: DealingDay, upload: UploadedFile, actor: User) -> tuple[int, int]:
    """Apply the bank's answer to the day's payment runs, whole or not at all: (paid, returned)."""
    locked = _locked(day)
    upload.seek(0)
    content = upload.read(MAX_UPLOAD_BYTES + 1)
    _format, outcomes = confirmation_read(content)
    settled = [o for o in outcomes if o.outcome in ("paid", "returned")]
    if not settled:
        raise ApplicationError("The file confirms no payment of this dealing day.", code="nothing_confirmed")
    entries = {
        e.end_to_end_id: e
        for e in RedemptionBankEntry.objects.select_for_update(of=("self",))
        .select_related("request")
        .filter(run__dealing_day=locked, end_to_end_id__in=[o.end_to_end_id for o in settled])
    }
    unknown = sorted({o.end_to_end_id for o in settled} - set(entries))
    if unknown:
        raise ApplicationError(
            f"The file names payments that are not in this dealing day's runs ({', '.join(unknown[:5])}): nothing "
            "was applied. Check it is the answer to this day's file.",
            code="unknown_payments",
        )
    now = timezone.now()
    paid = returned = 0
    for outcome in settled:
        entry = entries[outcome.end_to_end_id]
        if entry.state != BankEntryState.SENT:
            continue  # told before: applied once
        request = entry.request
        if outcome.outcome == "paid":
            entry.state, entry.settled_at = BankEntryState.PAID, now
            request.payment_state, request.state, request.paid_at = LinePaymentState.PAID, RequestState.PAID, now
            request.payment_reference = outcome.bank_reference or entry.end_to_end_id
            paid += 1
        else:
            entry.state, entry.settled_at = BankEntryState.RETURNED, now
            request.payment_state = LinePaymentState.RETURNED
            why = outcome.reason_code or "no code"
            if outcome.reason_text:
                why += f": {outcome.reason_text}"
            request.payment_failure = f"Returned by the bank ({why}); paid again once new bank details are on file."
            returned += 1
        entry.save(update_fields=["state", "settled_at"])
        request.save(update_fields=["payment_state", "state", "paid_at", "payment_reference", "payment_failure"])
    audit_record(
        actor=actor,
        action="redemption.bank_confirmation_applied",
        obj=locked,
        issuer=locked.offering.issuer,
        after={"paid": paid, "returned": returned, "sha256": hashlib.sha256(content).hexdigest()},
    )
    dealing_day_settle_if_done(locked)
    dealing_day_notify(day_id=locked.pk)
    return paid, returned

"""Payment by bank file: on the payment date, the lines of an approved distribution are written to a payment
run (a pain.001.001.09 credit transfer and a CSV of the same lines) that the issuer hands to its bank.

Each line goes out under an end-to-end id derived from its idempotency key and its attempt number, so the
same line always carries the same id in a file, and a line is in a second run only after the bank returned
it (the partial unique constraint on `BankPaymentEntry` holds that even against two runs at once). Lines of
holders without bank details are held and listed; they go out in the next run once the holder adds them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.audit import audit_record
from core.csv import csv_lines
from core.errors import ApplicationError, Conflict
from core.fields import encrypt_bytes
from core.models import Issuer, User
from distributions.files import stored_files_remove
from distributions.iso20022 import SCHEMA, Account, PostalAddress, Transfer, amount_text, pain001_write
from distributions.models import (
    BankPaymentEntry,
    BankPaymentRun,
    DestinationStatus,
    Distribution,
    DistributionLine,
    DistributionState,
    LinePaymentState,
    PayingAccount,
    PaymentMethod,
)
from distributions.selectors import active_bank_accounts, paying_account_current
from distributions.services.reinvesting import reinvestment_outstanding
from investors.bank_details import bank_account_check
from investors.models import BankAccount, BankScheme, InvestorProfile

# Lines a run may take: never paid, held for want of details, or sent back by the bank.
PAYABLE_STATES = (LinePaymentState.PENDING, LinePaymentState.HELD, LinePaymentState.RETURNED, LinePaymentState.FAILED)
RUNNABLE_STATES = (DistributionState.APPROVED, DistributionState.PAYING)
CHUNK = 900

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


def end_to_end_id_for(*, idempotency_key: str, attempt: int) -> str:
    """The line's id in a payment file: 30 hex digits of its key's SHA-256 and the attempt (ISO 20022 Max35Text)."""
    return f"{hashlib.sha256(idempotency_key.encode()).hexdigest()[:30].upper()}-{attempt:02d}"


def _lock(distribution: Distribution) -> Distribution:
    return (
        Distribution.objects.select_for_update(of=("self",)).select_related("offering__issuer").get(pk=distribution.pk)
    )


# --------------------------------------------------------------------------- the issuer's paying account


@dataclass(frozen=True)
class PayingAccountInput:
    currency: str
    holder_name: str
    scheme: str
    iban: str = ""
    bic: str = ""
    routing_number: str = ""
    account_number: str = ""


@transaction.atomic
def paying_account_set(*, issuer: Issuer, actor: User, data: PayingAccountInput) -> PayingAccount:
    """The account the issuer's payment runs in `currency` are paid from, from now on (the old one is superseded)."""
    holder = " ".join((data.holder_name or "").split())
    if not holder:
        raise ApplicationError(
            "Enter the account holder's name.", code="holder_missing", extra={"field": "holder_name"}
        )
    checked = bank_account_check(
        scheme=data.scheme,
        iban=data.iban,
        bic=data.bic,
        routing_number=data.routing_number,
        account_number=data.account_number,
    )
    if checked.scheme == BankScheme.ABA and data.currency != "USD":
        raise ApplicationError(
            "A US routing number pays in USD: give an IBAN for an account in another currency.",
            code="aba_not_usd",
            extra={"field": "scheme"},
        )
    Issuer.objects.select_for_update().filter(pk=issuer.pk).first()
    previous = PayingAccount.objects.filter(issuer=issuer, currency=data.currency, superseded_at__isnull=True).first()
    if previous is not None:
        previous.superseded_at = timezone.now()
        previous.save(update_fields=["superseded_at"])
    account = PayingAccount.objects.create(
        issuer=issuer,
        currency=data.currency,
        holder_name=holder[:140],
        scheme=checked.scheme,
        iban=checked.iban,
        bic=checked.bic,
        routing_number=checked.routing_number,
        account_number=checked.account_number,
        added_by=actor,
    )
    audit_record(
        actor=actor,
        action="distribution.paying_account_set",
        obj=account,
        issuer=issuer,
        before={"paying_account": previous.pk} if previous else None,
        after={"paying_account": account.pk, "currency": account.currency, "account": str(account)},
    )
    return account


# --------------------------------------------------------------------------- payment runs


@dataclass(frozen=True)
class RunOutcome:
    run: BankPaymentRun | None
    held: int  # lines without bank details, now held
    waiting: int  # returned lines whose holder has not given new details yet


def _earlier_entries(line_ids: list[int]) -> dict[int, BankPaymentEntry]:
    """line id → its latest entry in an earlier run (returned, or it would not be payable again)."""
    found: dict[int, BankPaymentEntry] = {}
    for start in range(0, len(line_ids), CHUNK):
        for entry in BankPaymentEntry.objects.filter(line_id__in=line_ids[start : start + CHUNK]).order_by("attempt"):
            found[entry.line_id] = entry
    return found


def _address_of(investor: InvestorProfile) -> PostalAddress | None:
    """The holder's address as the register records it, when at least the town and country are known."""
    return PostalAddress.known(
        lines=(investor.address_line1, investor.address_line2),
        town=investor.city,
        country=str(investor.country or ""),
        postal_code=investor.postal_code,
        region=investor.region,
    )


def _remittance(distribution: Distribution) -> str:
    return (
        f"{distribution.get_kind_display()} {distribution.offering.token_symbol} "
        f"record date {distribution.record_date:%Y-%m-%d}"
    )


def _csv(rows: list[tuple[BankPaymentEntry, DistributionLine, BankAccount]], currency: str, remittance: str) -> bytes:
    body = csv_lines(
        CSV_HEADER,
        (
            (
                entry.end_to_end_id,
                line.line_index,
                str(line.investor.public_id),
                account.holder_name,
                account.iban,
                account.bic,
                account.routing_number,
                account.account_number,
                amount_text(entry.amount_minor, currency),
                currency,
                remittance,
            )
            for entry, line, account in rows
        ),
    )
    return "".join(body).encode("utf-8")


def bank_payment_run_create(
    *, distribution: Distribution, actor: User | None, today: dt.date | None = None
) -> RunOutcome:
    """Write the next payment run of a bank-file distribution: every payable line whose holder has bank details.

    Lines without details are held (and listed); a returned line waits until its holder gives new details.
    Nothing to pay is not an error: the outcome says how many lines are held or waiting."""
    stored: list[BankPaymentRun] = []
    try:
        with transaction.atomic():
            return _run_create(distribution, actor=actor, today=today, stored=stored)
    except BaseException:
        stored_files_remove(stored, "xml_file", "csv_file")  # rolled back: no run names these files
        raise


def _run_create(
    distribution: Distribution, *, actor: User | None, today: dt.date | None, stored: list[BankPaymentRun]
) -> RunOutcome:
    locked = _lock(distribution)
    today = today or timezone.localdate()
    if locked.payment_method != PaymentMethod.BANK_FILE:
        raise ApplicationError("This distribution is paid on-chain, not by bank file.", code="not_bank_file")
    if locked.state not in RUNNABLE_STATES:
        raise Conflict(
            f"It is {locked.get_state_display().lower()}: only an approved distribution is paid.", code="state"
        )
    if today < locked.payment_date:
        raise ApplicationError(
            f"The payment date is {locked.payment_date:%d %B %Y}: the first file is written on that day.",
            code="before_payment_date",
        )
    issuer = locked.offering.issuer
    paying = paying_account_current(issuer=issuer, currency=locked.currency)
    if paying is None:
        raise ApplicationError(
            f"Set the {locked.currency} account the payments leave from first: it is the debtor of the file.",
            code="no_paying_account",
        )
    lines = list(
        DistributionLine.objects.select_for_update(of=("self",))
        .select_related("investor")
        .filter(distribution=locked, cash_minor__gt=0, payment_state__in=PAYABLE_STATES)
        # A reinvesting line's cash waits for its tokens: should they fall back to cash, it is the whole net.
        .exclude(reinvestment_outstanding())
        .order_by("pk")
    )
    accounts = active_bank_accounts(investor_ids={line.investor_id for line in lines})
    earlier = _earlier_entries([line.pk for line in lines])
    to_hold: list[DistributionLine] = []
    held = waiting = 0
    chosen: list[tuple[DistributionLine, BankAccount, int]] = []
    for line in lines:
        account = accounts.get(line.investor_id)
        previous = earlier.get(line.pk)
        if account is None:
            if line.payment_state in (LinePaymentState.PENDING, LinePaymentState.HELD):
                held += 1
                if line.payment_state == LinePaymentState.PENDING:
                    to_hold.append(line)
            else:
                waiting += 1
            continue
        if previous is not None and previous.bank_account_id == account.pk:
            waiting += 1  # returned from this very account: paid again only to new details
            continue
        chosen.append((line, account, (previous.attempt + 1) if previous else 1))
    now = timezone.now()
    if to_hold:
        DistributionLine.objects.filter(pk__in=[line.pk for line in to_hold]).update(
            payment_state=LinePaymentState.HELD,
            failure_reason="No bank details on file.",
            destination_status=DestinationStatus.BANK_MISSING,
        )
    if not chosen:
        if to_hold:
            audit_record(
                actor=actor,
                action="distribution.bank_lines_held",
                obj=locked,
                issuer=issuer,
                after={"held_lines": [line.line_index for line in to_hold]},
            )
        return RunOutcome(run=None, held=held, waiting=waiting)

    number = (
        BankPaymentRun.objects.filter(distribution=locked).order_by("-number").values_list("number", flat=True).first()
        or 0
    ) + 1
    message_id = f"TSR{locked.public_id.hex[:20].upper()}R{number:04d}"
    remittance = _remittance(locked)
    entries = [
        BankPaymentEntry(
            line=line,
            attempt=attempt,
            end_to_end_id=end_to_end_id_for(idempotency_key=line.idempotency_key, attempt=attempt),
            amount_minor=line.cash_minor,
            bank_account=account,
        )
        for line, account, attempt in chosen
    ]
    debtor = Account(
        name=paying.holder_name,
        iban=paying.iban,
        bic=paying.bic,
        routing_number=paying.routing_number,
        account_number=paying.account_number,
        address=PostalAddress.known(
            lines=(issuer.address_line1, issuer.address_line2),
            town=issuer.city,
            country=str(issuer.country),
            postal_code=issuer.postal_code,
            region=issuer.region,
        ),
    )
    transfers = [
        Transfer(
            end_to_end_id=entry.end_to_end_id,
            amount_minor=entry.amount_minor,
            creditor=Account(
                name=account.holder_name,
                iban=account.iban,
                bic=account.bic,
                routing_number=account.routing_number,
                account_number=account.account_number,
                address=_address_of(line.investor),
            ),
            remittance=remittance,
        )
        for entry, (line, account, _attempt) in zip(entries, chosen, strict=True)
    ]
    execution_date = max(today, locked.payment_date)
    xml = pain001_write(
        message_id=message_id,
        debtor=debtor,
        currency=locked.currency,
        execution_date=execution_date,
        transfers=transfers,
        created_at=now,
    )
    csv_content = _csv(
        [(e, line, a) for e, (line, a, _n) in zip(entries, chosen, strict=True)], locked.currency, remittance
    )
    run = BankPaymentRun(
        distribution=locked,
        number=number,
        message_id=message_id,
        schema=SCHEMA,
        paying_account=paying,
        currency=locked.currency,
        execution_date=execution_date,
        line_count=len(entries),
        total_minor=sum(e.amount_minor for e in entries),
        held_count=held,
        xml_sha256=hashlib.sha256(xml).hexdigest(),
        csv_sha256=hashlib.sha256(csv_content).hexdigest(),
        created_by=actor,
    )
    # The files carry full account numbers: stored encrypted, like identity documents.
    stored.append(run)
    run.xml_file.save(f"{message_id}.xml", ContentFile(encrypt_bytes(xml)), save=False)
    run.csv_file.save(f"{message_id}.csv", ContentFile(encrypt_bytes(csv_content)), save=False)
    run.save()
    for entry in entries:
        entry.run = run
    BankPaymentEntry.objects.bulk_create(entries)
    DistributionLine.objects.filter(pk__in=[line.pk for line, _a, _n in chosen]).update(
        payment_state=LinePaymentState.SENDING,
        failure_reason="",
        payment_reference="",
        destination_status=DestinationStatus.BANK_ACCOUNT,
    )
    before_state = locked.state
    if locked.state == DistributionState.APPROVED:
        locked.state = DistributionState.PAYING
        locked.save(update_fields=["state"])
    audit_record(
        actor=actor,
        action="distribution.bank_run_created",
        obj=run,
        issuer=issuer,
        before={"state": before_state},
        after={
            "state": locked.state,
            "run": run.number,
            "message_id": message_id,
            "lines": run.line_count,
            "total_minor": run.total_minor,
            "currency": run.currency,
            "xml_sha256": run.xml_sha256,
            "csv_sha256": run.csv_sha256,
            "held_lines": [line.line_index for line in to_hold],
        },
    )
    return RunOutcome(run=run, held=held, waiting=waiting)


def bank_distribution_settle(locked: Distribution) -> str:
    """Paid once every line is done: its cash paid (or none to pay) and its reinvested tokens minted and recorded;
    a return after that reopens it. `locked` is the distribution's row, locked; returns its state."""
    unfinished = (
        DistributionLine.objects.filter(distribution=locked)
        .filter(Q(cash_minor__gt=0) | reinvestment_outstanding())
        .exclude(payment_state__in=(LinePaymentState.PAID, LinePaymentState.REINVESTED))
        .exists()
    )
    if locked.state == DistributionState.APPROVED and not unfinished:
        target = DistributionState.PAID  # nothing was left to pay in cash: every holder reinvested in whole tokens
    elif locked.state in (DistributionState.PAYING, DistributionState.PAID):
        target = DistributionState.PAYING if unfinished else DistributionState.PAID
    else:
        return locked.state
    if locked.state != target:
        before = locked.state
        locked.state = target
        locked.save(update_fields=["state"])
        if target == DistributionState.PAID:
            audit_record(
                actor="distributions",
                action="distribution.paid",
                obj=locked,
                issuer=locked.offering.issuer,
                before={"state": before},
                after={"state": target},
            )
    return target


def distribution_pay_by_bank_file(*, distribution_id: int, today: dt.date | None = None) -> str:
    """The scheduled payer of bank-file distributions: from the payment date, at most one run a day on its own
    (an admin may write more from the page). Safe to call again: lines already in a live run never go out twice."""
    today = today or timezone.localdate()
    distribution = Distribution.objects.select_related("offering__issuer").filter(pk=distribution_id).first()
    if distribution is None or distribution.payment_method != PaymentMethod.BANK_FILE:
        return "not a bank-file distribution"
    if distribution.state not in RUNNABLE_STATES or today < distribution.payment_date:
        return "not due"
    if BankPaymentRun.objects.filter(
        distribution=distribution, created_by__isnull=True, created_at__date=today
    ).exists():
        return "written today"
    try:
        outcome = bank_payment_run_create(distribution=distribution, actor=None, today=today)
    except ApplicationError as exc:
        # A rule said no (no paying account yet): the page says so; the next day's call tries again.
        return exc.code
    if outcome.run is None:
        with transaction.atomic():
            state = bank_distribution_settle(_lock(distribution))
        if state == DistributionState.PAID:
            return "paid"
        return f"nothing to pay ({outcome.held} held, {outcome.waiting} waiting for new details)"
    return f"run {outcome.run.number}: {outcome.run.line_count} lines"

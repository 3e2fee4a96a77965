"""Reads for distributions: the lists and registers the pages show, and the inputs of a register."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.utils import timezone

from core.countries import UNITED_STATES
from core.models import Issuer
from distributions.models import (
    BankEntryState,
    BankPaymentEntry,
    BankPaymentRun,
    DestinationStatus,
    Distribution,
    DistributionLine,
    DistributionState,
    LinePaymentState,
    PayingAccount,
    PaymentMethod,
    ReinvestmentElection,
)
from distributions.withholding import TaxStatus
from investors.models import BankAccount, InvestorKind, InvestorProfile, TaxForm, Wallet
from offerings.models import Offering
from offerings.services.stablecoin import units_per_cent
from tokens.models import OPEN_STATUSES, ChainTransaction
from tokens.selectors import stablecoin_balance, stablecoin_receiving_address

# SQLite allows 32,766 parameters per statement; 900 keeps every backend far inside its limit.
CHUNK = 900


def distributions_of(*, offering: Offering) -> QuerySet[Distribution]:
    return Distribution.objects.filter(offering=offering).select_related("declared_by", "approved_by")


def distribution_lines(*, distribution: Distribution) -> QuerySet[DistributionLine]:
    """The register in investor order, with what a page shows of each investor and their form."""
    return (
        DistributionLine.objects.filter(distribution=distribution)
        .select_related("investor", "tax_form", "reinvest_mint")
        .only(
            "balance_at_record",
            "gross_minor",
            "withholding_rate_bps",
            "withholding_reason",
            "tax_form_kind",
            "withheld_minor",
            "net_minor",
            "destination_status",
            "destination_wallet",
            "reinvest",
            "reinvest_units",
            "cash_minor",
            "reinvest_refused_reason",
            "payment_state",
            "payment_reference",
            "paid_at",
            "reinvest_mint__settled_at",
            "investor__legal_name",
            "investor__public_id",
            "tax_form__signed_on",
            "tax_form__expires_on",
        )
        .order_by("investor_id")
    )


@dataclass(frozen=True)
class WithholdingTotal:
    reason: str
    rate_bps: int
    holders: int
    gross_minor: int
    withheld_minor: int


def withholding_totals(*, distribution: Distribution) -> list[WithholdingTotal]:
    """Per reason and rate: how many holders and how much is withheld (the issuer remits the total)."""
    rows = (
        DistributionLine.objects.filter(distribution=distribution)
        .values_list("withholding_reason", "withholding_rate_bps")
        .annotate(n=Sum(1), gross=Sum("gross_minor"), withheld=Sum("withheld_minor"))
        .order_by("withholding_reason", "withholding_rate_bps")
    )
    return [WithholdingTotal(r, rate, int(n), int(g or 0), int(w or 0)) for r, rate, n, g, w in rows]


@dataclass(frozen=True)
class ReinvestmentTotals:
    holders: int  # lines of holders who elected reinvestment
    units: int  # new tokens to mint at the declared price
    reinvested_minor: int  # units × price
    cash_minor: int  # what is paid in money, over every line
    refused: int  # electing holders paid in cash instead (reason on their line)
    reinvested: int  # lines whose units are minted and on the ledger


def reinvestment_totals(*, distribution: Distribution) -> ReinvestmentTotals:
    lines = DistributionLine.objects.filter(distribution=distribution)
    totals = lines.aggregate(cash=Sum("cash_minor"))
    electing = lines.filter(reinvest=True).aggregate(n=Sum(1), units=Sum("reinvest_units"))
    units = int(electing["units"] or 0)
    return ReinvestmentTotals(
        holders=int(electing["n"] or 0),
        units=units,
        reinvested_minor=units * (distribution.reinvestment_price_minor or 0),
        cash_minor=int(totals["cash"] or 0),
        refused=lines.filter(reinvest=True).exclude(reinvest_refused_reason="").count(),
        reinvested=lines.filter(reinvest_mint__settled_at__isnull=False).count(),
    )


def destination_missing(*, distribution: Distribution) -> int:
    """Lines whose payment destination is not on file yet."""
    return (
        DistributionLine.objects.filter(distribution=distribution)
        .exclude(destination_status__in=(DestinationStatus.WALLET, DestinationStatus.BANK_ACCOUNT))
        .filter(net_minor__gt=0)
        .count()
    )


@dataclass(frozen=True)
class TreasuryCheck:
    """Whether the treasury holds the net total of an on-chain payment."""

    wallet: str
    balance_minor: int | None  # None: no stablecoin is set up
    needed_minor: int

    @property
    def short_by(self) -> int:
        return max(self.needed_minor - (self.balance_minor or 0), 0)

    @property
    def enough(self) -> bool:
        return self.balance_minor is not None and self.short_by == 0


def treasury_check(*, distribution: Distribution) -> TreasuryCheck | None:
    """For stablecoin payments: the treasury's balance against the net total (None for bank payments).

    Raises the chain's transient errors when the node is down."""
    if distribution.payment_method != PaymentMethod.STABLECOIN:
        return None
    wallet = stablecoin_receiving_address()
    units = stablecoin_balance(wallet=wallet)
    balance = None if units is None else units // units_per_cent()
    return TreasuryCheck(wallet=wallet, balance_minor=balance, needed_minor=distribution.total_net_minor)


def record_dates_ahead(*, offering: Offering, after: object) -> QuerySet[Distribution]:
    """Distributions of the token whose record date, scheduled on-chain, is still ahead of `after`."""
    return Distribution.objects.filter(offering=offering, record_at__gt=after).exclude(
        record_transaction__status="failed"
    )


# --------------------------------------------------------------------------- inputs of a register


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


@dataclass(frozen=True)
class TaxStanding:
    status: TaxStatus
    form_id: int | None
    form_kind: str


def tax_standings(*, investor_ids: Iterable[int]) -> dict[int, TaxStanding]:
    """investor id → residence and current (not superseded) tax form, read in bounded batches."""
    ids = sorted(set(investor_ids))
    result: dict[int, TaxStanding] = {}
    for chunk in _chunks(ids):
        forms = {
            f.investor_id: f
            for f in TaxForm.objects.filter(investor_id__in=chunk, superseded_at__isnull=True)
            .only(
                "investor_id",
                "kind",
                "expires_on",
                "tin_certified",
                "not_subject_to_backup_withholding",
                "treaty_rate_bps",
            )
            .order_by("investor_id", "created_at")
        }
        people = InvestorProfile.objects.filter(pk__in=chunk).values_list(
            "pk", "kind", "country", "citizenship", "formation_country"
        )
        for pk, kind, country, citizenship, formation in people:
            entity = kind == InvestorKind.ENTITY
            # IRC 7701(a)(30), as InvestorProfile.is_us_taxpayer: citizens, residents, US-formed entities.
            us_taxpayer = (
                str(formation) == UNITED_STATES if entity else UNITED_STATES in (str(country), str(citizenship))
            )
            form = forms.get(pk)
            status = TaxStatus(
                us_taxpayer=us_taxpayer,
                form_kind=form.kind if form else "",
                form_expires_on=form.expires_on if form else None,
                tin_certified=bool(form and form.tin_certified),
                exempt_from_backup=bool(form and form.not_subject_to_backup_withholding),
                treaty_rate_bps=form.treaty_rate_bps if form else None,
            )
            result[pk] = TaxStanding(status, form.pk if form else None, form.kind if form else "")
    return result


def active_wallets(*, investor_ids: Iterable[int]) -> dict[int, list[str]]:
    """investor id → wallets on file and not removed, oldest first."""
    result: dict[int, list[str]] = {}
    for chunk in _chunks(sorted(set(investor_ids))):
        rows = (
            Wallet.objects.filter(investor_id__in=chunk, removed_at__isnull=True)
            .values_list("investor_id", "address")
            .order_by("investor_id", "linked_at", "pk")
        )
        for investor_id, address in rows:
            result.setdefault(investor_id, []).append(address)
    return result


def active_bank_accounts(*, investor_ids: Iterable[int]) -> dict[int, BankAccount]:
    """investor id → the bank account on file now (not superseded), read in bounded batches."""
    found: dict[int, BankAccount] = {}
    for chunk in _chunks(sorted(set(investor_ids))):
        for account in BankAccount.objects.filter(investor_id__in=chunk, superseded_at__isnull=True):
            found[account.investor_id] = account
    return found


def bank_account_holders(*, investor_ids: Iterable[int]) -> set[int]:
    """Of `investor_ids`, those with a bank account on file now (no account details are read)."""
    found: set[int] = set()
    for chunk in _chunks(sorted(set(investor_ids))):
        found.update(
            BankAccount.objects.filter(investor_id__in=chunk, superseded_at__isnull=True).values_list(
                "investor_id", flat=True
            )
        )
    return found


def reinvestment_elected(*, offering: Offering, at: dt.datetime) -> set[int]:
    """Investors whose election was open at `at` (the record moment): made by then, not withdrawn by then.

    An election made after the record date counts from the next distribution; one withdrawn after it
    still counts for this one."""
    return set(
        ReinvestmentElection.objects.filter(offering=offering, elected_at__lte=at)
        .filter(Q(withdrawn_at__isnull=True) | Q(withdrawn_at__gt=at))
        .values_list("investor_id", flat=True)
    )


def distributions_to_pay(*, methods: list[str], today: dt.date | None = None) -> list[int]:
    """Ids of distributions a payment run has work on: approved and due, paying, or paid with a batch a reorg
    reopened (its lines may have to go back to sending)."""
    today = today or timezone.localdate()
    due = Q(state=DistributionState.APPROVED, payment_date__lte=today) | Q(state=DistributionState.PAYING)
    # A paid distribution whose batches are all final is finished: found from the few open batches, never by
    # reading the lines of every paid distribution.
    open_batches = ChainTransaction.objects.filter(status__in=OPEN_STATUSES)
    reopened = Q(
        state=DistributionState.PAID,
        pk__in=DistributionLine.objects.filter(
            payment_transaction__in=open_batches.values("pk"), payment_state=LinePaymentState.PAID
        ).values("distribution_id"),
    )
    return list(
        Distribution.objects.filter(payment_method__in=methods)
        .filter(due | reopened)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def reinvestment_offered(*, offering: Offering) -> bool:
    """The token offers reinvestment once its issuer declared a distribution with a reinvestment price."""
    return (
        Distribution.objects.filter(offering=offering, reinvestment_price_minor__isnull=False)
        .exclude(state=DistributionState.CANCELLED)
        .exists()
    )


def reinvestment_election_open(*, investor: InvestorProfile, offering: Offering) -> ReinvestmentElection | None:
    return ReinvestmentElection.objects.filter(investor=investor, offering=offering, withdrawn_at__isnull=True).first()


def reinvestment_next(*, offering: Offering, after: dt.datetime) -> Distribution | None:
    """The next distribution with a reinvestment price whose record date (the cut-off) is still ahead."""
    return (
        Distribution.objects.filter(offering=offering, reinvestment_price_minor__isnull=False, record_at__gt=after)
        .exclude(state__in=[DistributionState.CANCELLED, DistributionState.STOPPED])
        .order_by("record_at")
        .first()
    )


@dataclass(frozen=True)
class PaymentTally:
    lines: int
    cash_minor: int


@dataclass(frozen=True)
class PaymentProgress:
    """Where the payment of a distribution stands: lines and cash per payment state."""

    by_state: dict[str, PaymentTally]
    total: PaymentTally

    def of(self, state: str) -> PaymentTally:
        return self.by_state.get(state, PaymentTally(0, 0))

    @property
    def paid(self) -> PaymentTally:
        paid, reinvested = self.of(LinePaymentState.PAID), self.of(LinePaymentState.REINVESTED)
        return PaymentTally(paid.lines + reinvested.lines, paid.cash_minor + reinvested.cash_minor)

    @property
    def pending(self) -> PaymentTally:
        """Not paid yet and not stopped: waiting to be sent, or sent and waiting for a final block."""
        pending, sending = self.of(LinePaymentState.PENDING), self.of(LinePaymentState.SENDING)
        return PaymentTally(pending.lines + sending.lines, pending.cash_minor + sending.cash_minor)

    @property
    def held(self) -> PaymentTally:
        return self.of(LinePaymentState.HELD)

    @property
    def failed(self) -> PaymentTally:
        return self.of(LinePaymentState.FAILED)

    @property
    def percent(self) -> int:
        """Share of the lines paid, rounded down (100 only when every line is)."""
        return self.paid.lines * 100 // self.total.lines if self.total.lines else 0


def payment_progress(*, distribution: Distribution) -> PaymentProgress:
    rows = (
        DistributionLine.objects.filter(distribution=distribution)
        .values_list("payment_state")
        .annotate(n=Sum(1), cash=Sum("cash_minor"))
        .order_by()
    )
    by_state = {state: PaymentTally(int(n), int(cash or 0)) for state, n, cash in rows}
    total = PaymentTally(sum(t.lines for t in by_state.values()), sum(t.cash_minor for t in by_state.values()))
    return PaymentProgress(by_state=by_state, total=total)


def lines_in_payment_state(*, distribution: Distribution, state: str, limit: int = 50) -> list[DistributionLine]:
    """The first lines in one payment state (failed, held), with the investor, for the page to list."""
    return list(
        DistributionLine.objects.filter(distribution=distribution, payment_state=state)
        .select_related("investor")
        .only(
            "line_index",
            "cash_minor",
            "failure_reason",
            "destination_wallet",
            "payment_state",
            "investor__legal_name",
            "investor__public_id",
        )
        .order_by("line_index")[:limit]
    )


@dataclass(frozen=True)
class ReinvestmentChoice:
    """What the investor's portfolio shows for one token they hold."""

    offering: Offering
    offered: bool
    election: ReinvestmentElection | None
    next_distribution: Distribution | None


def reinvestment_choices(*, investor: InvestorProfile, offerings: Iterable[Offering]) -> list[ReinvestmentChoice]:
    ids = [o.pk for o in offerings]
    offered = set(
        Distribution.objects.filter(offering_id__in=ids, reinvestment_price_minor__isnull=False)
        .exclude(state=DistributionState.CANCELLED)
        .values_list("offering_id", flat=True)
    )
    elections = {
        e.offering_id: e
        for e in ReinvestmentElection.objects.filter(investor=investor, offering_id__in=ids, withdrawn_at__isnull=True)
    }
    now = timezone.now()
    return [
        ReinvestmentChoice(
            offering=o,
            offered=o.pk in offered,
            election=elections.get(o.pk),
            next_distribution=reinvestment_next(offering=o, after=now) if o.pk in offered else None,
        )
        for o in offerings
        if o.pk in offered or o.pk in elections
    ]


@dataclass(frozen=True)
class ReinvestmentOutcome:
    """An investor's reinvesting line of one distribution, as their portfolio shows it."""

    line: DistributionLine
    mint_hash: str | None


def reinvestment_lines_of(*, investor: InvestorProfile, limit: int = 20) -> list[ReinvestmentOutcome]:
    lines = (
        DistributionLine.objects.filter(investor=investor, reinvest=True)
        .select_related("distribution__offering", "reinvest_mint__chain_transaction")
        .order_by("-distribution__record_date", "-pk")[:limit]
    )
    return [
        ReinvestmentOutcome(
            line=line,
            mint_hash=(
                line.reinvest_mint.chain_transaction.tx_hash
                if line.reinvest_mint is not None and line.reinvest_mint.settled_at is not None
                else None
            ),
        )
        for line in lines
    ]


def distribution_state_counts(*, offering: Offering) -> dict[str, int]:
    rows = Distribution.objects.filter(offering=offering).values_list("state").annotate(n=Sum(1)).order_by()
    return {state: int(n) for state, n in rows if state in DistributionState.values}


# --------------------------------------------------------------------------- payment by bank file


def paying_account_current(*, issuer: Issuer, currency: str) -> PayingAccount | None:
    """The issuer's account that its payment runs in `currency` leave from."""
    return PayingAccount.objects.filter(issuer=issuer, currency=currency, superseded_at__isnull=True).first()


def bank_runs_of(*, distribution: Distribution) -> QuerySet[BankPaymentRun]:
    return BankPaymentRun.objects.filter(distribution=distribution).select_related("created_by").order_by("-number")


def bank_run_get(*, distribution: Distribution, public_id: Any) -> BankPaymentRun | None:
    return BankPaymentRun.objects.filter(distribution=distribution, public_id=public_id).first()


def bank_entries_waiting(*, distribution: Distribution) -> QuerySet[BankPaymentEntry]:
    """Lines in a file the bank has not confirmed yet."""
    return (
        BankPaymentEntry.objects.filter(run__distribution=distribution, state=BankEntryState.SENT)
        .select_related("run", "line__investor", "bank_account")
        .order_by("run__number", "line__line_index")
    )


def bank_entries_returned(*, distribution: Distribution) -> QuerySet[BankPaymentEntry]:
    """Payments the bank sent back, for lines not paid since: the latest attempt of each such line."""
    later = BankPaymentEntry.objects.filter(line=OuterRef("line"), attempt__gt=OuterRef("attempt"))
    return (
        BankPaymentEntry.objects.filter(
            run__distribution=distribution,
            state=BankEntryState.RETURNED,
            line__payment_state=LinePaymentState.RETURNED,
        )
        .exclude(Exists(later))
        .select_related("run", "line__investor", "bank_account")
        .order_by("line__line_index")
    )


def bank_lines_held(*, distribution: Distribution) -> QuerySet[DistributionLine]:
    """Lines waiting for their holder's bank details."""
    return (
        DistributionLine.objects.filter(distribution=distribution, payment_state=LinePaymentState.HELD)
        .select_related("investor")
        .order_by("line_index")
    )


@dataclass(frozen=True)
class BankPaymentProgress:
    paid: int
    paid_minor: int
    sending: int
    sending_minor: int
    held: int
    held_minor: int
    returned: int
    returned_minor: int
    pending: int
    pending_minor: int


def bank_payment_progress(*, distribution: Distribution) -> BankPaymentProgress:
    rows = {
        state: (int(n), int(total or 0))
        for state, n, total in DistributionLine.objects.filter(distribution=distribution, cash_minor__gt=0)
        .values_list("payment_state")
        .annotate(n=Count("pk"), total=Sum("cash_minor"))
        .values_list("payment_state", "n", "total")
        .order_by()
    }

    def get(state: str) -> tuple[int, int]:
        return rows.get(state, (0, 0))

    return BankPaymentProgress(
        *get(LinePaymentState.PAID),
        *get(LinePaymentState.SENDING),
        *get(LinePaymentState.HELD),
        *get(LinePaymentState.RETURNED),
        *get(LinePaymentState.PENDING),
    )


def bank_file_distributions_due(*, today: dt.date | None = None) -> list[int]:
    """Ids of bank-file distributions a payment run may have work on: approved and due, or being paid."""
    today = today or timezone.localdate()
    due = Q(state=DistributionState.APPROVED, payment_date__lte=today) | Q(state=DistributionState.PAYING)
    return list(
        Distribution.objects.filter(payment_method=PaymentMethod.BANK_FILE)
        .filter(due)
        .order_by("pk")
        .values_list("pk", flat=True)
    )

"""Reads about offerings, subscriptions, payments and closing. Every page reads a fixed number of queries."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Count, Max, Q, QuerySet, Sum
from django.db.models.functions import Least, TruncDate
from django.utils import timezone

from compliance.eligibility import EligibilityContext
from compliance.exemptions import Exemption
from core.models import Issuer
from investors.models import InvestorProfile
from offerings.models import (
    COMMITTED_STATUSES,
    OPEN_SUBSCRIPTION_STATUSES,
    MintBatch,
    Offering,
    OfferingDocument,
    OfferingStatus,
    Payment,
    Refund,
    RefundStatus,
    StablecoinMatch,
    StablecoinReceipt,
    Subscription,
    SubscriptionStatus,
    WireReceipt,
)
from tokens.models import ChainTransaction, TxStatus
from tokens.selectors import TokenSetup, explorer_url, registry_wallets_confirmed, token_deployment, token_setup


def offerings_public() -> QuerySet[Offering]:
    return (
        Offering.objects.exclude(status=OfferingStatus.DRAFT)
        .select_related("issuer")
        .annotate(
            paid_total=Sum(
                "subscriptions__paid_minor",
                filter=Q(subscriptions__status__in=[*COMMITTED_STATUSES]),
            ),
            investor_count=Count(
                "subscriptions__investor", filter=Q(subscriptions__status__in=COMMITTED_STATUSES), distinct=True
            ),
        )
        .order_by("-published_at", "-pk")
    )


def offerings_of(*, issuer: Issuer) -> QuerySet[Offering]:
    return Offering.objects.filter(issuer=issuer).order_by("-created_at")


def offering_visible(*, public_id: Any) -> Offering | None:
    return Offering.objects.select_related("issuer").filter(public_id=public_id).first()


def current_documents(*, offering: Offering) -> list[OfferingDocument]:
    """The newest version of each document (kind and title)."""
    latest: dict[tuple[str, str], OfferingDocument] = {}
    for doc in offering.documents.order_by("kind", "title", "-version"):
        latest.setdefault((doc.kind, doc.title), doc)
    return list(latest.values())


def document_history(*, offering: Offering) -> list[OfferingDocument]:
    return list(offering.documents.select_related("uploaded_by").order_by("kind", "title", "-version"))


# --------------------------------------------------------------------------- eligibility facts


def _window_start(days: int) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=days)


def eligibility_context(
    *,
    offering: Offering,
    investor: InvestorProfile,
    annual_income_minor: int | None = None,
    net_worth_minor: int | None = None,
    exclude_subscription: int | None = None,
) -> EligibilityContext:
    """What only offerings can count about this investor, for `subscription_eligibility`."""
    mine = Subscription.objects.filter(investor=investor, status__in=COMMITTED_STATUSES)
    if exclude_subscription is not None:
        mine = mine.exclude(pk=exclude_subscription)
    existing = mine.filter(offering=offering).aggregate(t=Sum("amount_minor"))["t"] or 0
    reg_cf = 0
    if offering.exemption == Exemption.REG_CF:
        # 227.100(a)(2): counted across every Reg CF offering in the 12 months before this sale.
        reg_cf = (
            mine.filter(offering__exemption=Exemption.REG_CF, created_at__gte=_window_start(365)).aggregate(
                t=Sum("amount_minor")
            )["t"]
            or 0
        )
    used, counted = 0, False
    if offering.max_non_accredited is not None:
        figures: dict[str, Any] = settings.EXEMPTION_FIGURES
        window = int(figures["rule_506b_window_days"])
        purchasers = Subscription.objects.filter(
            offering__issuer_id=offering.issuer_id,
            offering__exemption=Exemption.REG_D_506B,
            non_accredited=True,
            status__in=COMMITTED_STATUSES,
            created_at__gte=_window_start(window),
        )
        if exclude_subscription is not None:
            purchasers = purchasers.exclude(pk=exclude_subscription)
        used = purchasers.values("investor").distinct().count()
        counted = purchasers.filter(investor=investor).exists()
    return EligibilityContext(
        existing_commitment_minor=existing,
        reg_cf_invested_12m_minor=reg_cf,
        non_accredited_used=used,
        counted_as_non_accredited=counted,
        annual_income_minor=annual_income_minor,
        net_worth_minor=net_worth_minor,
    )


def closing_contexts(*, offering: Offering, subscriptions: list[Subscription]) -> dict[int, EligibilityContext]:
    """Eligibility facts for many subscriptions of one offering, in a fixed number of queries."""
    investor_ids = {s.investor_id for s in subscriptions}
    wallets = registry_wallets_confirmed(investor_refs={s.investor.reference for s in subscriptions})
    totals: dict[int, int] = defaultdict(int)
    per_sub: dict[int, int] = {}
    rows = Subscription.objects.filter(investor_id__in=investor_ids, status__in=COMMITTED_STATUSES)
    if offering.exemption == Exemption.REG_CF:
        rows = rows.filter(offering__exemption=Exemption.REG_CF, created_at__gte=_window_start(365))
    else:
        rows = rows.filter(offering=offering)
    for pk, investor_id, amount in rows.values_list("pk", "investor_id", "amount_minor"):
        totals[investor_id] += amount
        per_sub[pk] = amount
    contexts = {}
    for s in subscriptions:
        others = totals[s.investor_id] - per_sub.get(s.pk, 0)
        contexts[s.pk] = EligibilityContext(
            existing_commitment_minor=others if offering.exemption != Exemption.REG_CF else 0,
            reg_cf_invested_12m_minor=others if offering.exemption == Exemption.REG_CF else 0,
            counted_as_non_accredited=True,  # counted when the commitment was accepted
            annual_income_minor=s.annual_income_minor,
            net_worth_minor=s.net_worth_minor,
            registered_wallets=wallets.get(s.investor.reference, frozenset()),
        )
    return contexts


# --------------------------------------------------------------------------- progress and dashboard


@dataclass
class Progress:
    committed_minor: int
    paid_minor: int
    investors: int
    soft_cap_minor: int
    hard_cap_minor: int

    @property
    def percent_of_hard_cap(self) -> int:
        return min(100, self.committed_minor * 100 // self.hard_cap_minor) if self.hard_cap_minor else 0

    @property
    def paid_percent_of_hard_cap(self) -> int:
        return min(100, self.paid_minor * 100 // self.hard_cap_minor) if self.hard_cap_minor else 0

    @property
    def soft_cap_percent(self) -> int:
        return min(100, self.soft_cap_minor * 100 // self.hard_cap_minor) if self.hard_cap_minor else 0

    @property
    def soft_cap_met(self) -> bool:
        return self.paid_minor >= self.soft_cap_minor


def offering_progress(*, offering: Offering) -> Progress:
    totals = Subscription.objects.filter(offering=offering, status__in=COMMITTED_STATUSES).aggregate(
        committed=Sum("amount_minor"),
        investors=Count("investor", distinct=True),
    )
    paid = paid_total(offering=offering)
    return Progress(
        committed_minor=totals["committed"] or 0,
        paid_minor=paid,
        investors=totals["investors"] or 0,
        soft_cap_minor=offering.soft_cap_minor,
        hard_cap_minor=offering.hard_cap_minor,
    )


def paid_total(*, offering: Offering) -> int:
    """Paid toward the soft cap: each paid subscription counts up to its amount (over-payments go back)."""
    rows = Subscription.objects.filter(
        offering=offering,
        status__in=[SubscriptionStatus.PAID, SubscriptionStatus.ALLOCATED, SubscriptionStatus.ISSUED],
    )
    return int(rows.aggregate(t=Sum(Least("paid_minor", "amount_minor")))["t"] or 0)


@dataclass
class MintProgress:
    batches: int = 0
    confirmed: int = 0
    failed: int = 0
    holders: int = 0
    holders_confirmed: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def percent(self) -> int:
        return self.holders_confirmed * 100 // self.holders if self.holders else 0


def mint_progress(*, offering: Offering) -> MintProgress:
    progress = MintProgress()
    rows = MintBatch.objects.filter(offering=offering).values_list(
        "holders", "chain_transaction__status", "chain_transaction__error_name", "chain_transaction__last_error"
    )
    for holders, status, error_name, last_error in rows:
        progress.batches += 1
        progress.holders += holders
        if status == TxStatus.CONFIRMED:
            progress.confirmed += 1
            progress.holders_confirmed += holders
        elif status == TxStatus.FAILED:
            progress.failed += 1
            progress.failures.append(error_name or last_error[:200])
    return progress


@dataclass
class Dashboard:
    offering: Offering
    progress: Progress
    by_status: dict[str, dict[str, int]]
    mint: MintProgress
    refunds: dict[str, int]
    chart: dict[str, Any]
    token: Any
    flagged_wires: int
    token_setup: TokenSetup | None = None


def _cumulative(rows: Iterable[tuple[dt.date, int]]) -> dict[str, int]:
    running, series = 0, {}
    for day, amount in sorted(rows):
        running += amount or 0
        series[day.isoformat()] = running
    return series


def offering_dashboard(*, offering: Offering) -> Dashboard:
    by_status: dict[str, dict[str, int]] = {
        s: {"count": 0, "amount_minor": 0, "paid_minor": 0} for s in SubscriptionStatus.values
    }
    for status, count, amount, paid in (
        Subscription.objects.filter(offering=offering)
        .values_list("status")
        .annotate(n=Count("pk"), a=Sum("amount_minor"), p=Sum("paid_minor"))
        .order_by()
    ):
        by_status[status] = {"count": count, "amount_minor": amount or 0, "paid_minor": paid or 0}
    committed = (
        Subscription.objects.filter(offering=offering)
        .annotate(day=TruncDate("created_at"))
        .values_list("day")
        .annotate(t=Sum("amount_minor"))
        .order_by()
    )
    paid = (
        Subscription.objects.filter(offering=offering, paid_at__isnull=False)
        .annotate(day=TruncDate("paid_at"))
        .values_list("day")
        .annotate(t=Sum("amount_minor"))
        .order_by()
    )
    committed_series = _cumulative(committed)
    paid_series = _cumulative(paid)
    days = sorted(set(committed_series) | set(paid_series))
    last_c = last_p = 0
    chart: dict[str, Any] = {"labels": days, "committed": [], "paid": [], "currency": offering.currency}
    for day in days:
        last_c = committed_series.get(day, last_c)
        last_p = paid_series.get(day, last_p)
        chart["committed"].append(last_c)
        chart["paid"].append(last_p)
    refunds = dict(
        Refund.objects.filter(subscription__offering=offering).values_list("status").annotate(n=Count("pk")).order_by()
    )
    return Dashboard(
        offering=offering,
        progress=offering_progress(offering=offering),
        by_status=by_status,
        mint=mint_progress(offering=offering),
        refunds={s: refunds.get(s, 0) for s in RefundStatus.values},
        chart=chart,
        token=token_deployment(owner_ref=offering.owner_ref),
        token_setup=token_setup(owner_ref=offering.owner_ref),
        flagged_wires=WireReceipt.objects.filter(
            Q(subscription__offering=offering) | Q(subscription__isnull=True, issuer_id=offering.issuer_id),
            resolved_at__isnull=True,
        )
        .exclude(match="exact")
        .count(),
    )


def offering_subscriptions(*, offering: Offering, status: str = "") -> QuerySet[Subscription]:
    rows = Subscription.objects.filter(offering=offering).select_related("investor__user").order_by("-created_at")
    return rows.filter(status=status) if status else rows


def wire_receipts_of(*, issuer: Issuer) -> QuerySet[WireReceipt]:
    return WireReceipt.objects.filter(issuer=issuer).select_related("subscription__offering").order_by("-recorded_at")


def refunds_open(*, offering: Offering) -> QuerySet[Refund]:
    return (
        Refund.objects.filter(subscription__offering=offering)
        .exclude(status=RefundStatus.SENT)
        .select_related("subscription__investor")
        .order_by("requested_at")
    )


# --------------------------------------------------------------------------- investor side


def subscriptions_of(*, investor: InvestorProfile) -> QuerySet[Subscription]:
    return Subscription.objects.filter(investor=investor).select_related("offering__issuer").order_by("-created_at")


def subscription_of(*, investor: InvestorProfile, public_id: Any) -> Subscription | None:
    return (
        Subscription.objects.filter(investor=investor, public_id=public_id)
        .select_related("offering__issuer", "mint_batch__chain_transaction")
        .first()
    )


def latest_payment(*, subscription: Subscription) -> Payment | None:
    return subscription.payments.order_by("-created_at").first()


@dataclass
class Holding:
    offering: Offering
    quantity: int
    amount_minor: int
    issued_at: dt.datetime | None
    lockup_release: dt.datetime | None
    tx_hash: str | None
    tx_url: str | None
    state: str  # "issued" | "minting"


def portfolio(*, investor: InvestorProfile) -> list[Holding]:
    """Holdings per offering (issued or being minted), with the lock-up release and mint transaction."""
    rows = (
        Subscription.objects.filter(
            investor=investor, status__in=[SubscriptionStatus.ISSUED, SubscriptionStatus.ALLOCATED]
        )
        .select_related("offering__issuer", "mint_batch__chain_transaction")
        .order_by("offering_id", "pk")
    )
    holdings: dict[int, Holding] = {}
    for s in rows:
        tx: ChainTransaction | None = s.mint_batch.chain_transaction if s.mint_batch else None
        issued = s.issued_at
        h = holdings.get(s.offering_id)
        if h is None:
            h = holdings[s.offering_id] = Holding(
                offering=s.offering,
                quantity=0,
                amount_minor=0,
                issued_at=issued,
                lockup_release=None,
                tx_hash=tx.tx_hash if tx else None,
                tx_url=explorer_url(tx.tx_hash if tx else None),
                state="issued",
            )
        h.quantity += s.quantity
        h.amount_minor += s.amount_minor
        if s.status != SubscriptionStatus.ISSUED:
            h.state = "minting"
        if issued and (h.issued_at is None or issued > h.issued_at):
            h.issued_at = issued
        if h.issued_at and s.offering.lockup_seconds:
            h.lockup_release = h.issued_at + dt.timedelta(seconds=s.offering.lockup_seconds)
    return list(holdings.values())


def open_subscription_counts(*, offering: Offering) -> int:
    return Subscription.objects.filter(offering=offering, status__in=OPEN_SUBSCRIPTION_STATUSES).count()


def latest_activity(*, offering: Offering) -> dt.datetime | None:
    return Subscription.objects.filter(offering=offering).aggregate(t=Max("updated_at"))["t"]


def stablecoin_receipts(*, flagged_only: bool) -> QuerySet[StablecoinReceipt]:
    rows = StablecoinReceipt.objects.select_related("payment__subscription__offering").order_by("-chain_event_id")
    return rows.exclude(match__in=[StablecoinMatch.MATCHED, StablecoinMatch.RETURNED]) if flagged_only else rows

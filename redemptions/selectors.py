"""Reads of redemptions: a holder's requests and what they may redeem, a token's dealing days and their registers,
and what the transfer agent's journal says of the transactions redemptions sent."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet, Sum

from investors.models import InvestorProfile, Wallet
from offerings.models import Offering
from redemptions.models import (
    OPEN_REQUEST_STATES,
    DealingDay,
    DealingState,
    RedemptionRequest,
    RedemptionTerms,
    RequestState,
)
from redemptions.pricing import nav_text
from registry.selectors.ledger import wallet_balances
from tokens.models import ChainTransaction


def terms_of(*, offering: Offering) -> RedemptionTerms | None:
    return RedemptionTerms.objects.filter(offering=offering).first()


def requests_of_investor(*, investor: InvestorProfile) -> QuerySet[RedemptionRequest]:
    return (
        RedemptionRequest.objects.filter(investor=investor)
        .select_related(
            "dealing_day",
            "offering",
            "freeze_transaction",
            "cancel_transaction",
            "burn_transaction",
            "release_transaction",
        )
        .order_by("-requested_at", "-pk")
    )


@dataclass(frozen=True)
class RedeemableHolding:
    """One token the holder may ask to redeem from: their wallets holding it, and the token's terms."""

    offering: Offering
    terms: RedemptionTerms
    wallets: list[tuple[str, int]]  # (wallet, units held on the ledger)


def redeemable_holdings(*, investor: InvestorProfile) -> list[RedeemableHolding]:
    """The holder's tokens whose terms take requests, with the holder's wallets holding each (one query per token)."""
    wallets = set(Wallet.objects.filter(investor=investor, removed_at__isnull=True).values_list("address", flat=True))
    found = []
    for terms in RedemptionTerms.objects.filter(active=True).select_related("offering").order_by("offering__title"):
        offering = terms.offering
        if not offering.positions.filter(investor=investor).exists():
            continue
        held = wallet_balances(offering=offering)
        mine = sorted(((w, n) for w, n in held.items() if w in wallets and n > 0), key=lambda wn: -wn[1])
        if mine:
            found.append(RedeemableHolding(offering=offering, terms=terms, wallets=mine))
    return found


def dealing_days_of(*, offering: Offering) -> QuerySet[DealingDay]:
    return (
        DealingDay.objects.filter(offering=offering)
        .annotate(
            open_requests=Count("redemption_requests", filter=Q(redemption_requests__state__in=OPEN_REQUEST_STATES)),
            open_units=Sum(
                "redemption_requests__quantity", filter=Q(redemption_requests__state__in=OPEN_REQUEST_STATES)
            ),
        )
        .order_by("-dealing_date", "-pk")
    )


def dealing_day_requests(*, day: DealingDay) -> QuerySet[RedemptionRequest]:
    return (
        RedemptionRequest.objects.filter(dealing_day=day)
        .select_related(
            "investor", "freeze_transaction", "cancel_transaction", "burn_transaction", "payment_transaction"
        )
        .order_by("line_index", "requested_at", "pk")
    )


@dataclass(frozen=True)
class DealingProgress:
    lines: int
    burned: int
    paid: int
    failed: int
    waiting_units: int  # frozen in requests still open

    @property
    def percent(self) -> int:
        return 100 if not self.lines else self.paid * 100 // self.lines


def dealing_progress(*, day: DealingDay) -> DealingProgress:
    rows = RedemptionRequest.objects.filter(dealing_day=day)
    lines = rows.filter(line_index__isnull=False)
    counts = lines.aggregate(
        lines=Count("pk"),
        burned=Count("pk", filter=Q(state__in=(RequestState.BURNED, RequestState.PAID))),
        paid=Count("pk", filter=Q(state=RequestState.PAID)),
        failed=Count("pk", filter=~Q(payment_failure="")),
    )
    waiting = rows.filter(state__in=OPEN_REQUEST_STATES).aggregate(u=Sum("quantity"))["u"]
    return DealingProgress(
        lines=int(counts["lines"] or 0),
        burned=int(counts["burned"] or 0),
        paid=int(counts["paid"] or 0),
        failed=int(counts["failed"] or 0),
        waiting_units=int(waiting or 0),
    )


def dealing_days_needing_nav(*, offering: Offering) -> QuerySet[DealingDay]:
    return DealingDay.objects.filter(offering=offering, state=DealingState.CUT_OFF, nav_per_unit__isnull=True)


# --------------------------------------------------------------------------- the journal's words


def redemption_posting_reasons(hashes: Iterable[str]) -> dict[str, str]:
    """transaction hash (or "hash|wallet" for a freeze batch, one per request) → what the redemption transaction
    did, for the transfer agent's journal."""
    rows = ChainTransaction.objects.filter(tx_hash__in=set(hashes), idempotency_key__startswith="redemption:")
    txs = {pk: tx_hash for pk, tx_hash in rows.values_list("pk", "tx_hash") if tx_hash}
    if not txs:
        return {}
    ids = set(txs)
    found: dict[str, str] = {}
    requests = RedemptionRequest.objects.filter(
        Q(freeze_transaction_id__in=ids) | Q(cancel_transaction_id__in=ids) | Q(release_transaction_id__in=ids)
    ).select_related("dealing_day")
    for r in requests:
        short, dealing_date = str(r.public_id)[:8], r.dealing_day.dealing_date
        if r.freeze_transaction_id in ids:
            found[f"{txs[r.freeze_transaction_id]}|{r.wallet}"] = (
                f"Redemption request {short}: {r.quantity:,} units frozen for the dealing day of "
                f"{dealing_date:%Y-%m-%d}"
            )
        if r.cancel_transaction_id in ids and r.cancelled_at is not None:
            by = f"the issuer ({r.cancel_reason})" if r.cancel_reason else "the holder"
            found[txs[r.cancel_transaction_id]] = (
                f"Redemption request {short} cancelled by {by} on {r.cancelled_at:%Y-%m-%d %H:%M} UTC: "
                f"{r.quantity:,} units unfrozen"
            )
        if r.release_transaction_id in ids:
            found[txs[r.release_transaction_id]] = (
                f"Redemption request {short}: {r.gated_units:,} units over the gate of the dealing day of "
                f"{dealing_date:%Y-%m-%d} unfrozen"
            )
    burns = ChainTransaction.objects.filter(pk__in=ids, idempotency_key__contains=":burn:").values_list(
        "pk", "idempotency_key"
    )
    by_day: dict[str, list[str]] = {}
    for pk, key in burns:
        tx_hash = txs[pk]  # redemption:<chain>:<dealing day>:burn:<round>:<batch>
        by_day.setdefault(key.split(":")[2], []).append(tx_hash)
    for day in DealingDay.objects.filter(public_id__in=list(by_day)):
        nav = nav_text(nav_per_unit=day.nav_per_unit or 0, nav_scale=day.nav_scale)
        for tx_hash in by_day[str(day.public_id)]:
            found[tx_hash] = (
                f"Redeemed and cancelled at the dealing day of {day.dealing_date:%Y-%m-%d}, "
                f"NAV {nav} {day.currency} a unit"
            )
    return found

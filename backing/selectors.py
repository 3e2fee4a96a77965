"""Reads about a token's backing: its profile, rule, statements, contract controls and how much more may
be minted against the latest approved attestation."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone

from backing.models import (
    BackingCondition,
    BackingProfile,
    BackingRule,
    BackingStatus,
    NavOracle,
    NavPoint,
    NavRoundRefused,
    NavTerms,
    ReserveStatement,
    StatementState,
)
from backing.quantities import amount_text, ratio_text, reserve_required, units_backed, units_value_minor
from core.business_days import business_day_is
from core.money import CURRENCY_EXPONENTS
from offerings.models import Offering
from registry.selectors.ledger import ledger_total
from tokens.selectors import (
    ReserveReport,
    SupplyOutstanding,
    TokenControls,
    reserve_feed_latest,
    reserve_feed_of,
    reserve_minter_of,
    token_controls,
    token_supply_outstanding,
)
from tokens.services import CHAIN_TRANSIENT_ERRORS

log = logging.getLogger(__name__)


def backing_profile_of(*, offering: Offering) -> BackingProfile | None:
    return BackingProfile.objects.filter(offering=offering).prefetch_related("custodians").first()


def backing_rule_of(*, offering: Offering) -> BackingRule | None:
    return BackingRule.objects.filter(offering=offering).first()


def backing_status_of(*, offering: Offering) -> BackingStatus | None:
    return BackingStatus.objects.filter(offering=offering).select_related("statement").first()


def reserve_statements_of(*, offering: Offering) -> QuerySet[ReserveStatement]:
    return (
        ReserveStatement.objects.filter(offering=offering)
        .select_related("entered_by", "approved_by", "supersedes")
        .prefetch_related("lines")
        .order_by("-entered_at", "-pk")
    )


def reserve_statement_current(*, offering: Offering) -> ReserveStatement | None:
    """The token's latest approved statement (the one no later approval has superseded)."""
    return ReserveStatement.objects.filter(offering=offering, state=StatementState.APPROVED).first()


def reserve_statement_chain(*, statement: ReserveStatement, limit: int = 50) -> list[ReserveStatement]:
    """The statement and those it superseded, newest first."""
    chain: list[ReserveStatement] = []
    current: ReserveStatement | None = statement
    while current is not None and len(chain) < limit:
        chain.append(current)
        current = current.supersedes
    return chain


@dataclass(frozen=True)
class ContractControlsRead:
    controls: TokenControls | None
    problem: str  # why they could not be read, for the page; "" when read


def backing_contract_controls(*, offering: Offering) -> ContractControlsRead:
    """The token contract's controls as the chain shows them (cached a minute in tokens)."""
    try:
        controls = token_controls(owner_ref=offering.owner_ref)
    except CHAIN_TRANSIENT_ERRORS:
        return ContractControlsRead(
            None, "The chain cannot be reached just now, so the contract's controls are not shown."
        )
    if controls is None:
        return ContractControlsRead(
            None, "The token's contract is not on the chain yet, so its controls are not shown; they show once it is."
        )
    return ContractControlsRead(controls, "")


@dataclass(frozen=True)
class ReserveFeedRead:
    """The token's on-chain reserve feed as the node reports it, and the minter that consults it."""

    exists: bool
    report: ReserveReport | None
    minter_address: str
    problem: str
    address: str = ""


def backing_reserve_feed(*, offering: Offering) -> ReserveFeedRead:
    feed = reserve_feed_of(offering.owner_ref)
    minter = reserve_minter_of(offering.owner_ref)
    minter_address = minter.address if minter is not None else ""
    if feed is None:
        return ReserveFeedRead(False, None, minter_address, "")
    try:
        report = reserve_feed_latest(owner_ref=offering.owner_ref)
    except CHAIN_TRANSIENT_ERRORS:
        return ReserveFeedRead(
            True,
            None,
            minter_address,
            "The chain cannot be reached just now, so the feed's report is not shown.",
            feed.address,
        )
    return ReserveFeedRead(True, report, minter_address, "", feed.address)


def minting_in_words(
    *, minter_holders: Sequence[str] | None, minter_address: str, problem: str = ""
) -> tuple[str, bool]:
    """Who can mint the token, from the holders of its minter role read on-chain (None when they could not be
    read), and whether the reserve-guarded minter alone can."""
    portal_check = "The portal checks every mint it makes against the latest approved attestation before signing."
    if minter_holders is None:
        return f"{problem or 'The contract cannot be read just now.'} {portal_check}", False
    if not minter_holders:
        return "Nobody holds the token's minter role: no new token can be minted.", False
    if minter_address and list(minter_holders) == [minter_address]:
        return (
            f"Only the reserve-guarded minter {minter_address} can mint. It reads the reserve feed on-chain and "
            "refuses a mint that the latest report does not back, or one that comes when the report is older than "
            "the backing rule allows; a mint sent by any other key, the issuer's own included, reverts.",
            True,
        )
    others = ", ".join(h for h in minter_holders if h != minter_address)
    if minter_address:
        return (
            f"Besides the reserve-guarded minter {minter_address}, {others} can mint without the on-chain reserve "
            f"check (the guard is still being set up, or an admin granted it). {portal_check}",
            False,
        )
    return f"{others} can mint; no on-chain reserve check applies. {portal_check}", False


def attestation_age_days(statement: ReserveStatement, *, today: dt.date | None = None) -> int:
    return ((today or timezone.localdate()) - statement.as_of).days


def attestation_is_stale(statement: ReserveStatement, rule: BackingRule, *, today: dt.date | None = None) -> bool:
    return attestation_age_days(statement, today=today) > rule.staleness_days


@dataclass(frozen=True)
class MintAllowance:
    """How many more units may be minted now, and if none, why (written for the issuer)."""

    guarded: bool  # False: the token has no backing rule, mints are not limited by reserves
    units: int | None  # None when unguarded
    reason: str
    supply: SupplyOutstanding | None = None
    statement: ReserveStatement | None = None
    units_backed: int | None = None
    stale: bool = False


def _unit_line(amount: int, statement: ReserveStatement) -> str:
    return f"{amount_text(amount, scale=statement.unit_scale)} {statement.unit_code}"


def backing_mint_allowance(
    *, offering: Offering, supply: SupplyOutstanding | None = None, today: dt.date | None = None
) -> MintAllowance:
    """Units that may still be minted: what the latest approved, fresh attestation backs less the supply
    on-chain and the mints already queued. Reads the node for the supply unless `supply` is given; raises the
    chain's transient errors when it cannot be read."""
    rule = backing_rule_of(offering=offering)
    if rule is None:
        return MintAllowance(
            guarded=False, units=None, reason="This token has no backing rule: mints are not limited by reserves."
        )
    statement = reserve_statement_current(offering=offering)
    if statement is None:
        return MintAllowance(
            guarded=True,
            units=0,
            reason="No reserve statement is approved for this token yet, so nothing may be minted. Enter the latest "
            "attestation and have a second admin approve it.",
        )
    if (statement.unit_code, statement.unit_scale) != (rule.unit_code, rule.unit_scale):
        return MintAllowance(
            guarded=True,
            units=0,
            statement=statement,
            reason=f"The current reserve statement counts {statement.unit_code} to {statement.unit_scale} places "
            f"but the backing rule counts {rule.unit_code} to {rule.unit_scale}; enter a statement in the rule's unit.",
        )
    supply = supply if supply is not None else token_supply_outstanding(owner_ref=offering.owner_ref)
    backed = units_backed(
        reserve=statement.total_amount,
        numerator=rule.reserve_per_token_numerator,
        denominator=rule.reserve_per_token_denominator,
    )
    age = attestation_age_days(statement, today=today)
    if age > rule.staleness_days:
        return MintAllowance(
            guarded=True,
            units=0,
            supply=supply,
            statement=statement,
            units_backed=backed,
            stale=True,
            reason=f"The latest approved attestation is as of {statement.as_of:%d %B %Y}, {age} days ago, older "
            f"than the {rule.staleness_days}-day limit of the backing rule, so no mint may go ahead. Enter a newer "
            "attestation and have a second admin approve it.",
        )
    units = max(0, backed - supply.total)
    per_token = ratio_text(
        numerator=rule.reserve_per_token_numerator,
        denominator=rule.reserve_per_token_denominator,
        scale=rule.unit_scale,
    )
    reason = (
        f"Reserves of {_unit_line(statement.total_amount, statement)} as of {statement.as_of:%d %B %Y} back "
        f"{backed:,} units at {per_token} {rule.unit_code} per unit; {supply.on_chain:,} are on-chain and "
        f"{supply.pending_mints:,} waiting to be minted, so {units:,} more may be minted."
    )
    return MintAllowance(
        guarded=True, units=units, reason=reason, supply=supply, statement=statement, units_backed=backed
    )


def backing_reserve_required(*, offering: Offering, units: int) -> int | None:
    rule = backing_rule_of(offering=offering)
    if rule is None:
        return None
    return reserve_required(
        units=units, numerator=rule.reserve_per_token_numerator, denominator=rule.reserve_per_token_denominator
    )


@dataclass(frozen=True)
class BackingFinding:
    """How the token's supply on the holdings ledger (from indexed events) compares with its latest approved
    attestation under its rule: what the daily check records and the transparency page shows."""

    condition: str  # a BackingCondition
    detail: str
    supply: int
    required_amount: int
    statement: ReserveStatement | None
    reserve_amount: int | None
    age_days: int | None


def backing_finding(*, offering: Offering, rule: BackingRule, today: dt.date | None = None) -> BackingFinding:
    today = today or timezone.localdate()
    supply = ledger_total(offering=offering)
    statement = reserve_statement_current(offering=offering)
    required = reserve_required(
        units=supply, numerator=rule.reserve_per_token_numerator, denominator=rule.reserve_per_token_denominator
    )

    def found(condition: str, detail: str) -> BackingFinding:
        return BackingFinding(
            condition=condition,
            detail=detail,
            supply=supply,
            required_amount=required,
            statement=statement,
            reserve_amount=statement.total_amount if statement else None,
            age_days=attestation_age_days(statement, today=today) if statement else None,
        )

    if statement is None:
        return found(BackingCondition.NO_STATEMENT, "No reserve statement is approved.")
    unit = statement.unit_code
    if (statement.unit_code, statement.unit_scale) != (rule.unit_code, rule.unit_scale):
        return found(
            BackingCondition.UNDER_COLLATERALISED,
            f"The current statement counts {statement.unit_code}, not the rule's {rule.unit_code}.",
        )
    if required > statement.total_amount:
        return found(
            BackingCondition.UNDER_COLLATERALISED,
            f"{supply:,} units need {amount_text(required, scale=rule.unit_scale)} {unit}; the attestation of "
            f"{statement.as_of:%d %B %Y} shows {amount_text(statement.total_amount, scale=rule.unit_scale)} {unit}.",
        )
    age = attestation_age_days(statement, today=today)
    if age > rule.staleness_days:
        return found(
            BackingCondition.STALE,
            f"The latest approved attestation is {age} days old; the limit is {rule.staleness_days} days.",
        )
    return found(BackingCondition.BACKED, "")


# --------------------------------------------------------------------------- NAV

NAV_HISTORY_POINTS = 400


def nav_terms_of(*, offering: Offering) -> NavTerms | None:
    return NavTerms.objects.filter(offering=offering).first()


def nav_oracle_of(*, offering: Offering) -> NavOracle | None:
    return NavOracle.objects.filter(offering=offering).select_related("proposed_by", "approved_by").first()


def nav_rounds_refused_of(*, offering: Offering, limit: int = 20) -> list[NavRoundRefused]:
    """The latest rounds the token's oracles reported that were not used, newest first."""
    return list(NavRoundRefused.objects.filter(offering=offering).order_by("-recorded_at", "-pk")[:limit])


def nav_points_of(*, offering: Offering) -> QuerySet[NavPoint]:
    """Every NAV point entered for the token (waiting, approved, superseded, declined), newest day first."""
    return (
        NavPoint.objects.filter(offering=offering)
        .select_related("entered_by", "approved_by", "approval_request")
        .order_by("-dealing_day", "-pk")
    )


def nav_history(*, offering: Offering, limit: int = NAV_HISTORY_POINTS) -> list[NavPoint]:
    """The approved NAV per unit of each dealing day, oldest first (the latest `limit` days)."""
    rows = NavPoint.objects.filter(offering=offering, state=StatementState.APPROVED).order_by("-dealing_day")[:limit]
    return list(reversed(rows))


def nav_latest(*, offering: Offering) -> NavPoint | None:
    return NavPoint.objects.filter(offering=offering, state=StatementState.APPROVED).order_by("-dealing_day").first()


def nav_latest_of(*, offering_ids: list[int]) -> dict[int, NavPoint]:
    """The latest approved NAV of each of these tokens, in one query."""
    latest: dict[int, NavPoint] = {}
    rows = NavPoint.objects.filter(offering_id__in=offering_ids, state=StatementState.APPROVED).order_by(
        "offering_id", "-dealing_day"
    )
    for point in rows:
        latest.setdefault(point.offering_id, point)
    return latest


def nav_of_day(*, offering: Offering, day: dt.date) -> NavPoint | None:
    return NavPoint.objects.filter(offering=offering, dealing_day=day, state=StatementState.APPROVED).first()


def dealing_day_of(*, terms: NavTerms, moment: dt.datetime) -> dt.date:
    """The dealing day an order accepted at `moment` deals on (forward pricing): that business day when it came
    before the day's cut-off (UTC), else the next business day."""
    at = moment.astimezone(dt.UTC)
    day = at.date()
    if business_day_is(day) and at.time() <= terms.cutoff:
        return day
    day += dt.timedelta(days=1)
    while not business_day_is(day):
        day += dt.timedelta(days=1)
    return day


def nav_value_minor(*, units: int, point: NavPoint) -> int:
    """What `units` are worth at the NAV, in minor units of its currency (rounded down)."""
    return units_value_minor(
        units=units,
        nav_per_unit=point.nav_per_unit,
        nav_scale=point.scale,
        currency_exponent=CURRENCY_EXPONENTS.get(point.currency, 2),
    )

"""The public transparency report of one token: what anyone may check without signing in, built only from
public facts (DESIGN.md, Backing): the supply on the holdings ledger (from indexed events), the attested
reserves and their composition, the backing ratio and condition, the history of supply against reserves,
the attestations with their documents' hashes, the contract and its controls as the chain shows them, what
backs the token and the redemption terms in words. No holder, no investor wallet, no e-mail, no person.

The report is a tree of plain frozen dataclasses (never a model instance, so nothing private can ride
along), kept a short while in the cache: the page is public and opened far more often than it changes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from backing.models import (
    BackingCondition,
    BackingProfile,
    BackingRule,
    NavOracle,
    NavPoint,
    ReserveStatement,
    StatementState,
)
from backing.quantities import amount_text, ratio_text, reserve_required
from backing.selectors import (
    attestation_age_days,
    backing_contract_controls,
    backing_finding,
    backing_profile_of,
    backing_reserve_feed,
    backing_rule_of,
    backing_status_of,
    minting_in_words,
)
from core.money import allocate_largest_remainder
from offerings.models import Offering, OfferingStatus
from registry.models import RegisterDay
from registry.selectors.ledger import ledger_block

PUBLISHED_STATES = (StatementState.APPROVED, StatementState.SUPERSEDED)
HISTORY_POINTS = 120
MAX_ATTESTATIONS = 100
MAX_NAV_POINTS = 120


def transparency_cache_seconds() -> int:
    return int(getattr(settings, "TRANSPARENCY_CACHE_SECONDS", 30))


@dataclass(frozen=True)
class Quantity:
    """An exact amount of the reserve's unit: `amount` counts of 10^-scale, and the same as decimal text."""

    amount: int
    scale: int
    unit: str

    @property
    def text(self) -> str:
        return amount_text(self.amount, scale=self.scale)

    @property
    def decimal(self) -> str:
        return self.text.replace(",", "")

    def __str__(self) -> str:
        return f"{self.text} {self.unit}"


@dataclass(frozen=True)
class PublicAttestation:
    public_id: str
    as_of: dt.date
    period_start: dt.date
    period_end: dt.date
    attestor_name: str
    attestor_kind: str
    attestor_kind_label: str
    total: Quantity
    document_name: str
    document_size: int
    document_sha256: str
    current: bool
    approved_at: dt.datetime | None


@dataclass(frozen=True)
class CompositionPart:
    asset_kind: str
    label: str
    custodian: str
    amount: Quantity


@dataclass(frozen=True)
class CompositionShare:
    asset_kind: str
    label: str
    amount: Quantity
    share_bps: int  # of the statement's total; the shares of a statement add up to 10,000


@dataclass(frozen=True)
class HistoryPoint:
    day: dt.date
    supply: int
    required: int  # counts the supply needs under the current rule
    reserves: int | None  # the latest attestation as of that day, None before the first


@dataclass(frozen=True)
class PublicRole:
    role: str
    label: str
    holders: tuple[str, ...]


@dataclass(frozen=True)
class PublicControl:
    label: str
    functions: tuple[str, ...]
    present: bool


@dataclass(frozen=True)
class PublicContract:
    address: str
    roles: tuple[PublicRole, ...]
    functions: tuple[PublicControl, ...]
    upgradeable: bool
    upgradeability: str
    registry: str
    read_at_block: int


@dataclass(frozen=True)
class PublicFeed:
    address: str
    minter_address: str
    reserve: Quantity | None
    as_of: dt.datetime | None
    round_id: int | None


@dataclass(frozen=True)
class PublicNavPoint:
    """A NAV per unit in force (or corrected since), and where it comes from: a document, by its hash, or the
    round of the oracle that published it. No person who entered or approved it."""

    public_id: str
    dealing_day: dt.date
    nav: Quantity  # in the currency, to the NAV's declared places
    current: bool  # False: a later point for the same day corrected it
    published_by: str
    source: str  # "document" or "oracle"
    document_sha256: str
    oracle_address: str
    oracle_round_id: str
    oracle_updated_at: dt.datetime | None


@dataclass(frozen=True)
class PublicNavOracle:
    address: str
    description: str
    decimals: int
    last_round_id: str
    last_read_at: dt.datetime | None


@dataclass(frozen=True)
class PublicProfile:
    asset_kind: str
    asset_kind_label: str
    asset_details: str
    legal_structure: str
    legal_structure_label: str
    structure_name: str
    holder_claim: str
    holder_claim_label: str
    reserves_segregated: bool
    custodians: tuple[tuple[str, str], ...]  # (name, role label)
    redemption_terms: str


@dataclass(frozen=True)
class PublicRule:
    unit_code: str
    unit_scale: int
    reserve_per_token: str  # in the unit, exact ("10.00", "1/3")
    numerator: int
    denominator: int
    staleness_days: int


@dataclass(frozen=True)
class TransparencyReport:
    offering_public_id: str
    offering_title: str
    offering_public: bool  # its offering page opens without signing in
    token_name: str
    token_symbol: str
    issuer_name: str
    generated_at: dt.datetime
    supply: int
    supply_block: int | None
    profile: PublicProfile | None
    rule: PublicRule | None
    condition: str  # a BackingCondition, or "unguarded" without a rule
    condition_label: str
    condition_detail: str
    healthy: bool
    checked_at: dt.datetime | None  # the last daily check
    reserves: Quantity | None
    required: Quantity | None
    ratio_bps: int | None  # reserves / required, in basis points, rounded down; None when nothing is required
    attestation_age_days: int | None
    stale: bool
    current: PublicAttestation | None
    composition: tuple[CompositionShare, ...]
    lines: tuple[CompositionPart, ...]
    history: tuple[HistoryPoint, ...]
    history_step: str  # "day" or "month"
    attestations: tuple[PublicAttestation, ...]
    contract: PublicContract | None
    contract_problem: str
    feed: PublicFeed | None
    feed_problem: str
    minting: str  # who can mint, in words, from the roles read on-chain
    minting_guarded_on_chain: bool  # the reserve-guarded minter is the only holder of the token's minter role
    nav: tuple[PublicNavPoint, ...]  # newest day first
    nav_oracle: PublicNavOracle | None

    @property
    def ratio_text(self) -> str:
        if self.ratio_bps is None:
            return ""
        return f"{self.ratio_bps // 100:,}.{self.ratio_bps % 100:02d}%"


UNGUARDED = "unguarded"


def transparency_offering(*, public_id: Any) -> Offering | None:
    """The published token with a backing profile or rule of that id; drafts and unbacked tokens have no page."""
    return (
        Offering.objects.select_related("issuer")
        .exclude(status=OfferingStatus.DRAFT)
        .filter(Q(backing_profile__isnull=False) | Q(backing_rule__isnull=False), public_id=public_id)
        .first()
    )


def transparency_statement(*, offering: Offering, public_id: Any) -> ReserveStatement | None:
    """An approved (current or superseded) statement of the token; one waiting or declined was never published."""
    return ReserveStatement.objects.filter(offering=offering, public_id=public_id, state__in=PUBLISHED_STATES).first()


def _attestation(statement: ReserveStatement) -> PublicAttestation:
    return PublicAttestation(
        public_id=str(statement.public_id),
        as_of=statement.as_of,
        period_start=statement.period_start,
        period_end=statement.period_end,
        attestor_name=statement.attestor_name,
        attestor_kind=statement.attestor_kind,
        attestor_kind_label=statement.get_attestor_kind_display(),
        total=Quantity(statement.total_amount, statement.unit_scale, statement.unit_code),
        document_name=statement.document_name,
        document_size=statement.document_size,
        document_sha256=statement.document_sha256,
        current=statement.state == StatementState.APPROVED,
        approved_at=statement.approved_at,
    )


def _profile(profile: BackingProfile | None) -> PublicProfile | None:
    if profile is None:
        return None
    return PublicProfile(
        asset_kind=profile.asset_kind,
        asset_kind_label=profile.get_asset_kind_display(),
        asset_details=profile.asset_details,
        legal_structure=profile.legal_structure,
        legal_structure_label=profile.get_legal_structure_display(),
        structure_name=profile.structure_name,
        holder_claim=profile.holder_claim,
        holder_claim_label=profile.get_holder_claim_display(),
        reserves_segregated=profile.reserves_segregated,
        custodians=tuple((c.name, c.get_role_display()) for c in profile.custodians.all()),
        redemption_terms=profile.redemption_terms,
    )


def _rule(rule: BackingRule | None) -> PublicRule | None:
    if rule is None:
        return None
    return PublicRule(
        unit_code=rule.unit_code,
        unit_scale=rule.unit_scale,
        reserve_per_token=ratio_text(
            numerator=rule.reserve_per_token_numerator,
            denominator=rule.reserve_per_token_denominator,
            scale=rule.unit_scale,
        ),
        numerator=rule.reserve_per_token_numerator,
        denominator=rule.reserve_per_token_denominator,
        staleness_days=rule.staleness_days,
    )


def _composition(statement: ReserveStatement) -> tuple[tuple[CompositionShare, ...], tuple[CompositionPart, ...]]:
    lines = list(statement.lines.all())
    unit, scale = statement.unit_code, statement.unit_scale
    parts = tuple(
        CompositionPart(
            line.asset_kind, line.get_asset_kind_display(), line.custodian, Quantity(line.amount, scale, unit)
        )
        for line in lines
    )
    totals: dict[str, tuple[str, int]] = {}
    for line in lines:
        label, amount = totals.get(line.asset_kind, (line.get_asset_kind_display(), 0))
        totals[line.asset_kind] = (label, amount + line.amount)
    ordered = sorted(totals.items(), key=lambda item: (-item[1][1], item[0]))
    # Shares in basis points that add up to exactly 100.00% (largest remainder), as the chart's legend reads.
    bps = allocate_largest_remainder(10_000, [amount for _, (_, amount) in ordered]) if statement.total_amount else []
    shares = tuple(
        CompositionShare(kind, label, Quantity(amount, scale, unit), bps[n] if bps else 0)
        for n, (kind, (label, amount)) in enumerate(ordered)
    )
    return shares, parts


def _history(
    offering: Offering, rule: BackingRule | None, statements: list[ReserveStatement]
) -> tuple[tuple[HistoryPoint, ...], str]:
    """Supply (ledger, per day with a change) against the attested reserves (per statement's date), each day
    carrying forward the last known figure; by month's end when there are too many days to read."""
    supply_changes = dict(
        RegisterDay.objects.filter(offering=offering).order_by("day").values_list("day", "supply_delta")
    )
    attested = {s.as_of: s.total_amount for s in sorted(statements, key=lambda s: (s.as_of, s.pk))}
    days = sorted(set(supply_changes) | set(attested))
    points: list[HistoryPoint] = []
    supply, reserves = 0, None
    for day in days:
        supply += supply_changes.get(day, 0)
        reserves = attested.get(day, reserves)
        required = (
            reserve_required(
                units=supply,
                numerator=rule.reserve_per_token_numerator,
                denominator=rule.reserve_per_token_denominator,
            )
            if rule is not None
            else 0
        )
        points.append(HistoryPoint(day=day, supply=supply, required=required, reserves=reserves))
    if len(points) <= HISTORY_POINTS:
        return tuple(points), "day"
    months: dict[str, HistoryPoint] = {}
    for point in points:
        months[point.day.strftime("%Y-%m")] = point  # the month's last day with a change
    return tuple(months.values())[-HISTORY_POINTS:], "month"


def _contract(offering: Offering) -> tuple[PublicContract | None, str]:
    read = backing_contract_controls(offering=offering)
    if read.controls is None:
        return None, read.problem
    c = read.controls
    return (
        PublicContract(
            address=c.address,
            roles=tuple(PublicRole(r.role, r.label, tuple(r.holders)) for r in c.roles),
            functions=tuple(PublicControl(f.label, tuple(f.functions), f.present) for f in c.functions),
            upgradeable=c.upgradeable,
            upgradeability=c.upgradeability,
            registry=c.registry,
            read_at_block=c.read_at_block,
        ),
        "",
    )


def _feed(offering: Offering, unit: str) -> tuple[PublicFeed | None, str]:
    read = backing_reserve_feed(offering=offering)
    if not read.exists:
        return None, ""
    report = read.report
    return (
        PublicFeed(
            address=read.address,
            minter_address=read.minter_address,
            reserve=Quantity(report.reserve, report.decimals, unit) if report else None,
            as_of=report.as_of if report else None,
            round_id=report.round_id if report else None,
        ),
        read.problem,
    )


def _minting(contract: PublicContract | None, feed: PublicFeed | None, problem: str) -> tuple[str, bool]:
    holders = next((r.holders for r in contract.roles if r.role == "minter"), ()) if contract else None
    return minting_in_words(minter_holders=holders, minter_address=feed.minter_address if feed else "", problem=problem)


def _nav_point(point: NavPoint) -> PublicNavPoint:
    return PublicNavPoint(
        public_id=str(point.public_id),
        dealing_day=point.dealing_day,
        nav=Quantity(point.nav_per_unit, point.scale, point.currency),
        current=point.state == StatementState.APPROVED,
        published_by=point.source,
        source="oracle" if point.from_oracle else "document",
        document_sha256=point.document_sha256,
        oracle_address=point.oracle_address,
        oracle_round_id=point.oracle_round_id,
        oracle_updated_at=point.oracle_updated_at,
    )


def _nav(offering: Offering) -> tuple[tuple[PublicNavPoint, ...], PublicNavOracle | None]:
    points = NavPoint.objects.filter(offering=offering, state__in=PUBLISHED_STATES).order_by("-dealing_day", "-pk")
    oracle = NavOracle.objects.filter(offering=offering).first()
    public_oracle = (
        PublicNavOracle(
            address=oracle.address,
            description=oracle.description,
            decimals=oracle.decimals,
            last_round_id=oracle.last_round_id,
            last_read_at=oracle.last_read_at,
        )
        if oracle
        else None
    )
    return tuple(_nav_point(p) for p in points[:MAX_NAV_POINTS]), public_oracle


def _report(offering: Offering, today: dt.date) -> TransparencyReport:
    rule = backing_rule_of(offering=offering)
    status = backing_status_of(offering=offering)
    statements = list(
        ReserveStatement.objects.filter(offering=offering, state__in=PUBLISHED_STATES)
        .prefetch_related("lines")
        .order_by("-as_of", "-pk")[:MAX_ATTESTATIONS]
    )
    current = next((s for s in statements if s.state == StatementState.APPROVED), None)
    if rule is not None:
        finding = backing_finding(offering=offering, rule=rule, today=today)
        supply, condition, detail = finding.supply, finding.condition, finding.detail
        required: Quantity | None = Quantity(finding.required_amount, rule.unit_scale, rule.unit_code)
        condition_label = BackingCondition(condition).label
    else:
        from registry.selectors.ledger import ledger_total

        supply, condition, required = ledger_total(offering=offering), UNGUARDED, None
        condition_label = "No backing rule"
        detail = "The issuer has set no backing rule, so mints of this token are not limited by reserves."
    reserves = Quantity(current.total_amount, current.unit_scale, current.unit_code) if current else None
    ratio = None
    if reserves is not None and required is not None and required.amount > 0 and reserves.unit == required.unit:
        ratio = reserves.amount * 10_000 // required.amount
    composition, lines = _composition(current) if current else ((), ())
    history, step = _history(offering, rule, statements)
    contract, contract_problem = _contract(offering)
    feed, feed_problem = _feed(offering, rule.unit_code if rule else (current.unit_code if current else ""))
    age = attestation_age_days(current, today=today) if current else None
    minting, guarded = _minting(contract, feed, contract_problem)
    nav, nav_oracle = _nav(offering)
    return TransparencyReport(
        offering_public_id=str(offering.public_id),
        offering_title=offering.title,
        offering_public=offering.general_solicitation,
        token_name=offering.token_name,
        token_symbol=offering.token_symbol,
        issuer_name=offering.issuer.name,
        generated_at=timezone.now(),
        supply=supply,
        supply_block=ledger_block(offering=offering),
        profile=_profile(backing_profile_of(offering=offering)),
        rule=_rule(rule),
        condition=str(condition),
        condition_label=str(condition_label),
        condition_detail=detail,
        healthy=condition == BackingCondition.BACKED,
        checked_at=status.checked_at if status else None,
        reserves=reserves,
        required=required,
        ratio_bps=ratio,
        attestation_age_days=age,
        stale=bool(rule is not None and age is not None and age > rule.staleness_days),
        current=_attestation(current) if current else None,
        composition=composition,
        lines=lines,
        history=history,
        history_step=step,
        attestations=tuple(_attestation(s) for s in statements),
        contract=contract,
        contract_problem=contract_problem,
        feed=feed,
        feed_problem=feed_problem,
        minting=minting,
        minting_guarded_on_chain=guarded,
        nav=nav,
        nav_oracle=nav_oracle,
    )


def _key(offering_public_id: object) -> str:
    return f"backing:transparency:{offering_public_id}"


def transparency_report(*, offering: Offering, today: dt.date | None = None) -> TransparencyReport:
    """The token's report, from the cache when built in the last few seconds (TRANSPARENCY_CACHE_SECONDS)."""
    if today is not None:
        return _report(offering, today)
    report = cache.get(_key(offering.public_id))
    if not isinstance(report, TransparencyReport):
        report = _report(offering, timezone.localdate())
        cache.set(_key(offering.public_id), report, transparency_cache_seconds())
    return report


def transparency_forget(*, offering: Offering) -> None:
    """Drop the cached report once the change that makes it old has committed (an approval, a new rule)."""
    key = _key(offering.public_id)
    transaction.on_commit(lambda: cache.delete(key))


def history_chart(report: TransparencyReport) -> dict[str, object]:
    """What the page's charts draw, in counts of the reserve unit (the page shows the same as tables)."""
    scale = report.rule.unit_scale if report.rule else (report.reserves.scale if report.reserves else 0)
    return {
        "unit": report.rule.unit_code if report.rule else (report.reserves.unit if report.reserves else ""),
        "scale": scale,
        "composition": {
            "labels": [s.label for s in report.composition],
            "amounts": [s.amount.amount for s in report.composition],
        },
        "history": {
            "labels": [p.day.isoformat() for p in report.history],
            "required": [p.required for p in report.history],
            "reserves": [p.reserves for p in report.history],
            "supply": [p.supply for p in report.history],
        },
    }

"""The issuer's cap table: holders of one token with their share of the class and of everything the issuer
issued, the figures behind its charts, and the holder counts Exchange Act 12(g) looks at.

Now, the table reads `HolderPosition` (kept with the ledger) and sorts, filters and pages in SQL, so a page
costs the same few queries at 100 holders as at 100,000. As of a past date it sums the lot movements up
to the end of that day (UTC) and works on the result in memory: the same queries, more rows.
As of a past date, name, country and accreditation are the holder's as registered then (their holder record,
17Ad-10(f)); quantities, lots and lock-ups are as of the date.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Case, Count, Exists, F, Max, OuterRef, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from compliance.exemptions import Exemption
from core.models import Issuer
from investors.models import AccreditationClaim, AccreditationStatus, InvestorProfile
from investors.selectors import HolderRecord, holder_details_as_of
from offerings.models import Offering
from registry.models import (
    HolderCountPolicy,
    HolderPosition,
    LedgerPosting,
    Lot,
    LotMovement,
    PositionSnapshot,
    RegisterDay,
    SnapshotPosition,
)
from registry.selectors.ledger import NOW, AsOf, HolderKey, OpenLot, holder_key, positions_of_lots

PAGE_SIZES = (25, 50, 100)
SORTS = ("quantity", "name", "country", "acquired")
TOP_HOLDERS = 10


class Accreditation:
    VERIFIED = "verified"
    SELF_CERTIFIED = "self_certified"
    NONE = "none"
    LABELS = {VERIFIED: "Verified", SELF_CERTIFIED: "Self-certified", NONE: "Not accredited"}


class Lockup:
    FREE = "free"
    PARTLY = "partly"
    LOCKED = "locked"
    LABELS = {FREE: "Free to transfer", PARTLY: "Partly locked", LOCKED: "Locked up"}


@dataclass(frozen=True)
class CapTableQuery:
    sort: str = "quantity"
    descending: bool = True
    page: int = 1
    per_page: int = PAGE_SIZES[0]
    search: str = ""
    exemption: str = ""
    country: str = ""
    accreditation: str = ""
    lockup: str = ""
    as_of: dt.date | None = None  # None: now

    @property
    def filtered(self) -> bool:
        return bool(self.search or self.exemption or self.country or self.accreditation or self.lockup)


@dataclass
class HolderRow:
    investor_id: int | None
    investor_public_id: uuid.UUID | None
    wallet: str  # the holder's wallet when no investor owns it
    name: str
    email: str
    country: str
    accreditation: str
    quantity: int
    wallets: list[str]
    lots: int
    first_acquired_at: dt.datetime
    exemptions: list[str]
    lockup_last_release: dt.datetime | None
    lockup_first_release: dt.datetime | None
    lockup: str = Lockup.FREE
    class_hundredths: int = 0  # % of the class, in hundredths of a percent
    diluted_hundredths: int = 0  # % of all the issuer's tokens
    issuer_quantity: int = 0

    @property
    def key(self) -> HolderKey:
        return holder_key(self.investor_id, self.wallet)

    @property
    def holder_ref(self) -> str:
        """How the holder detail page's URL names the holder: the investor's id, else the wallet."""
        return self.investor_public_id.hex if self.investor_public_id else self.wallet

    @property
    def accreditation_label(self) -> str:
        return Accreditation.LABELS[self.accreditation]

    @property
    def lockup_label(self) -> str:
        return Lockup.LABELS[self.lockup]

    @property
    def exemption_labels(self) -> list[str]:
        return [exemption_label(e) for e in self.exemptions]


@dataclass(frozen=True)
class CapTablePage:
    rows: list[HolderRow]
    total: int  # holders matching the query
    page: int
    pages: int
    per_page: int
    moment: dt.datetime  # the point of the register shown (end of the as-of day, or now)
    supply: int  # units of this token held
    issuer_supply: int  # units of every token of the issuer held

    @property
    def first_index(self) -> int:
        return (self.page - 1) * self.per_page + 1 if self.total else 0

    @property
    def last_index(self) -> int:
        return self.first_index + len(self.rows) - 1 if self.rows else 0


@dataclass
class Share:
    label: str
    holders: int = 0
    units: int = 0


@dataclass(frozen=True)
class HolderCount:
    """Exchange Act 12(g)(1) for one class: holders of record counted as persons, with the excluded ones."""

    holders_of_record: int
    non_accredited: int
    excluded: int  # holders of excluded Reg CF / Reg A Tier 2 units only (Rules 12g-6, 12g5-1(a)(7))
    holders_threshold: int
    non_accredited_threshold: int
    warning_bps: int
    total_assets_minor: int | None
    assets_threshold_minor: int
    excluded_exemptions: tuple[str, ...]

    @property
    def holders(self) -> int:
        """Everyone holding units, excluded or not."""
        return self.holders_of_record + self.excluded

    def _state(self, count: int, threshold: int) -> str:
        if count >= threshold:
            return "reached"
        if count * 10_000 >= threshold * self.warning_bps:
            return "warning"
        return "ok"

    @property
    def holders_state(self) -> str:
        return self._state(self.holders_of_record, self.holders_threshold)

    @property
    def non_accredited_state(self) -> str:
        return self._state(self.non_accredited, self.non_accredited_threshold)

    @property
    def holders_percent(self) -> int:
        return self.holders_of_record * 100 // self.holders_threshold

    @property
    def non_accredited_percent(self) -> int:
        return self.non_accredited * 100 // self.non_accredited_threshold

    @property
    def warning_percent(self) -> int:
        return self.warning_bps // 100

    @property
    def assets_over(self) -> bool | None:
        """Total assets above the 12(g) figure; None when the issuer has not stated them."""
        if self.total_assets_minor is None:
            return None
        return self.total_assets_minor > self.assets_threshold_minor

    @property
    def excluded_labels(self) -> list[str]:
        return [exemption_label(e) for e in self.excluded_exemptions]


@dataclass(frozen=True)
class CapTableCensus:
    holders: int
    supply: int
    top: list[Share]  # the largest holders, then everyone else as one share
    by_country: list[Share]
    by_exemption: list[Share]
    by_accreditation: list[Share]
    history: list[tuple[dt.date, int, int]]  # (day, holders, supply) after each day with a change
    holder_count: HolderCount
    policy: HolderCountPolicy
    issuer_supply: int  # units of every token of the issuer held
    counted_at: dt.datetime
    countries: list[str] = field(default_factory=list)  # for the filter


# Short enough for a table cell and a chart legend.
EXEMPTION_SHORT = {
    Exemption.REG_D_506B: "Reg D 506(b)",
    Exemption.REG_D_506C: "Reg D 506(c)",
    Exemption.REG_S: "Reg S",
    Exemption.REG_CF: "Reg CF",
    Exemption.REG_A_TIER2: "Reg A Tier 2",
}


def exemption_label(code: str) -> str:
    return EXEMPTION_SHORT.get(code, code or "Not recorded")  # type: ignore[call-overload]


def holder_count_figures() -> dict[str, int]:
    return dict(settings.HOLDER_COUNT_FIGURES)


def holder_count_policy(*, issuer: Issuer) -> HolderCountPolicy:
    """The issuer's statement for 12(g), or the cautious default (nothing excluded, assets unknown)."""
    return HolderCountPolicy.objects.filter(issuer=issuer).first() or HolderCountPolicy(issuer=issuer)


def excluded_exemptions(policy: HolderCountPolicy) -> tuple[str, ...]:
    excluded = []
    if policy.reg_cf_excluded:
        excluded.append(Exemption.REG_CF.value)  # Rule 12g-6
    if policy.reg_a_tier2_excluded:
        excluded.append(Exemption.REG_A_TIER2.value)  # Rule 12g5-1(a)(7)
    return tuple(excluded)


def moment_of(as_of: dt.date | None) -> dt.datetime:
    """The end of the as-of day in UTC, or now."""
    if as_of is None:
        return timezone.now()
    return dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC) - dt.timedelta(microseconds=1)


def is_past(as_of: dt.date | None) -> bool:
    return as_of is not None and moment_of(as_of) < timezone.now()


def _accreditation(investor: str, now: dt.datetime) -> Case:
    """Rule 501(a) status from claims that have not expired: verified, self-certified, or neither."""
    live = AccreditationClaim.objects.filter(investor=OuterRef(investor)).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    )
    return Case(
        When(Exists(live.filter(status=AccreditationStatus.VERIFIED)), then=Value(Accreditation.VERIFIED)),
        When(Exists(live.filter(status=AccreditationStatus.SELF_CERTIFIED)), then=Value(Accreditation.SELF_CERTIFIED)),
        default=Value(Accreditation.NONE),
    )


def _accreditation_recorded(record: HolderRecord, moment: dt.datetime) -> str:
    """Rule 501(a) status as the holder's record had it at `moment` (a claim's row holds only its latest)."""
    expired = record.accreditation_expires_at is not None and record.accreditation_expires_at <= moment
    if record.accreditation_status == AccreditationStatus.VERIFIED and not expired:
        return Accreditation.VERIFIED
    if record.accreditation_status == AccreditationStatus.SELF_CERTIFIED and not expired:
        return Accreditation.SELF_CERTIFIED
    return Accreditation.NONE


def lockup_state(*, last_release: dt.datetime | None, first_release: dt.datetime | None, moment: dt.datetime) -> str:
    if last_release is None or last_release <= moment:
        return Lockup.FREE
    if first_release is not None and first_release > moment:
        return Lockup.LOCKED
    return Lockup.PARTLY


def share_hundredths(part: int, whole: int) -> int:
    """part / whole in hundredths of a percent, rounded half up, in integers."""
    return (part * 20_000 + whole) // (2 * whole) if whole else 0


# --------------------------------------------------------------------------- now: HolderPosition in SQL


@dataclass(frozen=True)
class _Columns:
    """Where a position's holder is described: the investor's details as they are now (`HolderPosition`),
    or as registered at a snapshot's moment, stored with each of its rows (`SnapshotPosition`)."""

    name: str
    country: str
    registered: bool  # accreditation is a stored column, not worked out from today's claims


CURRENT = _Columns(name="investor__legal_name", country="investor__country", registered=False)
REGISTERED = _Columns(name="name", country="country", registered=True)


def _positions(offering: Offering, moment: dt.datetime) -> QuerySet[Any]:
    """Positions with the holder's accreditation as a column (`accreditation`), to filter and group by."""
    return HolderPosition.objects.filter(offering=offering).annotate(
        accreditation=Case(
            When(investor__isnull=True, then=Value(Accreditation.NONE)),
            default=_accreditation("investor_id", moment),
        )
    )


def _lockup_filter(state: str, moment: dt.datetime) -> Q:
    free = Q(lockup_last_release__isnull=True) | Q(lockup_last_release__lte=moment)
    if state == Lockup.FREE:
        return free
    if state == Lockup.LOCKED:
        return Q(lockup_first_release__gt=moment)
    return ~free & (Q(lockup_first_release__isnull=True) | Q(lockup_first_release__lte=moment))


def _claims_live(status: str, moment: dt.datetime) -> QuerySet[Any]:
    return (
        AccreditationClaim.objects.filter(status=status)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=moment))
        .values("investor_id")
    )


def _accreditation_filter(state: str, moment: dt.datetime) -> Q:
    """The holders `_accreditation` gives this state, as semi-joins: the database reads the live claims once
    (a list it looks holders up in) instead of running two subqueries for every holder it filters."""
    verified = Q(investor_id__in=_claims_live(AccreditationStatus.VERIFIED, moment))
    self_certified = Q(investor_id__in=_claims_live(AccreditationStatus.SELF_CERTIFIED, moment))
    if state == Accreditation.VERIFIED:
        return verified
    if state == Accreditation.SELF_CERTIFIED:
        return self_certified & ~verified
    return Q(investor__isnull=True) | (~verified & ~self_certified)


def _filtered(
    rows: QuerySet[Any], query: CapTableQuery, moment: dt.datetime, columns: _Columns = CURRENT
) -> QuerySet[Any]:
    if query.exemption:
        # Exemptions are stored sorted and comma-separated; match one whole code.
        e = query.exemption
        rows = rows.filter(
            Q(exemptions=e)
            | Q(exemptions__startswith=f"{e},")
            | Q(exemptions__endswith=f",{e}")
            | Q(exemptions__contains=f",{e},")
        )
    if query.country:
        rows = rows.filter(**{columns.country: query.country})
    if query.accreditation:
        if columns.registered:
            rows = rows.filter(accreditation=query.accreditation)
        else:
            rows = rows.filter(_accreditation_filter(query.accreditation, moment))
    if query.lockup:
        rows = rows.filter(_lockup_filter(query.lockup, moment))
    if query.search:
        rows = rows.filter(_search_filter(query.search, columns))
    return rows


def _search_filter(s: str, columns: _Columns = CURRENT) -> Q:
    """Name, e-mail or wallet containing `s`. The investors whose name or e-mail matches are found first
    (each a scan of one table, few rows out): an OR across joined tables would join every holder to their
    investor and user before it could test one. A snapshot holds the name registered then."""
    mailed = InvestorProfile.objects.filter(user__email__icontains=s).values("pk")
    if columns.registered:
        named = Q(name__icontains=s)
    else:
        named = Q(investor_id__in=InvestorProfile.objects.filter(legal_name__icontains=s).values("pk"))
    return Q(wallets__icontains=s) | named | Q(investor_id__in=mailed)


# Reading holders in the order of an index stops once a page is found; when few holders match, it reads
# nearly all of them, one row lookup each, and sorting the matches is cheaper (see `_walks_index`).
WALK_ROWS = 5_000


def _walks_index(query: CapTableQuery, *, start: int, total: int, holders: int) -> bool:
    """Whether reading the holders in index order finds the page within about WALK_ROWS rows: it reads
    (rows before and on the page) × holders / matches, the matches being spread through the order."""
    if not query.filtered:
        return True
    return total > 0 and (start + query.per_page) * holders <= WALK_ROWS * total


def _ordered(
    rows: QuerySet[Any], query: CapTableQuery, walk: bool = True, columns: _Columns = CURRENT
) -> QuerySet[Any]:
    """In the query's order, ties broken by id. With `walk=False` the same values are sorted through an
    expression no index holds (`quantity + 0`, `COALESCE(first_acquired_at, first_acquired_at)`), so the
    database filters first and sorts what matched: SQLite and PostgreSQL read an index for ORDER BY only
    when it names the bare column."""
    sign = "-" if query.descending else ""
    if query.sort == "name":
        rows = rows.annotate(sort_name=Case(When(investor__isnull=True, then=F("wallet")), default=F(columns.name)))
        return rows.order_by(f"{sign}sort_name", f"{sign}id")
    if query.sort == "country":
        rows = rows.annotate(sort_country=Coalesce(F(columns.country), Value("")))
        return rows.order_by(f"{sign}sort_country", "-quantity", "id")
    if query.sort == "acquired":
        if walk:
            return rows.order_by(f"{sign}first_acquired_at", f"{sign}id")
        rows = rows.annotate(sort_acquired=Coalesce(F("first_acquired_at"), F("first_acquired_at")))
        return rows.order_by(f"{sign}sort_acquired", f"{sign}id")
    if walk:
        return rows.order_by(f"{sign}quantity", f"{sign}id")
    rows = rows.annotate(sort_quantity=F("quantity") + Value(0))
    return rows.order_by(f"{sign}sort_quantity", f"{sign}id")


ROW_FIELDS = (
    "investor_id",
    "investor__public_id",
    "investor__user__email",
    "wallet",
    "accreditation",
    "quantity",
    "wallets",
    "lots",
    "first_acquired_at",
    "exemptions",
    "lockup_last_release",
    "lockup_first_release",
)


def _row(values: dict[str, Any], moment: dt.datetime) -> HolderRow:
    row = HolderRow(
        investor_id=values["investor_id"],
        investor_public_id=values["investor__public_id"],
        wallet=values["wallet"],
        name=values["holder_name"] or "",
        email=values["investor__user__email"] or "",
        country=values["holder_country"] or "",
        accreditation=values["accreditation"],
        quantity=values["quantity"],
        wallets=[w for w in values["wallets"].split(",") if w],
        lots=values["lots"],
        first_acquired_at=values["first_acquired_at"],
        exemptions=[e for e in values["exemptions"].split(",") if e],
        lockup_last_release=values["lockup_last_release"],
        lockup_first_release=values["lockup_first_release"],
    )
    row.lockup = lockup_state(
        last_release=row.lockup_last_release, first_release=row.lockup_first_release, moment=moment
    )
    return row


def _page_number(page: int, total: int, per_page: int) -> tuple[int, int]:
    pages = max(1, -(-total // per_page))
    return min(max(page, 1), pages), pages


def _issuer_quantities_now(issuer: Issuer, keys: list[HolderKey]) -> dict[HolderKey, int]:
    """What the page's holders hold of every token of the issuer: two index lookups (investors, wallets).

    Both always run (an id or wallet that matches nothing stands in for an empty list) so a page costs the
    same queries whoever is on it; one OR of the two would scan every position."""
    investors = [i for i, _ in keys if i is not None] or [0]
    wallets = [w for i, w in keys if i is None] or [""]
    issuer_offerings = Offering.objects.filter(issuer=issuer).values("pk")
    rows = HolderPosition.objects.filter(offering_id__in=issuer_offerings)
    out: dict[HolderKey, int] = {}
    for part in (rows.filter(investor_id__in=investors), rows.filter(investor__isnull=True, wallet__in=wallets)):
        for i, w, n in part.values_list("investor_id", "wallet").annotate(n=Sum("quantity")).order_by():
            out[holder_key(i, w)] = int(n)
    return out


def _cap_table_now(
    *, offering: Offering, query: CapTableQuery, moment: dt.datetime, census: CapTableCensus
) -> CapTablePage:
    return _cap_table_sql(
        _positions(offering, moment),
        query,
        moment,
        census,
        lambda keys: _issuer_quantities_now(offering.issuer, keys),
        CURRENT,
    )


def _cap_table_sql(
    everyone: QuerySet[Any],
    query: CapTableQuery,
    moment: dt.datetime,
    census: CapTableCensus,
    issuer_quantities_of: Callable[[list[HolderKey]], dict[HolderKey, int]],
    columns: _Columns,
) -> CapTablePage:
    """A page of positions (now, or of a snapshot) filtered, sorted and paged in SQL."""
    matching = _filtered(everyone, query, moment, columns)
    total = matching.count()
    page, pages = _page_number(query.page, total, query.per_page)
    start = (page - 1) * query.per_page
    walk = _walks_index(query, start=start, total=total, holders=census.holders)
    # The page's ids first, then their columns: a database that sorts the matches computes the columns
    # it selects for every match before the sort, and a holder's accreditation is two subqueries.
    page_ids = _ordered(matching, query, walk, columns).values("pk")[start : start + query.per_page]
    values = _ordered(everyone.filter(pk__in=page_ids), query, columns=columns).values(
        *ROW_FIELDS, holder_name=F(columns.name), holder_country=F(columns.country)
    )
    rows = [_row(v, moment) for v in values]
    issuer_quantities = issuer_quantities_of([r.key for r in rows])
    return _finish(rows, total, page, pages, query, moment, census.supply, issuer_quantities, census.issuer_supply)


def _finish(
    rows: list[HolderRow],
    total: int,
    page: int,
    pages: int,
    query: CapTableQuery,
    moment: dt.datetime,
    supply: int,
    issuer_quantities: dict[HolderKey, int],
    issuer_supply: int,
) -> CapTablePage:
    for row in rows:
        row.class_hundredths = share_hundredths(row.quantity, supply)
        row.issuer_quantity = issuer_quantities.get(row.key, row.quantity)
        row.diluted_hundredths = share_hundredths(row.issuer_quantity, issuer_supply)
    return CapTablePage(
        rows=rows,
        total=total,
        page=page,
        pages=pages,
        per_page=query.per_page,
        moment=moment,
        supply=supply,
        issuer_supply=issuer_supply,
    )


# --------------------------------------------------------------------------- as of a past date: in memory


def open_lots_at(movements: QuerySet[LotMovement]) -> Iterable[OpenLot]:
    rows = (
        movements.values_list(
            "lot_id", "lot__investor_id", "lot__wallet", "lot__acquired_at", "lot__exemption", "lot__lockup_release"
        )
        .annotate(remaining=Sum("delta"))
        .filter(remaining__gt=0)
        .order_by()
    )
    for _, investor_id, wallet, acquired_at, exemption, release, remaining in rows.iterator(chunk_size=5000):
        yield OpenLot(investor_id, wallet, int(remaining), acquired_at, exemption, release)


def holders_registered_as_of(*, offering: Offering, moment: dt.datetime) -> dict[int, dict[str, Any]]:
    """investor id → public_id, legal_name, user__email, country and accreditation of every investor who ever
    held a lot of the token, as registered at `moment` (17Ad-10(f)) where their holder record history has it,
    else as the investor stands: two queries whatever the number of holders (ids go as a subquery)."""
    people = InvestorProfile.objects.filter(pk__in=Lot.objects.filter(offering=offering).values("investor_id"))
    info: dict[int, dict[str, Any]] = {
        v["pk"]: dict(v)
        for v in people.annotate(accreditation=_accreditation("pk", moment))
        .values("pk", "public_id", "legal_name", "user__email", "country", "accreditation")
        .order_by()
    }
    for registered, record in holder_details_as_of(investor_ids=people.values("pk"), at=moment).items():
        info[registered]["legal_name"] = record.legal_name
        info[registered]["country"] = record.country
        info[registered]["accreditation"] = _accreditation_recorded(record, moment)
    return info


def _rows_as_of(offering: Offering, moment: dt.datetime, point: AsOf | None = None) -> list[HolderRow]:
    """Every holder at the point (the end of `moment` unless a block is given), registered as at `moment`."""
    as_of = point or AsOf(at=moment)
    positions = positions_of_lots(open_lots_at(as_of.movements(LotMovement.objects.filter(lot__offering=offering))))
    info = holders_registered_as_of(offering=offering, moment=moment)
    rows = []
    for (investor_id, wallet), p in positions.items():
        person: dict[str, Any] = info.get(investor_id, {}) if investor_id is not None else {}
        assert p.first_acquired_at is not None
        row = HolderRow(
            investor_id=investor_id,
            investor_public_id=person.get("public_id"),
            wallet=wallet,
            name=person.get("legal_name") or "",
            email=person.get("user__email") or "",
            country=person.get("country") or "",
            accreditation=person.get("accreditation", Accreditation.NONE),
            quantity=p.quantity,
            wallets=p.wallets,
            lots=p.lots,
            first_acquired_at=p.first_acquired_at,
            exemptions=p.exemptions,
            lockup_last_release=p.lockup_last_release,
            lockup_first_release=p.lockup_first_release,
        )
        row.lockup = lockup_state(
            last_release=row.lockup_last_release, first_release=row.lockup_first_release, moment=moment
        )
        rows.append(row)
    return rows


def _matches(row: HolderRow, query: CapTableQuery) -> bool:
    if query.exemption and query.exemption not in row.exemptions:
        return False
    if query.country and row.country != query.country:
        return False
    if query.accreditation and row.accreditation != query.accreditation:
        return False
    if query.lockup and row.lockup != query.lockup:
        return False
    if query.search:
        s = query.search.casefold()
        if not (s in row.name.casefold() or s in row.email.casefold() or any(s in w.casefold() for w in row.wallets)):
            return False
    return True


def _sort_key(query: CapTableQuery) -> Callable[[HolderRow], Any]:
    # Same order as the SQL path; the id tie-break there follows creation, here the holder key.
    if query.sort == "name":
        return lambda r: ((r.name if r.investor_id is not None else r.wallet), r.key[0] or 0, r.key[1])
    if query.sort == "country":
        return lambda r: r.country
    if query.sort == "acquired":
        return lambda r: (r.first_acquired_at, r.key[0] or 0, r.key[1])
    return lambda r: (r.quantity, r.key[0] or 0, r.key[1])


def _issuer_quantities_as_of(issuer: Issuer, moment: dt.datetime) -> tuple[dict[HolderKey, int], int]:
    rows = (
        AsOf(at=moment)
        .movements(LotMovement.objects.filter(lot__offering__issuer=issuer))
        .values_list("lot__investor_id", "lot__wallet")
        .annotate(n=Sum("delta"))
        .order_by()
    )
    out: dict[HolderKey, int] = defaultdict(int)
    for investor_id, wallet, n in rows:
        out[holder_key(investor_id, wallet)] += int(n)
    return dict(out), sum(out.values())


def _cap_table_as_of(
    *,
    offering: Offering,
    query: CapTableQuery,
    moment: dt.datetime,
    everyone: list[HolderRow],
    issuer: tuple[dict[HolderKey, int], int],
) -> CapTablePage:
    supply = sum(r.quantity for r in everyone)
    matching = [r for r in everyone if _matches(r, query)]
    matching.sort(key=lambda r: (r.key[0] or 0, r.key[1]))
    if query.sort == "country":
        # Country, then the larger holdings first, as the SQL path orders them.
        matching.sort(key=lambda r: (r.quantity * -1, r.key[0] or 0, r.key[1]))
        matching.sort(key=lambda r: r.country, reverse=query.descending)
    else:
        matching.sort(key=_sort_key(query), reverse=query.descending)
    total = len(matching)
    page, pages = _page_number(query.page, total, query.per_page)
    start = (page - 1) * query.per_page
    rows = matching[start : start + query.per_page]
    issuer_quantities, issuer_supply = issuer
    return _finish(rows, total, page, pages, query, moment, supply, issuer_quantities, issuer_supply)


def cap_table_page(*, offering: Offering, query: CapTableQuery) -> CapTablePage:
    """One page of holders matching the query, as of its date (or now)."""
    return cap_table(offering=offering, query=query)[0]


# --------------------------------------------------------------------------- census: charts and 12(g)


@dataclass(frozen=True)
class _Group:
    country: str
    exemptions: tuple[str, ...]
    accreditation: str
    holders: int
    units: int


def _groups_now(offering: Offering, moment: dt.datetime) -> list[_Group]:
    return _groups(_positions(offering, moment), CURRENT)


def _groups(positions: QuerySet[Any], columns: _Columns) -> list[_Group]:
    rows = (
        positions.values(columns.country, "exemptions", "accreditation")
        .annotate(holders=Count("id"), units=Sum("quantity"))
        .order_by()
    )
    return [
        _Group(
            country=r[columns.country] or "",
            exemptions=tuple(e for e in r["exemptions"].split(",") if e),
            accreditation=r["accreditation"],
            holders=r["holders"],
            units=int(r["units"]),
        )
        for r in rows
    ]


def _top_now(offering: Offering) -> list[Share]:
    return _top(HolderPosition.objects.filter(offering=offering), CURRENT)


def _top(positions: QuerySet[Any], columns: _Columns) -> list[Share]:
    rows = positions.order_by("-quantity", "id").values_list(columns.name, "wallet", "quantity")[:TOP_HOLDERS]
    return [Share(label=name or wallet, holders=1, units=q) for name, wallet, q in rows]


def _history(offering: Offering, until: dt.date | None) -> list[tuple[dt.date, int, int]]:
    days = RegisterDay.objects.filter(offering=offering)
    if until is not None:
        days = days.filter(day__lte=until)
    history = []
    holders = supply = 0
    for day, h, s in days.order_by("day").values_list("day", "holders_delta", "supply_delta"):
        holders += h
        supply += s
        history.append((day, holders, supply))
    return history


def _holder_count(groups: list[_Group], policy: HolderCountPolicy) -> HolderCount:
    figures = holder_count_figures()
    excluded = excluded_exemptions(policy)
    record = non_ai = out = 0
    for g in groups:
        # A holder counts unless every unit they hold was issued under an exemption excluded for this issuer.
        if g.exemptions and set(g.exemptions) <= set(excluded):
            out += g.holders
            continue
        record += g.holders
        if g.accreditation == Accreditation.NONE:
            non_ai += g.holders
    return HolderCount(
        holders_of_record=record,
        non_accredited=non_ai,
        excluded=out,
        holders_threshold=figures["holders_of_record"],
        non_accredited_threshold=figures["non_accredited_holders"],
        warning_bps=figures["warning_bps"],
        total_assets_minor=policy.total_assets_minor,
        assets_threshold_minor=figures["total_assets_cents"],
        excluded_exemptions=excluded,
    )


def _shares(items: Iterable[tuple[str, int, int]]) -> list[Share]:
    out: dict[str, Share] = {}
    for label, holders, units in items:
        share = out.setdefault(label, Share(label=label))
        share.holders += holders
        share.units += units
    return sorted(out.values(), key=lambda s: (-s.holders, -s.units, s.label))


def _census(
    groups: list[_Group],
    top: list[Share],
    history: list[tuple[dt.date, int, int]],
    policy: HolderCountPolicy,
    issuer_supply: int,
) -> CapTableCensus:
    holders = sum(g.holders for g in groups)
    supply = sum(g.units for g in groups)
    top_units = sum(s.units for s in top)
    rest = holders - len(top)
    concentration = list(top)
    if rest > 0:
        concentration.append(Share(label=f"All other holders ({rest:,})", holders=rest, units=supply - top_units))
    return CapTableCensus(
        holders=holders,
        supply=supply,
        top=concentration,
        by_country=_shares((g.country or "Unknown", g.holders, g.units) for g in groups),
        by_exemption=_shares(
            (" + ".join(exemption_label(e) for e in g.exemptions) or "Not recorded", g.holders, g.units) for g in groups
        ),
        by_accreditation=_shares((Accreditation.LABELS[g.accreditation], g.holders, g.units) for g in groups),
        history=history,
        holder_count=_holder_count(groups, policy),
        policy=policy,
        issuer_supply=issuer_supply,
        counted_at=timezone.now(),
        countries=sorted({g.country for g in groups if g.country}),
    )


def cap_table_census(*, offering: Offering, as_of: dt.date | None = None) -> CapTableCensus:
    """Totals for the charts and the 12(g) counts, over every holder (filters do not apply)."""
    return cap_table(offering=offering, query=CapTableQuery(as_of=as_of))[1]


def cap_table(
    *, offering: Offering, query: CapTableQuery, snapshot: PositionSnapshot | None = None
) -> tuple[CapTablePage, CapTableCensus]:
    """The page the query asks for and the census of every holder, as of its date (or now).

    As of a past date, from `snapshot` when it is the positions at that moment for the ledger as it is
    (`registry.services.position_snapshots.position_snapshot_ensure`), in SQL; otherwise by summing the lot
    movements in memory (the definition the snapshot is tested against)."""
    moment = moment_of(query.as_of)
    policy = holder_count_policy(issuer=offering.issuer)
    if not is_past(query.as_of):
        census = _census_now(offering, moment, policy)
        return _cap_table_now(offering=offering, query=query, moment=moment, census=census), census
    if snapshot is not None and snapshot.offering_id == offering.pk and snapshot.moment == moment:
        return _cap_table_of_snapshot(offering, query, moment, snapshot, policy)
    rows = _rows_as_of(offering, moment)
    issuer_quantities, issuer_supply = _issuer_quantities_as_of(offering.issuer, moment)
    page = _cap_table_as_of(
        offering=offering, query=query, moment=moment, everyone=rows, issuer=(issuer_quantities, issuer_supply)
    )
    return page, _census_of_rows(rows, _history(offering, query.as_of), policy, issuer_supply)


# --------------------------------------------------------------------------- as of a past date: a snapshot


def _snapshot_positions(snapshot: PositionSnapshot) -> QuerySet[Any]:
    """The snapshot's positions, each with its holder as registered at the moment."""
    return SnapshotPosition.objects.filter(snapshot=snapshot)


def _issuer_quantities_at(issuer: Issuer, keys: list[HolderKey], moment: dt.datetime) -> dict[HolderKey, int]:
    """What the page's holders held of every token of the issuer at the moment: two lookups by holder, as
    `_issuer_quantities_now` makes them, over the lot movements up to the moment."""
    investors = [i for i, _ in keys if i is not None] or [0]
    wallets = [w for i, w in keys if i is None] or [""]
    moved = AsOf(at=moment).movements(LotMovement.objects.filter(lot__offering__issuer=issuer))
    out: dict[HolderKey, int] = defaultdict(int)
    for part in (
        moved.filter(lot__investor_id__in=investors),
        moved.filter(lot__investor__isnull=True, lot__wallet__in=wallets),
    ):
        for i, w, n in part.values_list("lot__investor_id", "lot__wallet").annotate(n=Sum("delta")).order_by():
            out[holder_key(i, w)] += int(n)
    return dict(out)


def _cap_table_of_snapshot(
    offering: Offering, query: CapTableQuery, moment: dt.datetime, snapshot: PositionSnapshot, policy: HolderCountPolicy
) -> tuple[CapTablePage, CapTableCensus]:
    everyone = _snapshot_positions(snapshot)
    stamp = policy.updated_at.isoformat() if policy.updated_at else "-"
    key = f"cap-table-census-snapshot:{snapshot.pk}:{stamp}:{policy.pk or 0}"
    census: CapTableCensus | None = cache.get(key)
    if census is None:
        census = _census(
            _groups(everyone, REGISTERED),
            _top(everyone, REGISTERED),
            _history(offering, query.as_of),
            policy,
            snapshot.issuer_supply,
        )
        cache.set(key, census, settings.CAP_TABLE_CENSUS_SECONDS)
    page = _cap_table_sql(
        everyone,
        query,
        moment,
        census,
        lambda keys: _issuer_quantities_at(offering.issuer, keys, moment),
        REGISTERED,
    )
    return page, census


def position_snapshot_current(*, offering: Offering, moment: dt.datetime) -> PositionSnapshot | None:
    """The snapshot of the token's positions at `moment` made from the ledger as it is now, if there is one."""
    last, count = ledger_version(offering.issuer)
    return PositionSnapshot.objects.filter(
        offering=offering, moment=moment, ledger_last=last, ledger_count=count
    ).first()


def holders_now(*, offering: Offering) -> int:
    return HolderPosition.objects.filter(offering=offering).count()


def as_of_inline(*, offering: Offering) -> bool:
    """Whether the token's register is small enough to sum as of a past date within the request."""
    return holders_now(offering=offering) <= settings.CAP_TABLE_AS_OF_INLINE_HOLDERS


def ledger_version(issuer: Issuer) -> tuple[int, int]:
    """Changes whenever any of the issuer's ledgers does: ids only grow (AUTOINCREMENT, sequences), and a
    rollback or replay deletes postings, which changes the count or the highest id."""
    postings = LedgerPosting.objects.filter(offering_id__in=Offering.objects.filter(issuer=issuer).values("pk"))
    figures = postings.aggregate(last=Max("id"), n=Count("id"))
    return int(figures["last"] or 0), int(figures["n"])


def _census_now(offering: Offering, moment: dt.datetime, policy: HolderCountPolicy) -> CapTableCensus:
    """Aggregating every holder is the costly part of the page (a group-by over all positions), so it is
    kept for CAP_TABLE_CENSUS_SECONDS per ledger state and 12(g) statement: any posting, replay or rollback
    computes it again at once; a holder's new country or accreditation shows within that time."""
    last, n = ledger_version(offering.issuer)
    stamp = policy.updated_at.isoformat() if policy.updated_at else "-"
    key = f"cap-table-census:{offering.public_id}:{last}:{n}:{stamp}:{policy.pk or 0}"
    census: CapTableCensus | None = cache.get(key)
    if census is None:
        issuer_supply = HolderPosition.objects.filter(
            offering_id__in=Offering.objects.filter(issuer=offering.issuer).values("pk")
        ).aggregate(t=Sum("quantity"))["t"]
        census = _census(
            _groups_now(offering, moment),
            _top_now(offering),
            _history(offering, None),
            policy,
            int(issuer_supply or 0),
        )
        cache.set(key, census, settings.CAP_TABLE_CENSUS_SECONDS)
    return census


def _groups_of_rows(rows: list[HolderRow]) -> list[_Group]:
    grouped: dict[tuple[str, tuple[str, ...], str], list[int]] = defaultdict(lambda: [0, 0])
    for r in rows:
        g = grouped[(r.country, tuple(r.exemptions), r.accreditation)]
        g[0] += 1
        g[1] += r.quantity
    return [_Group(c, e, a, h, u) for (c, e, a), (h, u) in grouped.items()]


def _census_of_rows(
    rows: list[HolderRow], history: list[tuple[dt.date, int, int]], policy: HolderCountPolicy, issuer_supply: int
) -> CapTableCensus:
    groups = _groups_of_rows(rows)
    largest = sorted(rows, key=lambda r: (-r.quantity, r.key[0] or 0, r.key[1]))[:TOP_HOLDERS]
    top = [Share(label=r.name or r.wallet, holders=1, units=r.quantity) for r in largest]
    return _census(groups, top, history, policy, issuer_supply)


def holder_count(*, offering: Offering, as_of: AsOf = NOW) -> HolderCount:
    """The register's one count of holders, now or at a past block or moment: persons, not wallets (an
    unknown wallet counts once), with the Exchange Act 12(g) figures the cap table shows (`holders` is
    everyone holding units, `holders_of_record` those 12(g) counts)."""
    policy = holder_count_policy(issuer=offering.issuer)
    if as_of == NOW:
        return _holder_count(_groups_now(offering, timezone.now()), policy)
    moment = as_of.at
    if moment is None:
        # A block: registered as at that block's time (the last posting at or before it).
        last = as_of.postings(LedgerPosting.objects.filter(offering=offering)).aggregate(t=Max("chain_time"))["t"]
        moment = last or timezone.now()
    return _holder_count(_groups_of_rows(_rows_as_of(offering, moment, as_of)), policy)

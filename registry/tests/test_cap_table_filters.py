"""The cap table's filters, search and sorts now: the page the database answers is the one the holders'
data defines, whichever way the database is asked to find it, and the filters stay one pass over the
holders (no subquery per holder, no walk through every holder in order when few match)."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compliance.exemptions import Exemption
from investors.models import AccreditationClaim, InvestorProfile
from offerings.models import Offering
from registry.models import HolderPosition, Lot
from registry.selectors import cap_table as selectors
from registry.selectors.cap_table import CapTableQuery, cap_table
from registry.services.positions import positions_rebuild
from registry.tests.ledger_rows import Register, mints_bulk

pytestmark = pytest.mark.django_db

NOW = timezone.now()
NAMES = ["Ann Lee", "Bo Berg", "Cy Ames"]
_blocks = itertools.count(10_000, 1_000)


@pytest.fixture
def offering(cast, registry) -> Offering:
    from offerings.tests.support import offering_open

    return offering_open(cast.issuer, cast.admin)


holder = st.tuples(
    st.booleans(),  # an investor (else a wallet nobody linked)
    st.sampled_from(NAMES),
    st.sampled_from(["US", "DE"]),
    st.lists(st.tuples(st.sampled_from(["verified", "self_certified", "rejected"]), st.booleans()), max_size=2),
    st.lists(
        st.tuples(
            st.integers(1, 30),  # quantity: ties are likely
            st.integers(1, 60),  # acquired, days ago
            st.sampled_from([None, -5, 5]),  # lock-up release, days from now
            st.sampled_from([Exemption.REG_D_506B, Exemption.REG_S]),
        ),
        min_size=1,
        max_size=2,
    ),
)
queries = st.builds(
    CapTableQuery,
    sort=st.sampled_from(["quantity", "name", "country", "acquired"]),
    descending=st.booleans(),
    page=st.integers(1, 4),
    per_page=st.just(2),
    search=st.sampled_from(["", "", "ann", "b", "0x00"]),
    exemption=st.sampled_from(["", "", Exemption.REG_S.value]),
    country=st.sampled_from(["", "", "US", "DE"]),
    accreditation=st.sampled_from(["", "", "verified", "self_certified", "none"]),
    lockup=st.sampled_from(["", "", "free", "locked", "partly"]),
)


def _register(offering: Offering, holders: list[Any]) -> dict[int, dict[str, Any]]:
    """The holders as the ledger and onboarding leave them; returns what each position's row should show."""
    from investors.tests.support import verified_investor

    register = Register(offering=offering, block=next(_blocks))
    expected: dict[tuple[int | None, str], dict[str, Any]] = {}
    for n, (is_investor, name, country, claims, lots) in enumerate(holders):
        wallet = f"0x{0xF000 + n:040x}"
        investor: InvestorProfile | None = None
        accreditation = "none"
        if is_investor:
            investor = verified_investor(name=name, country=country, wallet=None)
            live = set()
            for status, expired in claims:
                expires = NOW + dt.timedelta(days=-3 if expired else 30)
                AccreditationClaim.objects.create(
                    investor=investor, method="net_worth", status=status, expires_at=expires
                )
                if not expired:
                    live.add(status)
            accreditation = next((a for a in ("verified", "self_certified") if a in live), "none")
        releases = []
        for quantity, days_ago, release_in, exemption in lots:
            lot = register.mint(investor, wallet, quantity, at=NOW - dt.timedelta(days=days_ago))
            release = None if release_in is None else NOW + dt.timedelta(days=release_in)
            Lot.objects.filter(pk=lot.pk).update(lockup_release=release, exemption=exemption)
            releases.append(release)
        future = [r for r in releases if r is not None and r > NOW]
        lockup = "free" if not future else "locked" if len(future) == len(releases) else "partly"
        expected[(investor.pk if investor else None, "" if investor else wallet)] = {
            "investor": investor is not None,
            "name": investor.legal_name if investor else "",
            "email": investor.user.email if investor else "",
            "wallet": wallet,
            "country": country if investor else "",
            "accreditation": accreditation,
            "lockup": lockup,
            "exemptions": {e for *_, e in lots},
            "quantity": sum(q for q, *_ in lots),
            "acquired": NOW - dt.timedelta(days=max(d for _, d, *_ in lots)),
        }
    positions_rebuild(offering=offering)
    out = {}
    for pk, investor_id, wallet in HolderPosition.objects.filter(offering=offering).values_list(
        "pk", "investor_id", "wallet"
    ):
        out[pk] = expected[(investor_id, wallet)]
    return out


def _expected(rows: dict[int, dict[str, Any]], query: CapTableQuery) -> tuple[int, list[int]]:
    """The page the data defines: the holders matching every filter, in the query's order (ties by position)."""

    def matches(r: dict[str, Any]) -> bool:
        s = query.search.casefold()
        return (
            (not query.exemption or query.exemption in r["exemptions"])
            and (not query.country or r["country"] == query.country)
            and (not query.accreditation or r["accreditation"] == query.accreditation)
            and (not query.lockup or r["lockup"] == query.lockup)
            and (not s or s in r["name"].casefold() or s in r["email"].casefold() or s in r["wallet"].casefold())
        )

    found = [pk for pk, r in rows.items() if matches(r)]
    if query.sort == "country":
        found.sort(key=lambda pk: (-rows[pk]["quantity"], pk))
        found.sort(key=lambda pk: rows[pk]["country"], reverse=query.descending)
    else:

        def key(pk: int) -> tuple[Any, int]:
            r = rows[pk]
            if query.sort == "name":
                return (r["name"] if r["investor"] else r["wallet"]), pk
            return r[query.sort], pk

        found.sort(key=key, reverse=query.descending)
    pages = max(1, -(-len(found) // query.per_page))
    start = (min(query.page, pages) - 1) * query.per_page
    return len(found), found[start : start + query.per_page]


def _page_positions(offering: Offering, query: CapTableQuery) -> tuple[int, list[int]]:
    page, _ = cap_table(offering=offering, query=query)
    ids: dict[tuple[int | None, str], int] = {
        (i, w): pk
        for pk, i, w in HolderPosition.objects.filter(offering=offering).values_list("pk", "investor_id", "wallet")
    }
    return page.total, [ids[r.key] for r in page.rows]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(holders=st.lists(holder, min_size=1, max_size=9), query=queries)
def test_a_filtered_page_is_the_one_the_holders_data_defines_by_either_plan(
    offering: Offering, holders, query, monkeypatch
) -> None:
    """Invariant: for any holders (countries, live and expired claims, lock-ups, exemptions) and any filters,
    search, sort and page, the page equals the one computed from the data here, whether the database reads
    the holders in index order (many match) or sorts the matches (few match)."""
    Lot.objects.filter(offering=offering).delete()
    HolderPosition.objects.filter(offering=offering).delete()
    cache.clear()
    rows = _register(offering, holders)
    expected = _expected(rows, query)
    for walk_rows in (10**9, 0):  # always walk the index, never walk it
        monkeypatch.setattr(selectors, "WALK_ROWS", walk_rows)
        assert _page_positions(offering, query) == expected, f"WALK_ROWS={walk_rows}"


def _holders_bulk(offering: Offering, n: int) -> list[InvestorProfile]:
    from investors.tests.support import verified_investor

    people = [
        verified_investor(name=f"Holder {i:04d}", country="DE" if i % 7 == 0 else "US", wallet=None) for i in range(n)
    ]
    AccreditationClaim.objects.bulk_create(
        [
            AccreditationClaim(investor=p, method="net_worth", status="verified", expires_at=NOW + dt.timedelta(days=9))
            for p in people[::2]
        ]
    )
    mints_bulk(
        offering,
        [(p.pk, f"0x{0xA000 + i:040x}", 10 + i) for i, p in enumerate(people)],
        at=NOW - dt.timedelta(days=3),
        first_block=next(_blocks),
    )
    positions_rebuild(offering=offering)
    return people


def _plan(sql: str) -> list[tuple[int, int, str]]:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
        return [(row[0], row[1], row[3]) for row in cursor.fetchall()]


def _page_query(offering: Offering, query: CapTableQuery) -> str:
    cap_table(offering=offering, query=query)  # the census is kept after the first
    with CaptureQueriesContext(connection) as ctx:
        cap_table(offering=offering, query=query)
    # The page's columns, for the ids the inner query picks in the query's order.
    [sql] = [q["sql"] for q in ctx.captured_queries if re.search(r"LIMIT \d+\)", q["sql"])]
    return sql


def _inner_plan(sql: str) -> list[str]:
    """The lines of the plan of the subquery that picks the page's ids."""
    plan = _plan(sql)
    [root] = [node for node, parent, detail in plan if parent == 0 and detail.startswith("LIST SUBQUERY")]
    inner: set[int] = {root}
    for node, parent, _ in plan:
        if parent in inner:
            inner.add(node)
    return [detail for node, _, detail in plan if node in inner and node != root]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="reads SQLite's query plans")
def test_the_page_reads_holders_in_order_when_many_match_and_sorts_the_matches_when_few_do(
    offering, monkeypatch
) -> None:
    # 120 holders: reading the page of the one match in order reads them all, 3,000 row reads for a
    # page of 25 where 500 are allowed here (WALK_ROWS stands for 100,000 holders' 5,000).
    monkeypatch.setattr(selectors, "WALK_ROWS", 500)
    _holders_bulk(offering, 120)
    many = _inner_plan(_page_query(offering, CapTableQuery(country="US")))
    assert not any("TEMP B-TREE FOR ORDER BY" in line for line in many), many
    few = _inner_plan(_page_query(offering, CapTableQuery(search="Holder 0042")))
    assert any("TEMP B-TREE FOR ORDER BY" in line for line in few), few


def test_the_accreditation_filter_reads_the_live_claims_once_not_once_per_holder(offering) -> None:
    _holders_bulk(offering, 30)
    for state in ("verified", "self_certified", "none"):
        query = CapTableQuery(accreditation=state)
        cap_table(offering=offering, query=query)
        with CaptureQueriesContext(connection) as ctx:
            page, _ = cap_table(offering=offering, query=query)
        [count] = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith("SELECT COUNT(*)")]
        # Filtered on the claims themselves, not on a status computed for each holder and then compared.
        assert "CASE" not in count.partition(" WHERE ")[2], count
        if connection.vendor == "sqlite":
            plan = [detail for *_, detail in _plan(count)]
            assert not any("CORRELATED" in line for line in plan), plan
        else:
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN {count}")
                text = "\n".join(row[0] for row in cursor.fetchall())
            # A hashed subplan is read once into a hash table; any other runs again for each holder.
            assert set(re.findall(r"SubPlan (\d+)", text)) <= set(re.findall(r"hashed SubPlan (\d+)", text)), text
        assert page.total == {"verified": 15, "self_certified": 0, "none": 15}[state]

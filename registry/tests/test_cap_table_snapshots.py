"""The cap table as of a past date, read from a snapshot of the positions at that moment, is the cap table the
lot movements define: the same holders, quantities, shares, order, counts and charts, for any history."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from investors.models import InvestorProfile
from offerings.models import Offering
from registry.models import Lot, PositionSnapshot, SnapshotPosition
from registry.selectors.cap_table import CapTableCensus, CapTablePage, CapTableQuery, cap_table, moment_of
from registry.services.position_snapshots import position_snapshot_ensure
from registry.tests.ledger_rows import Register

pytestmark = pytest.mark.django_db

NOW = timezone.now()
DAYS = 40
WALLETS = [f"0x{n:040x}" for n in range(0xD1, 0xD7)]  # 0..3 belong to investors 0..3 (0 has two), 4, 5 to nobody
_blocks = itertools.count(50_000, 1_000)


def _investors() -> list[InvestorProfile]:
    from investors.tests.support import verified_investor

    made = [
        verified_investor(name="Ann", country="US", accreditation="verified", wallet=None),
        verified_investor(name="Bo", country="DE", accreditation="self_certified", wallet=None),
        verified_investor(name="Ann", country="US", accreditation=None, wallet=None),
    ]
    return made


def _owner(investors: list[InvestorProfile], wallet: int) -> InvestorProfile | None:
    return {0: investors[0], 1: investors[0], 2: investors[1], 3: investors[2]}.get(wallet)


@pytest.fixture
def offering(cast, registry) -> Offering:
    from offerings.tests.support import offering_open

    return offering_open(cast.issuer, cast.admin)


@pytest.fixture
def other(cast, registry) -> Offering:
    """A second token of the issuer: the fully diluted share counts it."""
    from offerings.tests.support import offering_open

    return offering_open(cast.issuer, cast.admin)


def _page(page: CapTablePage) -> dict[str, Any]:
    return {
        "rows": [
            (
                r.key,
                r.name,
                r.country,
                r.accreditation,
                r.quantity,
                r.wallets,
                r.lots,
                r.first_acquired_at,
                r.exemptions,
                r.lockup,
                r.lockup_last_release,
                r.lockup_first_release,
                r.class_hundredths,
                r.diluted_hundredths,
                r.issuer_quantity,
            )
            for r in page.rows
        ],
        "figures": (page.total, page.page, page.pages, page.per_page, page.moment, page.supply, page.issuer_supply),
    }


def _census(census: CapTableCensus) -> dict[str, Any]:
    return {
        "figures": (census.holders, census.supply, census.issuer_supply, census.countries, census.history),
        "top": [(s.label, s.holders, s.units) for s in census.top],
        "charts": [
            [(s.label, s.holders, s.units) for s in shares]
            for shares in (census.by_country, census.by_exemption, census.by_accreditation)
        ],
        "count": census.holder_count,
    }


steps = st.lists(
    st.tuples(
        st.sampled_from(["mint", "mint", "transfer", "burn"]),
        st.integers(0, 5),
        st.integers(0, 5),
        st.integers(1, 40),
        st.integers(0, DAYS),
        st.booleans(),
    ),
    min_size=1,
    max_size=14,
)
queries = st.builds(
    CapTableQuery,
    sort=st.sampled_from(["quantity", "name", "country", "acquired"]),
    descending=st.booleans(),
    page=st.integers(1, 3),
    per_page=st.just(25),
    search=st.sampled_from(["", "", "ann", "0x", "d3"]),
    country=st.sampled_from(["", "", "US", "DE"]),
    accreditation=st.sampled_from(["", "", "verified", "self_certified", "none"]),
    lockup=st.sampled_from(["", "", "free", "locked", "partly"]),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=steps, back=st.integers(0, DAYS), query=queries, small_pages=st.booleans())
def test_the_cap_table_from_a_snapshot_is_the_one_the_lot_movements_define(
    offering: Offering, other: Offering, steps, back, query, small_pages
) -> None:
    """Invariant: for a random history of mints, transfers and burns over forty days (some lots locked up,
    another token of the issuer beside it), the snapshot's page and census as of any day equal the in-memory sums."""
    Lot.objects.filter(offering__in=[offering, other]).delete()
    PositionSnapshot.objects.all().delete()
    cache.clear()
    investors = _investors()
    registers = {True: Register(offering=offering, block=next(_blocks)), False: Register(offering=other)}
    registers[False].block = registers[True].block + 500
    held = {(token, w): 0 for token in (True, False) for w in range(len(WALLETS))}
    # Chain order is time order: the steps happen on the days they name, sorted.
    for kind, a, b, amount, days_ago, mine in sorted(steps, key=lambda s: -s[4]):
        register = registers[mine]
        at = NOW - dt.timedelta(days=days_ago, hours=1)
        if kind == "mint":
            lot = register.mint(_owner(investors, a), WALLETS[a], amount, at=at)
            if amount % 3 == 0:
                Lot.objects.filter(pk=lot.pk).update(lockup_release=at + dt.timedelta(days=amount % 20))
            held[mine, a] += amount
            continue
        amount = min(amount, held[mine, a])
        if amount == 0 or (kind == "transfer" and a == b):
            continue
        if kind == "burn":
            register.burn(WALLETS[a], amount, at=at, investor=_owner(investors, a))
        else:
            register.transfer(
                WALLETS[a],
                WALLETS[b],
                amount,
                at=at,
                from_investor=_owner(investors, a),
                to_investor=_owner(investors, b),
            )
            held[mine, b] += amount
        held[mine, a] -= amount
    for entry in registers[True].open_lots.values():
        for item in entry:
            item[0].refresh_from_db()
    if small_pages:
        query = CapTableQuery(**{**query.__dict__, "per_page": 2})
    as_of = (NOW - dt.timedelta(days=back)).date() - dt.timedelta(days=1)
    query = CapTableQuery(**{**query.__dict__, "as_of": as_of})

    expected_page, expected_census = cap_table(offering=offering, query=query)
    snapshot = position_snapshot_ensure(offering=offering, moment=moment_of(as_of))
    with CaptureQueriesContext(connection) as ctx:
        page, census = cap_table(offering=offering, query=query, snapshot=snapshot)

    assert any("registry_snapshotposition" in q["sql"] for q in ctx.captured_queries)  # read from the snapshot
    assert _page(page) == _page(expected_page)
    assert _census(census) == _census(expected_census)


def test_a_snapshot_is_made_once_per_ledger_state_and_again_after_a_posting(offering: Offering) -> None:
    investors = _investors()
    register = Register(offering=offering, block=next(_blocks))
    register.mint(investors[0], WALLETS[0], 100, at=NOW - dt.timedelta(days=20))
    moment = moment_of((NOW - dt.timedelta(days=10)).date())

    first = position_snapshot_ensure(offering=offering, moment=moment)
    assert position_snapshot_ensure(offering=offering, moment=moment) == first
    assert SnapshotPosition.objects.filter(snapshot=first).count() == 1

    register.mint(investors[1], WALLETS[2], 50, at=NOW - dt.timedelta(days=15))  # posted late, before the moment
    second = position_snapshot_ensure(offering=offering, moment=moment)
    assert second != first
    assert not PositionSnapshot.objects.filter(pk=first.pk).exists()
    page, _ = cap_table(offering=offering, query=CapTableQuery(as_of=moment.date()), snapshot=second)
    assert [(r.name, r.quantity) for r in page.rows] == [("Ann", 100), ("Bo", 50)]


def test_a_page_from_a_snapshot_runs_the_same_queries_for_more_holders(offering: Offering) -> None:
    from registry.tests.ledger_rows import mints_bulk

    investors = _investors()
    register = Register(offering=offering, block=next(_blocks))
    register.mint(investors[0], WALLETS[0], 100, at=NOW - dt.timedelta(days=20))
    query = CapTableQuery(as_of=(NOW - dt.timedelta(days=10)).date(), country="US", sort="name")

    def queries() -> int:
        snapshot = position_snapshot_ensure(offering=offering, moment=moment_of(query.as_of))
        cap_table(offering=offering, query=query, snapshot=snapshot)  # the census is kept after the first
        with CaptureQueriesContext(connection) as ctx:
            snapshot = position_snapshot_ensure(offering=offering, moment=moment_of(query.as_of))
            cap_table(offering=offering, query=query, snapshot=snapshot)
        return len(ctx.captured_queries)

    few = queries()
    mints_bulk(
        offering,
        [(None, f"0x{n:040x}", 5) for n in range(0xE100, 0xE100 + 200)],
        at=NOW - dt.timedelta(days=30),
        first_block=next(_blocks),
    )
    assert queries() == few

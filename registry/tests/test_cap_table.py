"""The issuer's cap table page: holders from the ledger, sorted, filtered, searched and paged on the server,
as of any date, with 12(g) holder counts; who may open it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import reverse
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from compliance.exemptions import Exemption
from core.models import AuditEvent
from investors.models import AccreditationClaim, InvestorProfile, Wallet, WalletKind
from investors.tests.support import verified_investor
from offerings.models import Offering
from offerings.tests.support import offering_open
from registry.models import HolderCountPolicy, LedgerPosting
from registry.selectors.cap_table import CapTableQuery, _Group, _holder_count, cap_table
from registry.selectors.ledger import AsOf, investor_totals
from registry.tests.register_support import Events, ledger_shift
from tokens.tests.support import address_for

pytestmark = [pytest.mark.chain, pytest.mark.django_db]

UNKNOWN = address_for("cap-table-unlinked-wallet")


@dataclass
class Register:
    offering: Offering
    alice: InvestorProfile  # US, verified, two wallets: 500 400 days ago (free), 200 two days ago (locked)
    bob: InvestorProfile  # DE, self-certified: 300 401 days ago, sent 50 to Carol two days ago
    carol: InvestorProfile  # US, not accredited: 100 399 days ago and 50 from Bob
    alice_wallets: tuple[str, str]
    ten_days_ago: dt.date


def _investor(name: str, email: str, country: str, accreditation: str | None, *wallets: str) -> InvestorProfile:
    from core.tests.factories import UserFactory

    investor = verified_investor(
        user=UserFactory.create(email=email), name=name, country=country, accreditation=accreditation, wallet=wallets[0]
    )
    for extra in wallets[1:]:
        Wallet.objects.create(investor=investor, address=extra, kind=WalletKind.SIGNED, linked_by=investor.user)
    return investor


def register_build(cast, offering: Offering) -> Register:
    a0, a1 = address_for("cap-alice-0"), address_for("cap-alice-1")
    b0, c0 = address_for("cap-bob-0"), address_for("cap-carol-0")
    alice = _investor("Alice Archer", "alice@example.com", "US", "verified", a0, a1)
    bob = _investor("Bob Brandt", "bob@example.de", "DE", "self_certified", b0)
    carol = _investor("Carol Chen", "carol@example.com", "US", None, c0)
    events = Events(offering)
    for wallet, amount, days in ((a0, 500, 400), (b0, 300, 401), (c0, 100, 399), (UNKNOWN, 50, 402)):
        mint = events.mint(wallet, amount)
        events.post()
        ledger_shift(offering, LedgerPosting.objects.filter(event=mint), -dt.timedelta(days=days))
    first = set(LedgerPosting.objects.filter(offering=offering).values_list("pk", flat=True))
    events.mint(a1, 200)
    events.transfer(b0, c0, 50)
    events.post()
    ledger_shift(offering, LedgerPosting.objects.filter(offering=offering).exclude(pk__in=first), -dt.timedelta(days=2))
    return Register(
        offering=offering,
        alice=alice,
        bob=bob,
        carol=carol,
        alice_wallets=(a0, a1),
        ten_days_ago=timezone.now().date() - dt.timedelta(days=10),
    )


@pytest.fixture
def reg(cast, chain_settings, registry) -> Register:
    return register_build(cast, offering_open(cast.issuer, cast.admin))


def _url(reg: Register) -> str:
    return reverse("cap_table", args=[reg.offering.issuer.slug, reg.offering.public_id])


def _get(user, url: str, **params):
    client = Client()
    client.force_login(user)
    return client.get(url, params)


def _names(response) -> list[str]:
    return [r.name or r.wallet for r in response.context["page"].rows]


def test_the_cap_table_lists_persons_with_their_units_and_shares(cast, reg) -> None:
    response = _get(cast.admin, _url(reg))
    assert response.status_code == 200
    rows = response.context["page"].rows
    # Largest holdings first; an investor's two wallets are one row.
    assert [(r.name or r.wallet, r.quantity) for r in rows] == [
        ("Alice Archer", 700),
        ("Bob Brandt", 250),
        ("Carol Chen", 150),
        (UNKNOWN, 50),
    ]
    totals = investor_totals(offering=reg.offering)
    assert {r.investor_id: r.quantity for r in rows if r.investor_id} == {k: v for k, v in totals.items() if k}
    alice = rows[0]
    assert alice.class_hundredths == 6087  # 700 of 1,150
    assert alice.diluted_hundredths == 6087  # the issuer has one token
    assert alice.lockup == "partly" and rows[1].lockup == "free"
    assert sorted(alice.wallets) == sorted(reg.alice_wallets)
    html = response.content.decode()
    assert "60.87 %" in html
    assert reverse("holder_detail", args=["harbor", reg.offering.public_id, reg.alice.public_id.hex]) in html
    assert 'id="cap-table-chart-data"' in html and "vendor/chart.umd.min.js" in html
    assert 'id="countries-table"' in html  # the charts' figures as text too


def test_fully_diluted_counts_every_token_of_the_issuer(cast, reg) -> None:
    other = offering_open(cast.issuer, cast.admin, title="Harbor Street Notes", token_symbol="HSN")
    events = Events(other)
    events.mint(reg.alice_wallets[0], 850)
    events.post()
    rows = _get(cast.admin, _url(reg)).context["page"].rows
    alice = rows[0]
    assert alice.issuer_quantity == 1550
    assert alice.class_hundredths == 6087
    assert alice.diluted_hundredths == 7750  # 1,550 of 2,000


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("quantity", [UNKNOWN, "Carol Chen", "Bob Brandt", "Alice Archer"]),
        ("name", ["Alice Archer", "Bob Brandt", "Carol Chen"]),
        ("-name", ["Carol Chen", "Bob Brandt", "Alice Archer"]),
        ("country", [UNKNOWN, "Bob Brandt", "Alice Archer", "Carol Chen"]),  # then the larger holding first
        ("-country", ["Alice Archer", "Carol Chen", "Bob Brandt", UNKNOWN]),
        ("acquired", [UNKNOWN, "Bob Brandt", "Alice Archer", "Carol Chen"]),
        ("-acquired", ["Carol Chen", "Alice Archer", "Bob Brandt", UNKNOWN]),
    ],
)
def test_the_server_sorts_by_each_column(cast, reg, sort, expected) -> None:
    names = _names(_get(cast.admin, _url(reg), sort=sort))
    if sort.endswith("name"):
        names = [n for n in names if n != UNKNOWN]  # a wallet sorts by its address, where the collation puts "0x"
    assert names == expected


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"country": "DE"}, ["Bob Brandt"]),
        ({"accreditation": "verified"}, ["Alice Archer"]),
        ({"accreditation": "none"}, ["Carol Chen", UNKNOWN]),
        ({"lockup": "partly"}, ["Alice Archer"]),
        ({"lockup": "free"}, ["Bob Brandt", "Carol Chen", UNKNOWN]),
        ({"lockup": "locked"}, []),
        ({"exemption": Exemption.REG_D_506C}, ["Alice Archer", "Bob Brandt", "Carol Chen", UNKNOWN]),
        ({"exemption": Exemption.REG_CF}, []),
        ({"q": "archer"}, ["Alice Archer"]),
        ({"q": "EXAMPLE.DE"}, ["Bob Brandt"]),
        ({"q": UNKNOWN[:12].lower()}, [UNKNOWN]),
    ],
)
def test_filters_and_search_narrow_the_holders(cast, reg, params, expected) -> None:
    response = _get(cast.admin, _url(reg), **params)
    assert _names(response) == expected
    assert response.context["page"].total == len(expected)
    # The census (charts, 12(g)) always covers every holder.
    assert response.context["census"].holders == 4


def test_a_wallet_search_finds_an_investor_by_either_of_their_wallets(cast, reg) -> None:
    assert _names(_get(cast.admin, _url(reg), q=reg.alice_wallets[1])) == ["Alice Archer"]


def test_as_of_a_past_date_shows_the_register_as_it_stood(cast, reg) -> None:
    response = _get(cast.admin, _url(reg), as_of=reg.ten_days_ago.isoformat())
    rows = response.context["page"].rows
    assert [(r.name or r.wallet, r.quantity) for r in rows] == [
        ("Alice Archer", 500),
        ("Bob Brandt", 300),
        ("Carol Chen", 100),
        (UNKNOWN, 50),
    ]
    moment = dt.datetime.combine(reg.ten_days_ago, dt.time.max, tzinfo=dt.UTC)
    past = investor_totals(offering=reg.offering, as_of=AsOf(at=moment))
    assert {r.investor_id: r.quantity for r in rows if r.investor_id} == {k: v for k, v in past.items() if k}
    assert rows[0].lockup == "free"
    assert "As of the end of" in response.content.decode()
    # Filters and sorting apply to the past register too.
    assert _names(_get(cast.admin, _url(reg), as_of=reg.ten_days_ago.isoformat(), sort="quantity", country="US")) == [
        "Carol Chen",
        "Alice Archer",
    ]
    before = _get(cast.admin, _url(reg), as_of="2020-01-01")
    assert before.context["page"].rows == [] and "Nobody held" in before.content.decode()


def test_reading_a_past_register_writes_nothing_and_a_large_one_is_prepared_by_a_worker(
    cast, reg, django_capture_on_commit_callbacks
) -> None:
    from registry.models import PositionSnapshot
    from registry.services.position_snapshots import position_snapshot_build

    as_of = reg.ten_days_ago.isoformat()
    # A small register is summed in the request: the transfer agent's reading leaves no row behind.
    small = _get(cast.agent, _url(reg), as_of=as_of)
    assert len(small.context["page"].rows) == 4
    assert not PositionSnapshot.objects.exists()

    with override_settings(CAP_TABLE_AS_OF_INLINE_HOLDERS=3):  # four holders: "large"
        with django_capture_on_commit_callbacks() as asked:
            waiting = _get(cast.agent, _url(reg), as_of=as_of)
            _get(cast.agent, _url(reg), as_of=as_of)  # the page asks again while it waits
        html = waiting.content.decode()
        assert 'id="snapshot-preparing"' in html and "opens the register by itself" in html
        assert "page" not in waiting.context
        assert not PositionSnapshot.objects.exists()
        assert len(asked) == 1  # one build on its way, however often the page asks

        # The worker's part (what `position_snapshot_build_task` runs), twice as a redelivered task would.
        moment = dt.datetime.combine(reg.ten_days_ago, dt.time.max, tzinfo=dt.UTC)
        first = position_snapshot_build(offering_id=reg.offering.pk, moment=moment)
        assert position_snapshot_build(offering_id=reg.offering.pk, moment=moment) == first
        ready = _get(cast.agent, _url(reg), as_of=as_of)
    assert 'id="snapshot-preparing"' not in ready.content.decode()
    assert [(r.name or r.wallet, r.quantity) for r in ready.context["page"].rows] == [
        (r.name or r.wallet, r.quantity) for r in small.context["page"].rows
    ]
    assert PositionSnapshot.objects.count() == 1


def test_the_past_and_the_present_agree_when_nothing_moved_since(cast, reg) -> None:
    yesterday = timezone.now().date() - dt.timedelta(days=1)
    for sort in ("quantity", "name", "country", "acquired"):
        now, now_census = cap_table(offering=reg.offering, query=CapTableQuery(sort=sort))
        past, past_census = cap_table(offering=reg.offering, query=CapTableQuery(sort=sort, as_of=yesterday))
        assert [(r.key, r.quantity, r.lockup, r.exemptions, r.first_acquired_at) for r in now.rows] == [
            (r.key, r.quantity, r.lockup, r.exemptions, r.first_acquired_at) for r in past.rows
        ]
        assert now_census.holder_count == past_census.holder_count
        assert now_census.by_country == past_census.by_country


def test_bad_filters_are_named_and_the_page_still_answers(cast, reg) -> None:
    response = _get(cast.admin, _url(reg), as_of="yesterday", per_page="7", sort="bogus", page="-3")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Some filters were not understood" in html
    assert len(response.context["page"].rows) == 4  # defaults: newest register, 25 a page, largest first


def test_pages_hold_25_50_or_100_holders_and_a_page_past_the_end_shows_the_last(cast, reg) -> None:
    page = _get(cast.admin, _url(reg), page="99").context["page"]
    assert page.page == 1 and page.pages == 1 and page.per_page == 25
    assert _get(cast.admin, _url(reg), per_page="100").context["page"].per_page == 100


def test_the_page_runs_the_same_queries_at_any_number_of_holders(cast, reg) -> None:
    def queries(**params) -> int:
        client = Client()
        client.force_login(cast.admin)
        client.get(_url(reg), params)  # warm the session and caches
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(_url(reg), params).status_code == 200
        return len(ctx.captured_queries)

    small = {name: queries(**p) for name, p in _QUERY_CASES.items()}
    events = Events(reg.offering)
    for n in range(60):
        wallet = address_for(f"cap-more-{n}")
        if n % 2:
            verified_investor(name=f"Extra {n}", wallet=wallet, accreditation="verified", country="FR")
        events.mint(wallet, 10 + n)
    events.post()
    assert {name: queries(**p) for name, p in _QUERY_CASES.items()} == small


_QUERY_CASES = {
    "plain": {},
    "filtered": {"country": "US", "q": "a", "lockup": "free", "sort": "name"},
    "nothing_matches": {"q": "nobody by this name"},
    "as_of": {"as_of": (timezone.now().date() - dt.timedelta(days=10)).isoformat()},
    "as_of_filtered": {"as_of": (timezone.now().date() - dt.timedelta(days=1)).isoformat(), "accreditation": "none"},
}


def test_the_counts_follow_the_ledger_at_once_and_investor_changes_within_a_minute(cast, reg, settings) -> None:
    assert _get(cast.admin, _url(reg)).context["count"].non_accredited == 2
    # A new holder is a ledger change: the next page counts it.
    events = Events(reg.offering)
    events.mint(address_for("cap-new-holder"), 5)
    events.post()
    count = _get(cast.admin, _url(reg)).context["count"]
    assert (count.holders_of_record, count.non_accredited) == (5, 3)
    # Carol's accreditation is verified outside the ledger: the counts follow once the figures expire.
    AccreditationClaim.objects.create(
        investor=reg.carol, method="net_worth", status="verified", expires_at=timezone.now() + dt.timedelta(days=90)
    )
    settings.CAP_TABLE_CENSUS_SECONDS = 0
    cache.clear()
    assert _get(cast.admin, _url(reg)).context["count"].non_accredited == 2


# --------------------------------------------------------------------------- access


def test_a_transfer_agent_reads_the_cap_table_but_cannot_change_the_12g_statement(cast, reg) -> None:
    response = _get(cast.agent, _url(reg))
    assert response.status_code == 200
    assert response.context["policy_form"] is None
    assert 'id="holder-count-policy"' not in response.content.decode()
    client = Client()
    client.force_login(cast.agent)
    url = reverse("holder_count_policy", args=["harbor", reg.offering.public_id])
    assert client.post(url, {"reg_cf_excluded": "on"}).status_code == 403
    assert not HolderCountPolicy.objects.exists()


@pytest.mark.parametrize("role", ["compliance", "other_admin", "investor", "staff"])
def test_people_without_the_register_are_refused(cast, reg, role) -> None:
    assert _get(getattr(cast, role), _url(reg)).status_code == 403
    detail = reverse("holder_detail", args=["harbor", reg.offering.public_id, reg.alice.public_id.hex])
    assert _get(getattr(cast, role), detail).status_code == 403


def test_another_issuers_admin_cannot_reach_the_token_through_their_own_issuer(cast, reg) -> None:
    url = reverse("cap_table", args=["other", reg.offering.public_id])
    assert _get(cast.other_admin, url).status_code == 404


def test_only_members_who_may_read_the_register_see_the_cap_table_tab(cast, reg) -> None:
    dashboard = reverse("offering_dashboard", args=["harbor", reg.offering.public_id])
    assert _url(reg) in _get(cast.admin, dashboard).content.decode()
    assert _url(reg) in _get(cast.agent, dashboard).content.decode()
    assert _url(reg) not in _get(cast.compliance, dashboard).content.decode()


# --------------------------------------------------------------------------- holder detail


def test_the_holder_page_lists_an_investors_lots_and_wallets(cast, reg) -> None:
    url = reverse("holder_detail", args=["harbor", reg.offering.public_id, reg.alice.public_id.hex])
    response = _get(cast.agent, url)
    assert response.status_code == 200
    assert sum(row.remaining for row in response.context["lots"]) == 700
    html = response.content.decode()
    assert reg.alice_wallets[0] in html and reg.alice_wallets[1] in html
    past = _get(cast.agent, url, as_of=reg.ten_days_ago.isoformat())
    assert sum(row.remaining for row in past.context["lots"]) == 500
    # Token administration starts from here for the admin; the transfer agent only reads.
    assert 'id="holder-token-admin"' not in html
    assert 'id="holder-token-admin"' in _get(cast.admin, url).content.decode()


def test_an_unlinked_wallet_has_its_own_holder_page_and_a_linked_one_leads_to_its_investor(cast, reg) -> None:
    response = _get(cast.admin, reverse("holder_detail", args=["harbor", reg.offering.public_id, UNKNOWN]))
    assert response.status_code == 200 and response.context["quantity"] == 50
    linked = _get(cast.admin, reverse("holder_detail", args=["harbor", reg.offering.public_id, reg.alice_wallets[1]]))
    assert linked.status_code == 302 and reg.alice.public_id.hex in linked["Location"]


def test_someone_who_never_held_the_token_has_no_holder_page(cast, reg) -> None:
    stranger = verified_investor()
    for holder in (stranger.public_id.hex, address_for("never-held"), "not-a-holder"):
        url = reverse("holder_detail", args=["harbor", reg.offering.public_id, holder])
        assert _get(cast.admin, url).status_code == 404


# --------------------------------------------------------------------------- 12(g)


def test_holders_of_record_count_persons_not_wallets_and_unlinked_wallets_as_not_accredited(cast, reg) -> None:
    count = _get(cast.admin, _url(reg)).context["count"]
    assert count.holders_of_record == 4  # Alice's two wallets are one person
    assert count.non_accredited == 2  # Carol, and the wallet nobody linked
    assert count.excluded == 0
    assert count.holders_state == "ok"


@override_settings(
    HOLDER_COUNT_FIGURES={
        "total_assets_cents": 10_000_000_00,
        "holders_of_record": 5,
        "non_accredited_holders": 2,
        "warning_bps": 8000,
    }
)
def test_the_page_warns_at_80_percent_of_a_threshold_and_alarms_when_reached(cast, reg) -> None:
    response = _get(cast.admin, _url(reg))
    count = response.context["count"]
    assert count.holders_state == "warning"  # 4 of 5
    assert count.non_accredited_state == "reached"  # 2 of 2
    html = response.content.decode()
    assert 'id="holder-count-warning"' in html
    assert "80 % of the 5-person threshold" in html
    assert "has not stated its total assets" in html


def test_reg_cf_holders_are_left_out_once_the_issuer_states_it_qualifies(cast, chain_settings, registry) -> None:
    offering = offering_open(cast.issuer, cast.admin, exemption=Exemption.REG_CF)
    reg = register_build(cast, offering)
    assert _get(cast.admin, _url(reg)).context["count"].holders_of_record == 4
    client = Client()
    client.force_login(cast.admin)
    url = reverse("holder_count_policy", args=["harbor", offering.public_id])
    response = client.post(url, {"total_assets": "12,000,000", "reg_cf_excluded": "on"})
    assert response.status_code == 302
    count = _get(cast.admin, _url(reg)).context["count"]
    assert (count.holders_of_record, count.non_accredited, count.excluded) == (0, 0, 4)
    assert count.assets_over is True
    # The same statement again changes nothing and is recorded once.
    client.post(url, {"total_assets": "12,000,000", "reg_cf_excluded": "on"})
    assert AuditEvent.objects.filter(action="registry.holder_count_policy_set").count() == 1


def test_a_bad_12g_statement_is_refused_with_a_reason(cast, reg) -> None:
    client = Client()
    client.force_login(cast.admin)
    url = reverse("holder_count_policy", args=["harbor", reg.offering.public_id])
    response = client.post(url, {"total_assets": "lots"}, follow=True)
    assert "The 12(g) statement was not saved" in response.content.decode()
    assert not HolderCountPolicy.objects.exists()


# --------------------------------------------------------------------------- 12(g) invariants

_group = st.builds(
    _Group,
    country=st.sampled_from(["US", "DE", ""]),
    exemptions=st.lists(st.sampled_from([e.value for e in Exemption]), min_size=1, max_size=2, unique=True).map(
        lambda es: tuple(sorted(es))
    ),
    accreditation=st.sampled_from(["verified", "self_certified", "none"]),
    holders=st.integers(min_value=1, max_value=3_000),
    units=st.integers(min_value=1, max_value=10**9),
)


@settings(max_examples=200, deadline=None)
@given(groups=st.lists(_group, max_size=12), reg_cf=st.booleans(), reg_a=st.booleans())
def test_every_holder_is_counted_once_or_excluded_and_only_under_an_excluded_exemption(groups, reg_cf, reg_a) -> None:
    policy = HolderCountPolicy(reg_cf_excluded=reg_cf, reg_a_tier2_excluded=reg_a)
    count = _holder_count(groups, policy)
    everyone = sum(g.holders for g in groups)
    assert count.holders_of_record + count.excluded == everyone
    assert count.non_accredited <= count.holders_of_record
    excluded = {e for e, on in ((Exemption.REG_CF, reg_cf), (Exemption.REG_A_TIER2, reg_a)) if on}
    assert count.excluded == sum(g.holders for g in groups if set(g.exemptions) <= excluded)
    # A holder with any unit under a counted exemption counts; nobody is excluded unless the issuer says so.
    if not excluded:
        assert count.excluded == 0
        assert count.non_accredited == sum(g.holders for g in groups if g.accreditation == "none")
    # The warning comes at 80 % of a threshold, before it is reached.
    if count.holders_state == "ok":
        assert count.holders_of_record * 10 < count.holders_threshold * 8

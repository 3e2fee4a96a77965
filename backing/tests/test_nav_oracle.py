"""A token's NAV published by an oracle, on a real anvil: naming the oracle takes a second admin and refuses what is
not a feed with the reason; each round read is recorded once as the NAV of its day, in force without approval and
audited with the oracle as actor; a later round corrects the day; a round that cannot be a NAV is kept aside and
shown; the node being down loses nothing; a subscription before the cut-off is issued at the oracle's NAV; the
public report says where each NAV comes from and nothing about who entered it."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from fractions import Fraction

import pytest
from django.core.cache import cache
from django.db import IntegrityError, connection, connections, transaction
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from backing.models import NavOracle, NavPoint, NavPricing, NavRoundRefused, StatementState
from backing.quantities import QuantityInvalid, nav_from_feed
from backing.selectors import nav_of_day
from backing.services.nav import nav_terms_save
from backing.services.nav_oracle import nav_oracle_propose, nav_oracle_read, oracle_actor
from backing.tasks import nav_oracles_read_task
from backing.tests.support import profile_saved
from backing.tests.test_nav import nav_approved
from core.approvals import approval_approve
from core.errors import ApplicationError, NotPermitted
from core.models import AuditEvent
from investors.services.verification import investor_registry_refresh
from investors.tests.support import verified_investor
from offerings.models import Offering, OfferingStatus, Subscription, SubscriptionStatus
from offerings.services.closing import closing_advance, offering_close
from offerings.services.offerings import offering_publish
from offerings.tests.support import offering_draft, subscribed, wire_received
from registry.tests.support import second_admin
from tokens.models import ContractDeployment, ContractKind
from tokens.selectors import nav_feed_of
from tokens.services import CHAIN_TRANSIENT_ERRORS, nav_feed_deploy, nav_feed_publish, portal_registry_ensure
from tokens.tests.support import DEV_ACCOUNTS, WALLETS, contract_deploy, contract_send, drain, free_port

pytestmark = [pytest.mark.chain, pytest.mark.django_db]

SCALE = 8
WEDNESDAY = dt.date(2026, 3, 4)
SCRIPTER = DEV_ACCOUNTS[6]


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=dt.UTC)


def fund(cast) -> Offering:
    portal_registry_ensure()
    drain()
    offering = offering_publish(offering=offering_draft(cast.issuer, cast.admin), actor=cast.admin)
    drain()
    nav_terms_save(offering=offering, scale=SCALE, priced_at_nav=False, cutoff=dt.time(16, 0), actor=cast.admin)
    return offering


def portal_feed(offering: Offering, *, decimals: int = SCALE) -> str:
    """The fund administrator's feed, deployed by the portal and published to by its attestor key."""
    nav_feed_deploy(owner_ref=offering.owner_ref, decimals=decimals, description="Harbor Fund Administration NAV (USD)")
    drain()
    feed = nav_feed_of(offering.owner_ref)
    assert feed is not None and feed.address
    return feed.address


def published(offering: Offering, nav_per_unit: int, as_of: dt.datetime, key: str) -> None:
    nav_feed_publish(owner_ref=offering.owner_ref, nav_per_unit=nav_per_unit, as_of=as_of, idempotency_key=key)
    drain()


def named(offering: Offering, address: str, cast, approver) -> NavOracle:
    request = nav_oracle_propose(offering=offering, address=address, actor=cast.admin)
    approval_approve(request=request, actor=approver)
    return NavOracle.objects.get(offering=offering)


def scripted(rpc_url: str, *, decimals: int = SCALE) -> str:
    """A feed whose rounds the test sets freely (negative, timeless, in the future, going back)."""
    return contract_deploy(rpc_url, "ScriptedAggregator", SCRIPTER, decimals, "Scripted NAV (USD)")


def round_set(rpc_url: str, address: str, round_id: int, answer: int, updated_at: int) -> None:
    contract_send(rpc_url, SCRIPTER, address, "ScriptedAggregator", "setRound", round_id, answer, updated_at)


# --------------------------------------------------------------------------- naming the oracle


def test_naming_the_oracle_takes_a_second_admin_and_is_audited(cast, chain_settings) -> None:
    offering = fund(cast)
    address = portal_feed(offering)
    request = nav_oracle_propose(offering=offering, address=address.lower(), actor=cast.admin)
    assert NavOracle.objects.filter(offering=offering).count() == 0  # nothing changes before the approval
    assert "Harbor Fund Administration NAV (USD)" in request.summary and "8 decimals" in request.summary
    with pytest.raises(NotPermitted, match="another admin"):
        approval_approve(request=request, actor=cast.admin)
    approver = second_admin(cast.issuer)
    approval_approve(request=request, actor=approver)
    oracle = NavOracle.objects.get(offering=offering)
    assert (oracle.address, oracle.decimals, oracle.proposed_by, oracle.approved_by) == (
        address,
        SCALE,
        cast.admin,
        approver,
    )
    assert oracle.description == "Harbor Fund Administration NAV (USD)"
    changed = AuditEvent.objects.get(action="backing.nav_oracle_changed")
    assert changed.actor_id == approver.pk and (changed.after or {})["address"] == address
    assert AuditEvent.objects.filter(action="backing.nav_oracle_change_proposed", actor_id=cast.admin.pk).exists()

    # Removing it is a change of pricing too: it waits for a second admin.
    removal = nav_oracle_propose(offering=offering, address="", actor=cast.admin)
    assert NavOracle.objects.filter(offering=offering).exists()
    approval_approve(request=removal, actor=approver)
    assert not NavOracle.objects.filter(offering=offering).exists()


def test_an_address_that_is_not_a_feed_is_refused_with_the_reason(cast, chain_settings) -> None:
    offering = fund(cast)
    token = ContractDeployment.objects.get(kind=ContractKind.SECURITY_TOKEN, owner_ref=offering.owner_ref)
    coarse = scripted(chain_settings.rpc_url, decimals=18)
    cases = [
        ("0x1234", "0x followed by 40 hexadecimal digits"),
        (WALLETS[3], f"There is no contract at {WALLETS[3]}"),
        (token.address, f"The contract at {token.address} does not answer latestRoundData()"),
        (coarse, "answers to 18 decimal places, but the NAV is declared to 8: its answers would lose precision"),
    ]
    for address, message in cases:
        with pytest.raises(ApplicationError) as refused:
            nav_oracle_propose(offering=offering, address=address, actor=cast.admin)
        assert message in refused.value.message
    assert not AuditEvent.objects.filter(action="backing.nav_oracle_change_proposed").exists()


# --------------------------------------------------------------------------- reading rounds


@given(
    answer=st.integers(min_value=1, max_value=2**127 - 1),
    feed_decimals=st.integers(min_value=0, max_value=18),
    scale=st.integers(min_value=0, max_value=18),
)
def test_an_oracle_answer_is_written_in_the_nav_places_exactly_or_refused(
    answer: int, feed_decimals: int, scale: int
) -> None:
    if feed_decimals > scale:
        with pytest.raises(QuantityInvalid, match=f"{feed_decimals} decimal places .* declared to {scale}"):
            nav_from_feed(answer=answer, feed_decimals=feed_decimals, scale=scale)
        return
    nav = nav_from_feed(answer=answer, feed_decimals=feed_decimals, scale=scale)
    assert Fraction(nav, 10**scale) == Fraction(answer, 10**feed_decimals)


def test_each_round_is_recorded_once_as_the_nav_of_its_day_however_often_it_is_read(cast, chain_settings) -> None:
    offering = fund(cast)
    address = portal_feed(offering, decimals=6)
    published(offering, 100_042_100, at(WEDNESDAY, 18), "nav-1")  # 100.0421 USD at 6 decimals
    oracle = named(offering, address, cast, second_admin(cast.issuer))
    assert nav_oracle_read(offering_id=offering.pk) == 1
    assert nav_oracle_read(offering_id=offering.pk) == 0
    point = NavPoint.objects.get(offering=offering)
    assert (point.dealing_day, point.nav_per_unit, point.scale, point.state) == (
        WEDNESDAY,
        100_04210000,
        SCALE,
        StatementState.APPROVED,
    )
    assert (point.oracle_address, point.oracle_round_id, point.document, point.entered_by) == (address, "1", "", None)
    assert point.oracle_updated_at == at(WEDNESDAY, 18)
    assert nav_of_day(offering=offering, day=WEDNESDAY) == point  # in force, nobody approved it
    event = AuditEvent.objects.get(action="backing.nav_point_published")
    assert event.actor_id is None and event.actor_label == oracle_actor(address)
    assert (event.after or {})["round_id"] == "1" and (event.after or {})["nav_per_unit"] == 100_04210000

    thursday, friday = WEDNESDAY + dt.timedelta(days=1), WEDNESDAY + dt.timedelta(days=2)
    published(offering, 100_050_000, at(thursday, 18), "nav-2")
    published(offering, 100_061_000, at(friday, 18), "nav-3")
    assert nav_oracle_read(offering_id=offering.pk) == 2
    # A pass that read the node before another one committed starts from an older round: it records nothing again.
    for stale in ("1", ""):
        NavOracle.objects.filter(pk=oracle.pk).update(last_round_id=stale)
        assert nav_oracle_read(offering_id=offering.pk) == 0
    assert not NavRoundRefused.objects.exists()
    rounds = sorted(NavPoint.objects.filter(offering=offering).values_list("oracle_round_id", flat=True))
    assert rounds == ["1", "2", "3"]
    oracle.refresh_from_db()
    assert oracle.last_round_id == "3" and oracle.last_read_at is not None
    # And the database holds it too: the same round of the same oracle cannot be a second point.
    with pytest.raises(IntegrityError), transaction.atomic():
        NavPoint.objects.create(
            offering=offering,
            dealing_day=friday,
            currency="USD",
            scale=SCALE,
            nav_per_unit=1,
            source="x",
            oracle_address=address,
            oracle_round_id="3",
            oracle_updated_at=at(friday, 18),
            state=StatementState.SUPERSEDED,
        )
    # A point from neither a document nor an oracle's round is refused by the database.
    with pytest.raises(IntegrityError), transaction.atomic():
        NavPoint.objects.create(
            offering=offering, dealing_day=friday, currency="USD", scale=SCALE, nav_per_unit=1, source="x"
        )


def test_a_later_round_for_the_same_day_corrects_the_point_before_it(cast, chain_settings) -> None:
    offering = fund(cast)
    approver = second_admin(cast.issuer)
    document_point = nav_approved(offering, cast.admin, approver, WEDNESDAY, "100.00000000")
    address = portal_feed(offering)
    published(offering, 100_10000000, at(WEDNESDAY, 17), "nav-1")
    named(offering, address, cast, approver)
    assert nav_oracle_read(offering_id=offering.pk) == 1
    published(offering, 100_12000000, at(WEDNESDAY, 19), "nav-2")
    assert nav_oracle_read(offering_id=offering.pk) == 1
    first, second = NavPoint.objects.filter(offering=offering, oracle_address=address).order_by("pk")
    document_point.refresh_from_db()
    assert document_point.state == StatementState.SUPERSEDED
    assert (first.state, first.supersedes) == (StatementState.SUPERSEDED, document_point)
    assert (second.state, second.supersedes) == (StatementState.APPROVED, first)
    assert nav_of_day(offering=offering, day=WEDNESDAY) == second
    assert second.nav_per_unit == 100_12000000


def test_a_round_that_cannot_be_a_nav_is_not_recorded_and_the_issuer_reads_why(cast, chain_settings) -> None:
    rpc = chain_settings.rpc_url
    offering = fund(cast)
    address = scripted(rpc)
    good = int(at(WEDNESDAY, 18).timestamp())
    round_set(rpc, address, 1, 100_00000000, good)
    named(offering, address, cast, second_admin(cast.issuer))
    assert nav_oracle_read(offering_id=offering.pk) == 1
    future = int((timezone.now() + dt.timedelta(hours=2)).timestamp())
    round_set(rpc, address, 2, 0, good + 60)
    round_set(rpc, address, 3, -5, good + 60)
    round_set(rpc, address, 4, 101_00000000, 0)
    round_set(rpc, address, 5, 101_00000000, future)
    round_set(rpc, address, 6, 101_00000000, good - 86_400)
    assert nav_oracle_read(offering_id=offering.pk) == 0
    assert nav_oracle_read(offering_id=offering.pk) == 0
    assert NavPoint.objects.filter(offering=offering).count() == 1
    reasons = dict(NavRoundRefused.objects.filter(offering=offering).values_list("round_id", "reason"))
    assert reasons == {
        "2": "a NAV per unit is above zero",
        "3": "a NAV per unit is above zero",
        "4": "the round carries no time (its updatedAt is 0), so it has no dealing day",
        "5": "its time is in the future",
        "6": "it is earlier than round 1, already recorded as of 04 March 2026 18:00 UTC",
    }
    assert AuditEvent.objects.filter(action="backing.nav_round_refused").count() == 5

    client = Client()
    client.force_login(cast.admin)
    page = client.get(reverse("nav_overview", args=[cast.issuer.slug, offering.public_id])).content.decode()
    assert f"The oracle {address} reported -5 (round 3) at 4 Mar 2026 18:01 UTC" in page
    assert "not used because a NAV per unit is above zero" in page
    assert "reported 10100000000 (round 4) at no time; not used because the round carries no time" in page
    assert "not used because its time is in the future" in page


def test_the_node_being_down_loses_nothing_and_the_pass_is_tried_again(cast, chain_settings) -> None:
    offering = fund(cast)
    address = portal_feed(offering)
    published(offering, 100_00000000, at(WEDNESDAY, 18), "nav-1")
    named(offering, address, cast, second_admin(cast.issuer))
    dead = f"http://127.0.0.1:{free_port()}"
    with override_settings(CHAIN_RPC_URL=dead):
        with pytest.raises(CHAIN_TRANSIENT_ERRORS):
            nav_oracle_read(offering_id=offering.pk)
        result = nav_oracles_read_task.apply()
        assert result.failed() and isinstance(result.result, CHAIN_TRANSIENT_ERRORS)
    assert set(nav_oracles_read_task.autoretry_for) >= set(CHAIN_TRANSIENT_ERRORS)
    assert not NavPoint.objects.filter(offering=offering).exists()
    oracle = NavOracle.objects.get(offering=offering)
    assert oracle.last_round_id == "" and oracle.problem == ""
    assert nav_oracles_read_task.apply().get() == 1
    assert NavPoint.objects.filter(offering=offering, oracle_round_id="1").count() == 1


# --------------------------------------------------------------------------- pricing and the public report


def test_a_subscription_paid_before_the_cut_off_is_issued_at_the_oracle_nav_of_that_day(cast, chain_settings) -> None:
    offering = fund(cast)
    nav_terms_save(offering=offering, scale=SCALE, priced_at_nav=True, cutoff=dt.time(16, 0), actor=cast.admin)
    investor = verified_investor(accreditation="verified", wallet=WALLETS[0], register=False)
    investor_registry_refresh(investor=investor, actor=None)
    drain()
    subscription = subscribed(offering, investor, 6_000_00)  # the offering's soft cap is $5,000.00
    wire_received(cast.issuer, cast.compliance, subscription, 6_000_00)
    Subscription.objects.filter(pk=subscription.pk).update(paid_at=at(WEDNESDAY, 10))
    address = portal_feed(offering)
    # The administrator strikes Wednesday's NAV after the 16:00 cut-off: 10.23456789 USD.
    published(offering, 10_23456789, at(WEDNESDAY, 18, 30), "nav-wednesday")
    named(offering, address, cast, second_admin(cast.issuer))
    assert nav_oracle_read(offering_id=offering.pk) == 1
    offering_close(offering=offering, actor=cast.admin)
    closing_advance(offering_id=offering.pk)
    drain()
    assert closing_advance(offering_id=offering.pk) == OfferingStatus.CLOSED
    subscription.refresh_from_db()
    # $6,000.00 at 10.23456789: 586 units (586.25…) costing $5,997.46 (5,997.456783… rounded up).
    assert (subscription.status, subscription.quantity, subscription.amount_minor) == (
        SubscriptionStatus.ISSUED,
        586,
        5_997_46,
    )
    pricing = NavPricing.objects.get(subscription=subscription)
    assert pricing.dealing_day == WEDNESDAY and pricing.nav_point.oracle_address == address

    # Priced at it, the day's NAV is not corrected by a later round: it is kept aside with the reason.
    published(offering, 10_30000000, at(WEDNESDAY, 19), "nav-wednesday-2")
    assert nav_oracle_read(offering_id=offering.pk) == 0
    refused = NavRoundRefused.objects.get(offering=offering)
    assert refused.reason == "subscriptions were issued at the NAV of 04 March 2026 already"


def test_the_public_report_says_where_each_nav_comes_from_and_nothing_private(cast, chain_settings) -> None:
    offering = fund(cast)
    profile_saved(offering, cast.admin)
    approver = second_admin(cast.issuer)
    tuesday = WEDNESDAY - dt.timedelta(days=1)
    document_point = nav_approved(offering, cast.admin, approver, tuesday, "100.00000000")
    address = portal_feed(offering)
    published(offering, 100_20000000, at(WEDNESDAY, 18), "nav-1")
    named(offering, address, cast, approver)
    nav_oracle_read(offering_id=offering.pk)
    cache.clear()
    response = Client().get(reverse("api_transparency", args=[offering.public_id]))
    assert response.status_code == 200
    body = response.json()
    oracle_point, from_document = body["nav"]
    assert oracle_point["origin"] == "oracle" and oracle_point["document_url"] is None
    assert oracle_point["oracle"] == {"address": address, "round_id": "1", "updated_at": "2026-03-04T18:00:00Z"}
    nav = {"amount": 100_20000000, "scale": 8, "unit": "USD", "decimal": "100.20000000"}
    assert oracle_point["nav_per_unit"] == nav
    assert from_document["origin"] == "document" and from_document["oracle"] is None
    assert from_document["document_sha256"] == document_point.document_sha256
    assert from_document["document_url"].endswith(f"/nav/{document_point.public_id}.pdf")
    assert body["nav_oracle"]["address"] == address and body["nav_oracle"]["decimals"] == SCALE
    text = json.dumps(body)
    for private in (cast.admin.email, approver.email, "entered_by", "approved_by", "proposed_by"):
        assert private not in text
    page = Client().get(reverse("transparency_page", args=[offering.public_id])).content.decode()
    assert 'id="nav-points"' in page and ", round 1" in page and document_point.document_sha256 in page
    assert cast.admin.email not in page
    schema = Client().get(reverse("api_schema")).content.decode()
    assert "TransparencyNavPoint" in schema and "TransparencyNavOracleRound" in schema


@pytest.mark.django_db(transaction=True)
def test_two_passes_at_once_record_each_round_once(cast, chain_settings) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite takes one write lock for the whole database: there are no row locks to show")
    offering = fund(cast)
    address = portal_feed(offering)
    published(offering, 100_00000000, at(WEDNESDAY, 18), "nav-1")
    named(offering, address, cast, second_admin(cast.issuer))
    results: list[object] = []
    started = threading.Barrier(3)

    def read() -> None:
        try:
            started.wait(timeout=30)
            results.append(nav_oracle_read(offering_id=offering.pk))
        except Exception as exc:  # noqa: BLE001 - the test shows what each pass ended with
            results.append(exc)
        finally:
            connections.close_all()

    passes = [threading.Thread(target=read) for _ in range(2)]
    # Both passes read the node, then queue on the offering's row, which this session holds until they wait.
    with transaction.atomic():
        Offering.objects.select_for_update().get(pk=offering.pk)
        for thread in passes:
            thread.start()
        started.wait(timeout=30)
        deadline = time.monotonic() + 30
        while _sessions_waiting_on_a_lock() < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    for thread in passes:
        thread.join(timeout=60)
    assert sorted(results, key=str) == [0, 1]
    assert NavPoint.objects.filter(offering=offering).count() == 1
    assert AuditEvent.objects.filter(action="backing.nav_point_published").count() == 1


def _sessions_waiting_on_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
        return int(cursor.fetchone()[0])


def test_a_round_is_read_only_once_its_block_is_final(cast, chain_settings) -> None:
    """A NAV point is never undone, so a round still in a block that a reorg can drop is not read yet."""
    rpc = chain_settings.rpc_url
    offering = fund(cast)
    address = scripted(rpc)
    round_set(rpc, address, 1, 100_00000000, int(at(WEDNESDAY, 18).timestamp()))
    named(offering, address, cast, second_admin(cast.issuer))
    with override_settings(CHAIN_CONFIRMATIONS=3):
        assert nav_oracle_read(offering_id=offering.pk) == 0  # its block has no blocks on top yet
        assert not NavPoint.objects.filter(offering=offering).exists()
        chain_settings.rpc("anvil_mine", [2])
        assert nav_oracle_read(offering_id=offering.pk) == 1
        round_set(rpc, address, 2, 101_00000000, int(at(WEDNESDAY, 19).timestamp()))
        assert nav_oracle_read(offering_id=offering.pk) == 0
        assert NavOracle.objects.get(offering=offering).last_round_id == "1"
        chain_settings.rpc("anvil_mine", [2])
        assert nav_oracle_read(offering_id=offering.pk) == 1
    rounds = NavPoint.objects.filter(offering=offering).order_by("pk").values_list("oracle_round_id", flat=True)
    assert list(rounds) == ["1", "2"]


def test_an_oracle_whose_round_ids_go_back_is_shown_as_a_problem_not_read_as_quiet(cast, chain_settings) -> None:
    """Round ids only grow (a Chainlink proxy's phase is in the high bits); ids that go back mean the feed was reset
    or replaced, and its new rounds would never be read: the NAV page must say so instead of a clean last read."""
    rpc = chain_settings.rpc_url
    offering = fund(cast)
    address = scripted(rpc)
    round_set(rpc, address, 2**64 + 5, 100_00000000, int(at(WEDNESDAY, 18).timestamp()))
    named(offering, address, cast, second_admin(cast.issuer))
    assert nav_oracle_read(offering_id=offering.pk) == 1
    round_set(rpc, address, 3, 101_00000000, int(at(WEDNESDAY, 19).timestamp()))
    assert nav_oracle_read(offering_id=offering.pk) == 0
    oracle = NavOracle.objects.get(offering=offering)
    assert oracle.last_round_id == str(2**64 + 5)
    assert f"latest round is 3, before round {2**64 + 5} already read" in oracle.problem
    client = Client()
    client.force_login(cast.admin)
    page = client.get(reverse("nav_overview", args=[cast.issuer.slug, offering.public_id])).content.decode()
    assert f"latest round is 3, before round {2**64 + 5} already read" in page

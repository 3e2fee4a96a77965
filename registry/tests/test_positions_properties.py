"""Invariant: the positions the cap table pages (`HolderPosition`) always equal the open lots summed per holder,
and the day totals sum to the holder count and the supply, through postings, replays and rollbacks."""

from __future__ import annotations

from collections import defaultdict

import pytest
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from investors.models import Wallet, WalletKind
from investors.tests.support import verified_investor
from registry.models import HolderPosition, LedgerPosting, LotMovement, RegisterDay
from registry.selectors.cap_table import holder_count
from registry.selectors.ledger import AsOf, holder_key, ledger_total
from registry.tests.register_support import Events
from tokens.models import ChainEvent
from tokens.tests.support import address_for

pytestmark = [pytest.mark.chain, pytest.mark.django_db]

WALLETS = [address_for(f"positions-property-{n}") for n in range(5)]

step = st.tuples(
    st.sampled_from(["mint", "burn", "transfer"]),
    st.sampled_from(range(len(WALLETS))),
    st.sampled_from(range(len(WALLETS))),
    st.integers(min_value=1, max_value=1_000),
)


@pytest.fixture
def offering(cast, registry):
    from offerings.tests.support import offering_open

    offering = offering_open(cast.issuer, cast.admin)
    # Wallets 0 and 1 are one investor's, wallet 2 another's; wallets 3 and 4 belong to nobody the portal knows.
    alice = verified_investor(wallet=WALLETS[0], register=False)
    Wallet.objects.create(investor=alice, address=WALLETS[1], kind=WalletKind.SIGNED, linked_by=alice.user)
    verified_investor(wallet=WALLETS[2], register=False)
    return offering


def _aggregate(offering) -> dict:
    sums: dict = defaultdict(int)
    rows = LotMovement.objects.filter(lot__offering=offering).values_list("lot__investor_id", "lot__wallet")
    for investor_id, wallet, n in rows.annotate(n=Sum("delta")).order_by():
        sums[holder_key(investor_id, wallet)] += n
    return {k: n for k, n in sums.items() if n}


def _positions(offering) -> dict:
    rows = HolderPosition.objects.filter(offering=offering).values_list("investor_id", "wallet", "quantity")
    return {holder_key(i, w): q for i, w, q in rows}


def _assert_kept(offering) -> None:
    assert _positions(offering) == _aggregate(offering)
    days = RegisterDay.objects.filter(offering=offering).aggregate(h=Sum("holders_delta"), s=Sum("supply_delta"))
    # The one holder count, read from the positions now and from the lot movements as of the last block.
    counted = holder_count(offering=offering).holders
    replayed = holder_count(offering=offering, as_of=AsOf(block=2**62)).holders
    assert (days["h"] or 0) == counted == replayed == len(_aggregate(offering))
    assert (days["s"] or 0) == ledger_total(offering=offering)
    postings = LedgerPosting.objects.filter(offering=offering).aggregate(h=Sum("holders_delta"))
    assert (postings["h"] or 0) == counted


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(step, min_size=1, max_size=20), split=st.integers(min_value=0, max_value=20))
def test_positions_equal_the_open_lots_through_postings_and_rollbacks(chain_settings, offering, steps, split) -> None:
    LedgerPosting.objects.filter(offering=offering).delete()
    ChainEvent.objects.all().delete()
    assert not HolderPosition.objects.filter(offering=offering).exists()
    events = Events(offering)
    balances = [0] * len(WALLETS)
    written = []
    for kind, a, b, amount in steps:
        if kind == "mint":
            balances[a] += amount
            written.append(("mint", a, b, amount))
            continue
        amount = min(amount, balances[a])
        if amount == 0 or (kind == "transfer" and a == b):
            continue
        balances[a] -= amount
        if kind == "transfer":
            balances[b] += amount
        written.append((kind, a, b, amount))

    def write(ops) -> None:
        for kind, a, b, amount in ops:
            if kind == "mint":
                events.mint(WALLETS[a], amount)
            elif kind == "burn":
                events.burn(WALLETS[a], amount)
            else:
                events.transfer(WALLETS[a], WALLETS[b], amount)

    # Posted in two passes (the indexer reads in ranges).
    write(written[:split])
    events.post()
    _assert_kept(offering)
    write(written[split:])
    events.post()
    _assert_kept(offering)

    # The indexer rolls back the events from `split` on: postings go by CASCADE, positions follow at once.
    ChainEvent.objects.filter(log_index__gte=split).delete()
    _assert_kept(offering)
    # The chain's new history has the same events again; posting them restores the same positions.
    write(written[split:])
    events.post()
    _assert_kept(offering)
    assert sum(_positions(offering).values()) == sum(balances)


def test_an_event_read_late_replays_the_positions_behind_it(chain_settings, offering) -> None:
    events = Events(offering)
    events.mint(WALLETS[0], 10)
    late = next(events.log_index)  # a log index left free: its event arrives after the later ones are posted
    events.mint(WALLETS[3], 5)
    events.transfer(WALLETS[3], WALLETS[2], 5)
    events.post()
    _assert_kept(offering)
    ChainEvent.objects.create(
        chain_id=31337,
        contract_address=events.token.address,
        block_number=0,
        block_hash=events.block_hash,
        transaction_hash=f"0x{999:064x}",
        log_index=late,
        name="Transfer",
        args={"from": WALLETS[0], "to": WALLETS[4], "value": "4"},
    )
    events.post()
    _assert_kept(offering)
    assert sorted(_positions(offering).values()) == [4, 5, 6]

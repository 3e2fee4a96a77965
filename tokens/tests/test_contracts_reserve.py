"""ReserveFeed and ReserveGuardedMinter on anvil: a mint the latest attested reserve does not back, or
one that comes when the attestation is older than the staleness limit, reverts on-chain whoever sends
it through the minter, and the agent key cannot mint straight to the token; only the attestor publishes, and
its rounds never go back."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokens.chain.addresses import keccak_text
from tokens.chain.artifacts import load_artifact
from tokens.chain.errors import DecodedError
from tokens.chain.testing import DAY, Env, deploy

CENTS_PER_TOKEN = 100  # 1 token (0 decimals) = $1.00 of reserves, the feed in cents
STALE_AFTER = 30 * DAY
AGENT_ROLE, MINTER_ROLE = keccak_text("AGENT_ROLE"), keccak_text("MINTER_ROLE")


@dataclass
class Guard:
    env: Env
    feed: Any  # web3 contracts (only tokens.chain imports web3)
    minter: Any
    attestor: str

    def publish(self, cents: int, as_of: int | None = None, sender: str | None = None) -> Any:
        as_of = self.env.now() if as_of is None else as_of
        return self.env.tx(self.feed.functions.publish(cents, as_of), sender or self.attestor)

    def mint(self, to: str, amount: int) -> Any:
        return self.env.tx(self.minter.functions.mint(to, amount))

    def reverts(self, call: Any, sender: str | None = None) -> DecodedError:
        return self.env.reverts(call, sender)

    def supply(self) -> int:
        return int(self.env.token.functions.totalSupply().call())


@pytest.fixture(scope="module")
def guard_deployed(deployed: Env) -> Iterator[Guard]:
    """A feed in cents attested by spare1, and a minter that is the token's only minter (supply 2,000)."""
    snapshot = deployed.snapshot()
    agent, attestor = deployed.agent, deployed.spare1
    feed = deploy(deployed.w3, "ReserveFeed", agent, 2, "Tessera Series A reserves (USD)", agent, attestor)
    minter = deploy(
        deployed.w3,
        "ReserveGuardedMinter",
        agent,
        deployed.token.address,
        feed.address,
        CENTS_PER_TOKEN,
        1,
        STALE_AFTER,
        agent,
        agent,
    )
    deployed.tx(deployed.token.functions.grantRole(MINTER_ROLE, minter.address))
    deployed.tx(deployed.token.functions.revokeRole(MINTER_ROLE, agent))
    abis = [*deployed.abis, load_artifact("ReserveFeed").abi, load_artifact("ReserveGuardedMinter").abi]
    env = Env(deployed.w3, deployed.registry, deployed.token, deployed.wallets, abis)
    yield Guard(env, feed, minter, attestor)
    deployed.revert(snapshot)


@pytest.fixture
def g(guard_deployed: Guard) -> Iterator[Guard]:
    snapshot = guard_deployed.env.snapshot()
    try:
        yield guard_deployed
    finally:
        guard_deployed.env.revert(snapshot)


def test_a_mint_within_the_attested_reserve_goes_through_and_names_the_round_that_allowed_it(g: Guard) -> None:
    g.publish(300_000)  # $3,000.00 backs 3,000 tokens; 2,000 are out
    receipt = g.mint(g.env.carol, 1000)
    assert g.env.balance(g.env.carol) == 1000
    assert g.supply() == 3000
    (checked,) = g.env.events(receipt, g.minter, "MintChecked")
    assert dict(checked["args"]) == {"roundId": 1, "supplyAfter": 3000, "backedSupply": 3000}


def test_a_mint_beyond_the_reserve_sent_with_the_agent_key_reverts_on_chain(g: Guard) -> None:
    g.publish(300_000)
    decoded = g.reverts(g.minter.functions.mint(g.env.carol, 1001))
    assert decoded.name == "ReserveExceeded"
    assert decoded.kwargs == {"roundId": 1, "reserve": 300_000, "supplyAfter": 3001, "backedSupply": 3000}
    # Sent as a transaction anyway (gas given, so nothing estimates it away): mined, reverted, nothing minted.
    tx_hash = g.minter.functions.mint(g.env.carol, 1001).transact({"from": g.env.agent, "gas": 300_000})
    assert g.env.w3.eth.wait_for_transaction_receipt(tx_hash)["status"] == 0
    assert g.env.balance(g.env.carol) == 0
    assert g.supply() == 2000


def test_a_batch_is_checked_against_its_total(g: Guard) -> None:
    g.publish(300_000)
    over = g.minter.functions.batchMint([g.env.carol, g.env.yuri], [600, 401])
    assert g.reverts(over).kwargs["supplyAfter"] == 3001
    g.env.tx(g.minter.functions.batchMint([g.env.carol, g.env.yuri], [600, 400]))
    assert [g.env.balance(w) for w in (g.env.carol, g.env.yuri)] == [600, 400]
    assert g.reverts(g.minter.functions.batchMint([g.env.carol], [1])).name == "ReserveExceeded"
    assert g.reverts(g.minter.functions.batchMint([g.env.carol], [1, 2])).name == "LengthMismatch"


def test_an_attestation_older_than_the_staleness_limit_stops_mints(g: Guard) -> None:
    now = g.env.now()
    g.publish(10_000_000, as_of=now - STALE_AFTER - 10)
    decoded = g.reverts(g.minter.functions.mint(g.env.carol, 1))
    assert decoded.name == "ReserveStale"
    assert decoded.kwargs["updatedAt"] == now - STALE_AFTER - 10
    assert decoded.kwargs["stalenessLimit"] == STALE_AFTER
    g.publish(10_000_000)  # a fresh attestation lets mints through again
    g.mint(g.env.carol, 1)
    g.env.advance(STALE_AFTER + 1)  # and time alone makes it stale
    assert g.reverts(g.minter.functions.mint(g.env.carol, 1)).name == "ReserveStale"


def test_without_any_report_nothing_is_minted(g: Guard) -> None:
    decoded = g.reverts(g.minter.functions.mint(g.env.carol, 1))
    assert (decoded.name, decoded.kwargs) == ("NoReserveReport", {"feed": g.feed.address})


def test_only_the_attestor_publishes_not_the_token_admin(g: Guard) -> None:
    for stranger in (g.env.agent, g.env.outsider):
        decoded = g.reverts(g.feed.functions.publish(1, g.env.now()), stranger)
        assert decoded.name == "AccessControlUnauthorizedAccount"
        assert decoded.kwargs["account"] == stranger
    assert g.feed.functions.latestRoundData().call() == [0, 0, 0, 0, 0]


def test_rounds_count_up_never_go_back_in_time_and_keep_their_history(g: Guard) -> None:
    now = g.env.now()
    g.publish(100, as_of=now - 100)
    g.publish(250, as_of=now - 100)  # a statement for the same moment supersedes
    decoded = g.reverts(g.feed.functions.publish(300, now - 101), g.attestor)
    assert (decoded.name, decoded.kwargs) == ("AsOfBeforeLatest", {"asOf": now - 101, "latestAsOf": now - 100})
    assert g.reverts(g.feed.functions.publish(-1, now), g.attestor).name == "NegativeReserve"
    assert g.reverts(g.feed.functions.publish(1, now + 3600), g.attestor).name == "AsOfInFuture"
    assert g.reverts(g.feed.functions.publish(2**127, now), g.attestor).name == "ReserveTooLarge"
    assert g.feed.functions.latestRoundData().call() == [2, 250, now - 100, now - 100, 2]
    assert g.feed.functions.getRoundData(1).call() == [1, 100, now - 100, now - 100, 1]
    assert g.reverts(g.feed.functions.getRoundData(3)).name == "NoRound"
    assert (g.feed.functions.decimals().call(), g.feed.functions.version().call()) == (2, 1)
    assert g.feed.functions.description().call() == "Tessera Series A reserves (USD)"


def test_only_the_minters_agent_mints_through_it(g: Guard) -> None:
    g.publish(10_000_000)
    decoded = g.reverts(g.minter.functions.mint(g.env.carol, 1), g.env.outsider)
    assert decoded.name == "AccessControlUnauthorizedAccount"


def test_the_admin_sets_feed_ratio_and_staleness_and_each_change_is_an_event(g: Guard) -> None:
    g.publish(300_000)
    receipt = g.env.tx(g.minter.functions.setBackingRatio(102, 1))  # 2% over-collateralised
    assert dict(g.env.events(receipt, g.minter, "BackingRatioSet")[0]["args"]) == {"numerator": 102, "denominator": 1}
    assert g.minter.functions.backedSupply().call() == 300_000 // 102
    assert g.reverts(g.minter.functions.setBackingRatio(0, 1)).name == "InvalidBackingRatio"
    receipt = g.env.tx(g.minter.functions.setStalenessLimit(DAY))
    assert g.env.events(receipt, g.minter, "StalenessLimitSet")[0]["args"]["stalenessLimit"] == DAY
    assert g.reverts(g.minter.functions.setStalenessLimit(0)).name == "InvalidStalenessLimit"
    other = deploy(g.env.w3, "ReserveFeed", g.env.agent, 2, "other", g.env.agent, g.attestor)
    receipt = g.env.tx(g.minter.functions.setFeed(other.address))
    assert dict(g.env.events(receipt, g.minter, "FeedSet")[0]["args"]) == {
        "previousFeed": g.feed.address,
        "feed": other.address,
    }
    assert g.reverts(g.minter.functions.mint(g.env.carol, 1)).name == "NoReserveReport"
    for call in (
        g.minter.functions.setFeed(g.feed.address),
        g.minter.functions.setBackingRatio(1, 1),
        g.minter.functions.setStalenessLimit(DAY),
    ):
        assert g.reverts(call, g.env.outsider).name == "AccessControlUnauthorizedAccount"


def test_a_mint_sent_with_the_agent_key_straight_to_the_token_reverts(g: Guard) -> None:
    # The agent keeps the token's agent role (burns, forced transfers, freezes) but no longer its minter role.
    assert g.env.token.functions.hasRole(AGENT_ROLE, g.env.agent).call() is True
    for call in (
        g.env.token.functions.mint(g.env.carol, 5),
        g.env.token.functions.batchMint([g.env.carol], [5]),
    ):
        decoded = g.reverts(call)
        assert decoded.name == "AccessControlUnauthorizedAccount"
        assert decoded.kwargs == {"account": g.env.agent, "neededRole": MINTER_ROLE}
    assert g.env.balance(g.env.carol) == 0
    assert g.supply() == 2000


def test_only_the_token_admin_changes_who_mints(g: Guard) -> None:
    decoded = g.reverts(g.env.token.functions.grantRole(MINTER_ROLE, g.env.outsider), g.env.outsider)
    assert decoded.name == "AccessControlUnauthorizedAccount"
    assert g.env.token.functions.hasRole(MINTER_ROLE, g.minter.address).call() is True


# ------------------------------------------------------------------ property


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    numerator=st.one_of(st.integers(1, 10**6), st.integers(1, 2**128 - 1)),
    denominator=st.one_of(st.integers(1, 10**6), st.just(10**10), st.integers(1, 2**128 - 1)),
    reserve=st.one_of(st.integers(0, 10**9), st.integers(0, 2**127 - 1)),
    amount=st.integers(1, 10**12),
)
def test_a_mint_passes_exactly_when_supply_after_times_numerator_fits_reserve_times_denominator(
    guard_deployed: Guard, numerator: int, denominator: int, reserve: int, amount: int
) -> None:
    g = guard_deployed
    snapshot = g.env.snapshot()
    try:
        g.env.tx(g.minter.functions.setBackingRatio(numerator, denominator))
        g.publish(reserve)
        supply_after = g.supply() + amount
        backs = supply_after * numerator <= reserve * denominator
        call = g.minter.functions.mint(g.env.carol, amount)
        if backs:
            call.call({"from": g.env.agent})
        else:
            decoded = g.reverts(call)
            assert decoded.name == "ReserveExceeded"
            assert decoded.kwargs["backedSupply"] == reserve * denominator // numerator
        assert g.minter.functions.backedSupply().call() == min(reserve * denominator // numerator, 2**256 - 1)
    finally:
        g.env.revert(snapshot)

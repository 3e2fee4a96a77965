"""DistributionPayout on anvil: each line paid once however often a batch arrives, shortfalls named
before anything moves, only the agent pays."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokens.chain.artifacts import load_artifact
from tokens.chain.errors import DecodedError
from tokens.chain.testing import Env, address_for, deploy

MAX_UINT = 2**256 - 1
DIST_A = bytes.fromhex("aa" * 32)
DIST_B = bytes.fromhex("bb" * 32)


@dataclass
class Payout:
    env: Env
    coin: Any  # web3 contracts (only tokens.chain imports web3)
    payout: Any
    treasury: str

    def pay(self, distribution: bytes, lines: list[tuple[int, str, int]], sender: str | None = None) -> Any:
        return self.env.tx(self.call(distribution, lines), sender)

    def call(self, distribution: bytes, lines: list[tuple[int, str, int]]) -> Any:
        return self.payout.functions.pay(
            distribution, [i for i, _, _ in lines], [p for _, p, _ in lines], [a for _, _, a in lines]
        )

    def balance(self, wallet: str) -> int:
        return int(self.coin.functions.balanceOf(wallet).call())

    def reverts(self, call: Any, sender: str | None = None) -> DecodedError:
        return self.env.reverts(call, sender)


@pytest.fixture(scope="module")
def payout_deployed(deployed: Env) -> Iterator[Payout]:
    """A test stablecoin, a treasury holding 1,000,000.000000 of it, and the payout contract it approved."""
    snapshot = deployed.snapshot()
    agent, treasury = deployed.agent, deployed.spare1
    coin = deploy(deployed.w3, "TestStablecoin", agent, agent)
    payout = deploy(deployed.w3, "DistributionPayout", agent, coin.address, treasury, agent, agent)
    deployed.tx(coin.functions.mint(treasury, 10**12))
    deployed.tx(coin.functions.approve(payout.address, MAX_UINT), treasury)
    abis = [deployed.abis, [load_artifact("DistributionPayout").abi, load_artifact("TestStablecoin").abi]]
    env = Env(deployed.w3, deployed.registry, deployed.token, deployed.wallets, [a for group in abis for a in group])
    yield Payout(env, coin, payout, treasury)
    deployed.revert(snapshot)


@pytest.fixture
def p(payout_deployed: Payout) -> Iterator[Payout]:
    snapshot = payout_deployed.env.snapshot()
    try:
        yield payout_deployed
    finally:
        payout_deployed.env.revert(snapshot)


def payees(n: int) -> list[str]:
    return [address_for(f"payee-{i}") for i in range(n)]


def test_a_batch_sent_twice_pays_each_line_once_and_says_which_it_skipped(p: Payout) -> None:
    wallets = payees(3)
    lines = [(0, wallets[0], 100), (1, wallets[1], 250), (2, wallets[2], 75)]
    first = p.pay(DIST_A, lines)
    assert [e["args"]["line"] for e in p.env.events(first, p.payout, "LinePaid")] == [0, 1, 2]
    again = p.pay(DIST_A, lines)
    assert p.env.events(again, p.payout, "LinePaid") == []
    assert [e["args"]["line"] for e in p.env.events(again, p.payout, "LineSkipped")] == [0, 1, 2]
    assert [p.balance(w) for w in wallets] == [100, 250, 75]
    assert p.balance(p.treasury) == 10**12 - 425


def test_overlapping_batches_pay_only_the_lines_not_paid_yet(p: Payout) -> None:
    wallets = payees(4)
    p.pay(DIST_A, [(0, wallets[0], 10), (1, wallets[1], 20)])
    receipt = p.pay(DIST_A, [(1, wallets[1], 20), (2, wallets[2], 30), (300, wallets[3], 40)])
    paid = p.env.events(receipt, p.payout, "LinePaid")
    assert [(e["args"]["line"], e["args"]["payee"], e["args"]["amount"]) for e in paid] == [
        (2, wallets[2], 30),
        (300, wallets[3], 40),
    ]
    assert [p.balance(w) for w in wallets] == [10, 20, 30, 40]
    assert [p.payout.functions.isPaid(DIST_A, i).call() for i in (0, 1, 2, 3, 299, 300)] == [
        True,
        True,
        True,
        False,
        False,
        True,
    ]
    assert p.payout.functions.paidWords(DIST_A, 0, 2).call() == [0b111, 1 << (300 - 256)]


def test_the_same_line_number_in_another_distribution_is_a_different_line(p: Payout) -> None:
    wallet = payees(1)[0]
    p.pay(DIST_A, [(0, wallet, 5)])
    p.pay(DIST_B, [(0, wallet, 7)])
    assert p.balance(wallet) == 12
    assert p.payout.functions.isPaid(DIST_B, 0).call() is True


def test_a_short_treasury_is_named_with_what_the_unpaid_lines_need_and_nothing_moves(p: Payout) -> None:
    wallets = payees(3)
    p.pay(DIST_A, [(0, wallets[0], 600_000_000_000)])
    # 400,000 left; lines 1 and 2 need 500,000 (line 0 is paid and not counted).
    lines = [(0, wallets[0], 600_000_000_000), (1, wallets[1], 300_000_000_000), (2, wallets[2], 200_000_000_000)]
    decoded = p.reverts(p.call(DIST_A, lines))
    assert decoded.name == "TreasuryShort"
    assert decoded.kwargs == {"treasury": p.treasury, "balance": 400_000_000_000, "needed": 500_000_000_000}
    # The lines already paid are left out of what is needed: a retry of a half-paid batch goes through.
    p.pay(DIST_A, lines[:2])
    assert [p.balance(w) for w in wallets] == [600_000_000_000, 300_000_000_000, 0]


def test_an_allowance_too_small_is_named(p: Payout) -> None:
    p.env.tx(p.coin.functions.approve(p.payout.address, 99), p.treasury)
    decoded = p.reverts(p.call(DIST_A, [(0, payees(1)[0], 100)]))
    assert decoded.name == "AllowanceShort"
    assert decoded.kwargs == {"treasury": p.treasury, "allowance": 99, "needed": 100}


def test_only_the_agent_pays(p: Payout) -> None:
    lines = [(0, p.env.outsider, 1_000_000)]
    for stranger in (p.env.outsider, p.treasury):
        decoded = p.reverts(p.call(DIST_A, lines), stranger)
        assert decoded.name == "AccessControlUnauthorizedAccount"
        assert decoded.kwargs["account"] == stranger
    assert p.balance(p.env.outsider) == 0


def test_a_payee_the_coin_refuses_fails_the_whole_batch_naming_its_line(p: Payout) -> None:
    wallets = payees(2)
    zero = "0x" + "0" * 40  # OpenZeppelin's ERC-20 refuses to send there
    decoded = p.reverts(p.call(DIST_A, [(0, wallets[0], 1), (1, zero, 1), (2, wallets[1], 1)]))
    assert (decoded.name, decoded.args) == ("LineRefused", (1, zero))
    assert [p.balance(w) for w in wallets] == [0, 0]
    assert p.payout.functions.isPaid(DIST_A, 0).call() is False


def test_lines_out_of_order_or_of_unequal_lengths_are_refused(p: Payout) -> None:
    wallets = payees(2)
    decoded = p.reverts(p.call(DIST_A, [(5, wallets[0], 1), (5, wallets[1], 1)]))
    assert (decoded.name, decoded.args) == ("LinesNotAscending", (5, 5))
    decoded = p.reverts(p.call(DIST_A, [(5, wallets[0], 1), (4, wallets[1], 1)]))
    assert (decoded.name, decoded.args) == ("LinesNotAscending", (5, 4))
    decoded = p.reverts(p.payout.functions.pay(DIST_A, [0, 1], [wallets[0]], [1, 1]))
    assert decoded.name == "LengthMismatch"


# ------------------------------------------------------------------ property

LINE_COUNT = 12
POOL = payees(4)  # fewer payees than lines: one payee may have several lines


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[dict[tuple[bytes, int], tuple[str, int]], list[tuple[bytes, list[int]]]]:
    """Lines of two distributions, and batches of them sent in any order, overlapping and repeated."""
    lines = {
        (dist, i): (draw(st.sampled_from(POOL)), draw(st.integers(1, 10**9)))
        for dist in (DIST_A, DIST_B)
        for i in range(LINE_COUNT)
    }
    batch = st.tuples(
        st.sampled_from([DIST_A, DIST_B]),
        st.lists(st.integers(0, LINE_COUNT - 1), min_size=1, max_size=LINE_COUNT, unique=True).map(sorted),
    )
    batches = draw(st.lists(batch, min_size=1, max_size=6))
    repeats = draw(st.lists(st.sampled_from(batches), max_size=4))  # duplicates delivered again
    order = draw(st.permutations(batches + repeats))
    return lines, list(order)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=deliveries())
def test_whatever_batches_arrive_the_sum_paid_is_the_sum_of_the_distinct_lines(
    payout_deployed: Payout, case: tuple[dict[tuple[bytes, int], tuple[str, int]], list[tuple[bytes, list[int]]]]
) -> None:
    p = payout_deployed
    lines, batches = case
    snapshot = p.env.snapshot()
    try:
        before = {w: p.balance(w) for w in [*POOL, p.treasury]}
        for dist, numbers in batches:
            p.pay(dist, [(i, *lines[(dist, i)]) for i in numbers])
        distinct = {(dist, i) for dist, numbers in batches for i in numbers}
        expected: Counter[str] = Counter()
        for key in distinct:
            payee, amount = lines[key]
            expected[payee] += amount
        assert {w: p.balance(w) - before[w] for w in POOL} == {w: expected[w] for w in POOL}
        assert before[p.treasury] - p.balance(p.treasury) == sum(expected.values())
        for dist, i in lines:
            assert p.payout.functions.isPaid(dist, i).call() is ((dist, i) in distinct)
    finally:
        p.env.revert(snapshot)

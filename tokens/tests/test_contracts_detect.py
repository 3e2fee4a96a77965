"""`detectTransferRestriction` answers what the transfer (or, from the zero address, the mint) does.

Code 0 exactly when the call succeeds, and otherwise the code of the error it reverts with, for
every sender, receiver and amount, including the zero address on a token with no registry rules.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator

import pytest

from tokens.chain.testing import CODES, DAY, YEAR, Env, deploy
from tokens.tests.outcomes import ZERO, assert_prediction, predicted_outcome, raw_outcome

MAX_128 = 2**128 - 1


@pytest.fixture
def bare(env: Env) -> Iterator[Env]:
    """A token with no rules at all on the same registry (inside the test's snapshot)."""
    token = deploy(env.w3, "SecurityToken", env.agent, "Bare", "BRE", 0, env.registry.address, env.agent, env.agent)
    env.tx(token.functions.mint(env.alice, 1000))
    yield dataclasses.replace(env, token=token)


def test_zero_receiver_without_registry_rules(bare: Env) -> None:
    assert bare.token.functions.rules().call() == 0
    for amount in (0, 1):
        assert bare.code(bare.alice, ZERO, amount) == CODES["RECEIVER_NOT_VERIFIED"]
        assert raw_outcome(bare, bare.alice, "transfer", [ZERO, amount])[1] == "ERC20InvalidReceiver"
        assert bare.code(ZERO, ZERO, amount) == CODES["RECEIVER_NOT_VERIFIED"]
        assert raw_outcome(bare, bare.agent, "mint", [ZERO, amount])[1] == "ERC20InvalidReceiver"
    bare.tx(bare.token.functions.pause())
    assert bare.code(bare.alice, ZERO, 1) != 0


def test_a_mint_past_the_supply_limit(bare: Env) -> None:
    room = MAX_128 - bare.token.functions.totalSupply().call()
    assert bare.code(ZERO, bare.bob, room + 1) == CODES["SUPPLY_LIMIT"]
    assert raw_outcome(bare, bare.agent, "mint", [bare.bob, room + 1])[1] == "SupplyOverflow"
    assert bare.code(ZERO, bare.bob, room) == 0
    bare.tx(bare.token.functions.mint(bare.bob, room))
    assert bare.code(ZERO, bare.frank, 1) == CODES["SUPPLY_LIMIT"]
    assert bare.code(bare.bob, bare.frank, room) == 0


def _every_pair(env: Env) -> list[tuple[str, str, int]]:
    parties = [ZERO, env.alice, env.alice2, env.bob, env.carol, env.dave, env.yuri, env.erin, env.frank]
    amounts = [0, 1, 100, 101, 1001, MAX_128 + 1]
    return [(s, r, a) for s, r in itertools.product(parties, parties) for a in amounts]


def _check_every_input(env: Env) -> None:
    for sender, receiver, amount in _every_pair(env):
        code, error = predicted_outcome(env, sender, receiver, amount)
        assert_prediction(code, error, (sender, receiver, amount))


def test_every_input_on_the_token_with_every_rule(env: Env) -> None:
    # Some of each state: a lock-up, a frozen wallet, a frozen amount, a full register, an expiry.
    env.tx(env.token.functions.setLockupPeriod(YEAR))
    env.tx(env.token.functions.mint(env.carol, 100))
    env.tx(env.token.functions.mint(env.yuri, 100))
    env.tx(env.token.functions.setAddressFrozen(env.yuri, True))
    env.tx(env.token.functions.freezePartialTokens(env.bob, 500))
    env.tx(env.token.functions.transfer(env.alice2, 10), env.alice)
    env.tx(env.token.functions.setLimits(4, 1, 1200))
    _check_every_input(env)
    env.advance(31 * DAY)  # erin's verification has expired
    _check_every_input(env)


def test_every_input_on_the_token_without_rules(bare: Env) -> None:
    bare.tx(bare.token.functions.mint(bare.bob, 100))
    bare.tx(bare.token.functions.freezePartialTokens(bare.bob, 50))
    bare.tx(bare.token.functions.setAddressFrozen(bare.carol, True))
    _check_every_input(bare)

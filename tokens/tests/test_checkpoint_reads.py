"""The record-date checkpoint read for many wallets (tokens.selectors.token_balances_at) on anvil: sent as JSON-RPC
batch requests, it answers what one `balanceOfAt` call per wallet answers, whatever the batch size, and says
so when the token refuses (the record date not passed yet)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokens.chain.anvil import Anvil
from tokens.chain.client import ChainClient, Reverted
from tokens.chain.errors import decode_revert
from tokens.chain.testing import DAY, Env
from tokens.selectors import token_balances_at


@pytest.fixture
def on_anvil(anvil: Anvil, settings: Any) -> None:
    settings.CHAIN_RPC_URL = anvil.rpc_url


@pytest.fixture
def recorded(env: Env, on_anvil: None) -> Iterator[tuple[Env, int, list[str]]]:
    """A record date with balances that moved before and after it; the wallets to read, holders or not."""
    receipt = env.tx(env.token.functions.scheduleRecordDate(env.now() + DAY))
    record_id = int(env.events(receipt, env.token, "RecordDateScheduled")[0]["args"]["recordId"])
    env.tx(env.token.functions.transfer(env.bob, 125), env.alice)  # before the record date: counts
    env.tx(env.token.functions.transfer(env.carol, 7), env.alice)
    env.advance(2 * DAY)
    env.tx(env.token.functions.transfer(env.alice2, 300), env.bob)  # after it: does not
    env.tx(env.token.functions.mint(env.alice, 40))
    wallets = [env.alice, env.alice2, env.bob, env.carol, env.yuri, env.spare1, env.outsider]
    yield env, record_id, wallets


def _one_call_each(env: Env, wallets: list[str], record_id: int) -> dict[str, int]:
    return {w: int(env.token.functions.balanceOfAt(w, record_id).call()) for w in wallets}


def test_the_batched_read_answers_what_one_call_per_wallet_answers(
    recorded: tuple[Env, int, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    env, record_id, wallets = recorded
    sizes: list[int] = []
    real = ChainClient.call_many

    def counted(self: ChainClient, txs: list[dict[str, Any]], block: int | str = "latest") -> list[bytes]:
        sizes.append(len(txs))
        return real(self, txs, block)

    monkeypatch.setattr(ChainClient, "call_many", counted)
    monkeypatch.setattr("tokens.selectors.CALLS_PER_BATCH", 3)

    batched = token_balances_at(address=env.token.address, wallets=wallets, record_id=record_id)

    assert batched == _one_call_each(env, wallets, record_id)
    assert [batched[w] for w in (env.alice, env.alice2, env.bob, env.carol, env.yuri)] == [868, 0, 1125, 7, 0]
    assert sizes == [3, 3, 1]  # one round trip per batch of calls, not one per wallet
    assert token_balances_at(address=env.token.address, wallets=[], record_id=record_id) == {}


@given(size=st.integers(min_value=1, max_value=9), order=st.permutations(range(7)))
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_batch_size_and_order_gives_each_wallet_its_own_balance(
    recorded: tuple[Env, int, list[str]], size: int, order: list[int]
) -> None:
    env, record_id, wallets = recorded
    chosen = [wallets[i] for i in order]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("tokens.selectors.CALLS_PER_BATCH", size)
        batched = token_balances_at(address=env.token.address, wallets=chosen, record_id=record_id)
    assert batched == _one_call_each(env, chosen, record_id)


def test_a_record_date_not_passed_is_refused_by_the_batched_read(env: Env, on_anvil: None) -> None:
    receipt = env.tx(env.token.functions.scheduleRecordDate(env.now() + DAY))
    record_id = int(env.events(receipt, env.token, "RecordDateScheduled")[0]["args"]["recordId"])

    with pytest.raises(Reverted) as refused:
        token_balances_at(address=env.token.address, wallets=[env.alice, env.bob], record_id=record_id)

    assert refused.value.data is not None
    assert decode_revert(refused.value.data, *env.abis).name == "RecordDateNotPassed"

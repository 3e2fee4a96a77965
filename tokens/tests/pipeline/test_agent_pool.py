"""Parallel signing: a pool of agent senders, each its own nonce stream, on a real anvil.

Independent effects spread over the senders; a stalled sender holds up only its own rows; effects that
touch the same holder stay in the order they were asked for, whichever senders carry them.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.db import transaction
from django.test import override_settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tokens.chain.anvil import Anvil
from tokens.models import OPEN_STATUSES, ChainTransaction, SenderAccount, TxHold, TxStatus
from tokens.outbox import WAITING, outbox_flush, outbox_watch
from tokens.services import (
    InvestorRecord,
    agent_pool_ensure,
    registry_investors_register_batch,
    token_batch_mint,
    token_forced_transfer,
    token_mint,
)
from tokens.tests.support import DEV_ACCOUNTS, WALLETS, Chain, address_for, chain_build, in_a_year

DEV = DEV_ACCOUNTS[0]
POOL = list(settings.ANVIL_DEV_POOL)[:2]  # anvil's accounts 10 and 11, funded below
SENDERS = [DEV, *POOL]
FUNDS = hex(10**22)
HOLDERS = [address_for(f"pool-holder-{i}") for i in range(8)]
_keys = itertools.count(1)


def _rpc(chain: Chain, method: str, params: list[Any] | None = None) -> Any:
    reply = chain.rpc(method, params)
    assert "error" not in reply, reply
    return reply["result"]


def _nonce(chain: Chain, address: str) -> int:
    return int(_rpc(chain, "eth_getTransactionCount", [address, "latest"]), 16)


def _pump(rounds: int = 6) -> None:
    """What the workers and the beat do, a few times over: flush every sender with pending rows, watch."""
    for _ in range(rounds):
        for sender in set(ChainTransaction.objects.filter(status=TxStatus.PENDING).values_list("sender", flat=True)):
            outbox_flush(chain_id=31337, sender=sender)
        outbox_watch(chain_id=31337)


def _drain(rounds: int = 30) -> None:
    for _ in range(rounds):
        _pump(1)
        if not ChainTransaction.objects.filter(status__in=OPEN_STATUSES).exists():
            return
    raise AssertionError("the outbox did not drain")


@pytest.fixture
def pool(chain_settings: Anvil, db: None) -> Iterator[Chain]:
    """The registry and token deployed with two pool senders next to the agent, and eight verified holders."""
    for address in POOL:
        chain_settings.rpc("anvil_setBalance", [address, FUNDS])
    with override_settings(CHAIN_AGENT_POOL=POOL):
        chain = chain_build(chain_settings.rpc_url)
        registry_investors_register_batch(
            investors=[InvestorRecord(f"pool-{i}", h, 840, 1, in_a_year()) for i, h in enumerate(HOLDERS)],
            idempotency_key="pool-holders",
        )
        _drain()
        yield chain
    # evm_revert keeps the node's pool: a transaction queued behind a nonce gap would be mined in the next test.
    chain_settings.rpc("anvil_dropAllTransactions")


def test_the_pool_senders_become_agents_at_deploy_and_share_the_work(pool: Chain) -> None:
    assert pool.token is not None
    registry = ChainTransaction.objects.get(idempotency_key__startswith="deploy:31337:registry").deployment
    for address in POOL:
        assert pool.view("SecurityToken", pool.token.address, "isAgent", address) is True
        assert pool.view("InvestorRegistry", registry.address, "isAgent", address) is True
    assert agent_pool_ensure() == []  # granted once: asked again, nothing is queued
    rows = [
        token_mint(owner_ref="offering:1", wallet=holder, amount=10 + i, idempotency_key=f"pool-mint-{i}")
        for i, holder in enumerate(HOLDERS)
    ]
    _drain()
    assert len({row.sender for row in rows}) >= 2  # spread, not all on the agent
    for i, holder in enumerate(HOLDERS):
        assert pool.balance(holder) == 10 + i
    for sender in SENDERS:
        nonces = sorted(
            n for n in ChainTransaction.objects.filter(sender=sender).values_list("nonce", flat=True) if n is not None
        )
        assert nonces == list(range(nonces[0], nonces[0] + len(nonces))) and _nonce(pool, sender) == nonces[-1] + 1


def test_a_pool_added_after_deploy_is_granted_by_ensure_before_it_signs(chain_settings: Anvil, db: None) -> None:
    chain = chain_build(chain_settings.rpc_url)  # deployed with no pool
    assert chain.token is not None
    chain_settings.rpc("anvil_setBalance", [POOL[0], FUNDS])
    with override_settings(CHAIN_AGENT_POOL=POOL[:1]):
        # Not granted yet: nothing goes to the new sender, which could not mint.
        before = token_mint(owner_ref="offering:1", wallet=WALLETS[0], amount=1, idempotency_key="early")
        assert before.sender == DEV
        grants = agent_pool_ensure()
        # The registry's agent role, and the token's agent and minter roles.
        assert {g.purpose.split()[1] for g in grants} == {POOL[0]} and len(grants) == 3
        batch = token_batch_mint(
            owner_ref="offering:1",
            allocations=[(wallet, 2) for wallet in WALLETS[:3]],
            idempotency_key="after-grant",
        )
        assert batch.sender == POOL[0]  # the least loaded: the agent has the grants and the early mint open
        outbox_flush(chain_id=31337, sender=POOL[0])
        batch.refresh_from_db()
        assert batch.status == TxStatus.PENDING and batch.last_error == WAITING  # its grant is not confirmed yet
        _drain()
    assert chain.view("SecurityToken", chain.token.address, "isAgent", POOL[0]) is True
    assert ChainTransaction.objects.get(pk=batch.pk).status == TxStatus.CONFIRMED
    assert chain.balance(WALLETS[0]) == 3 and chain.balance(WALLETS[2]) == 2


@pytest.mark.parametrize("stall", ["no_gas", "nonce_gap"])
def test_a_stalled_sender_leaves_the_others_confirming(pool: Chain, stall: str) -> None:
    holders = [*HOLDERS, WALLETS[0]]  # three batches, no holder in two of them
    batches = [
        token_batch_mint(
            owner_ref="offering:1",
            allocations=[(h, 5) for h in holders[3 * i : 3 * i + 3]],
            idempotency_key=f"stall-batch-{i}",
        )
        for i in range(3)
    ]
    assert sorted(b.sender for b in batches) == sorted(SENDERS)  # one batch each, by load
    stalled = batches[1].sender
    if stall == "no_gas":
        _rpc(pool, "anvil_setBalance", [stalled, "0x0"])
    else:  # the sender's nonce stream has a hole: what it signs waits in the node's queue
        SenderAccount.objects.update_or_create(
            chain_id=31337, address=stalled, defaults={"next_nonce": _nonce(pool, stalled) + 1}
        )
    _pump(8)
    for batch in batches:
        batch.refresh_from_db()
    assert batches[1].status not in (TxStatus.MINED, TxStatus.CONFIRMED)
    assert [b.status for i, b in enumerate(batches) if i != 1] == [TxStatus.CONFIRMED, TxStatus.CONFIRMED]
    assert pool.balance(HOLDERS[0]) == 5 and pool.balance(HOLDERS[6]) == 5 and pool.balance(HOLDERS[3]) == 0
    if stall == "no_gas":
        assert batches[1].hold == TxHold.INSUFFICIENT_FUNDS and f"Fund {stalled}" in batches[1].last_error
        _rpc(pool, "anvil_setBalance", [stalled, FUNDS])  # the operator funds it: its rows go out as signed
        outbox_flush(chain_id=31337, sender=stalled)  # what the next flush or watcher pass does
        _drain()
        assert ChainTransaction.objects.get(pk=batches[1].pk).status == TxStatus.CONFIRMED
        assert pool.balance(HOLDERS[3]) == 5


def test_a_transfer_waits_for_the_mint_of_its_holder_on_another_sender(pool: Chain) -> None:
    mint = token_batch_mint(
        owner_ref="offering:1", allocations=[(h, 100) for h in HOLDERS[:6]], idempotency_key="ordered-mint"
    )
    _rpc(pool, "anvil_setBalance", [mint.sender, "0x0"])  # its sender stalls before it is mined
    transfers = [
        token_forced_transfer(
            owner_ref="offering:1",
            from_wallet=holder,
            to_wallet=HOLDERS[(i + 1) % 6],
            amount=60,
            reason="court order",
            idempotency_key=f"ordered-transfer-{i}",
        )
        for i, holder in enumerate(HOLDERS[:6])
    ]
    elsewhere = [t for t in transfers if t.sender != mint.sender]
    assert elsewhere  # the test shows the order kept across senders, not only by one sender's nonces
    unrelated = [
        token_mint(owner_ref="offering:1", wallet=h, amount=7, idempotency_key=f"unrelated-{h}") for h in HOLDERS[6:]
    ]
    _pump(6)
    for t in elsewhere:
        t.refresh_from_db()
        assert t.status == TxStatus.PENDING and t.nonce is None and t.last_error == WAITING
    assert any(
        ChainTransaction.objects.get(pk=u.pk).status == TxStatus.CONFIRMED for u in unrelated if u.sender != mint.sender
    )
    _rpc(pool, "anvil_setBalance", [mint.sender, FUNDS])
    outbox_flush(chain_id=31337, sender=mint.sender)
    _drain()
    failed = ChainTransaction.objects.filter(status=TxStatus.FAILED).values_list("purpose", "sender", "last_error")
    assert not list(failed)  # no transfer ran before its mint
    for t in transfers:
        assert ChainTransaction.objects.get(pk=t.pk).status == TxStatus.CONFIRMED
    assert all(pool.balance(h) == 100 for h in HOLDERS[:6])  # each sent 60 and received 60
    assert all(pool.balance(h) == 7 for h in HOLDERS[6:])


# --------------------------------------------------------------------------- any order of work: one nonce each

STEPS = st.lists(
    st.tuples(
        st.sampled_from(["mint", "mint", "batch", "transfer", "transfer", "flush", "flush", "watch", "stall", "fund"]),
        st.integers(0, len(HOLDERS) - 1),
        st.integers(1, 9),
    ),
    min_size=3,
    max_size=18,
)


@hypothesis_settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(steps=STEPS)
def test_in_any_order_of_work_no_two_senders_share_a_nonce_and_each_effect_happens_once(
    pool: Chain, steps: list[tuple[str, int, int]]
) -> None:
    snapshot = _rpc(pool, "evm_snapshot")
    try:
        with transaction.atomic():
            _example(pool, steps)
            transaction.set_rollback(True)
    finally:
        _rpc(pool, "evm_revert", [snapshot])


def _example(pool: Chain, steps: list[tuple[str, int, int]]) -> None:
    intended: Counter[str] = Counter()
    for step, i, n in steps:
        holder, key = HOLDERS[i], f"prop-{next(_keys)}"
        if step == "mint":
            token_mint(owner_ref="offering:1", wallet=holder, amount=n, idempotency_key=key)
            intended[holder] += n
        elif step == "batch":
            chosen = sorted({HOLDERS[(i + k) % len(HOLDERS)] for k in range(n)})
            token_batch_mint(owner_ref="offering:1", allocations=[(h, n) for h in chosen], idempotency_key=key)
            for h in chosen:
                intended[h] += n
        elif step == "transfer" and intended[holder] >= n:  # only what the holder will have by then
            target = HOLDERS[(i + n) % len(HOLDERS)]
            if target != holder:
                token_forced_transfer(
                    owner_ref="offering:1",
                    from_wallet=holder,
                    to_wallet=target,
                    amount=n,
                    reason="test",
                    idempotency_key=key,
                )
                intended[holder] -= n
                intended[target] += n
        elif step == "flush":
            sender = SENDERS[i % len(SENDERS)]
            outbox_flush(chain_id=31337, sender=sender)
            outbox_flush(chain_id=31337, sender=sender)  # delivered twice
        elif step == "watch":
            outbox_watch(chain_id=31337)
        elif step == "stall":
            _rpc(pool, "anvil_setBalance", [SENDERS[i % len(SENDERS)], "0x0"])
        elif step == "fund":
            _rpc(pool, "anvil_setBalance", [SENDERS[i % len(SENDERS)], FUNDS])
    for sender in SENDERS:
        _rpc(pool, "anvil_setBalance", [sender, FUNDS])
        outbox_flush(chain_id=31337, sender=sender)
    _drain()

    assert not list(ChainTransaction.objects.filter(status=TxStatus.FAILED).values_list("purpose", "last_error"))
    for holder in HOLDERS:
        assert pool.balance(holder) == intended[holder]
    seen: dict[tuple[str, int], str] = {}
    for row in ChainTransaction.objects.filter(status=TxStatus.CONFIRMED, nonce__isnull=False):
        onchain: dict[str, Any] = _rpc(pool, "eth_getTransactionByHash", [row.tx_hash])
        assert onchain["from"].lower() == row.sender.lower() and int(onchain["nonce"], 16) == row.nonce
        assert seen.setdefault((row.sender, int(row.nonce or 0)), str(row.tx_hash)) == row.tx_hash
    for sender in SENDERS:
        used = sorted(n for (s, n) in seen if s == sender)
        # Every nonce of every sender used once, none skipped, by the rows of this example and before.
        assert used == list(range(used[0], _nonce(pool, sender))) if used else True

"""A chain reset under an existing database, on real anvils: found, reported, and resynchronised by a command."""

from __future__ import annotations

import time
from collections.abc import Iterator
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from core.models import AuditEvent
from tokens.chain.anvil import Anvil
from tokens.chain.client import client_for
from tokens.indexer import chain_index
from tokens.models import ChainEvent, ChainTransaction, ContractDeployment, TxStatus
from tokens.resync import chain_resync_check
from tokens.services import token_forced_transfer, token_mint
from tokens.tests.support import DEV_ACCOUNTS, WALLETS, Chain, chain_build, chain_indexed, drain, transaction_send

# The first chain's genesis: a node started again within the same second has the very same genesis block.
GENESIS = int(time.time()) - 3600


def _command(*args: str) -> str:
    out = StringIO()
    call_command("chain_resync", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def history(db: None) -> Iterator[tuple[Chain, dict[str, int], int]]:
    """A registry, a token, mints and a forced transfer confirmed and indexed on a first chain, then that chain gone."""
    with (
        Anvil(genesis_timestamp=GENESIS) as first,
        override_settings(CHAIN_RPC_URL=first.rpc_url, CHAIN_ID=31337, CHAIN_CONFIRMATIONS=1),
    ):
        chain = chain_build(first.rpc_url)
        token_mint(owner_ref="offering:1", wallet=WALLETS[0], amount=50, idempotency_key="reset-1")
        token_mint(owner_ref="offering:1", wallet=WALLETS[1], amount=20, idempotency_key="reset-2")
        token_forced_transfer(
            owner_ref="offering:1",
            from_wallet=WALLETS[0],
            to_wallet=WALLETS[2],
            amount=5,
            reason="court order",
            idempotency_key="reset-3",
        )
        drain()
        chain_indexed(first.rpc_url)
        assert chain_resync_check().verdict == "in_sync"
        balances = {w: chain.balance(w) for w in WALLETS[:3]}
        assert balances == {WALLETS[0]: 45, WALLETS[1]: 20, WALLETS[2]: 5}
        yield chain, balances, ChainEvent.objects.count()


@pytest.mark.parametrize("genesis", ["another genesis", "the same genesis"])
def test_a_reset_chain_is_reported_then_rebuilt_with_the_same_contracts_effects_and_events(history, genesis) -> None:
    chain, balances, events = history
    nonces = dict(ChainTransaction.objects.values_list("pk", "nonce"))
    with (
        Anvil(genesis_timestamp=GENESIS + (60 if genesis == "another genesis" else 0)) as fresh,
        override_settings(CHAIN_RPC_URL=fresh.rpc_url, CHAIN_ID=31337, CHAIN_CONFIRMATIONS=1),
    ):
        report = _command()
        assert "The chain was reset under this database" in report and "NO CODE" in report
        assert "Run again with --apply" in report
        # The indexer does not take the reset for a reorg: it waits for the command, dropping nothing.
        assert chain_index(client=client_for(fresh.rpc_url)) == 0 and ChainEvent.objects.count() == events

        applied = _command("--apply")
        assert f"{events} indexed events dropped" in applied and "transactions sent again" in applied
        drain()
        chain_indexed(fresh.rpc_url)
        rebuilt = Chain(rpc_url=fresh.rpc_url, token=ContractDeployment.objects.get(kind="security_token"))
        assert {w: rebuilt.balance(w) for w in balances} == balances
        assert rebuilt.verified(WALLETS[0])
        assert rebuilt.token is not None and rebuilt.token.address == chain.token.address  # same addresses
        assert ChainEvent.objects.count() == events
        assert set(ChainTransaction.objects.values_list("status", flat=True)) == {TxStatus.CONFIRMED}
        assert dict(ChainTransaction.objects.values_list("pk", "nonce")) == nonces  # nothing signed anew
        assert AuditEvent.objects.filter(action="chain.reset_resynchronised").count() == 1
        assert "In sync" in _command()


def test_a_new_chain_that_already_used_a_sender_is_refused_and_nothing_changes(history) -> None:
    _, _, events = history
    with Anvil() as fresh, override_settings(CHAIN_RPC_URL=fresh.rpc_url, CHAIN_ID=31337):
        transaction_send(fresh.rpc_url, DEV_ACCOUNTS[0], DEV_ACCOUNTS[1], value=1)  # someone else used the key
        with pytest.raises(CommandError, match="cannot be sent again"):
            _command("--apply")
    assert ChainEvent.objects.count() == events
    assert set(ChainTransaction.objects.values_list("status", flat=True)) == {TxStatus.CONFIRMED}
    assert not AuditEvent.objects.filter(action="chain.reset_resynchronised").exists()


def test_a_node_of_another_chain_is_not_taken_for_a_reset(history) -> None:
    with Anvil(chain_id=4242) as other, override_settings(CHAIN_RPC_URL=other.rpc_url, CHAIN_ID=31337):
        out = StringIO()
        with pytest.raises(CommandError, match="Wrong chain"):
            call_command("chain_resync", "--apply", stdout=out)
    assert "answers chain id 4242" in out.getvalue()
    assert set(ChainTransaction.objects.values_list("status", flat=True)) == {TxStatus.CONFIRMED}

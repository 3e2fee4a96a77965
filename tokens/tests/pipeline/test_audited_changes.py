"""Changes the pipeline makes on its own (a replacement, a reorg reset, an index rollback) write their
audit event in the same transaction: when the event cannot be written, the change is not made either."""

from __future__ import annotations

import pytest
from django.db import DatabaseError
from django.test import override_settings

from core.models import AuditEvent
from core.tests.refusals import audit_refused
from tokens.chain.client import client_for
from tokens.indexer import chain_index
from tokens.models import ChainEvent, TxStatus
from tokens.outbox import outbox_flush, outbox_watch
from tokens.services import token_mint
from tokens.tests.support import WALLETS, Chain


def test_a_replacement_is_not_made_without_its_audit_event(chain: Chain) -> None:
    chain.rpc("evm_setAutomine", [False])
    mint = token_mint(owner_ref="offering:1", wallet=WALLETS[2], amount=12, idempotency_key="audit-replace")
    outbox_flush(chain_id=31337, sender=mint.sender)
    mint.refresh_from_db()
    first_hash = mint.tx_hash
    with (
        override_settings(CHAIN_REPLACE_UNMINED_AFTER_SECONDS=0),
        audit_refused("chain.transaction_replaced"),
        pytest.raises(DatabaseError, match="audit event refused"),
    ):
        outbox_watch(chain_id=31337)
    mint.refresh_from_db()
    assert mint.tx_hash == first_hash and mint.previous_hashes == []
    with override_settings(CHAIN_REPLACE_UNMINED_AFTER_SECONDS=0):
        outbox_watch(chain_id=31337)
    mint.refresh_from_db()
    assert mint.previous_hashes == [first_hash]
    assert AuditEvent.objects.filter(action="chain.transaction_replaced", object_id=str(mint.pk)).count() == 1


def test_a_reorg_reset_is_not_made_without_its_audit_event(chain: Chain) -> None:
    with override_settings(CHAIN_CONFIRMATIONS=3):
        mint = token_mint(owner_ref="offering:1", wallet=WALLETS[0], amount=33, idempotency_key="audit-reorg")
        outbox_flush(chain_id=31337, sender=mint.sender)
        outbox_watch(chain_id=31337)
        mint.refresh_from_db()
        assert mint.status == TxStatus.MINED
        chain.rpc("anvil_reorg", [1, []])
        with audit_refused("chain.transaction_reorged"), pytest.raises(DatabaseError, match="audit event refused"):
            outbox_watch(chain_id=31337)
        mint.refresh_from_db()
        assert mint.status == TxStatus.MINED and mint.block_number is not None  # nothing changed without its event
        outbox_watch(chain_id=31337)
        mint.refresh_from_db()
        assert mint.status != TxStatus.MINED or mint.block_number is None
    assert AuditEvent.objects.filter(action="chain.transaction_reorged", object_id=str(mint.pk)).count() == 1


def test_an_index_rollback_is_audited_with_the_rollback(chain: Chain) -> None:
    with override_settings(CHAIN_CONFIRMATIONS=3):
        mint = token_mint(owner_ref="offering:1", wallet=WALLETS[0], amount=78, idempotency_key="audit-index")
        outbox_flush(chain_id=31337, sender=mint.sender)
        client = client_for(chain.rpc_url)
        chain_index(client=client, chain_id=31337, confirmations=1)
        assert ChainEvent.objects.filter(name="Transfer", args__value="78").exists()
        chain.rpc("anvil_reorg", [1, []])
        with audit_refused("chain.index_rolled_back"), pytest.raises(DatabaseError, match="audit event refused"):
            chain_index(client=client, chain_id=31337, confirmations=1)
        assert ChainEvent.objects.filter(name="Transfer", args__value="78").exists()  # not rolled back silently
        chain_index(client=client, chain_id=31337, confirmations=1)
    assert not ChainEvent.objects.filter(name="Transfer", args__value="78").exists()
    event = AuditEvent.objects.get(action="chain.index_rolled_back")
    assert event.after is not None and event.after["events"] >= 1

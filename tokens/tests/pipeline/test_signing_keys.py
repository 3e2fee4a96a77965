"""Who signs: one key per role, each its own nonce stream; only the recorded sender's key; only in workers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import override_settings

from core.models import AuditEvent
from tokens.chain.anvil import Anvil
from tokens.chain.signer import SigningNotAllowed, signer_for, signing_disable
from tokens.models import ChainTransaction, ContractDeployment, SenderAccount, TxHold, TxStatus
from tokens.outbox import outbox_flush, outbox_watch
from tokens.services import registry_investor_sync, token_mint
from tokens.tests.support import DEV_ACCOUNTS, DEV_KEYS, WALLETS, Chain, chain_build, in_a_year

DEV = DEV_ACCOUNTS[0]  # the portal's sender on a local chain
# anvil's development accounts 9 and 8: funded, and no investor holds them in these tests.
REGISTRAR, REGISTRAR_KEY = DEV_ACCOUNTS[-1], DEV_KEYS[-1]
NEW_AGENT, NEW_AGENT_KEY = DEV_ACCOUNTS[-2], DEV_KEYS[-2]


@pytest.fixture
def two_senders(chain_settings: Anvil, db: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Chain]:
    """Registry administration signed by its own key; token agent operations by another."""
    monkeypatch.setenv("CHAIN_REGISTRY_SIGNER_KEY", REGISTRAR_KEY)
    with override_settings(CHAIN_SENDERS={"registry": REGISTRAR, "agent": DEV, "treasury": DEV}):
        yield chain_build(chain_settings.rpc_url)


def test_each_role_signs_with_its_own_key_and_nonce_stream(two_senders: Chain) -> None:
    registry = ContractDeployment.objects.select_related("deploy_transaction").get(kind="registry")
    assert registry.deploy_transaction is not None and registry.deploy_transaction.sender == REGISTRAR
    token = two_senders.token
    assert token is not None and token.deploy_transaction is not None and token.deploy_transaction.sender == DEV
    senders = dict(SenderAccount.objects.values_list("address", "next_nonce"))
    assert set(senders) == {REGISTRAR, DEV}
    for address in (REGISTRAR, DEV):
        nonces = sorted(
            n for n in ChainTransaction.objects.filter(sender=address).values_list("nonce", flat=True) if n is not None
        )
        assert nonces == list(range(nonces[0], nonces[0] + len(nonces)))
    assert two_senders.verified(WALLETS[0])  # the registry's agent is the registrar
    token_mint(owner_ref="offering:1", wallet=WALLETS[0], amount=5, idempotency_key="roles-1")
    two_senders.drain()
    assert two_senders.balance(WALLETS[0]) == 5


def test_a_reorg_that_includes_a_reverted_transaction_successfully_is_seen(two_senders: Chain) -> None:
    with override_settings(CHAIN_CONFIRMATIONS=3):
        two_senders.rpc("evm_setAutomine", [False])
        # The registrar removes bob's wallet, then the agent mints to it: in one block the mint reverts.
        removal = registry_investor_sync(
            investor_ref="bob", country_numeric=276, flags=1, expires_at=in_a_year(), wallets=[WALLETS[2]]
        )
        mint = token_mint(owner_ref="offering:1", wallet=WALLETS[1], amount=7, idempotency_key="reorg-mint")
        outbox_flush(chain_id=31337, sender=REGISTRAR)
        outbox_flush(chain_id=31337, sender=DEV)
        two_senders.rpc("evm_mine")
        outbox_watch(chain_id=31337)
        mint.refresh_from_db()
        assert mint.status == TxStatus.MINED and "not final" in mint.last_error  # reverted, not yet failed
        # A reorg replaces that block with one that holds only the mint: now it succeeds.
        assert mint.signed_raw is not None
        two_senders.rpc("anvil_reorg", [1, [["0x" + bytes(mint.signed_raw).hex(), 0]]])
        two_senders.rpc("anvil_mine", [3])
        outbox_watch(chain_id=31337)
        outbox_watch(chain_id=31337)
        two_senders.rpc("evm_setAutomine", [True])
        outbox_watch(chain_id=31337)  # the removal, dropped by the reorg, is sent and mined again
        two_senders.rpc("anvil_mine", [3])
        two_senders.drain()
    mint.refresh_from_db()
    assert mint.status == TxStatus.CONFIRMED and two_senders.balance(WALLETS[1]) == 7
    assert all(ChainTransaction.objects.get(pk=t.pk).status == TxStatus.CONFIRMED for t in removal)
    assert not two_senders.verified(WALLETS[1])  # the removal happened too, after the mint


def test_a_rotated_key_refuses_rows_queued_for_the_old_sender_and_says_why(
    chain: Chain, monkeypatch: pytest.MonkeyPatch
) -> None:
    queued = token_mint(owner_ref="offering:1", wallet=WALLETS[0], amount=3, idempotency_key="rotate-1")
    assert queued.sender == DEV
    # The operator rotates the agent key but forgets to move the address: the key no longer matches.
    monkeypatch.setenv("CHAIN_AGENT_SIGNER_KEY", NEW_AGENT_KEY)
    monkeypatch.setenv("CHAIN_REGISTRY_SIGNER_KEY", NEW_AGENT_KEY)
    monkeypatch.setenv("CHAIN_TREASURY_SIGNER_KEY", NEW_AGENT_KEY)
    outbox_flush(chain_id=31337, sender=DEV)
    queued.refresh_from_db()
    assert queued.status == TxStatus.PENDING and queued.nonce is None and queued.signed_raw is None
    assert queued.hold == TxHold.SENDER_KEY
    assert f"now signs as {NEW_AGENT}, not as {DEV}" in queued.last_error
    # Now the addresses move too: rows recorded for the old sender are still not signed by the new key.
    with override_settings(CHAIN_SENDERS={"registry": NEW_AGENT, "agent": NEW_AGENT, "treasury": NEW_AGENT}):
        outbox_flush(chain_id=31337, sender=DEV)
        queued.refresh_from_db()
        assert queued.status == TxStatus.PENDING and f"No role sends as {DEV}" in queued.last_error
        assert AuditEvent.objects.filter(action="chain.transaction_held", object_id=str(queued.pk)).count() == 1
    # The old key restored: the row is signed by it, as recorded.
    monkeypatch.delenv("CHAIN_AGENT_SIGNER_KEY")
    monkeypatch.delenv("CHAIN_REGISTRY_SIGNER_KEY")
    monkeypatch.delenv("CHAIN_TREASURY_SIGNER_KEY")
    chain.drain()
    queued.refresh_from_db()
    assert queued.status == TxStatus.CONFIRMED and queued.hold == TxHold.NONE and chain.balance(WALLETS[0]) == 3


def test_a_process_that_is_not_a_worker_never_loads_a_key(chain: Chain) -> None:
    signing_disable()
    with pytest.raises(SigningNotAllowed):
        signer_for(DEV)
    # A web request's service still records the transaction: it needs the sender's address only.
    tx = token_mint(owner_ref="offering:1", wallet=WALLETS[0], amount=1, idempotency_key="web-1")
    assert tx.sender == DEV and tx.status == TxStatus.PENDING

from __future__ import annotations

from tokens.models import ChainTransaction, TxStatus
from tokens.selectors import registry_wallet_states
from tokens.services import registry_investor_revoke, registry_investor_sync
from tokens.tests.support import US, WALLETS, Chain, in_a_year


def test_an_investor_is_registered_with_all_wallets_and_a_repeat_queues_nothing(chain: Chain) -> None:
    expiry = in_a_year()
    queued = registry_investor_sync(
        investor_ref="carol", country_numeric=US, flags=3, expires_at=expiry, wallets=[WALLETS[4], WALLETS[3]]
    )
    assert [tx.purpose.split()[0] for tx in queued] == ["Register", "Add"]
    chain.drain()
    assert chain.verified(WALLETS[3]) and chain.verified(WALLETS[4])
    states = registry_wallet_states(investor_ref="carol")
    assert {s.state for s in states.values()} == {"confirmed"} and all(s.tx_hash for s in states.values())
    before = ChainTransaction.objects.count()
    assert (
        registry_investor_sync(
            investor_ref="carol", country_numeric=US, flags=3, expires_at=expiry, wallets=[WALLETS[3], WALLETS[4]]
        )
        == []
    )
    assert ChainTransaction.objects.count() == before


def test_changes_queue_only_the_difference(chain: Chain) -> None:
    expiry = in_a_year()
    registry_investor_sync(investor_ref="dave", country_numeric=US, flags=1, expires_at=expiry, wallets=[WALLETS[5]])
    chain.drain()
    queued = registry_investor_sync(
        investor_ref="dave", country_numeric=US, flags=1, expires_at=expiry, wallets=[WALLETS[6]]
    )
    assert [tx.purpose.split()[0] for tx in queued] == ["Remove", "Add"]
    chain.drain()
    assert not chain.verified(WALLETS[5]) and chain.verified(WALLETS[6])
    assert registry_wallet_states(investor_ref="dave")[WALLETS[5]].state == "removed"


def test_expiry_or_flags_change_is_an_update_and_revocation_unverifies(chain: Chain) -> None:
    queued = registry_investor_sync(
        investor_ref="bob", country_numeric=276, flags=0, expires_at=in_a_year(), wallets=[WALLETS[1], WALLETS[2]]
    )
    assert [tx.purpose.split()[0] for tx in queued] == ["Update"]
    chain.drain()
    assert not chain.verified(WALLETS[1])  # KYC flag cleared
    registry_investor_sync(
        investor_ref="bob", country_numeric=276, flags=1, expires_at=in_a_year(), wallets=[WALLETS[1], WALLETS[2]]
    )
    chain.drain()
    assert chain.verified(WALLETS[1])
    registry_investor_revoke(investor_ref="bob")
    chain.drain()
    assert not chain.verified(WALLETS[1]) and not chain.verified(WALLETS[2])
    assert registry_investor_revoke(investor_ref="bob") == []  # already removed: nothing to do
    # Reinstated later: the same wallets come back.
    registry_investor_sync(
        investor_ref="bob", country_numeric=276, flags=1, expires_at=in_a_year(), wallets=[WALLETS[1], WALLETS[2]]
    )
    chain.drain()
    assert chain.verified(WALLETS[1]) and chain.verified(WALLETS[2])
    assert not ChainTransaction.objects.filter(status=TxStatus.FAILED).exists()

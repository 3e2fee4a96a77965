"""A token's reserve feed and reserve-guarded minter through the outbox on a real anvil: the portal's
mints go through the minter, a mint the attested reserve does not back or one after the attestation
went stale is refused before signing with a reason an issuer can read, a publication is recorded once
per key, the agent key cannot mint straight to the token once the minter is set up, and a mint an
admin lets another key make around the minter is found."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from core.errors import ApplicationError
from tokens.chain.abi import encode_call
from tokens.models import ChainTransaction, ContractDeployment, TxStatus
from tokens.outbox import order_keys_for, transaction_enqueue
from tokens.reserve_feed import (
    MINTER_ROLE,
    BackingRule,
    pool_minter_grant_key,
    reserve_feed_deploy,
    reserve_feed_latest,
    reserve_feed_of,
    reserve_feed_publish,
    reserve_guard_ensure,
    reserve_minter_deploy,
    reserve_minter_of,
    reserve_unchecked_mints,
)
from tokens.selectors import chain_head_time
from tokens.services import token_batch_mint, token_mint
from tokens.tests.support import (
    DEV_ACCOUNTS,
    DEV_KEYS,
    WALLETS,
    Chain,
    chain_indexed,
    contract_send,
    contract_send_refused,
    drain,
)

pytestmark = [pytest.mark.chain]

OWNER = "offering:1"
DOLLAR = 100  # the feed reports cents; the token has 0 decimals and each token needs $1.00
MONTH = 30 * 86_400
ALICE, BOB = WALLETS[0], WALLETS[1]


# As-of moments follow the chain's clock, which lags the wall clock after snapshots are reverted.


def guard_ready(*, staleness_seconds: int = MONTH) -> ContractDeployment:
    """The token's feed (in cents) and its minter, 1 token = $1.00, the only minter of the token: set up a step at
    a time as the backing sweep does, each step signed and confirmed before the next."""
    steps = []
    for _ in range(6):
        readiness = reserve_guard_ensure(
            owner_ref=OWNER,
            reserve_per_unit=(DOLLAR, 1),
            scale=2,
            staleness_seconds=staleness_seconds,
            rule_key="backing:rule:1:1",
            description="Harbor Street Class A reserves (USD)",
        )
        assert not readiness.problem
        steps.append(readiness.waiting_for)
        if readiness.ready:
            break
        drain()
    assert readiness.ready, steps
    minter = reserve_minter_of(OWNER)
    assert minter is not None and minter.address
    return minter


def attested(dollars: int, *, as_of: datetime | None = None, key: str = "statement-1") -> ChainTransaction:
    tx = reserve_feed_publish(
        owner_ref=OWNER,
        reserve=dollars * DOLLAR,
        as_of=as_of or chain_head_time(),
        idempotency_key=key,
    )
    drain()
    return tx


def confirmed(tx: ChainTransaction) -> ChainTransaction:
    drain(failures_allowed=True)
    tx.refresh_from_db()
    assert tx.status == TxStatus.CONFIRMED, tx.last_error
    return tx


def failed(tx: ChainTransaction) -> ChainTransaction:
    drain(failures_allowed=True)
    tx.refresh_from_db()
    assert tx.status == TxStatus.FAILED
    return tx


def test_a_mint_within_the_attested_reserve_goes_through_the_minter(chain: Chain) -> None:
    minter = guard_ready()
    attested(1_000)
    tx = token_mint(owner_ref=OWNER, wallet=ALICE, amount=600, idempotency_key="mint-1")
    assert tx.to_address == minter.address
    drain()
    tx.refresh_from_db()
    assert tx.status == TxStatus.CONFIRMED
    assert chain.balance(ALICE) == 600
    assert chain.token is not None
    assert chain.view("SecurityToken", chain.token.address, "hasRole", MINTER_ROLE, minter.address) is True


def test_a_batch_beyond_the_reserve_is_refused_before_signing_with_a_reason_an_issuer_can_read(chain: Chain) -> None:
    guard_ready()
    attested(1_000)
    tx = failed(token_batch_mint(owner_ref=OWNER, allocations=[(ALICE, 600), (BOB, 401)], idempotency_key="batch-1"))
    assert tx.nonce is None  # refused by the gas estimate: never signed
    assert tx.error_name == "ReserveExceeded"
    assert tx.error_args == {"roundId": "1", "reserve": "100000", "supplyAfter": "1001", "backedSupply": "1000"}
    assert tx.last_error == (
        "Not minted: the supply would become 1,001 units, but the latest attested reserve (report 1: 100,000) "
        "backs only 1,000. Publish an attestation of more reserves, or mint less."
    )
    assert chain.balance(ALICE) == chain.balance(BOB) == 0
    confirmed(token_batch_mint(owner_ref=OWNER, allocations=[(ALICE, 600), (BOB, 400)], idempotency_key="batch-2"))
    assert (chain.balance(ALICE), chain.balance(BOB)) == (600, 400)


def test_a_stale_attestation_stops_mints_until_a_fresh_one_is_published(chain: Chain) -> None:
    guard_ready()
    old = chain_head_time() - timedelta(days=31)
    attested(1_000_000, as_of=old)
    tx = failed(token_mint(owner_ref=OWNER, wallet=ALICE, amount=1, idempotency_key="stale-1"))
    assert tx.error_name == "ReserveStale"
    assert f"is as of {old:%Y-%m-%d %H:%M} UTC, older than the 30 days this token allows" in tx.last_error
    confirmed(reserve_feed_publish(owner_ref=OWNER, reserve=10**8, as_of=chain_head_time(), idempotency_key="st-2"))
    confirmed(token_mint(owner_ref=OWNER, wallet=ALICE, amount=1, idempotency_key="stale-2"))
    assert chain.balance(ALICE) == 1


def test_without_an_attestation_nothing_is_minted(chain: Chain) -> None:
    guard_ready()
    tx = failed(token_mint(owner_ref=OWNER, wallet=ALICE, amount=1, idempotency_key="none-1"))
    assert tx.error_name == "NoReserveReport"
    assert tx.last_error.startswith("Not minted: no reserve attestation has been published")


def test_a_publication_is_recorded_once_per_key_and_read_back_from_the_feed(chain: Chain) -> None:
    guard_ready()
    as_of = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
    first = reserve_feed_publish(owner_ref=OWNER, reserve=123_456, as_of=as_of, idempotency_key="st-9")
    again = reserve_feed_publish(owner_ref=OWNER, reserve=123_456, as_of=as_of, idempotency_key="st-9")
    assert again.pk == first.pk
    with pytest.raises(ApplicationError) as refused:
        reserve_feed_publish(owner_ref=OWNER, reserve=999, as_of=as_of, idempotency_key="st-9")
    assert refused.value.code == "idempotency_conflict"
    drain()
    report = reserve_feed_latest(owner_ref=OWNER)
    assert report is not None
    assert (report.round_id, report.reserve, report.decimals, report.as_of) == (1, 123_456, 2, as_of)


def test_an_attestation_older_than_the_one_published_is_refused_by_the_feed(chain: Chain) -> None:
    guard_ready()
    now = chain_head_time()
    attested(10, as_of=now - timedelta(days=1))
    tx = reserve_feed_publish(owner_ref=OWNER, reserve=1, as_of=now - timedelta(days=2), idempotency_key="late")
    tx = failed(tx)
    assert tx.error_name == "AsOfBeforeLatest"
    assert "before the one already published" in tx.last_error
    report = reserve_feed_latest(owner_ref=OWNER)
    assert report is not None and report.reserve == 10 * DOLLAR


def test_the_attestor_has_its_own_key_and_the_agent_cannot_publish(chain: Chain, monkeypatch) -> None:
    attestor, attestor_key = DEV_ACCOUNTS[5], DEV_KEYS[5]
    monkeypatch.setenv("CHAIN_ATTESTOR_SIGNER_KEY", attestor_key)
    senders = {"registry": DEV_ACCOUNTS[0], "agent": DEV_ACCOUNTS[0], "treasury": DEV_ACCOUNTS[0]}
    with override_settings(CHAIN_SENDERS={**senders, "attestor": attestor}):
        guard_ready()
        tx = attested(500)
        assert tx.sender == attestor
        assert reserve_feed_latest(owner_ref=OWNER).reserve == 500 * DOLLAR  # type: ignore[union-attr]
    feed = reserve_feed_of(OWNER)
    assert feed is not None
    # The agent key (the token's and the feed's admin) sends a report itself: the feed refuses it.
    with override_settings(CHAIN_SENDERS={**senders, "attestor": DEV_ACCOUNTS[0]}):
        refused = failed(
            reserve_feed_publish(owner_ref=OWNER, reserve=10**9, as_of=chain_head_time(), idempotency_key="by-agent")
        )
    assert refused.error_name == "AccessControlUnauthorizedAccount"
    assert reserve_feed_latest(owner_ref=OWNER).reserve == 500 * DOLLAR  # type: ignore[union-attr]


def test_mints_wait_while_the_guard_is_set_up_rather_than_go_around_it(chain: Chain) -> None:
    before = token_mint(owner_ref=OWNER, wallet=ALICE, amount=5, idempotency_key="early")
    drain()
    reserve_feed_deploy(owner_ref=OWNER, decimals=2, description="reserves")
    drain()
    reserve_minter_deploy(owner_ref=OWNER, rule=BackingRule(numerator=DOLLAR, denominator=1, staleness_seconds=MONTH))
    drain()
    with pytest.raises(ApplicationError) as refused:
        token_mint(owner_ref=OWNER, wallet=ALICE, amount=5, idempotency_key="during-set-up")
    assert refused.value.code == "reserve_guard_pending"
    # The same request as before the guard is the same row, sent the way it went then.
    assert token_mint(owner_ref=OWNER, wallet=ALICE, amount=5, idempotency_key="early").pk == before.pk


def test_once_the_guard_is_set_up_the_agent_key_cannot_mint_straight_to_the_token(chain: Chain) -> None:
    guard_ready()
    attested(1_000)
    assert chain.token is not None
    token, agent = chain.token.address, DEV_ACCOUNTS[0]
    # Within the reserve, and sent with the portal's own agent key: still refused, the minter alone mints.
    assert contract_send_refused(chain.rpc_url, agent, token, "SecurityToken", "mint", BOB, 7) == (
        "AccessControlUnauthorizedAccount"
    )
    assert contract_send_refused(chain.rpc_url, agent, token, "SecurityToken", "batchMint", [BOB], [7]) == (
        "AccessControlUnauthorizedAccount"
    )
    assert chain.view("SecurityToken", token, "hasRole", MINTER_ROLE, agent) is False
    assert chain.view("SecurityToken", token, "isAgent", agent) is True  # burns, freezes, recoveries go on
    assert chain.balance(BOB) == 0


def test_a_pool_sender_granted_minting_after_the_guard_was_ready_has_it_revoked_by_the_next_step(
    chain: Chain, settings
) -> None:
    """A pool grant that read "no minter yet" and committed after the set-up (or a failed one retried by hand) still
    gets the role on-chain; the next step must take it back, not call the guard ready."""
    guard_ready()
    assert chain.token is not None
    token, pool = chain.token, next(iter(settings.ANVIL_DEV_POOL))
    with override_settings(CHAIN_AGENT_POOL=[pool]):
        transaction_enqueue(
            idempotency_key=pool_minter_grant_key(token, pool),
            purpose=f"Let {pool} mint (agent pool)",
            to_address=token.address,
            data=encode_call("SecurityToken", "grantRole", [MINTER_ROLE, pool]),
            order_keys=order_keys_for(token, ["*"]),
        )
        drain()
        assert chain.view("SecurityToken", token.address, "hasRole", MINTER_ROLE, pool) is True
        readiness = reserve_guard_ensure(
            owner_ref=OWNER,
            reserve_per_unit=(DOLLAR, 1),
            scale=2,
            staleness_seconds=MONTH,
            rule_key="backing:rule:1:1",
            description="Harbor Street Class A reserves (USD)",
        )
        assert not readiness.ready
        guard_ready()
    assert chain.view("SecurityToken", token.address, "hasRole", MINTER_ROLE, pool) is False


def test_a_mint_an_admin_lets_another_key_make_around_the_minter_is_found(chain: Chain) -> None:
    guard_ready()
    attested(1_000)
    token_mint(owner_ref=OWNER, wallet=ALICE, amount=10, idempotency_key="guarded")
    drain()
    assert chain.token is not None
    other = DEV_ACCOUNTS[5]
    contract_send(chain.rpc_url, DEV_ACCOUNTS[0], chain.token.address, "SecurityToken", "grantRole", MINTER_ROLE, other)
    direct = contract_send(chain.rpc_url, other, chain.token.address, "SecurityToken", "mint", BOB, 7)
    chain_indexed(chain.rpc_url)
    (found,) = reserve_unchecked_mints(owner_ref=OWNER)
    assert (found.transaction_hash, found.to, found.amount) == ("0x" + bytes(direct["transactionHash"]).hex(), BOB, 7)


def test_the_deploy_command_sets_up_the_feed_and_the_minter(chain: Chain, capsys) -> None:
    call_command("chain_deploy", "reserve-feed", "--owner", OWNER, "--wait")
    call_command("chain_deploy", "reserve-minter", "--owner", OWNER, "--staleness-days", "10", "--wait")
    out = capsys.readouterr().out
    minter = reserve_minter_of(OWNER)
    assert minter is not None and f"The minter {minter.address} mints {OWNER} from now on." in out
    assert chain.token is not None
    assert chain.view("SecurityToken", chain.token.address, "hasRole", MINTER_ROLE, minter.address) is True
    assert chain.view("SecurityToken", chain.token.address, "hasRole", MINTER_ROLE, DEV_ACCOUNTS[0]) is False
    assert chain.view("ReserveGuardedMinter", minter.address, "stalenessLimit") == 10 * 86_400
    assert chain.view("ReserveGuardedMinter", minter.address, "backingRatio") == (100, 1)


@pytest.mark.parametrize(
    ("reserve", "as_of", "code"),
    [
        (-1, timezone.now(), "invalid_reserve"),
        (2**127, timezone.now(), "invalid_reserve"),
        (1, datetime(2026, 1, 1), "invalid_as_of"),
        (1, timezone.now() + timedelta(days=1), "invalid_as_of"),
    ],
)
def test_a_publication_the_feed_would_refuse_is_refused_before_it_is_queued(
    db: None, reserve: int, as_of: datetime, code: str
) -> None:
    with pytest.raises(ApplicationError) as refused:
        reserve_feed_publish(owner_ref=OWNER, reserve=reserve, as_of=as_of, idempotency_key="bad")
    assert refused.value.code == code
    assert not ChainTransaction.objects.exists()

"""A backing rule reaches the chain by itself, on a real anvil: the backing sweep deploys the token's reserve feed
and reserve-guarded minter, sets the rule on the minter, makes it the token's only minter and publishes the current
attestation; after that a closing mints through the minter, a mint beyond the reserves is refused before signing,
and the agent key cannot mint around the guard, within the reserves or beyond them."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db.models import Count
from django.test import Client, override_settings
from django.urls import reverse

from backing.models import BackingRule
from backing.services.reserve_guard import guard_rule_key, reserve_guard_sync, reserve_guards_sync
from backing.tests.support import rule_set, statement_approved
from investors.services.verification import investor_registry_refresh
from investors.tests.support import verified_investor
from offerings.models import MintBatch, Offering, OfferingStatus, SubscriptionStatus
from offerings.services.closing import closing_advance, offering_close
from offerings.services.offerings import offering_publish
from offerings.tests.support import offering_draft, subscribed, wire_received
from registry.tests.support import second_admin
from tokens.models import ChainTransaction, TxStatus
from tokens.selectors import reserve_feed_latest, reserve_minter_of
from tokens.services import MINTER_ROLE, MintRefused, agent_pool_grant, portal_registry_ensure, token_mint
from tokens.tests.support import (
    DEV_ACCOUNTS,
    WALLETS,
    contract_send_refused,
    contract_view,
    drain,
    free_port,
    token_balance,
)

pytestmark = [pytest.mark.chain, pytest.mark.django_db]
AGENT = DEV_ACCOUNTS[0]


def swept_until_ready(offering: Offering, *, sweeps: int = 8) -> list[str]:
    """Sweep and let the workers sign and confirm, as the beat and the workers do, until the guard is ready."""
    steps: list[str] = []
    for _ in range(sweeps):
        reserve_guards_sync()
        drain()
        readiness = reserve_guard_sync(offering_id=offering.pk)
        assert readiness is not None and not readiness.problem, readiness
        steps.append(readiness.waiting_for)
        if readiness.ready:
            drain()
            return steps
    raise AssertionError(f"the guard was not ready after {sweeps} sweeps: {steps}")


@pytest.fixture
def offering(cast, chain_settings, settings, django_capture_on_commit_callbacks) -> Offering:
    """A published offering at $10.00 a unit, its token on anvil, with a backing rule of $10.00 of reserves per unit
    approved by two admins and $5,000.00 attested (500 units backed); two investors paid for 300 and 400 units."""
    settings.CLOSING_MINT_MAX_HOLDERS = 1  # a batch each
    portal_registry_ensure()
    drain()
    investors = []
    for wallet in WALLETS[:2]:
        investor = verified_investor(accreditation="verified", wallet=wallet, register=False)
        investor_registry_refresh(investor=investor, actor=None)
        investors.append(investor)
    offering = offering_publish(offering=offering_draft(cast.issuer, cast.admin), actor=cast.admin)
    drain()
    with django_capture_on_commit_callbacks(execute=False) as queued:
        rule_set(offering, cast.admin, per_token="10.00")
    assert queued  # the approval asks for a sweep once it has committed
    with django_capture_on_commit_callbacks(execute=False):
        statement_approved(offering, cast.admin, second_admin(cast.issuer), 5_000_00)
    for investor, amount in zip(investors, (3_000_00, 4_000_00), strict=True):
        s = subscribed(offering, investor, amount)
        wire_received(cast.issuer, cast.compliance, s, amount)
        s.refresh_from_db()
        assert s.status == SubscriptionStatus.PAID
    return offering


def test_a_backing_rule_sets_up_the_on_chain_guard_without_anyone_running_a_command(
    cast, offering, chain_settings
) -> None:
    steps = swept_until_ready(offering)
    assert steps[0] == "the reserve-guarded minter's deployment to be signed"  # the feed was confirmed first
    minter = reserve_minter_of(offering.owner_ref)
    assert minter is not None and minter.address
    report = reserve_feed_latest(owner_ref=offering.owner_ref)
    assert report is not None and (report.reserve, report.decimals) == (5_000_00, 2)
    token = ChainTransaction.objects.get(deployment__kind="security_token").deployment
    rpc = chain_settings.rpc_url
    assert contract_view(rpc, "SecurityToken", token.address, "hasRole", MINTER_ROLE, minter.address) is True
    assert contract_view(rpc, "SecurityToken", token.address, "hasRole", MINTER_ROLE, AGENT) is False
    assert contract_view(rpc, "ReserveGuardedMinter", minter.address, "backingRatio") == (10_00, 1)
    assert contract_view(rpc, "ReserveGuardedMinter", minter.address, "stalenessLimit") == 35 * 86_400

    # Asked again, nothing more is queued.
    rows = ChainTransaction.objects.count()
    reserve_guards_sync()
    reserve_guards_sync()
    assert ChainTransaction.objects.count() == rows

    public = Client().get(reverse("api_transparency", args=[offering.public_id])).json()
    assert public["minting_guarded_on_chain"] is True
    assert public["minting"].startswith(f"Only the reserve-guarded minter {minter.address} can mint.")
    page = Client().get(reverse("transparency_page", args=[offering.public_id])).content.decode()
    assert f"Only the reserve-guarded minter {minter.address} can mint." in page
    admin = Client()
    admin.force_login(cast.admin)
    page = admin.get(reverse("backing_overview", args=[cast.issuer.slug, offering.public_id])).content.decode()
    assert "a mint sent by any other key, the issuer&#x27;s own included, reverts" in page


def test_a_closing_mints_through_the_minter_and_the_agent_key_cannot_mint_around_it(
    cast, offering, chain_settings, django_capture_on_commit_callbacks
) -> None:
    swept_until_ready(offering)
    with django_capture_on_commit_callbacks(execute=False):  # $8,000.00 now: 800 units backed, 700 sold
        statement_approved(offering, cast.admin, second_admin(cast.issuer), 8_000_00)
    swept_until_ready(offering)  # the new statement reaches the feed
    minter = reserve_minter_of(offering.owner_ref)
    assert minter is not None
    offering = offering_close(offering=offering, actor=cast.admin)
    for _ in range(3):
        closing_advance(offering_id=offering.pk)
        drain()
    assert closing_advance(offering_id=offering.pk) == OfferingStatus.CLOSED
    batches = list(MintBatch.objects.filter(offering=offering).select_related("chain_transaction"))
    assert len(batches) == 2
    assert {(b.chain_transaction.to_address, b.chain_transaction.status) for b in batches} == {
        (minter.address, TxStatus.CONFIRMED)
    }
    token = ChainTransaction.objects.get(deployment__kind="security_token").deployment
    rpc = chain_settings.rpc_url
    assert (token_balance(rpc, token, WALLETS[0]), token_balance(rpc, token, WALLETS[1])) == (300, 400)

    # 100 more units are backed. The portal refuses 101 before signing.
    with pytest.raises(MintRefused) as refused:
        token_mint(owner_ref=offering.owner_ref, wallet=WALLETS[1], amount=101, idempotency_key="one-too-many")
    assert "Mint at most 100" in refused.value.message
    # The agent key, straight to the token: refused within the reserves and beyond them.
    for amount in (100, 101):
        assert contract_send_refused(rpc, AGENT, token.address, "SecurityToken", "mint", WALLETS[1], amount) == (
            "AccessControlUnauthorizedAccount"
        )
    # The agent key through the minter, beyond the reserves: refused by the minter's own check; within, minted.
    assert contract_send_refused(rpc, AGENT, minter.address, "ReserveGuardedMinter", "mint", WALLETS[1], 101) == (
        "ReserveExceeded"
    )
    assert contract_send_refused(rpc, AGENT, minter.address, "ReserveGuardedMinter", "mint", WALLETS[1], 100) == ""


def test_a_changed_rule_is_set_on_the_minter_once(cast, offering, chain_settings) -> None:
    swept_until_ready(offering)
    first_key = guard_rule_key(BackingRule.objects.get(offering=offering))
    rule_set(offering, cast.admin, per_token="12.50", staleness_days=10)
    key = guard_rule_key(BackingRule.objects.get(offering=offering))
    assert key != first_key
    swept_until_ready(offering)
    reserve_guards_sync()
    per_key = dict(
        ChainTransaction.objects.filter(idempotency_key__startswith=key)
        .values_list("idempotency_key")
        .annotate(n=Count("id"))
    )
    assert per_key == {f"{key}:ratio": 1, f"{key}:staleness": 1}
    minter = reserve_minter_of(offering.owner_ref)
    assert minter is not None
    rpc = chain_settings.rpc_url
    assert contract_view(rpc, "ReserveGuardedMinter", minter.address, "backingRatio") == (12_50, 1)
    assert contract_view(rpc, "ReserveGuardedMinter", minter.address, "stalenessLimit") == 10 * 86_400


def test_a_node_that_is_down_ends_the_sweep_and_the_next_one_goes_on(offering, chain_settings) -> None:
    reserve_guards_sync()
    drain()  # the feed is deployed; the minter's figures need the feed's decimal places, read from the node
    rows = ChainTransaction.objects.count()
    with override_settings(CHAIN_RPC_URL=f"http://127.0.0.1:{free_port()}"):
        assert reserve_guards_sync() == 0
    assert ChainTransaction.objects.count() == rows
    swept_until_ready(offering)
    assert reserve_minter_of(offering.owner_ref) is not None


def test_a_sender_granted_minting_while_it_was_in_the_pool_loses_it_even_once_it_has_left_the_pool(
    cast, offering, chain_settings, settings
) -> None:
    token = ChainTransaction.objects.get(deployment__kind="security_token").deployment
    rpc, pool = chain_settings.rpc_url, next(iter(settings.ANVIL_DEV_POOL))
    with override_settings(CHAIN_AGENT_POOL=[pool]):
        agent_pool_grant(deployment=token)
    drain()
    assert contract_view(rpc, "SecurityToken", token.address, "hasRole", MINTER_ROLE, pool) is True
    swept_until_ready(offering)  # the pool is configured without it now
    assert contract_view(rpc, "SecurityToken", token.address, "hasRole", MINTER_ROLE, pool) is False
    cache.clear()  # the roles are cached by the token's address, which an earlier test's token had too
    public = Client().get(reverse("api_transparency", args=[offering.public_id])).json()
    assert public["minting_guarded_on_chain"] is True

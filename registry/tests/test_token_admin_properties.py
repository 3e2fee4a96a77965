"""Invariants of token administration: a freeze or unfreeze is accepted exactly when the ledger has that many
free (or frozen) units in the wallet, and an action's progress is always a run of done steps, then at most one
current step, then steps to come."""

from __future__ import annotations

import itertools
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import ApplicationError
from registry.models import LedgerPosting, TokenAdminAction, TokenAdminKind, TokenAdminState
from registry.selectors.ledger import restrictions, wallet_balances
from registry.selectors.token_admin import token_admin_progress
from registry.services.ledger import ZERO, ledger_sync
from registry.services.token_admin import token_admin_freeze_amount
from tokens.models import ChainEvent, ChainTransaction, ContractDeployment, ContractKind, TxStatus

pytestmark = [pytest.mark.chain, pytest.mark.django_db]

WALLET = "0x00000000000000000000000000000000000000B1"  # checksummed, as the indexer records it
_block_hashes = itertools.count(10_000)


@pytest.fixture
def offering(cast, registry):
    from offerings.tests.support import offering_open

    offering = offering_open(cast.issuer, cast.admin)
    ContractDeployment.objects.filter(kind=ContractKind.SECURITY_TOKEN, owner_ref=offering.owner_ref).update(
        address="0x00000000000000000000000000000000000000aa"
    )
    return offering


def _events(offering, minted: list[int], frozen: list[int]) -> tuple[int, int]:
    """Mint each amount to the wallet, then freeze each part (clipped to what is still free); post them."""
    token = ContractDeployment.objects.get(kind=ContractKind.SECURITY_TOKEN, owner_ref=offering.owner_ref)
    block_hash = f"0x{next(_block_hashes):064x}"
    rows, held, locked = [], 0, 0
    for amount in minted:
        held += amount
        rows.append(("Transfer", {"from": ZERO, "to": WALLET, "value": str(amount)}))
    for part in frozen:
        part = min(part, held - locked)
        if part:
            locked += part
            rows.append(("TokensFrozen", {"userAddress": WALLET, "amount": str(part)}))
    ChainEvent.objects.bulk_create(
        ChainEvent(
            chain_id=31337,
            contract_address=token.address,
            block_number=0,
            block_hash=block_hash,
            transaction_hash=f"0x{next(_block_hashes):064x}",
            log_index=i,
            name=name,
            args=args,
        )
        for i, (name, args) in enumerate(rows)
    )
    ledger_sync(offering=offering)
    return held, locked


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    minted=st.lists(st.integers(min_value=1, max_value=500), min_size=1, max_size=3),
    frozen=st.lists(st.integers(min_value=0, max_value=600), max_size=3),
    quantity=st.integers(min_value=-3, max_value=2_000),
    freeze=st.booleans(),
)
def test_a_freeze_is_accepted_exactly_when_the_ledger_has_that_many_units_free_or_frozen(
    chain_settings, offering, cast, minted, frozen, quantity, freeze
) -> None:
    TokenAdminAction.objects.all().delete()
    ChainTransaction.objects.filter(idempotency_key__startswith="token-admin:").delete()
    LedgerPosting.objects.filter(offering=offering).delete()
    ChainEvent.objects.all().delete()
    held, locked = _events(offering, minted, frozen)
    assert wallet_balances(offering=offering) == {WALLET: held}
    assert restrictions(offering=offering).frozen_amounts == ({WALLET: locked} if locked else {})

    limit = held - locked if freeze else locked
    refusal = ""
    try:
        action = token_admin_freeze_amount(
            offering=offering,
            wallet=WALLET,
            quantity=quantity,
            frozen=freeze,
            reason="Pledge",
            actor=cast.admin,
            idempotency_key=str(uuid.uuid4()),
        )
    except ApplicationError as exc:
        accepted, refusal = False, exc.message
    else:
        accepted = True
        assert action.quantity == quantity and action.chain_transaction is not None
    assert accepted == (1 <= quantity <= limit), refusal
    assert TokenAdminAction.objects.count() == int(accepted)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    kind=st.sampled_from(TokenAdminKind.values),
    state=st.sampled_from(TokenAdminState.values),
    tx_status=st.none() | st.sampled_from(TxStatus.values),
    hashed=st.booleans(),
)
def test_progress_is_done_steps_then_one_current_step_then_steps_to_come(cast, kind, state, tx_status, hashed) -> None:
    tx = None
    if tx_status is not None:
        tx = ChainTransaction(
            idempotency_key="unsaved",
            purpose="p",
            chain_id=31337,
            sender=ZERO,
            data=b"",
            status=tx_status,
            tx_hash=f"0x{1:064x}" if hashed else None,
        )
    action = TokenAdminAction(kind=kind, state=state, proposed_by=cast.admin, chain_transaction=tx, reason="r")
    progress = token_admin_progress(action=action)
    flags = [(s.done, s.current) for s in progress.steps]
    assert len(flags) == 5 and sum(current for _, current in flags) <= 1
    done = [d for d, _ in flags]
    assert done == sorted(done, reverse=True)  # every done step comes before every step not done
    current = [i for i, (_, c) in enumerate(flags) if c]
    if progress.state == TokenAdminState.POSTED:
        assert all(done) and not current
    else:
        assert current == [done.index(False)]
    assert progress.finished == (progress.state in ("posted", "failed", "rejected"))
    if progress.state in ("failed", "rejected"):
        assert progress.failure and progress.next_step  # why, and what to do next
    else:
        assert progress.failure is None


def _minted_to(offering, wallets: list[str]) -> None:
    token = ContractDeployment.objects.get(kind=ContractKind.SECURITY_TOKEN, owner_ref=offering.owner_ref)
    block_hash = f"0x{next(_block_hashes):064x}"
    ChainEvent.objects.bulk_create(
        ChainEvent(
            chain_id=31337,
            contract_address=token.address,
            block_number=0,
            block_hash=block_hash,
            transaction_hash=f"0x{next(_block_hashes):064x}",
            log_index=i,
            name="Transfer",
            args={"from": ZERO, "to": wallet, "value": "10"},
        )
        for i, wallet in enumerate(wallets)
    )
    ledger_sync(offering=offering)


def test_the_token_administration_page_makes_as_many_queries_for_sixty_holders_as_for_two(
    chain_settings, offering, cast
) -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(cast.admin)
    url = f"/issuers/{cast.issuer.slug}/offerings/{offering.public_id}/token/"

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    _minted_to(offering, [f"0x{n:040X}" for n in range(1, 3)])
    few = queries()
    _minted_to(offering, [f"0x{n:040X}" for n in range(3, 61)])
    assert queries() == few

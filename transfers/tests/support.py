"""Transfers on a real anvil: closings of different exemptions, the token's restrictions set through the portal's
own token administration (or, for the investor caps, the token admin's configuration through the outbox), and
the register read again after each."""

from __future__ import annotations

import uuid

from core.models import User
from investors.models import InvestorProfile
from investors.services.verification import investor_registry_refresh
from investors.tests.support import verified_investor
from registry.services.ledger import ledger_sync
from registry.services.token_admin import (
    token_admin_actions_advance,
    token_admin_freeze_amount,
    token_admin_freeze_wallet,
    token_admin_set_paused,
)
from registry.tests.conftest import Closed
from tokens import services as chain
from tokens.tests.support import chain_indexed, drain, token_configure

TRACKED = chain.RULE_MAX_INVESTORS | chain.RULE_MAX_NON_ACCREDITED | chain.RULE_MAX_BALANCE
BASE_RULES = chain.RULE_VERIFIED | chain.RULE_COUNTRY | chain.RULE_FLAGS | chain.RULE_LOCKUP


def indexed(closed: Closed) -> None:
    """Send what the outbox holds, read the chain's events and post them to the register (token administration
    actions then show as done, as the beat after the ledger's sync records them)."""
    drain()
    chain_indexed(closed.rpc_url)
    ledger_sync(offering=closed.offering)
    token_admin_actions_advance()


def frozen_wallet(closed: Closed, actor: User, wallet: str) -> None:
    token_admin_freeze_wallet(
        offering=closed.offering,
        wallet=wallet,
        frozen=True,
        reason="Court order 2026-114",
        actor=actor,
        idempotency_key=str(uuid.uuid4()),
    )
    indexed(closed)


def frozen_amount(closed: Closed, actor: User, wallet: str, quantity: int) -> None:
    token_admin_freeze_amount(
        offering=closed.offering,
        wallet=wallet,
        quantity=quantity,
        frozen=True,
        reason="Pledged as collateral",
        actor=actor,
        idempotency_key=str(uuid.uuid4()),
    )
    indexed(closed)


def paused(closed: Closed, actor: User) -> None:
    token_admin_set_paused(
        offering=closed.offering, paused=True, reason="Corporate action", actor=actor, idempotency_key=str(uuid.uuid4())
    )
    indexed(closed)


def registered(wallet: str, *, country: str = "US", accreditation: str | None = "verified") -> InvestorProfile:
    """A verified investor whose wallet the on-chain registry holds (sent through the pipeline)."""
    investor = verified_investor(country=country, accreditation=accreditation, wallet=wallet, register=False)
    investor_registry_refresh(investor=investor, actor=None)
    drain()
    return investor


def caps_tracked(offering: object) -> None:
    """Investor tracking and the three caps on, generous, while the supply is still zero (the token requires it)."""
    owner_ref = offering.owner_ref  # type: ignore[attr-defined]
    token_configure(owner_ref, "setLimits", 100, 100, 10**9)
    token_configure(owner_ref, "setRules", BASE_RULES | TRACKED)


def caps_set(
    closed: Closed, *, max_investors: int = 100, max_non_accredited: int = 100, max_balance: int = 10**9
) -> None:
    token_configure(closed.offering.owner_ref, "setLimits", max_investors, max_non_accredited, max_balance)
    drain()

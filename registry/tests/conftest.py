"""Registry tests on a real anvil: an offering closed through the portal, with its token's events indexed."""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from compliance.exemptions import Exemption
from core.approvals import approval_approve
from core.tests.files import pdf_bytes
from investors.models import InvestorProfile, Wallet, WalletKind
from investors.services.verification import investor_registry_refresh
from investors.tests.support import verified_investor
from offerings.models import Offering, SubscriptionStatus
from offerings.services.closing import closing_advance, offering_close
from offerings.services.offerings import offering_publish
from offerings.tests.support import offering_draft, subscribed, wire_received
from registry.selectors.ledger import ledger_block
from registry.services.control_book import authorization_propose
from registry.services.reconciliation import reconcile
from registry.tests.support import second_admin
from tokens.models import ContractDeployment
from tokens.services import portal_registry_ensure
from tokens.tests.support import WALLETS, Chain, chain_indexed, contract_send, drain


@pytest.fixture
def difference_thresholds(db: None) -> None:
    """The 17Ad-11 thresholds the platform ships with, seeded by a data migration: a transactional test run
    before this one on the same worker empties every table, so they are seeded again (as the migration does)."""
    from django.apps import apps

    migration = importlib.import_module("registry.migrations.0007_control_book_approvals_and_17ad11")
    migration.seed_thresholds(apps, None)


@dataclass
class Closed:
    offering: Offering
    token: ContractDeployment
    alice: InvestorProfile  # wallets 0 (subscribed with) and 1
    bob: InvestorProfile  # wallet 2
    carol: InvestorProfile  # wallets 3 and 4
    rpc_url: str


def _investor(*wallets: str) -> InvestorProfile:
    investor = verified_investor(accreditation="verified", wallet=wallets[0], register=False)
    for extra in wallets[1:]:
        Wallet.objects.create(investor=investor, address=extra, kind=WalletKind.SIGNED, linked_by=investor.user)
    investor_registry_refresh(investor=investor, actor=None)
    return investor


@pytest.fixture
def closed(cast, chain_settings) -> Closed:
    """Alice paid for 200 units and Bob for 300; the issuer closed and the mints are confirmed.

    Reg A+ Tier 2 units are not restricted (no lock-up), so holders can move them at once."""
    return offering_closed(cast, chain_settings.rpc_url, exemption=Exemption.REG_A_TIER2)


def offering_closed(
    cast,
    rpc_url: str,
    *,
    exemption: str,
    after_publish: Callable[[Offering], object] | None = None,
    before_close: Callable[[Offering], object] | None = None,
    **overrides: Any,
) -> Closed:
    """`after_publish` runs once the token is deployed and before anything is minted (a rule that needs an empty
    supply), `before_close` once the subscriptions are paid (the clock reaching a deadline); `overrides` are the
    offering's terms."""
    portal_registry_ensure()
    drain()
    alice, bob, carol = _investor(WALLETS[0], WALLETS[1]), _investor(WALLETS[2]), _investor(WALLETS[3], WALLETS[4])
    draft = offering_draft(cast.issuer, cast.admin, exemption=exemption, **overrides)
    offering = offering_publish(offering=draft, actor=cast.admin)
    drain()
    if after_publish is not None:
        after_publish(offering)
        drain()
    for investor, amount in ((alice, 2_000_00), (bob, 3_000_00)):
        s = subscribed(offering, investor, amount)
        wire_received(cast.issuer, cast.compliance, s, amount)
        s.refresh_from_db()
        assert s.status == SubscriptionStatus.PAID
    if before_close is not None:
        before_close(offering)
    offering_close(offering=offering, actor=cast.admin)
    closing_advance(offering_id=offering.pk)
    drain()
    closing_advance(offering_id=offering.pk)
    token = ContractDeployment.objects.get(owner_ref=offering.owner_ref)
    return Closed(offering=offering, token=token, alice=alice, bob=bob, carol=carol, rpc_url=rpc_url)


RESOLUTION = pdf_bytes("Board resolution: 1,000 Class A units authorized")


@dataclass
class Register:
    closed: Closed
    before_transfer: int  # the last block before Alice sold to Carol
    sale: str  # Alice → Carol, outside the portal
    planted: str  # a mint with the agent key outside the portal: a record difference


def _send(closed: Closed, sender: str, function: str, *args: object) -> str:
    receipt = contract_send(closed.rpc_url, sender, closed.token.address, "SecurityToken", function, *args)
    assert receipt["status"] == 1
    return "0x" + bytes(receipt["transactionHash"]).hex()


@pytest.fixture
def register(cast, closed: Closed) -> Register:
    """Alice 200, Bob 300 minted at the closing and 1,000 authorized; then Alice sold 80 to Carol and 40
    were minted to Bob with the agent key outside the portal; indexed and reconciled."""
    outcome = authorization_propose(
        offering=closed.offering,
        authorized_quantity=1_000,
        description="Board resolution: Class A units",
        document=SimpleUploadedFile("resolution.pdf", RESOLUTION, "application/pdf"),
        authorized_on=dt.date(2026, 11, 2),
        actor=cast.admin,
    )
    assert outcome.request is not None  # raising the authorized quantity waits for a second admin
    approval_approve(request=outcome.request, actor=second_admin(cast.issuer))
    chain_indexed(closed.rpc_url)
    reconcile(offering=closed.offering)
    before = ledger_block(offering=closed.offering)
    assert before is not None
    Chain(rpc_url=closed.rpc_url).rpc("evm_increaseTime", [3600])  # the sale an hour after the closing
    Chain(rpc_url=closed.rpc_url).rpc("evm_mine", [])
    sale = _send(closed, WALLETS[0], "transfer", WALLETS[3], 80)
    planted = _send(closed, settings.ANVIL_DEV_ADDRESS, "mint", WALLETS[2], 40)
    chain_indexed(closed.rpc_url)
    reconcile(offering=closed.offering)
    return Register(closed=closed, before_transfer=before, sale=sale, planted=planted)

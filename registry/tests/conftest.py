"""Registry tests on a real anvil: an offering closed through the portal, with its token's events indexed."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from compliance.exemptions import Exemption
from investors.models import InvestorProfile, Wallet, WalletKind
from investors.services.verification import investor_registry_refresh
from investors.tests.support import verified_investor
from offerings.models import Offering, SubscriptionStatus
from offerings.services.closing import closing_advance, offering_close
from offerings.services.offerings import offering_publish
from offerings.tests.support import offering_draft, subscribed, wire_received
from tokens.models import ContractDeployment
from tokens.services import portal_registry_ensure
from tokens.tests.support import WALLETS, drain


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


def offering_closed(cast, rpc_url: str, *, exemption: str) -> Closed:
    portal_registry_ensure()
    drain()
    alice, bob, carol = _investor(WALLETS[0], WALLETS[1]), _investor(WALLETS[2]), _investor(WALLETS[3], WALLETS[4])
    draft = offering_draft(cast.issuer, cast.admin, exemption=exemption)
    offering = offering_publish(offering=draft, actor=cast.admin)
    drain()
    for investor, amount in ((alice, 2_000_00), (bob, 3_000_00)):
        s = subscribed(offering, investor, amount)
        wire_received(cast.issuer, cast.compliance, s, amount)
        s.refresh_from_db()
        assert s.status == SubscriptionStatus.PAID
    offering_close(offering=offering, actor=cast.admin)
    closing_advance(offering_id=offering.pk)
    drain()
    closing_advance(offering_id=offering.pk)
    token = ContractDeployment.objects.get(owner_ref=offering.owner_ref)
    return Closed(offering=offering, token=token, alice=alice, bob=bob, carol=carol, rpc_url=rpc_url)

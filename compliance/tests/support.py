"""Investors through compliance in tests: submitted for review, and approved (registered on-chain)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from compliance.services.kyc import kyc_approve
from compliance.services.onboarding import onboarding_submit
from compliance.services.sanctions import active_list, sanctions_files_fetch, sanctions_list_load
from core.tests.support import Cast
from investors.models import InvestorProfile
from investors.services.wallets import wallet_challenge_issue, wallet_link_by_signature
from investors.tests.support import Person, onboarded_individual
from tokens.tests.support import account_new, personal_sign

OFAC_FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "ofac"


def sanctions_fixture_loaded() -> None:
    """The OFAC fixture list is the active sanctions list (loaded once per test database)."""
    if active_list() is None:
        files = sanctions_files_fetch(source=str(OFAC_FIXTURE))
        sanctions_list_load(files=files, source=str(OFAC_FIXTURE), actor=None, rescreen_after_commit=False)


def wallet_linked(investor: InvestorProfile) -> str:
    """Link a fresh wallet by signing its Sign-In with Ethereum challenge; returns its address."""
    address, key = account_new()
    challenge = wallet_challenge_issue(
        investor=investor,
        actor=investor.user,
        address=address,
        chain_id=31337,
        domain="localhost",
        uri="http://localhost/",
    )
    wallet_link_by_signature(
        investor=investor,
        actor=investor.user,
        message=challenge.message,
        signature=personal_sign(challenge.message, key),
    )
    return address


def submitted_investor(cast: Cast, name: str = "Walter Kessler", **person: Any) -> InvestorProfile:
    """An onboarded individual with a linked wallet who submitted to `cast.issuer` for review."""
    sanctions_fixture_loaded()
    investor = onboarded_individual(person=Person(name=name, **person))
    wallet_linked(investor)
    return onboarding_submit(investor=investor, actor=investor.user, issuers=[cast.issuer])


def approved_investor(cast: Cast, name: str = "Walter Kessler") -> InvestorProfile:
    investor = submitted_investor(cast, name)
    kyc_approve(investor=investor, actor=cast.platform_compliance)
    investor.refresh_from_db()
    return investor

"""For every restriction code the token knows, the portal's reasons and the token's own answer agree.

Each case builds on a real anvil the state that makes the token refuse (or allow) a transfer for one reason,
through the portal's own services where it has one (token administration, the registry pipeline), then asks
both sides: the token answers that code, and the first of the portal's reasons in the token's order of checks
names the same code, with a sentence an investor reads. The list of codes is read from the token itself, so a
code the contract gains without a case here fails the last test.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.utils import timezone

from compliance.eligibility import ReasonCode
from compliance.exemptions import Exemption
from core.tests.support import Cast
from investors.models import InvestorProfile
from investors.services.verification import investor_registry_refresh
from registry.tests.conftest import Closed, offering_closed
from tokens.selectors import token_restriction_messages
from tokens.tests.support import WALLETS, account_new, drain
from transfers.eligibility import MINT_ONLY, Restriction, TransferCheck, transfer_eligibility
from transfers.tests.support import (
    caps_set,
    caps_tracked,
    frozen_amount,
    frozen_wallet,
    indexed,
    paused,
    registered,
)

pytestmark = [pytest.mark.chain, pytest.mark.django_db]

ALICE, ALICE_2, BOB, CAROL = WALLETS[0], WALLETS[1], WALLETS[2], WALLETS[3]


@dataclass(frozen=True)
class Case:
    """What a case leaves: the register and the transfer to ask about, and the portal reason it expects."""

    closed: Closed
    source: str
    target: str
    quantity: int
    reason: str | None  # the first portal reason's code (None: nothing in the way)


def _closed(cast: Cast, rpc_url: str, exemption: str = Exemption.REG_A_TIER2, **kwargs: object) -> Closed:
    closed = offering_closed(cast, rpc_url, exemption=exemption, **kwargs)  # type: ignore[arg-type]
    indexed(closed)
    return closed


def _success(cast: Cast, rpc: str) -> Case:
    return Case(_closed(cast, rpc), ALICE, BOB, 50, None)


def _paused(cast: Cast, rpc: str) -> Case:
    closed = _closed(cast, rpc)
    paused(closed, cast.admin)
    return Case(closed, ALICE, BOB, 50, ReasonCode.TOKEN_PAUSED)


def _sender_not_verified(cast: Cast, rpc: str) -> Case:
    closed = _closed(cast, rpc)
    InvestorProfile.objects.filter(pk=closed.alice.pk).update(kyc_expires_at=timezone.now() - dt.timedelta(days=1))
    investor_registry_refresh(investor=closed.alice, actor=None)  # the registry removes her
    drain()
    return Case(closed, ALICE, BOB, 50, ReasonCode.KYC_EXPIRED)


def _receiver_not_verified(cast: Cast, rpc: str) -> Case:
    stranger, _ = account_new()
    return Case(_closed(cast, rpc), ALICE, stranger, 50, ReasonCode.RECEIVER_UNKNOWN)


def _country_not_allowed(cast: Cast, rpc: str) -> Case:
    closed = _closed(cast, rpc, blocked_countries=("DE",))
    registered(WALLETS[5], country="DE")
    return Case(closed, ALICE, WALLETS[5], 50, ReasonCode.COUNTRY_BLOCKED)


def _flags_not_allowed(cast: Cast, rpc: str) -> Case:
    # 506(c): the token requires the registry's accredited flag; the receiver's status is not verified.
    closed = _closed(cast, rpc, exemption=Exemption.REG_D_506C)
    registered(WALLETS[5], accreditation="self_certified")
    return Case(closed, ALICE, WALLETS[5], 50, ReasonCode.ACCREDITATION_NOT_VERIFIED)


def _sender_frozen(cast: Cast, rpc: str) -> Case:
    closed = _closed(cast, rpc)
    frozen_wallet(closed, cast.admin, ALICE)
    return Case(closed, ALICE, BOB, 50, ReasonCode.SENDER_FROZEN)


def _receiver_frozen(cast: Cast, rpc: str) -> Case:
    closed = _closed(cast, rpc)
    frozen_wallet(closed, cast.admin, BOB)
    return Case(closed, ALICE, BOB, 50, ReasonCode.RECEIVER_FROZEN)


def _insufficient_balance(cast: Cast, rpc: str) -> Case:
    return Case(_closed(cast, rpc), ALICE, BOB, 201, ReasonCode.INSUFFICIENT_BALANCE)


def _amount_frozen(cast: Cast, rpc: str) -> Case:
    closed = _closed(cast, rpc)
    frozen_amount(closed, cast.admin, ALICE, 150)
    return Case(closed, ALICE, BOB, 100, ReasonCode.AMOUNT_FROZEN)


def _tokens_locked(cast: Cast, rpc: str) -> Case:
    # 506(b): Rule 144 one year, enforced on-chain as the lock-up of every minted unit.
    return Case(_closed(cast, rpc, exemption=Exemption.REG_D_506B), ALICE, BOB, 50, ReasonCode.TOKENS_LOCKED)


def _max_investors(cast: Cast, rpc: str) -> Case:
    closed = _closed(cast, rpc, after_publish=caps_tracked)
    caps_set(closed, max_investors=2)  # Alice and Bob hold; Carol would be a third
    return Case(closed, ALICE, CAROL, 50, ReasonCode.MAX_INVESTORS)


def _max_non_accredited(cast: Cast, rpc: str) -> Case:
    closed = _closed(cast, rpc, after_publish=caps_tracked)
    registered(WALLETS[5], accreditation=None)
    caps_set(closed, max_non_accredited=0)  # Alice and Bob are accredited; the receiver is not
    return Case(closed, ALICE, WALLETS[5], 50, ReasonCode.NON_ACCREDITED_PLACES_FULL)


def _max_balance(cast: Cast, rpc: str) -> Case:
    closed = _closed(cast, rpc, after_publish=caps_tracked)
    caps_set(closed, max_balance=350)  # Bob holds 300
    return Case(closed, ALICE, BOB, 100, ReasonCode.MAX_BALANCE)


CASES: dict[int, Callable[[Cast, str], Case]] = {
    Restriction.SUCCESS: _success,
    Restriction.PAUSED: _paused,
    Restriction.SENDER_NOT_VERIFIED: _sender_not_verified,
    Restriction.RECEIVER_NOT_VERIFIED: _receiver_not_verified,
    Restriction.COUNTRY_NOT_ALLOWED: _country_not_allowed,
    Restriction.FLAGS_NOT_ALLOWED: _flags_not_allowed,
    Restriction.SENDER_FROZEN: _sender_frozen,
    Restriction.RECEIVER_FROZEN: _receiver_frozen,
    Restriction.INSUFFICIENT_BALANCE: _insufficient_balance,
    Restriction.AMOUNT_FROZEN: _amount_frozen,
    Restriction.TOKENS_LOCKED: _tokens_locked,
    Restriction.MAX_INVESTORS: _max_investors,
    Restriction.MAX_NON_ACCREDITED: _max_non_accredited,
    Restriction.MAX_BALANCE: _max_balance,
}


def _asked(case: Case) -> TransferCheck:
    return transfer_eligibility(
        offering=case.closed.offering, from_wallet=case.source, to_wallet=case.target, quantity=case.quantity
    )


@pytest.mark.parametrize("code", sorted(CASES), ids=lambda c: f"code-{c}")
def test_the_portals_reason_and_the_tokens_answer_agree(code: int, cast: Cast, chain_settings) -> None:
    case = CASES[code](cast, chain_settings.rpc_url)
    check = _asked(case)

    assert check.token is not None, check.token_unread
    assert check.token.code == code, (check.token, [r.as_dict() for r in check.reasons])
    assert check.portal_restriction == code, [r.as_dict() for r in check.reasons]
    assert check.agree
    if case.reason is None:
        assert check.allowed and not check.reasons
        assert check.token.message == "No restriction"
    else:
        assert not check.allowed
        first = next(r for r in check.reasons if r.restriction is not None)
        assert first.code == case.reason and first.restriction == code
        assert first.message and "{" not in first.message  # a sentence, not a template
        assert check.token.message != "Unknown restriction code"


def test_the_cases_cover_every_transfer_restriction_the_token_knows(closed: Closed) -> None:
    known = token_restriction_messages(address=closed.token.address)
    assert set(known) - MINT_ONLY == set(CASES)
    assert known[Restriction.SUPPLY_LIMIT].startswith("Amount would exceed")  # a mint's, never a transfer's


def test_a_rule_only_the_portal_applies_refuses_what_the_token_would_let_through(closed: Closed, cast: Cast) -> None:
    check = transfer_eligibility(offering=closed.offering, from_wallet=ALICE, to_wallet=ALICE, quantity=10)
    assert check.token is not None and check.token.code == Restriction.SUCCESS
    assert [r.code for r in check.reasons] == [ReasonCode.SAME_WALLET]
    assert check.agree and not check.allowed  # agree on the token's rules; the portal's own one still says no


def test_between_an_investors_own_wallets_both_sides_let_it_go(closed: Closed) -> None:
    check = transfer_eligibility(offering=closed.offering, from_wallet=ALICE, to_wallet=ALICE_2, quantity=200)
    assert check.allowed and check.receiver == check.sender == closed.alice

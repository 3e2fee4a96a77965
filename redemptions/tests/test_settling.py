"""A dealing day from its cut-off to its settlement on a real anvil: priced at the NAV, the gate applied, approved
by a second admin (never the proposer), each line burned and paid once; the control book, the ledger and the
transfer agent's journal follow."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from core.approvals import approval_approve
from core.errors import ApplicationError, NotPermitted
from distributions.tests.support import second_admin
from redemptions.models import DealingDay, DealingState, RedemptionRequest, RequestState
from redemptions.services.approval import dealing_day_propose
from redemptions.services.dealing import dealing_day_nav_enter, dealing_day_price
from redemptions.services.settling import dealing_day_settle
from redemptions.tests.support import requested, settled_on_chain, terms_set
from registry.models import ControlBookEntry, ControlEntryKind, LedgerPosting, PostingKind, RecordDifference
from registry.selectors.ledger import ledger_total, wallet_balances
from registry.services.reconciliation import reconcile
from registry.tests.conftest import Closed
from tokens.models import ChainEvent
from tokens.tests.support import WALLETS, coin_balance, contract_view, payout_ready, token_balance

pytestmark = [pytest.mark.chain]
UNITS_PER_CENT = 10_000
NAV = "1.02345678"
# 150 × 1.02345678 = 153.518517 → 153.51 gross, 25 bps = 0.383775 → 0.38; 100 units → 102.34, fee 0.255850 → 0.26.
ALICE = (153_51, 38, 153_13)
BOB = (102_34, 26, 102_08)


def _cut_off(request: RedemptionRequest) -> DealingDay:
    DealingDay.objects.filter(pk=request.dealing_day_id).update(cutoff_at=timezone.now() - dt.timedelta(seconds=1))
    return DealingDay.objects.get(pk=request.dealing_day_id)


def _until_settled(closed: Closed, day: DealingDay, rounds: int = 12) -> DealingDay:
    for _ in range(rounds):
        dealing_day_settle(day_id=day.pk)
        settled_on_chain(closed)
        day.refresh_from_db()
        if day.state == DealingState.SETTLED:
            return day
    raise AssertionError(f"not settled: {day.state}, {day.payment_failure}")


def _priced(closed: Closed, cast, **terms: object) -> tuple[DealingDay, RedemptionRequest, RedemptionRequest]:
    payout_ready(treasury_units=1_000_00 * UNITS_PER_CENT)
    terms_set(closed.offering, cast.admin, **terms)
    alice = requested(closed.offering, closed.alice, WALLETS[0], 150)
    bob = requested(closed.offering, closed.bob, WALLETS[2], 100)
    settled_on_chain(closed)
    day = dealing_day_price(day_id=_cut_off(alice).pk)
    assert day.state == DealingState.CUT_OFF  # no NAV yet: it waits
    dealing_day_nav_enter(day=day, actor=cast.admin, nav=NAV, source="Harbor Fund Administration NAV statement")
    day = dealing_day_price(day_id=day.pk)
    alice.refresh_from_db()
    bob.refresh_from_db()
    return day, alice, bob


@pytest.mark.django_db
def test_a_dealing_day_is_priced_approved_by_a_second_admin_burned_and_paid_once(closed: Closed, cast) -> None:
    day, alice, bob = _priced(closed, cast)
    assert day.state == DealingState.PRICED and not day.gated
    assert (alice.line_index, bob.line_index) == (0, 1)
    assert (alice.gross_minor, alice.fee_minor, alice.net_minor) == ALICE
    assert (bob.gross_minor, bob.fee_minor, bob.net_minor) == BOB
    assert (day.total_gross_minor, day.total_fee_minor, day.total_net_minor) == (255_85, 64, 255_21)

    outcome = dealing_day_propose(day=day, actor=cast.admin)
    assert outcome.request is not None
    with pytest.raises(NotPermitted):
        approval_approve(request=outcome.request, actor=cast.admin)  # the proposer never approves
    approval_approve(request=outcome.request, actor=second_admin(cast.issuer))
    day.refresh_from_db()
    assert day.state == DealingState.SETTLING and day.approved_by_id != day.proposed_by_id

    day = _until_settled(closed, day)
    assert token_balance(closed.rpc_url, closed.token, WALLETS[0]) == 50
    assert token_balance(closed.rpc_url, closed.token, WALLETS[2]) == 200
    assert int(contract_view(closed.rpc_url, "SecurityToken", closed.token.address, "totalSupply")) == 250
    for wallet in (WALLETS[0], WALLETS[2]):
        assert int(contract_view(closed.rpc_url, "SecurityToken", closed.token.address, "getFrozenTokens", wallet)) == 0
    assert coin_balance(closed.rpc_url, WALLETS[0]) == ALICE[2] * UNITS_PER_CENT
    assert coin_balance(closed.rpc_url, WALLETS[2]) == BOB[2] * UNITS_PER_CENT
    assert ChainEvent.objects.filter(name="LineRedeemed").count() == 2
    assert ChainEvent.objects.filter(name="LinePaid").count() == 2
    for request in RedemptionRequest.objects.all():
        assert request.state == RequestState.PAID and request.burn_reference and request.payment_reference

    # The register follows: the control book cancels what was burned, and nothing differs.
    assert ledger_total(offering=closed.offering) == 250
    assert wallet_balances(offering=closed.offering) == {WALLETS[0]: 50, WALLETS[2]: 200}
    cancelled = ControlBookEntry.objects.filter(offering=closed.offering, kind=ControlEntryKind.CANCEL)
    assert sum(e.quantity for e in cancelled) == 250
    reconcile(offering=closed.offering)
    assert not RecordDifference.objects.filter(offering=closed.offering, resolved_at__isnull=True).exists()
    burns = LedgerPosting.objects.filter(offering=closed.offering, kind=PostingKind.BURN)
    assert {p.reason for p in burns} == {
        f"Redeemed and cancelled at the dealing day of {day.dealing_date:%Y-%m-%d}, NAV {NAV} USD a unit"
    }


@pytest.mark.django_db
def test_over_the_gate_each_request_is_scaled_pro_rata_and_the_rest_unfrozen_at_once(closed: Closed, cast) -> None:
    # 20% of the 500 units may go: 100 of the 250 asked, so 60 of Alice's 150 and 40 of Bob's 100.
    day, alice, bob = _priced(closed, cast, gate_bps=2_000)
    assert day.gated and day.gate_units == 100 and day.accepted_units == 100
    assert (alice.accepted_units, alice.gated_units, bob.accepted_units, bob.gated_units) == (60, 90, 40, 60)
    settled_on_chain(closed)
    assert (
        int(contract_view(closed.rpc_url, "SecurityToken", closed.token.address, "getFrozenTokens", WALLETS[0])) == 60
    )
    assert (
        int(contract_view(closed.rpc_url, "SecurityToken", closed.token.address, "getFrozenTokens", WALLETS[2])) == 40
    )
    outcome = dealing_day_propose(day=day, actor=cast.admin)
    assert outcome.request is not None
    approval_approve(request=outcome.request, actor=second_admin(cast.issuer))
    _until_settled(closed, day)
    assert token_balance(closed.rpc_url, closed.token, WALLETS[0]) == 140
    assert token_balance(closed.rpc_url, closed.token, WALLETS[2]) == 260
    released = LedgerPosting.objects.filter(offering=closed.offering, kind=PostingKind.PARTIAL_UNFREEZE)
    assert any("over the gate" in p.reason for p in released)


@pytest.mark.django_db
def test_a_short_treasury_is_refused_when_proposing_and_nothing_is_asked(closed: Closed, cast) -> None:
    payout_ready(treasury_units=0)
    terms_set(closed.offering, cast.admin)
    alice = requested(closed.offering, closed.alice, WALLETS[0], 150)
    settled_on_chain(closed)
    day = _cut_off(alice)
    dealing_day_nav_enter(day=day, actor=cast.admin, nav=NAV, source="NAV statement")
    day = dealing_day_price(day_id=day.pk)
    with pytest.raises(ApplicationError, match=r"short of the 153\.13 USD to pay"):
        dealing_day_propose(day=day, actor=cast.admin)
    day.refresh_from_db()
    assert day.state == DealingState.PRICED and day.approval_request is None


@pytest.mark.django_db
def test_a_day_without_requests_left_is_closed_empty(closed: Closed, cast) -> None:
    from redemptions.services.requesting import redemption_cancel

    terms_set(closed.offering, cast.admin)
    alice = requested(closed.offering, closed.alice, WALLETS[0], 10)
    settled_on_chain(closed)
    redemption_cancel(request=alice, actor=closed.alice.user)
    day = dealing_day_price(day_id=_cut_off(alice).pk)
    assert day.state == DealingState.CUT_OFF  # the unfreeze is still on its way
    settled_on_chain(closed)
    assert dealing_day_price(day_id=day.pk).state == DealingState.EMPTY

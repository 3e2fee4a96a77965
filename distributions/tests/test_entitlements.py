"""Entitlements on a real anvil: the balances at the record date, not after it, cross-checked against the
token's checkpoint; a planted difference between ledger and chain stops the distribution, also one between
two wallets that leaves the totals equal; on-chain
payment needs a treasury holding the net total; the declarer never approves."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import F
from django.utils import timezone

from core.approvals import approval_approve
from core.errors import ApplicationError, NotPermitted
from core.models import AuditEvent
from distributions.models import Distribution, DistributionLine, DistributionState, WithholdingReason
from distributions.services.approval import distribution_propose
from distributions.services.declaring import distribution_declare
from distributions.services.register import distribution_register_compute
from distributions.tests.support import declaration, second_admin, w9
from registry.models import DifferenceKind, LotMovement, RecordDifference
from registry.services.reconciliation import reconcile
from registry.tests.conftest import Closed
from tokens.selectors import chain_head_time, stablecoin_receiving_address, token_balances_at
from tokens.tests.support import (
    WALLETS,
    Chain,
    chain_indexed,
    contract_send,
    drain,
    stablecoin_deploy,
    stablecoin_faucet,
)

pytestmark = [pytest.mark.chain, pytest.mark.django_db]


def _soon() -> dt.datetime:
    """Ten minutes ahead of the later of the two clocks (anvil's may run behind or ahead of the portal's)."""
    return max(timezone.now(), chain_head_time()) + dt.timedelta(minutes=10)


def _declared(closed: Closed, cast, **overrides) -> Distribution:
    record_at = _soon()
    distribution = distribution_declare(
        issuer=cast.issuer,
        offering=closed.offering,
        actor=cast.admin,
        data=declaration(record_at=record_at, **overrides),
    )
    drain()  # the token schedules the record date
    return distribution


def _past_the_record_date(closed: Closed, distribution: Distribution, *, mine: bool = True) -> None:
    """The next block is made one second after the record date (now, or with the next transaction)."""
    chain = Chain(rpc_url=closed.rpc_url)
    chain.rpc("evm_setNextBlockTimestamp", [int(distribution.record_at.timestamp()) + 1])
    if mine:
        chain.rpc("evm_mine")


def _direct_transfer(closed: Closed, sender: str, to: str, amount: int) -> None:
    receipt = contract_send(closed.rpc_url, sender, closed.token.address, "SecurityToken", "transfer", to, amount)
    assert receipt["status"] == 1


def _indexed(closed: Closed) -> None:
    drain()
    chain_indexed(closed.rpc_url)


def test_entitlements_are_the_balances_at_the_record_date_when_tokens_move_the_next_block(closed: Closed, cast) -> None:
    w9(closed.alice)  # Alice certified her W-9; Bob has none on file
    distribution = _declared(closed, cast)
    with pytest.raises(ApplicationError) as ahead:
        distribution_register_compute(distribution=distribution, actor=cast.admin)
    assert ahead.value.code == "record_ahead"

    _past_the_record_date(closed, distribution, mine=False)
    _direct_transfer(closed, WALLETS[0], WALLETS[3], 150)  # Alice sells 150 to Carol in the block after the record
    _indexed(closed)
    result = distribution_register_compute(distribution=distribution, actor=cast.admin)

    assert result.state == DistributionState.DRAFT and result.register_ready
    lines = {line.investor_id: line for line in DistributionLine.objects.filter(distribution=result)}
    assert set(lines) == {closed.alice.pk, closed.bob.pk}  # Carol bought after the record date
    alice, bob = lines[closed.alice.pk], lines[closed.bob.pk]
    assert (alice.balance_at_record, bob.balance_at_record) == (200, 300)
    # The token's own checkpoint says the same.
    assert result.record_id is not None
    at_record = token_balances_at(address=closed.token.address, wallets=WALLETS[:4], record_id=result.record_id)
    assert at_record == {WALLETS[0]: 200, WALLETS[1]: 0, WALLETS[2]: 300, WALLETS[3]: 0}
    # $1,000,000.01 split 2:3 — 400,000.004 and 600,000.006: the cent left over goes to the larger remainder.
    assert (alice.gross_minor, bob.gross_minor) == (400_000_00, 600_000_01)
    assert (alice.withholding_rate_bps, alice.withholding_reason, alice.withheld_minor) == (
        0,
        WithholdingReason.US_W9,
        0,
    )
    assert alice.tax_form is not None and alice.tax_form_kind == "w9"
    assert (bob.withholding_rate_bps, bob.withholding_reason) == (2400, WithholdingReason.US_BACKUP)
    assert bob.withheld_minor == 144_000_00 and bob.net_minor == 456_000_01
    assert result.total_gross_minor == 1_000_000_01
    assert result.total_withheld_minor == 144_000_00
    assert AuditEvent.objects.filter(action="distribution.register_computed", object_id=str(result.pk)).exists()


def test_an_amount_per_token_that_would_pay_more_than_any_distribution_can_is_refused(closed: Closed, cast) -> None:
    record_at = _soon()
    data = declaration(record_at=record_at, amount_basis="per_unit", amount_minor=5_000_000_000_000)
    with pytest.raises(ApplicationError) as refused:
        distribution_declare(issuer=cast.issuer, offering=closed.offering, actor=cast.admin, data=data)
    assert "on each of the 500 tokens outstanding" in refused.value.message
    assert not Distribution.objects.exists()


def test_a_planted_difference_between_ledger_and_chain_stops_the_distribution(closed: Closed, cast) -> None:
    distribution = _declared(closed, cast)
    _past_the_record_date(closed, distribution)
    _indexed(closed)
    # The ledger is made to say Bob held one unit more than the token's checkpoint says.
    LotMovement.objects.filter(lot__wallet=WALLETS[2]).update(delta=F("delta") + 1)

    result = distribution_register_compute(distribution=distribution, actor=cast.admin)

    assert result.state == DistributionState.STOPPED
    assert WALLETS[2] in result.stop_reason and "ledger 301, token 300" in result.stop_reason
    difference = RecordDifference.objects.get(kind=DifferenceKind.RECORD_DATE_CHECKPOINT)
    assert (difference.expected, difference.actual) == (500, 501) and difference.resolved_at is None
    assert result.record_difference == difference
    assert not DistributionLine.objects.filter(distribution=result).exists()
    with pytest.raises(ApplicationError):
        distribution_propose(distribution=result, actor=cast.admin)
    # The reconciliation's own run does not resolve a record-date difference it did not find.
    reconcile(offering=closed.offering)
    difference.refresh_from_db()
    assert difference.resolved_at is None


def test_on_chain_payment_is_refused_while_the_treasury_is_short_and_the_declarer_cannot_approve(
    closed: Closed, cast
) -> None:
    stablecoin_deploy()
    drain()
    other = second_admin(cast.issuer)
    distribution = _declared(closed, cast, payment_method="stablecoin", amount_minor=5_000_00)
    _past_the_record_date(closed, distribution)
    _indexed(closed)
    distribution = distribution_register_compute(distribution=distribution, actor=cast.admin)
    assert distribution.total_net_minor == 5_000_00 - 3_000_00 * 24 // 100 - 2_000_00 * 24 // 100

    with pytest.raises(ApplicationError) as short:
        distribution_propose(distribution=distribution, actor=cast.admin)
    assert short.value.code == "treasury_short"
    assert "3,800.00 USD" in short.value.message and "by 3,800.00 USD" in short.value.message

    # The treasury is funded with exactly the net total (the stablecoin has 6 decimals).
    stablecoin_faucet(wallet=stablecoin_receiving_address(), amount=3_800_000_000, idempotency_key="fund-treasury")
    drain()
    outcome = distribution_propose(distribution=distribution, actor=other)
    assert outcome.pending and outcome.request is not None
    # The one who declared it cannot approve it, though someone else asked for the approval.
    with pytest.raises(NotPermitted) as refused:
        approval_approve(request=outcome.request, actor=cast.admin)
    assert refused.value.code == "four_eyes"
    distribution.refresh_from_db()
    assert distribution.state == DistributionState.PROPOSED and distribution.approved_by is None


def test_units_in_the_issuers_own_excluded_wallets_take_no_part(closed: Closed, cast) -> None:
    distribution = _declared(closed, cast, excluded_wallets=[WALLETS[2]], kind="return_of_capital")
    _past_the_record_date(closed, distribution)
    _indexed(closed)
    result = distribution_register_compute(distribution=distribution, actor=cast.admin)
    (line,) = DistributionLine.objects.filter(distribution=result)
    assert line.investor == closed.alice and line.gross_minor == 1_000_000_01
    assert (line.withholding_reason, line.withheld_minor) == (WithholdingReason.RETURN_OF_CAPITAL, 0)
    assert (result.eligible_units, result.excluded_units) == (200, 300)


def test_wallets_that_differ_while_the_totals_agree_still_stop_the_distribution(closed: Closed, cast) -> None:
    distribution = _declared(closed, cast)
    _past_the_record_date(closed, distribution)
    _indexed(closed)
    # The ledger is made to say one of Bob's units sat with Alice: the sums agree, two wallets do not.
    bobs, alices = (LotMovement.objects.filter(lot__wallet=w).order_by("pk")[0] for w in (WALLETS[2], WALLETS[0]))
    LotMovement.objects.filter(pk=bobs.pk).update(delta=F("delta") - 1)
    LotMovement.objects.filter(pk=alices.pk).update(delta=F("delta") + 1)

    result = distribution_register_compute(distribution=distribution, actor=cast.admin)

    assert result.state == DistributionState.STOPPED
    assert f"{WALLETS[0]}: ledger 201, token 200" in result.stop_reason
    assert f"{WALLETS[2]}: ledger 299, token 300" in result.stop_reason
    assert "the ledger holds 500 units and the token's checkpoint 500" in result.stop_reason
    assert (
        result.record_difference is not None and result.record_difference.kind == DifferenceKind.RECORD_DATE_CHECKPOINT
    )
    assert not DistributionLine.objects.filter(distribution=result).exists()

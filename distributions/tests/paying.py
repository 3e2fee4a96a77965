"""Building an approved stablecoin distribution on the closed offering, and following its payment."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from core.approvals import approval_approve
from core.tests.support import Cast
from distributions.models import Distribution, DistributionLine, DistributionState, ReinvestmentElection
from distributions.services.approval import distribution_propose
from distributions.services.declaring import distribution_declare
from distributions.services.register import distribution_register_compute
from distributions.tests.support import declaration, payable_today, second_admin, w9
from investors.models import InvestorProfile
from registry.tests.conftest import Closed
from tokens.selectors import chain_head_time
from tokens.tests.support import Chain, chain_indexed, drain, payout_ready

# Alice (W-9 certified, 0 %) holds 200 units in wallet 0, Bob (no W-9, 24 %) 300 in wallet 2.
AMOUNT_MINOR = 5_000_00
ALICE_CASH = 2_000_00
BOB_CASH = 3_000_00 - 3_000_00 * 24 // 100
NET_MINOR = ALICE_CASH + BOB_CASH
UNITS_PER_CENT = 10_000  # the test stablecoin's 6 decimals


def approved_distribution(
    closed: Closed,
    cast: Cast,
    *,
    treasury_minor: int = NET_MINOR,
    reinvestment_price_minor: int | None = None,
    reinvesting: tuple[InvestorProfile, ...] = (),
) -> Distribution:
    """Declared by the admin, its register computed after the record date, approved by a second admin; the
    treasury holds `treasury_minor` and has allowed the payout contract. Payment date: today. With a
    reinvestment price, the `reinvesting` holders elected reinvestment before the record date."""
    payout_ready(treasury_units=treasury_minor * UNITS_PER_CENT)
    w9(closed.alice)
    record_at = max(timezone.now(), chain_head_time()) + dt.timedelta(minutes=10)
    distribution = distribution_declare(
        issuer=cast.issuer,
        offering=closed.offering,
        actor=cast.admin,
        data=declaration(
            record_at=record_at,
            payment_method="stablecoin",
            amount_minor=AMOUNT_MINOR,
            **payable_today(),
            **({"reinvestment_price_minor": reinvestment_price_minor} if reinvestment_price_minor else {}),
        ),
    )
    drain()
    for investor in reinvesting:
        election = ReinvestmentElection.objects.create(offering=closed.offering, investor=investor)
        ReinvestmentElection.objects.filter(pk=election.pk).update(elected_at=record_at - dt.timedelta(minutes=5))
    chain = Chain(rpc_url=closed.rpc_url)
    chain.rpc("evm_setNextBlockTimestamp", [int(record_at.timestamp()) + 1])
    chain.rpc("evm_mine")
    drain()
    chain_indexed(closed.rpc_url)
    distribution = distribution_register_compute(distribution=distribution, actor=cast.admin)
    assert distribution.total_net_minor == NET_MINOR, distribution.total_net_minor
    outcome = distribution_propose(distribution=distribution, actor=cast.admin)
    assert outcome.request is not None
    approval_approve(request=outcome.request, actor=second_admin(cast.issuer))
    distribution.refresh_from_db()
    assert distribution.state == DistributionState.APPROVED
    return distribution


def payment_date(distribution: Distribution) -> dt.date:
    return distribution.payment_date


def line_states(distribution: Distribution) -> dict[int, str]:
    return dict(DistributionLine.objects.filter(distribution=distribution).values_list("investor_id", "payment_state"))

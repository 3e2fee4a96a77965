"""Whatever order payment runs, duplicate requests, lost blocks, retries and wallet changes come in, every line of
a distribution is paid exactly once on a real anvil: one `LinePaid` per line, and the cash paid adds up to the
register's cash to the minor unit."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest
from django.db import transaction
from django.test import override_settings
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.tests.support import Cast
from distributions.models import Distribution, DistributionLine, DistributionState, LinePaymentState
from distributions.services.paying import distribution_failed_lines_retry, distribution_pay_on_chain
from investors.models import InvestorProfile, Wallet, WalletKind
from investors.tests.support import verified_investor
from offerings.models import Offering
from offerings.tests.support import offering_draft
from tokens.models import ChainTransaction, TxStatus
from tokens.selectors import distribution_payout_events
from tokens.services import PayoutLine, distribution_batch_pay
from tokens.tests.support import (
    Chain,
    address_for,
    chain_indexed,
    coin_balance,
    outbox_flush,
    outbox_watch,
    payout_ready,
)

pytestmark = [pytest.mark.chain, pytest.mark.django_db]

UNITS_PER_CENT = 10_000
LINES = 5
CONFIRMATIONS = 2
_examples = itertools.count(1)


@dataclass
class World:
    cast: Cast
    chain: Chain
    offering: Offering
    investors: list[InvestorProfile]


@pytest.fixture
def world(cast, chain_settings) -> World:
    payout_ready(treasury_units=10**15)
    investors = [verified_investor(wallet=None) for _ in range(LINES)]
    return World(cast, Chain(rpc_url=chain_settings.rpc_url), offering_draft(cast.issuer, cast.admin), investors)


def _approved(world: World, cash: list[int], example: int) -> Distribution:
    today = timezone.localdate()
    distribution = Distribution.objects.create(
        offering=world.offering,
        kind="dividend",
        state=DistributionState.APPROVED,
        currency="USD",
        amount_basis="total",
        amount_minor=max(sum(cash), 1),
        record_date=today,
        record_at=timezone.now(),
        payment_date=today,
        payment_method="stablecoin",
        declared_by=world.cast.admin,
        approved_by=world.cast.other_admin,
        register_computed_at=timezone.now(),
        holders=len(cash),
        total_gross_minor=sum(cash),
        total_net_minor=sum(cash),
    )
    for i, (investor, amount) in enumerate(zip(world.investors, cash, strict=True)):
        wallet = address_for(f"property-{example}-{i}-0")
        Wallet.objects.create(investor=investor, address=wallet, kind=WalletKind.SIGNED, linked_by=investor.user)
        Wallet.objects.filter(investor=investor).exclude(address=wallet).update(removed_at=timezone.now())
        DistributionLine.objects.create(
            distribution=distribution,
            line_index=i,
            investor=investor,
            balance_at_record=1,
            gross_minor=amount,
            withholding_rate_bps=0,
            withholding_reason="us_w9",
            withheld_minor=0,
            net_minor=amount,
            cash_minor=amount,
            destination_status="wallet",
            destination_wallet=wallet,
            idempotency_key=f"property:{distribution.pk}:{i}",
        )
    return distribution


def _head(chain: Chain) -> int:
    number = chain.rpc("eth_blockNumber")
    number = number["result"] if isinstance(number, dict) else number
    return int(number, 16) if isinstance(number, str) else int(number)


STEPS = st.sampled_from(
    ["run", "run", "flush", "watch", "mine", "index", "duplicate", "reorg", "retry", "move", "unlink"]
)


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(
    cash=st.lists(st.integers(0, 10**8), min_size=LINES, max_size=LINES),
    steps=st.lists(st.tuples(STEPS, st.integers(0, LINES - 1)), min_size=3, max_size=25),
)
def test_in_any_order_of_runs_duplicates_reorgs_and_retries_each_line_is_paid_once(
    world: World, cash: list[int], steps: list[tuple[str, int]]
) -> None:
    with transaction.atomic():  # an example that fails leaves the next one a working database
        _example(world, cash, steps)


def _example(world: World, cash: list[int], steps: list[tuple[str, int]]) -> None:
    example = next(_examples)
    distribution = _approved(world, cash, example)
    chain, ref = world.chain, str(distribution.public_id)
    start_block = _head(chain)
    wallets = itertools.count(1)

    def run() -> None:
        distribution_pay_on_chain(distribution_id=distribution.pk, today=distribution.payment_date)

    def pending_senders() -> set[str]:
        return set(ChainTransaction.objects.filter(status=TxStatus.PENDING).values_list("sender", flat=True))

    with override_settings(CHAIN_CONFIRMATIONS=CONFIRMATIONS):
        for step, n in steps:
            line = DistributionLine.objects.get(distribution=distribution, line_index=n)
            if step == "run":
                run()
            elif step == "flush":
                for sender in pending_senders():
                    outbox_flush(chain_id=31337, sender=sender)
            elif step == "watch":
                outbox_watch(chain_id=31337)
            elif step == "mine":
                chain.rpc("anvil_mine", [1])
            elif step == "index":
                chain_indexed(chain.rpc_url, confirmations=CONFIRMATIONS)
            elif step == "duplicate":  # the same lines asked for again under another key (a stray delivery)
                lines = DistributionLine.objects.filter(distribution=distribution, cash_minor__gt=0).exclude(
                    destination_wallet=""
                )
                payout = [
                    PayoutLine(index=x.line_index, payee=x.destination_wallet, amount=x.cash_minor * UNITS_PER_CENT)
                    for x in lines
                ]
                if payout:
                    distribution_batch_pay(key=f"stray:{ref}:{next(wallets)}", distribution_ref=ref, lines=payout)
            elif step == "reorg":
                depth = 1 + n % 3  # up to past the finality rule
                head = _head(chain)
                if head - depth >= start_block:
                    chain.rpc("anvil_reorg", [depth, []])
            elif step == "retry":
                if DistributionLine.objects.filter(
                    distribution=distribution, payment_state=LinePaymentState.FAILED
                ).exists():
                    distribution_failed_lines_retry(distribution=distribution, actor=world.cast.admin)
            elif step == "move":  # the holder links another wallet and removes the old one
                wallet = address_for(f"property-{example}-{n}-{next(wallets)}")
                investor = line.investor
                Wallet.objects.filter(investor=investor, removed_at__isnull=True).update(removed_at=timezone.now())
                Wallet.objects.create(
                    investor=investor, address=wallet, kind=WalletKind.SIGNED, linked_by=investor.user
                )
            elif step == "unlink":
                Wallet.objects.filter(investor=line.investor, removed_at__isnull=True).update(removed_at=timezone.now())

        # Then everything settles: every holder has a wallet, the workers and the beat catch up.
        for i, investor in enumerate(world.investors):
            if not Wallet.objects.filter(investor=investor, removed_at__isnull=True).exists():
                address = address_for(f"property-{example}-{i}-final")
                Wallet.objects.create(
                    investor=investor, address=address, kind=WalletKind.SIGNED, linked_by=investor.user
                )
        for _ in range(12):
            if DistributionLine.objects.filter(
                distribution=distribution, payment_state=LinePaymentState.FAILED
            ).exists():
                distribution_failed_lines_retry(distribution=distribution, actor=world.cast.admin)
            run()
            for sender in pending_senders():
                outbox_flush(chain_id=31337, sender=sender)
            outbox_watch(chain_id=31337)
            chain.rpc("anvil_mine", [CONFIRMATIONS])
            outbox_watch(chain_id=31337)
            chain_indexed(chain.rpc_url, confirmations=CONFIRMATIONS)
            run()
            distribution.refresh_from_db()
            if distribution.state == DistributionState.PAID:
                break

    assert distribution.state == DistributionState.PAID
    events = list(distribution_payout_events(distribution_ref=ref))
    paid_lines = sorted(int(e.args["line"]) for e in events)
    assert paid_lines == [i for i, amount in enumerate(cash) if amount > 0]  # each once; nothing for a zero line
    assert sum(int(e.args["amount"]) for e in events) == sum(cash) * UNITS_PER_CENT
    received = sum(coin_balance(chain.rpc_url, e.args["payee"]) for e in {e.args["payee"]: e for e in events}.values())
    assert received == sum(cash) * UNITS_PER_CENT
    by_line = {int(e.args["line"]): e.transaction_hash for e in events}
    for line in DistributionLine.objects.filter(distribution=distribution):
        assert line.payment_state == LinePaymentState.PAID
        assert line.payment_reference == by_line.get(line.line_index, "")

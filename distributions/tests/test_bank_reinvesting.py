"""Reinvestment in a distribution paid by bank file, on a real anvil through a real Celery worker: the beat's bank
payment pass mints the electing holder's tokens once, whatever is delivered twice; the file pays everyone else
at once and the holder's cash fraction once the tokens are minted; the distribution is paid when both are done."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from core.approvals import approval_approve
from core.models import AuditEvent
from distributions.models import (
    BankPaymentEntry,
    BankPaymentRun,
    Distribution,
    DistributionLine,
    DistributionState,
    LinePaymentState,
    ReinvestmentElection,
    ReinvestmentMint,
)
from distributions.services.approval import distribution_propose
from distributions.services.bank_file import distribution_pay_by_bank_file
from distributions.services.bank_reconciliation import bank_confirmation_import
from distributions.services.declaring import distribution_declare
from distributions.services.register import distribution_register_compute
from distributions.tests.bank_support import bank_details, camt054, paying_account
from distributions.tests.support import declaration, second_admin, w9
from registry.tests.conftest import Closed
from tokens.models import ChainTransaction
from tokens.selectors import chain_head_time
from tokens.tests.support import WALLETS, Chain, chain_indexed, drain, token_balance, wait_until

pytestmark = [pytest.mark.chain, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

PRICE = 1_000_00  # $1,000.00 a token


def _approved(closed: Closed, cast) -> Distribution:
    """$1,000,000.01 by bank file with reinvestment at $1,000; Bob elected before the record date. Payment today."""
    w9(closed.alice)
    bank_details(closed.alice, n=0)
    bank_details(closed.bob, n=1)
    paying_account(cast.issuer, cast.admin)
    record_at = max(timezone.now(), chain_head_time()) + dt.timedelta(minutes=10)
    distribution = distribution_declare(
        issuer=cast.issuer,
        offering=closed.offering,
        actor=cast.admin,
        data=declaration(
            record_at=record_at,
            payment_method="bank_file",
            reinvestment_price_minor=PRICE,
            payment_date=timezone.localdate(),
        ),
    )
    drain()
    election = ReinvestmentElection.objects.create(offering=closed.offering, investor=closed.bob)
    ReinvestmentElection.objects.filter(pk=election.pk).update(elected_at=record_at - dt.timedelta(minutes=5))
    chain = Chain(rpc_url=closed.rpc_url)
    chain.rpc("evm_setNextBlockTimestamp", [int(record_at.timestamp()) + 1])
    chain.rpc("evm_mine")
    drain()
    chain_indexed(closed.rpc_url)
    distribution = distribution_register_compute(distribution=distribution, actor=cast.admin)
    outcome = distribution_propose(distribution=distribution, actor=cast.admin)
    assert outcome.request is not None
    approval_approve(request=outcome.request, actor=second_admin(cast.issuer))
    distribution.refresh_from_db()
    assert distribution.state == DistributionState.APPROVED
    return distribution


def _line(distribution: Distribution, investor) -> DistributionLine:
    return DistributionLine.objects.get(distribution=distribution, investor=investor)


def test_the_bank_payment_pass_mints_reinvested_tokens_once_and_pays_the_cash_fraction_after_them(
    closed: Closed, cast, celery_worker_process, chain_settings
) -> None:
    from portal.celery import app

    distribution = _approved(closed, cast)
    bob = _line(distribution, closed.bob)
    # Bob: 600,000.01 gross, 24 % backup withholding, 456,000.01 net: 456 tokens and a cent in cash.
    assert (bob.reinvest, bob.reinvest_units, bob.cash_minor) == (True, 456, 1)
    celery_worker_process("bank-reinvest", {"CHAIN_RPC_URL": chain_settings.rpc_url, "CHAIN_ID": "31337"})

    def tick() -> None:  # what the beat schedules
        for name in (
            "tokens.tasks.outbox_watch_task",
            "tokens.tasks.chain_index_task",
            "distributions.tasks.bank_payment_runs_task",
            "distributions.tasks.bank_payment_runs_task",  # and a duplicate of it
        ):
            app.send_task(name)

    wait_until(
        lambda: ReinvestmentMint.objects.filter(distribution=distribution, settled_at__isnull=False).exists(),
        what="Bob's reinvested tokens minted and recorded",
        tick=tick,
        timeout=120,
        interval=1.0,
    )
    assert token_balance(closed.rpc_url, closed.token, WALLETS[2]) == 300 + 456
    assert ReinvestmentMint.objects.filter(distribution=distribution).count() == 1
    assert ChainTransaction.objects.filter(idempotency_key__contains=":reinvest:").count() == 1
    # The day's file paid Alice; Bob's cent waited for his tokens and is in no file yet.
    (first,) = BankPaymentRun.objects.filter(distribution=distribution)
    assert list(BankPaymentEntry.objects.filter(run=first).values_list("line__investor", flat=True)) == [
        closed.alice.pk
    ]
    bob = _line(distribution, closed.bob)
    assert bob.payment_state == LinePaymentState.PENDING and bob.reinvest_mint is not None
    distribution.refresh_from_db()
    assert distribution.state == DistributionState.PAYING

    # The next day's pass puts Bob's cent in a file; the bank pays both; the distribution is paid.
    assert distribution_pay_by_bank_file(
        distribution_id=distribution.pk, today=timezone.localdate() + dt.timedelta(days=1)
    ).startswith("run 2: 1 lines")
    entries = list(BankPaymentEntry.objects.filter(run__distribution=distribution).order_by("run__number"))
    assert [(e.line.investor_id, e.amount_minor) for e in entries] == [
        (closed.alice.pk, _line(distribution, closed.alice).cash_minor),
        (closed.bob.pk, 1),
    ]
    bank_confirmation_import(
        distribution=distribution,
        actor=cast.admin,
        filename="camt.xml",
        content=camt054([(e, "paid") for e in entries]),
    )
    distribution.refresh_from_db()
    assert distribution.state == DistributionState.PAID
    assert _line(distribution, closed.bob).payment_state == LinePaymentState.PAID
    assert AuditEvent.objects.filter(action="distribution.paid", object_id=str(distribution.pk)).count() == 1
    assert token_balance(closed.rpc_url, closed.token, WALLETS[2]) == 300 + 456

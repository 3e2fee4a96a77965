"""python -m bench.redemption [--requests N] [--quick] [--json]

Settles N redemption requests (1,000 by default) at one dealing day, end to end, on anvil with Celery workers:
each holder asks to redeem 5 of their 10 units from the portfolio service, and the units are frozen on-chain a
moment later with the other requests of that moment (one burner transaction per batch); at the cut-off the day
is priced at its NAV, a second admin approves it, the redemption burner unfreezes and burns each line in
batches, the payout contract pays each net in the stablecoin, and the indexer and the ledger read it all back.
Timed from the first request to the day settled and the burns posted to the ledger. Checks one LineRedeemed and
one LinePaid per request, the supply, and that the nets paid add up to the register's. Runs on a scratch
PostgreSQL database and Redis when DATABASE_URL and CELERY_BROKER_URL name them (SQLite files otherwise).

Setup writes investors, registry entries and the holders' units in bulk (batch registrations and batch mints,
untimed): what onboarding and a closing would have left behind.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from typing import Any

from bench.harness import database_vendor, report, scratch_servers, stack, wait_until

UNITS_EACH = 10
REDEEMED_EACH = 5
NAV = "1.00"
FEE_BPS = 25
UNITS_PER_CENT = 10_000  # the test stablecoin's 6 decimals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=1_000)
    parser.add_argument("--quick", action="store_true", help="50 requests, for CI")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    total = 50 if args.quick else args.requests

    with scratch_servers(), stack() as s:
        import uuid

        from django.core.files.uploadedfile import SimpleUploadedFile
        from django.db.models import Sum
        from django.utils import timezone

        from bench.closing import _investors, _wallet
        from core.approvals import approval_approve
        from core.models import Issuer, IssuerMembership, User
        from core.tests.files import pdf_bytes
        from offerings.services.documents import document_upload
        from offerings.services.offerings import OfferingInput, offering_create, offering_publish
        from redemptions.models import DealingDay, DealingState, RedemptionRequest, RequestState
        from redemptions.services.approval import dealing_day_propose
        from redemptions.services.dealing import dealing_day_nav_enter, dealing_day_price
        from redemptions.services.requesting import redemption_request
        from redemptions.services.terms import TermsInput, redemption_terms_set
        from redemptions.tasks import redemptions_advance_task
        from registry.selectors.ledger import ledger_total
        from registry.tasks import ledger_sync_task
        from tokens.models import ChainEvent, ChainTransaction, TxStatus
        from tokens.payout import payout_allowance_ensure, payout_contract_deploy, payout_treasury
        from tokens.redemption import redemption_burner_authorize
        from tokens.selectors import token_deployment, token_total_supply
        from tokens.services import InvestorRecord, registry_deploy, registry_investors_register_batch, token_batch_mint
        from tokens.stablecoin import stablecoin_deploy, stablecoin_faucet
        from tokens.tasks import chain_index_task, outbox_watch_task

        for name in ("chain", "work"):
            s.start_worker(name)

        def tick() -> None:  # what the beat schedules every CHAIN_WATCH_SECONDS
            outbox_watch_task.delay()
            chain_index_task.delay()
            ledger_sync_task.delay()
            redemptions_advance_task.delay()

        def settled(prefix: str = "") -> bool:
            rows = ChainTransaction.objects.filter(idempotency_key__startswith=prefix)
            failed = rows.filter(status=TxStatus.FAILED).first()
            if failed:
                raise RuntimeError(f"{failed.purpose}: {failed.error_name or failed.last_error}")
            return rows.exists() and not rows.exclude(status=TxStatus.CONFIRMED).exists()

        setup_started = time.monotonic()
        registry_deploy()
        stablecoin_deploy()
        wait_until(settled, timeout=300, tick=tick, poll=0.5)
        payout_contract_deploy()
        wait_until(settled, timeout=300, tick=tick, poll=0.5)
        payout_allowance_ensure()
        issuer = Issuer.objects.create(
            name="Bench Liquidity",
            slug="bench-liquidity",
            legal_name="Bench Liquidity LLC",
            jurisdiction="Delaware",
            country="US",
        )
        admin = User.objects.create_user("admin@bench.example", "bench-password-1")
        second = User.objects.create_user("second@bench.example", "bench-password-2")
        for user in (admin, second):
            IssuerMembership.objects.create(user=user, issuer=issuer, role="issuer_admin")
        now = timezone.now()
        offering = offering_create(
            issuer=issuer,
            actor=admin,
            data=OfferingInput(
                title="Bench Liquidity Fund",
                security_type="fund_units",
                exemption="reg_a_tier2",  # not restricted: no lock-up on the units redeemed
                currency="USD",
                price_minor=1_00,
                min_investment_minor=1_00,
                max_investment_minor=None,
                soft_cap_minor=1_00,
                hard_cap_minor=1_00 * UNITS_EACH * total,
                opens_at=now + dt.timedelta(minutes=1),
                closes_at=now + dt.timedelta(days=30),
                token_name="Bench Liquidity Fund",
                token_symbol="BLF",
                allowed_countries=("US",),
            ),
        )
        document_upload(
            offering=offering,
            actor=admin,
            kind="subscription_agreement",
            title="Subscription agreement",
            upload=SimpleUploadedFile("agreement.pdf", pdf_bytes("bench"), "application/pdf"),
        )
        offering = offering_publish(offering=offering, actor=admin)
        expiry = now + dt.timedelta(days=365)
        profiles: list[Any] = []
        for start in range(0, total, 1000):
            batch = _investors(start, min(start + 1000, total), "bench-redeem")
            profiles += batch
            for chunk in range(0, len(batch), 100):
                registry_investors_register_batch(
                    investors=[
                        InvestorRecord(p.reference, _wallet(start + chunk + j), 840, 3, expiry)
                        for j, p in enumerate(batch[chunk : chunk + 100])
                    ],
                    idempotency_key=f"bench-redeem-registry-{start + chunk}",
                )
        wait_until(settled, timeout=900, tick=tick, poll=0.5)
        for chunk in range(0, total, 100):
            token_batch_mint(
                owner_ref=offering.owner_ref,
                allocations=[(_wallet(i), UNITS_EACH) for i in range(chunk, min(chunk + 100, total))],
                idempotency_key=f"bench-redeem-mint-{chunk}",
            )
        net_each = REDEEMED_EACH * 1_00 - (REDEEMED_EACH * 1_00 * FEE_BPS + 5_000) // 10_000
        stablecoin_faucet(
            wallet=payout_treasury(), amount=net_each * total * UNITS_PER_CENT, idempotency_key="bench-redeem-treasury"
        )
        redemption_terms_set(
            offering=offering,
            actor=admin,
            data=TermsInput(
                frequency="daily",
                cutoff_time=dt.time(23, 59),
                payout_method="stablecoin",
                fee_bps=FEE_BPS,
            ),
        )
        wait_until(settled, timeout=900, tick=tick, poll=0.5)
        wait_until(
            lambda: redemption_burner_authorize(owner_ref=offering.owner_ref).ready and settled(),
            timeout=300,
            tick=tick,
            poll=0.5,
        )
        wait_until(lambda: ledger_total(offering=offering) == UNITS_EACH * total, timeout=300, tick=tick, poll=0.5)
        setup_seconds = time.monotonic() - setup_started

        started = time.monotonic()
        profiler = None
        if os.environ.get("BENCH_PROFILE"):
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        for i, profile in enumerate(profiles):
            redemption_request(
                offering=offering,
                investor=profile,
                actor=profile.user,
                wallet=_wallet(i),
                quantity=REDEEMED_EACH,
                idempotency_key=str(uuid.uuid4()),
            )
        requested_seconds = time.monotonic() - started
        if profiler is not None:
            import pstats

            profiler.disable()
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(40)
        frozen = RedemptionRequest.objects.filter(state=RequestState.PENDING)
        wait_until(lambda: frozen.count() == total, timeout=1800, tick=tick, poll=1.0)
        frozen_seconds = time.monotonic() - started

        day = DealingDay.objects.get(offering=offering)
        DealingDay.objects.filter(pk=day.pk).update(cutoff_at=timezone.now())  # the cut-off comes
        dealing_day_nav_enter(day=day, actor=admin, nav=NAV, source="Bench administrator NAV statement")
        day = dealing_day_price(day_id=day.pk)
        assert day.state == DealingState.PRICED, day.state
        outcome = dealing_day_propose(day=day, actor=admin)
        assert outcome.request is not None
        approval_approve(request=outcome.request, actor=second)
        burned_supply = UNITS_EACH * total - REDEEMED_EACH * total
        wait_until(
            lambda: (
                DealingDay.objects.get(pk=day.pk).state == DealingState.SETTLED
                and ledger_total(offering=offering) == burned_supply
            ),
            timeout=1800,
            tick=tick,
            poll=1.0,
        )
        seconds = time.monotonic() - started
        load = os.getloadavg()[0]
        vendor = database_vendor()
        # The day is settled from the indexed events; the gas of each batch is recorded once the outbox watch
        # reads its receipt, which can come after (untimed).
        wait_until(lambda: settled("redemption:"), timeout=300, tick=tick, poll=0.5)
        s.stop_workers()

        def gas(step: str) -> int:
            rows = ChainTransaction.objects.filter(idempotency_key__startswith="redemption:")
            return int(rows.filter(idempotency_key__contains=step).aggregate(g=Sum("gas_used"))["g"] or 0)

        freeze_gas, burn_gas, pay_gas = gas(":freeze"), gas(":burn:"), gas(":pay:")
        token = token_deployment(owner_ref=offering.owner_ref)
        assert token is not None
        redeemed = sorted(
            int(a["line"]) for a in ChainEvent.objects.filter(name="LineRedeemed").values_list("args", flat=True)
        )
        paid = list(ChainEvent.objects.filter(name="LinePaid").values_list("args", flat=True))
        day.refresh_from_db()
        exact = (
            redeemed == list(range(total))
            and sorted(int(a["line"]) for a in paid) == list(range(total))
            and sum(int(a["amount"]) for a in paid) == day.total_net_minor * UNITS_PER_CENT
            and token_total_supply(address=token.address) == burned_supply
        )
        batches = {
            "freeze": ChainTransaction.objects.filter(idempotency_key__contains=":freeze:").count(),
            "burn": ChainTransaction.objects.filter(idempotency_key__contains=":burn:").count(),
            "pay": ChainTransaction.objects.filter(
                idempotency_key__startswith="redemption:", idempotency_key__contains=":pay:"
            ).count(),
        }

    payload = {
        "requests": total,
        "seconds": round(seconds, 2),
        "gas_per_redemption": (freeze_gas + burn_gas + pay_gas) // total,
        "requests_seconds": round(requested_seconds, 2),
        "frozen_seconds": round(frozen_seconds, 2),
        "freeze_gas_per_request": freeze_gas // total,
        "burn_gas_per_request": burn_gas // total,
        "payout_gas_per_request": pay_gas // total,
        "freeze_batches": batches["freeze"],
        "burn_batches": batches["burn"],
        "payout_batches": batches["pay"],
        "exact": exact,
        "setup_seconds": round(setup_seconds, 1),
        "database": vendor,
        "load": round(load, 2),
    }
    rows: list[tuple[str, Any]] = [
        ("redemption requests", total),
        ("setup (registry, holders, units, treasury)", f"{setup_seconds:.1f} s"),
        ("requests made (in-process)", f"{requested_seconds:.1f} s"),
        ("… and all frozen on-chain", f"{frozen_seconds:.1f} s"),
        ("first request → settled and posted", f"{seconds:.1f} s  (target ≤ 120 s for 1,000)"),
        ("gas per redemption", f"{payload['gas_per_redemption']:,}  (freeze + burn + payout)"),
        ("  freeze (in batches)", f"{payload['freeze_gas_per_request']:,}  ({batches['freeze']} batches)"),
        ("  burn (in batches)", f"{payload['burn_gas_per_request']:,}  ({batches['burn']} batches)"),
        ("  payout (in batches)", f"{payload['payout_gas_per_request']:,}  ({batches['pay']} batches)"),
        ("burned and paid exactly once", "yes" if exact else "NO"),
        ("database, load (1-minute average) at the end", f"{vendor}, {load:.2f}"),
    ]
    report("bench.redemption: request → freeze → approve → burn → payout → indexed", rows, payload, args.json)
    if not exact:
        raise SystemExit(1)


if __name__ == "__main__":
    main()

"""Dividend allocation with withholding: a total split over many holders, exact to the minor unit.

    python -m bench.distribution [--json] [--quick] [--holders N] [--payout-holders N] [--no-payout]

Builds holders with skewed balances (a few large, most small, some holding one token) and a mix of
tax standings (certified W-9, no W-9, W-8 with a treaty rate, expired W-8, no form), then, in a fresh
process so its peak memory is the computation's own: evaluates each holder's withholding rule,
splits $1,000,000.01 by largest remainder and withholds per holder (distributions.allocation).
Checks that the parts sum exactly to the total and gross = withheld + net for every holder.
Reports the time of the computation and the process's peak resident memory (inputs included).

Then the on-chain payout, end to end, in another fresh process with its own anvil, scratch database and
Celery workers (bench.harness: SQLite files by default; with a PostgreSQL DATABASE_URL a scratch database made
there and dropped afterwards, with a Redis CELERY_BROKER_URL that broker, whose queues it empties), one worker
process per kind of queue as in Procfile.production (chain, indexing, default). Untimed setup: the stablecoin
and the payout contract deployed through the pipeline, a token closed with N holders (10,000) of 100 units each
through the closing (as bench.closing), four in five with a certified W-9, the ledger posted from the indexed
mints (by the beat's ledger runs), every holder told of their tokens (the closing's notices written and
e-mailed, so none of the closing's work is left in the queues), and a treasury funded with the amount to
declare. Timed from the declaration: an issuer admin declares a dividend with its record date LEAD seconds
ahead (10; the token schedules it on-chain, and refuses a record date already past, so the schedule is
confirmed ahead of it), the beat's run computes the register once the record moment has passed (the ledger at
the record block cross-checked with the token's checkpoint, read in JSON-RPC batch requests, withholding per
holder), a second admin approves it, the beat's runs (sent here every second, with the expiry the beat sends
them with) send the batches, the workers sign, send and confirm them, the indexer reads the
final `LinePaid` events and the next run marks every line paid, until the distribution is paid and the outbox
has confirmed every batch. Reports when each step was first seen done (polled, so to about a second). Checks
one `LinePaid` per line and that their amounts add up to the cash of the register. Gas per holder is measured
on the batches it sent (payees who never held the coin), beside bench.payout_gas's figures for holders who
already hold it and a plain ERC-20 transfer to an existing holder. Each part reports the machine's load
(1-minute average) with it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import resource
import subprocess
import sys
import time
from array import array
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TOTAL_MINOR = 1_000_000_01
# Seconds from declaring to the record date: enough for the token to take `scheduleRecordDate` before it (the
# token refuses a record date already past, so a confirmed schedule was made ahead of it).
RECORD_LEAD_SECONDS = 10
# The bench's beat: the periodic passes are sent this often (the portal's default is CHAIN_WATCH_SECONDS, 5 s).
TICK_SECONDS = 1.0


def _holders(n: int) -> tuple[array, array, list[int]]:
    """Balances, investor ids and an index into a small set of tax standings, per holder."""
    rng = random.Random(20261201)
    balances = array("q", bytes(8 * n))
    for i in range(n):
        roll = rng.random()
        balances[i] = 1 if roll < 0.05 else rng.randint(10**5, 10**7) if roll > 0.999 else rng.randint(2, 5_000)
    ids = array("q", range(1, n + 1))  # in investor order, as the register reads them
    standings = [rng.randrange(6) for _ in range(n)]
    return balances, ids, standings


def compute(n: int) -> dict[str, object]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.test")
    import django

    django.setup()
    from distributions.allocation import allocation_compute
    from distributions.withholding import TaxStatus, withholding_for

    balances, ids, standing_of = _holders(n)
    payment = dt.date(2026, 12, 15)
    kinds = [
        TaxStatus(us_taxpayer=True, form_kind="w9", tin_certified=True, exempt_from_backup=True),
        TaxStatus(us_taxpayer=True),
        TaxStatus(us_taxpayer=False, form_kind="w8ben", form_expires_on=dt.date(2028, 12, 31), treaty_rate_bps=1500),
        TaxStatus(us_taxpayer=False, form_kind="w8ben", form_expires_on=dt.date(2024, 12, 31), treaty_rate_bps=1000),
        TaxStatus(us_taxpayer=False, form_kind="w8bene", form_expires_on=dt.date(2027, 12, 31)),
        TaxStatus(us_taxpayer=False),
    ]
    started = time.perf_counter()
    rules = [withholding_for(status=s, kind="dividend", payment_date=payment) for s in kinds]
    rates = array("q", (rules[k].rate_bps for k in standing_of))
    allocation = allocation_compute(balances=balances, holder_ids=ids, rates_bps=rates, total=TOTAL_MINOR)
    totals = (allocation.total_gross, allocation.total_withheld, allocation.total_net)
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    exact = totals[0] == TOTAL_MINOR and totals[0] == totals[1] + totals[2]
    exact = exact and all(
        g == w + x for g, w, x in zip(allocation.gross, allocation.withheld, allocation.net, strict=True)
    )
    return {
        "allocation_holders": n,
        "allocation_seconds": round(seconds, 3),
        "allocation_peak_mb": round(peak_mb, 1),
        "allocation_exact": exact,
        "allocation_total_withheld_minor": totals[1],
        "allocation_load": round(os.getloadavg()[0], 2),
    }


def _holders_on_chain(n: int, tick: Any, settled: Any) -> tuple[Any, Any, Any, Any]:
    """Untimed setup: an issuer with two admins, its token closed with `n` holders of 100 units each (registered,
    subscribed, paid and minted through the closing, as bench.closing does), four in five with a certified W-9."""
    import datetime as dt

    from django.conf import settings
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.db import transaction
    from django.utils import timezone

    from bench.closing import AMOUNT, PRICE, _investors, _paid_subscriptions, _wallet
    from bench.harness import wait_until
    from core.models import Issuer, IssuerMembership, Notification, NotificationKind, User
    from core.tests.files import pdf_bytes
    from investors.models import TaxForm, TaxFormKind
    from offerings.models import OfferingStatus
    from offerings.services.closing import offering_close
    from offerings.services.documents import document_upload
    from offerings.services.offerings import OfferingInput, offering_create, offering_publish
    from registry.services.ledger import POSTED_EVENTS
    from tokens.chain.client import client_for
    from tokens.selectors import indexed_through, token_deployment, token_events
    from tokens.services import InvestorRecord, registry_investors_register_batch

    issuer = Issuer.objects.create(
        name="Bench Income", slug="bench-income", legal_name="Bench Income LLC", jurisdiction="Delaware", country="US"
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
            title="Bench Income Notes",
            security_type="debt",
            exemption="reg_d_506c",
            currency="USD",
            price_minor=PRICE,
            min_investment_minor=AMOUNT,
            max_investment_minor=None,
            soft_cap_minor=AMOUNT,
            hard_cap_minor=AMOUNT * n,
            opens_at=now,
            closes_at=now + dt.timedelta(days=30),
            token_name="Bench Income Notes",
            token_symbol="BIN",
            allowed_countries=("US",),
        ),
    )
    document_upload(
        offering=offering,
        actor=admin,
        kind="subscription_agreement",
        title="Subscription agreement",
        upload=SimpleUploadedFile("a.pdf", pdf_bytes("bench"), "application/pdf"),
    )
    offering = offering_publish(offering=offering, actor=admin)
    expiry = now + dt.timedelta(days=365)
    profiles: list[Any] = []
    for start in range(0, n, 1000):
        batch = _investors(start, min(start + 1000, n), "bench-payout")
        profiles += batch
        for chunk in range(0, len(batch), 100):
            with transaction.atomic():
                registry_investors_register_batch(
                    investors=[
                        InvestorRecord(p.reference, _wallet(start + chunk + j), 840, 3, expiry)
                        for j, p in enumerate(batch[chunk : chunk + 100])
                    ],
                    idempotency_key=f"bench-payout-registry-{start + chunk}",
                )
        _paid_subscriptions(offering, batch, start)
    TaxForm.objects.bulk_create(
        [
            TaxForm(
                investor=p,
                kind=TaxFormKind.W9,
                signer_name=p.legal_name,
                signed_on=dt.date(2026, 1, 5),
                tin_certified=True,
                not_subject_to_backup_withholding=True,
            )
            for i, p in enumerate(profiles)
            if i % 5  # one in five has no W-9: 24 % backup withholding
        ],
        batch_size=2000,
    )
    wait_until(settled, timeout=1800, tick=tick, poll=0.5)
    offering_close(offering=offering, actor=admin)

    def closed() -> bool:
        offering.refresh_from_db()
        return offering.status == OfferingStatus.CLOSED

    wait_until(closed, timeout=1800, tick=tick, poll=0.5)
    wait_until(settled, timeout=600, tick=tick, poll=0.5)
    token = token_deployment(owner_ref=offering.owner_ref)
    assert token is not None and token.address
    head = client_for(settings.CHAIN_RPC_URL).block_number()

    def ledger_posted() -> bool:  # the beat's ledger runs have posted every mint (as they do within seconds)
        unposted = token_events(address=token.address, names=POSTED_EVENTS).filter(ledger_posting__isnull=True)
        return indexed_through(address=token.address) >= head and not unposted.exists()

    wait_until(ledger_posted, timeout=1800, tick=tick, poll=0.5)

    def holders_told() -> bool:  # the closing's own work is done: every holder was told and e-mailed of the tokens
        issued = Notification.objects.filter(kind=NotificationKind.TOKENS_ISSUED)
        return issued.count() >= n and not Notification.objects.filter(emailed_at__isnull=True).exists()

    wait_until(holders_told, timeout=1800, tick=tick, poll=0.5)
    return issuer, admin, second, offering


def payout(n: int, *, gas_batch: int = 200, lead_seconds: int = RECORD_LEAD_SECONDS) -> dict[str, object]:
    """Declare → register at the record date → approve → pay → confirmed → indexed, for `n` holders on-chain."""
    from bench.harness import database_vendor, scratch_servers, stack, wait_until

    with scratch_servers(), stack() as s:
        import datetime as dt

        from django.conf import settings
        from django.db.models import Count, Sum
        from django.test.utils import override_settings
        from django.utils import timezone
        from web3 import Web3
        from web3.types import RPCEndpoint

        from bench.payout_gas import payout_gas
        from core.approvals import approval_approve
        from distributions.models import Distribution, DistributionLine, DistributionState
        from distributions.services.approval import distribution_propose
        from distributions.services.declaring import DistributionInput, distribution_declare
        from distributions.tasks import distributions_advance_task
        from offerings.tasks import closings_advance_task
        from registry.tasks import ledger_sync_task
        from tokens.models import ChainEvent, ChainTransaction, TxStatus
        from tokens.payout import payout_allowance_ensure, payout_contract_deploy, payout_treasury
        from tokens.selectors import chain_head_time
        from tokens.services import registry_deploy
        from tokens.stablecoin import stablecoin_deploy, stablecoin_faucet
        from tokens.tasks import chain_index_task, outbox_watch_task

        # The production topology (Procfile.production): signing and the outbox watch on the chain queue (two
        # processes, its default), the indexer and the ledger on the indexing queue, and on the default queue
        # everything else (registers, payment runs, closings) with the notices' e-mails, which have their own.
        s.start_worker("chain", concurrency=2, queues=("chain",))
        s.start_worker("indexing", queues=("indexing",))
        s.start_worker("default", queues=("celery", "notifications", "exports", "screening"))
        w3 = Web3(Web3.HTTPProvider(s.anvil.rpc_url))
        record_moment: list[dt.datetime] = []

        def tick() -> None:  # what the beat schedules every CHAIN_WATCH_SECONDS, here every TICK_SECONDS
            # As the beat sends them: a tick no worker has started within its expiry is dropped.
            expiry = settings.CELERY_BEAT_SCHEDULE["chain-outbox-watch"]["options"]["expire_seconds"]
            for task in (
                outbox_watch_task,
                chain_index_task,
                closings_advance_task,
                ledger_sync_task,
                distributions_advance_task,
            ):
                task.apply_async(expires=expiry)
            # Blocks keep coming on a real chain; anvil mines only on a transaction, so one is made once the
            # record moment has passed (the register is computed from the first block after it).
            if record_moment and timezone.now() > record_moment[0] and chain_head_time() <= record_moment[0]:
                w3.provider.make_request(RPCEndpoint("evm_mine"), [])

        def settled() -> bool:
            failed = ChainTransaction.objects.filter(status=TxStatus.FAILED).first()
            if failed:
                raise RuntimeError(f"{failed.purpose}: {failed.error_name or failed.last_error}")
            return not ChainTransaction.objects.exclude(status=TxStatus.CONFIRMED).exists()

        setup_started = time.perf_counter()
        registry_deploy()
        stablecoin_deploy()
        wait_until(settled, timeout=120, tick=tick, poll=0.5)
        payout_contract_deploy()
        wait_until(settled, timeout=120, tick=tick, poll=0.5)
        payout_allowance_ensure()
        issuer, admin, second, offering = _holders_on_chain(n, tick, settled)
        # The treasury holds the whole declared amount: the net the register computes is less.
        amount_minor = 50_00 * n + 1
        units_per_cent = 10 ** (6 - 2)
        stablecoin_faucet(wallet=payout_treasury(), amount=amount_minor * units_per_cent, idempotency_key="bench-fund")
        wait_until(settled, timeout=120, tick=tick, poll=0.5)
        setup_seconds = time.perf_counter() - setup_started

        # Timed from here: the admin declares with the record date `lead_seconds` ahead.
        started = time.perf_counter()
        record_at = max(timezone.now(), chain_head_time()) + dt.timedelta(seconds=lead_seconds)
        with override_settings(DISTRIBUTION_RECORD_DATE_LEAD_SECONDS=lead_seconds - 5):
            distribution = distribution_declare(
                issuer=issuer,
                offering=offering,
                actor=admin,
                data=DistributionInput(
                    kind="dividend",
                    amount_basis="total",
                    amount_minor=amount_minor,
                    currency="USD",
                    record_date=timezone.localdate(record_at),
                    payment_date=timezone.localdate(record_at),
                    payment_method="stablecoin",
                    record_at=record_at,
                ),
            )
        record_moment.append(record_at)

        phases: dict[str, float] = {}  # phase → seconds from the declaration when the bench first saw it reached
        batch_rows = ChainTransaction.objects.filter(idempotency_key__contains=f"{distribution.public_id}:pay:")

        def phases_observe() -> None:
            """Note when each step of the path was first seen done (polled with the bench's waits: ±1 s)."""
            at = round(time.perf_counter() - started, 1)
            current = Distribution.objects.get(pk=distribution.pk)
            seen = {
                "record_date_confirmed": Distribution.objects.filter(
                    pk=distribution.pk, record_transaction__status=TxStatus.CONFIRMED
                ).exists(),
                "register_computed": current.register_computed_at is not None,
            }
            if "register_computed" in phases:
                statuses = dict(batch_rows.values_list("status").annotate(n=Count("id")).order_by())
                queued = sum(statuses.values())
                expected = -(-n // settings.PAYOUT_BATCH_MAX_LINES)
                not_sent = statuses.get(TxStatus.PENDING, 0) + statuses.get(TxStatus.SIGNED, 0)
                not_mined = not_sent + statuses.get(TxStatus.BROADCAST, 0)
                seen["batches_queued"] = queued >= expected
                seen["batches_sent"] = queued >= expected and not not_sent
                seen["batches_mined"] = queued >= expected and not not_mined
                seen["batches_confirmed"] = queued >= expected and statuses.get(TxStatus.CONFIRMED, 0) == queued
                seen["line_paid_indexed"] = ChainEvent.objects.filter(name="LinePaid").count() >= n
                seen["lines_marked_paid"] = current.state == DistributionState.PAID
            for phase, done in seen.items():
                if done and phase not in phases:
                    phases[phase] = at

        def register_ready() -> bool:
            phases_observe()
            current = Distribution.objects.get(pk=distribution.pk)
            if current.state == DistributionState.STOPPED:
                raise RuntimeError(f"the register stopped: {current.stop_reason}")
            return current.register_computed_at is not None

        wait_until(register_ready, timeout=900, tick=tick, poll=0.5)
        registered = time.perf_counter()
        distribution.refresh_from_db()
        outcome = distribution_propose(distribution=distribution, actor=admin)
        assert outcome.request is not None
        approval_approve(request=outcome.request, actor=second)
        approved = time.perf_counter()

        phases["approved"] = round(approved - started, 1)

        def paid_and_confirmed() -> bool:  # every line marked paid, and the outbox has confirmed every batch
            phases_observe()
            if Distribution.objects.get(pk=distribution.pk).state != DistributionState.PAID:
                return False
            sent = ChainTransaction.objects.filter(idempotency_key__contains=f"{distribution.public_id}:pay:")
            return sent.exists() and not sent.exclude(status=TxStatus.CONFIRMED).exists()

        wait_until(paid_and_confirmed, timeout=900, tick=tick, poll=TICK_SECONDS)
        seconds = time.perf_counter() - started
        load = os.getloadavg()[0]
        s.stop_workers()

        distribution.refresh_from_db()
        lines = DistributionLine.objects.filter(distribution=distribution)
        net = int(lines.aggregate(cash=Sum("cash_minor"))["cash"] or 0)
        batches = ChainTransaction.objects.filter(idempotency_key__contains=":pay:")
        batch_gas = int(batches.aggregate(gas=Sum("gas_used"))["gas"] or 0)
        events = ChainEvent.objects.filter(name="LinePaid")
        lines_paid = sorted(int(args["line"]) for args in events.values_list("args", flat=True))
        amount_paid = sum(int(args["amount"]) for args in events.values_list("args", flat=True))
        exact = (
            distribution.holders == n
            and lines_paid == list(range(n))
            and amount_paid == net * units_per_cent
            and not lines.exclude(payment_state="paid").exists()
            and lines.exclude(payment_reference="").count() == n
        )
        steady = payout_gas(w3=w3, holders=gas_batch)
        vendor = database_vendor()
        batch_count = batches.count()  # read before the scratch database goes
    return {
        "payout_holders": n,
        "payout_seconds": round(seconds, 2),
        "payout_gas_per_holder": steady["payout_gas_per_holder"],
        "plain_transfer_gas_per_holder": steady["plain_transfer_gas_per_holder"],
        "payout_gas_per_new_holder": batch_gas // n,
        "payout_batches": batch_count,
        "payout_exact": exact,
        "payout_record_lead_seconds": lead_seconds,
        "payout_register_seconds": round(registered - started, 2),
        "payout_approved_to_paid_seconds": round(seconds - (approved - started), 2),
        "payout_phases_seconds": phases,
        "payout_withheld_minor": distribution.total_withheld_minor,
        "payout_setup_seconds": round(setup_seconds, 1),
        "payout_database": vendor,
        "payout_load": round(load, 2),
    }


def _child(*argv: str) -> dict[str, object]:
    child = subprocess.run(
        [sys.executable, "-m", "bench.distribution", *argv],
        cwd=ROOT,
        env={**os.environ},
        capture_output=True,
        text=True,
    )
    if child.returncode != 0:
        sys.stderr.write(child.stderr)
        raise SystemExit(f"bench.distribution {' '.join(argv)} failed")
    return dict(json.loads(child.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON document")
    parser.add_argument("--quick", action="store_true", help="10,000 holders, for CI")
    parser.add_argument("--holders", type=int, default=1_000_000)
    parser.add_argument("--payout-holders", type=int, default=10_000, help="holders paid on-chain end to end")
    parser.add_argument("--no-payout", action="store_true", help="the allocation only")
    parser.add_argument("--compute-only", type=int, metavar="N", help=argparse.SUPPRESS)
    parser.add_argument("--payout-only", type=int, metavar="N", help=argparse.SUPPRESS)
    parser.add_argument("--gas-batch", type=int, default=200, help=argparse.SUPPRESS)
    parser.add_argument(
        "--record-lead", type=int, default=RECORD_LEAD_SECONDS, help="seconds from declaring to the record date"
    )
    args = parser.parse_args()
    if args.compute_only:
        print(json.dumps(compute(args.compute_only)))
        return
    if args.payout_only:
        print(json.dumps(payout(args.payout_only, gas_batch=args.gas_batch, lead_seconds=args.record_lead)))
        return
    holders = 10_000 if args.quick else args.holders
    figures = _child("--compute-only", str(holders))
    if not args.no_payout:
        paid = 200 if args.quick else args.payout_holders
        figures.update(
            _child(
                "--payout-only",
                str(paid),
                "--gas-batch",
                "20" if args.quick else "200",
                "--record-lead",
                str(args.record_lead),
            )
        )
    if args.json:
        print(json.dumps(figures))
        return
    print(f"Distribution allocation with withholding ({'quick' if args.quick else 'full'} size)")
    print(f"  {'holders':<24}{figures['allocation_holders']:>14,}")
    print(f"  {'seconds':<24}{figures['allocation_seconds']:>14}")
    print(f"  {'peak memory (MB)':<24}{figures['allocation_peak_mb']:>14}")
    print(f"  {'exact to the minor unit':<24}{'yes' if figures['allocation_exact'] else 'NO':>14}")
    print(f"  {'withheld (minor units)':<24}{figures['allocation_total_withheld_minor']:>14,}")
    if "payout_holders" in figures:
        plain = int(figures["plain_transfer_gas_per_holder"])  # type: ignore[call-overload]
        print("On-chain payout, declare → register → approve → pay → confirmed → indexed (anvil, Celery workers)")
        print(f"  {'holders':<24}{figures['payout_holders']:>14,}")
        print(f"  {'seconds':<24}{figures['payout_seconds']:>14}  (target ≤ 120 s for 10,000)")
        lead = figures["payout_record_lead_seconds"]
        print(f"  {'  declared → register':<24}{figures['payout_register_seconds']:>14}  (record date {lead} s ahead)")
        print(f"  {'  approved → paid':<24}{figures['payout_approved_to_paid_seconds']:>14}")
        for phase, at in dict(figures["payout_phases_seconds"]).items():  # type: ignore[call-overload]
            print(f"  {'    ' + phase.replace('_', ' '):<24}{at:>14}  (first seen, s from declaring)")
        print(f"  {'batches':<24}{figures['payout_batches']:>14,}")
        print(f"  {'paid exactly':<24}{'yes' if figures['payout_exact'] else 'NO':>14}")
        for key, note in (
            ("payout_gas_per_holder", "holders who hold the coin already"),
            ("payout_gas_per_new_holder", "this run: payees who never held it"),
            ("plain_transfer_gas_per_holder", "ERC-20 transfer to an existing holder"),
        ):
            value = int(figures[key])  # type: ignore[call-overload]
            print(f"  {key:<30}{value:>8,} gas  {value / plain:>5.2f}x  {note}")


if __name__ == "__main__":
    main()

"""python -m bench.chaos [--mints N] [--payments N] [--refunds N] [--kills N] [--quick] [--json]

N single mints through the outbox, stablecoin payments from investors' wallets and refunds of some
of them, all in flight while worker processes are SIGKILLed at random moments, the anvil node is
stopped and restarted from its state file once, and the chain reorganises: shallow reorgs (fewer
blocks than the confirmation depth, anvil_reorg with the dropped transactions included again) and
one deeper than the depth (evm_revert to a snapshot taken while payments arrived, once a payment
mined after it was credited, then a longer chain), which replaces blocks the portal had treated as
final. After the deep one the outbox must land its own dropped transactions again; investors'
wallets send their dropped payments again, except about a third that are never included again (the
payer spent the money elsewhere): those credits must be reversed and stay reversed.

Afterwards, read from the chain: every intended mint is on-chain exactly once; every payment on the
chain is credited once and nothing is credited that the chain does not hold; every refund is on
the chain once. Prints expected vs on-chain totals and the duplicate and mismatch counts.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.harness import report, stack, wait_until

HOLDERS = 20
CONFIRMATIONS = 4
GWEI = 10**9


def _wallet(i: int) -> str:
    from tokens.chain.testing import address_for

    return address_for(f"chaos-holder-{i}")


def _payer_key(i: int) -> str:
    from tokens.chain.addresses import keccak_text

    return "0x" + keccak_text(f"chaos-payer-{i}").hex()


def _amount_minor(i: int) -> int:
    return 100_00 + i  # every payment its own amount, so a double credit is visible


def _payers(count: int) -> list[Any]:
    """Investors with one linked wallet each and one open stablecoin payment (what starting a payment leaves)."""
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from core.models import Issuer, User
    from investors.models import InvestorProfile, Wallet
    from offerings.models import Payment, PaymentStatus, Subscription
    from offerings.services.offerings import OfferingInput, offering_create
    from offerings.services.stablecoin import cents_to_units
    from tokens.chain.signer import LocalKeySigner
    from tokens.stablecoin import portal_stablecoin, stablecoin_receiving_address

    issuer = Issuer.objects.create(
        name="Chaos Capital", slug="chaos", legal_name="Chaos Capital LLC", jurisdiction="Delaware", country="US"
    )
    admin = User.objects.create_user("admin@chaos.example", "chaos-password-1")
    now = datetime.now(tz=UTC)
    offering = offering_create(
        issuer=issuer,
        actor=admin,
        data=OfferingInput(
            title="Chaos Notes",
            security_type="equity",
            exemption="reg_d_506c",
            currency="USD",
            price_minor=1,
            min_investment_minor=1,
            max_investment_minor=None,
            soft_cap_minor=1,
            hard_cap_minor=10**12,
            opens_at=now - timedelta(days=1),
            closes_at=now + timedelta(days=30),
            token_name="Chaos Notes",
            token_symbol="CHN",
            allowed_countries=("US",),
        ),
    )
    wallets = [LocalKeySigner(_payer_key(i)) for i in range(count)]
    password = make_password(None)
    users = User.objects.bulk_create([User(email=f"payer{i}@chaos.example", password=password) for i in range(count)])
    expires = now + timedelta(days=365)
    profiles = InvestorProfile.objects.bulk_create(
        [
            InvestorProfile(
                user=u,
                kind="individual",
                legal_name=f"Chaos Payer {i}",
                country="US",
                citizenship="US",
                kyc_status="approved",
                kyc_expires_at=expires,
                screening_status="clear",
            )
            for i, u in enumerate(users)
        ]
    )
    Wallet.objects.bulk_create(
        [
            Wallet(investor=p, address=w.address, kind="signed", linked_by=u)
            for p, w, u in zip(profiles, wallets, users, strict=True)
        ]
    )
    subs = Subscription.objects.bulk_create(
        [
            Subscription(
                offering=offering,
                investor=p,
                amount_minor=_amount_minor(i),
                currency="USD",
                quantity=_amount_minor(i),
                status="signed",
                payment_provider="stablecoin",
                wire_reference=f"TSR-C{i:08d}",
                wallet_address=w.address,
                signed_at=timezone.now(),
            )
            for i, (p, w) in enumerate(zip(profiles, wallets, strict=True))
        ]
    )
    coin = portal_stablecoin()
    assert coin is not None
    Payment.objects.bulk_create(
        [
            Payment(
                subscription=s,
                provider="stablecoin",
                amount_minor=_amount_minor(i),
                currency="USD",
                status=PaymentStatus.STARTED,
                details={
                    "token": coin.address,
                    "receiving_address": stablecoin_receiving_address(),
                    "amount_units": str(cents_to_units(_amount_minor(i))),
                    "from_wallets": [wallets[i].address],
                },
            )
            for i, s in enumerate(subs)
        ]
    )
    return wallets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mints", type=int, default=1000)
    parser.add_argument("--payments", type=int, default=200)
    parser.add_argument("--refunds", type=int, default=50)
    parser.add_argument("--kills", type=int, default=12)
    parser.add_argument("--quick", action="store_true", help="200 mints, 40 payments, 10 refunds, 10 kills, for CI")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory (database, logs, chain)")
    args = parser.parse_args()
    mints = 200 if args.quick else args.mints
    payments = 40 if args.quick else args.payments
    refunds_wanted = min(10 if args.quick else args.refunds, payments)
    kills_wanted = max(10, args.kills)
    rng = random.Random(args.seed)

    with stack(state_file=True, confirmations=CONFIRMATIONS, keep=args.keep) as s:
        from django.conf import settings

        from offerings.models import (
            OPEN_REFUND_STATUSES,
            EntryKind,
            Payment,
            PaymentEntry,
            PaymentStatus,
            Refund,
            RefundStatus,
        )
        from offerings.models import StablecoinReceipt as Receipt
        from offerings.services.payments import refund_request
        from offerings.services.stablecoin import cents_to_units
        from offerings.tasks import closings_advance_task, refunds_pending_settle_task, stablecoin_receipts_match_task
        from tokens.chain.abi import encode_call
        from tokens.chain.addresses import keccak_text
        from tokens.chain.client import ChainClient, NodeUnavailable
        from tokens.models import ChainReorg, ChainTransaction, TxStatus
        from tokens.services import (
            InvestorRecord,
            TokenTerms,
            registry_deploy,
            registry_investors_register_batch,
            token_deploy,
            token_mint,
        )
        from tokens.stablecoin import stablecoin_deploy, stablecoin_faucet, stablecoin_receiving_address
        from tokens.tasks import chain_index_task, outbox_watch_task

        assert settings.CHAIN_CONFIRMATIONS == CONFIRMATIONS
        client = ChainClient(s.anvil.rpc_url, timeout=30)
        node = threading.Lock()  # the restart, the reorgs and the block producer take turns on the node
        stop = threading.Event()

        def rpc(method: str, params: list[Any]) -> Any:
            answer = client.rpc(method, params)
            if "error" in answer:
                raise RuntimeError(f"{method}: {answer['error']}")
            return answer["result"]

        def produce_blocks() -> None:
            # The chain moves on by itself (as a real one does), so confirmations arrive.
            while not stop.is_set():
                time.sleep(0.3)
                with node, contextlib.suppress(Exception):
                    rpc("anvil_mine", [1])

        producer = threading.Thread(target=produce_blocks, daemon=True)
        producer.start()

        def tick() -> None:
            # The broker is local; a hiccup only delays the next tick.
            with contextlib.suppress(Exception):
                outbox_watch_task.delay()
                chain_index_task.delay()
                stablecoin_receipts_match_task.delay()
                closings_advance_task.delay()
                refunds_pending_settle_task.delay()  # a refund is booked once its transfer is final

        s.start_worker("setup")

        def settle(prefix: str) -> None:
            def done() -> bool:
                rows = ChainTransaction.objects.filter(idempotency_key__startswith=prefix)
                return rows.exists() and not rows.exclude(status=TxStatus.CONFIRMED).exists()

            wait_until(done, timeout=600, tick=outbox_watch_task.delay, poll=0.5)

        registry_deploy()
        stablecoin_deploy()
        settle("deploy:")
        expiry = datetime.now(tz=UTC) + timedelta(days=365)
        registry_investors_register_batch(
            investors=[InvestorRecord(f"chaos-{i}", _wallet(i), 840, 1, expiry) for i in range(HOLDERS)],
            idempotency_key="chaos-registry",
        )
        token = token_deploy(
            owner_ref="offering:chaos", terms=TokenTerms(name="Chaos Notes", symbol="CHS", allowed_countries=[840])
        )
        settle("token:")
        settle("chaos-registry")
        token.refresh_from_db()
        payers = _payers(payments)
        for i, payer in enumerate(payers):
            rpc("anvil_setBalance", [payer.address, hex(10**18)])
            stablecoin_faucet(
                wallet=payer.address, amount=cents_to_units(_amount_minor(i)), idempotency_key=f"chaos-faucet-{i}"
            )
        settle("chaos-faucet-")
        s.stop_workers()
        coin = Payment.objects.filter(provider="stablecoin").first().details["token"]  # type: ignore[union-attr]
        receiving = stablecoin_receiving_address()

        # Each payer signs one transfer (nonce 0) once; its wallet sends those same bytes again while
        # the chain does not hold them, unless the payer abandons it (spends the money elsewhere).
        signed: dict[int, tuple[str, bytes]] = {}
        for i, payer in enumerate(payers):
            data = encode_call("TestStablecoin", "transfer", [receiving, cents_to_units(_amount_minor(i))])
            tx = payer.sign(
                {
                    "chainId": 31337,
                    "nonce": 0,
                    "gas": 120_000,
                    "maxFeePerGas": 200 * GWEI,
                    "maxPriorityFeePerGas": GWEI,
                    "to": coin,
                    "data": data,
                    "value": 0,
                    "type": 2,
                }
            )
            signed[i] = (tx.hash, tx.raw)
        sent: set[int] = set()
        abandoned: set[int] = set()
        by_hash = {h: i for i, (h, _) in signed.items()}

        def wallets_send() -> None:
            for i in sorted(sent - abandoned):
                tx_hash, raw = signed[i]
                with contextlib.suppress(Exception):
                    if client.receipt(tx_hash) is None:
                        client.send_raw(raw)

        intended: dict[int, int] = {}
        kills = 0
        restarts = 0
        reorgs: list[dict[str, Any]] = []

        def chaos() -> None:
            nonlocal kills, restarts
            workers = [s.start_worker(f"chaos-{n}") for n in range(3)]
            while not stop.is_set() and kills < kills_wanted:
                time.sleep(rng.uniform(0.4, 1.6))
                victim = rng.randrange(len(workers))
                if workers[victim].poll() is None:
                    workers[victim].send_signal(signal.SIGKILL)
                    workers[victim].wait()
                    kills += 1
                workers[victim] = s.start_worker(f"chaos-{victim}-{kills}")
                if restarts == 0 and kills >= kills_wanted // 2:
                    with node:
                        s.anvil.stop()  # the state file keeps the chain; the mempool is lost
                        time.sleep(1.0)
                        s.anvil.start()
                    restarts += 1

        def reorg(depth: int | Callable[[int], int], *, include_again: bool) -> None:
            # Right after the restart the node has the blocks but not yet the states under them.
            for _ in range(120):
                try:
                    return reorg_once(depth, include_again=include_again)
                except RuntimeError as exc:
                    if "Required data unavailable" not in str(exc):
                        raise
                    time.sleep(1.0)
            raise RuntimeError("anvil could not reorganise")

        def reorg_once(depth_or_rule: int | Callable[[int], int], *, include_again: bool) -> None:
            """Replace the top `depth` blocks; with `include_again` the new blocks hold the same transactions."""
            with node:
                head = client.block_number()
                depth = depth_or_rule(head) if callable(depth_or_rule) else depth_or_rule
                dropped = []
                for number in range(head - depth + 1, head + 1):
                    block = rpc("eth_getBlockByNumber", [hex(number), False])
                    dropped += block["transactions"]
                raws = [rpc("eth_getRawTransactionByHash", [h]) for h in dropped]
                payers_dropped = [by_hash[h] for h in dropped if h in by_hash]
                credited_dropped = Receipt.objects.filter(credited=True, block_number__gt=head - depth).count()
                if not include_again:
                    # Some payers never send again: those credits were final and must be reversed.
                    abandoned.update(i for i in payers_dropped if rng.random() < 0.3)
                # All in the first new block, in their old order (nonces stay in sequence).
                rpc("anvil_reorg", [depth, [[raw, 0] for raw in raws] if include_again else []])
                if rpc("eth_getCode", [coin, "latest"]) in ("0x", ""):
                    raise RuntimeError(f"anvil lost the chain's state in a reorg of {depth} blocks")
            reorgs.append(
                {
                    "depth": depth,
                    "past_finality": depth >= CONFIRMATIONS,
                    "transactions_dropped": len(dropped),
                    "payments_dropped": len(payers_dropped),
                    "credited_payments_dropped": credited_dropped,
                    "included_again_by_the_reorg": include_again,
                }
            )

        def credited_count() -> int:
            return Receipt.objects.filter(credited=True).count()

        reorg_errors: list[str] = []

        def reorgs_run() -> None:
            try:
                reorgs_planned()
            except Exception as exc:  # noqa: BLE001 - reported in the figures, never hidden
                reorg_errors.append(repr(exc))

        def deep_reorg() -> None:
            """Back to a snapshot taken while payments were still arriving, once a payment mined after it
            has been credited (so final blocks and credits are taken back), then a longer chain on top.

            anvil_reorg cannot go this deep here: anvil keeps the states of recent blocks only, and a
            deeper anvil_reorg empties the chain's state. evm_revert to a snapshot restores it whole.
            """
            while restarts < 1 and not stop.is_set():
                time.sleep(0.2)  # the node's restart forgets snapshots
            with node:
                fork = client.block_number()
                snapshot = rpc("evm_snapshot", [])
            deadline = time.monotonic() + 900
            while not Receipt.objects.filter(credited=True, block_number__gt=fork).exists():
                if time.monotonic() > deadline or stop.is_set():
                    raise RuntimeError("no payment mined after the snapshot was credited in time")
                time.sleep(0.3)
            with node:
                head = client.block_number()
                dropped = []
                for number in range(fork + 1, head + 1):
                    dropped += rpc("eth_getBlockByNumber", [hex(number), False])["transactions"]
                payers_dropped = [by_hash[h] for h in dropped if h in by_hash]
                credited_dropped = Receipt.objects.filter(credited=True, block_number__gt=fork).count()
                # Some payers never send again: those credits were final and must be reversed.
                abandoned.update(i for i in payers_dropped if rng.random() < 0.3)
                if rpc("evm_revert", [snapshot]) is not True:
                    raise RuntimeError("anvil did not revert to the snapshot")
                rpc("anvil_mine", [head - fork + 1])  # the chain that wins is the longer one
                if rpc("eth_getCode", [coin, "latest"]) in ("0x", ""):
                    raise RuntimeError("anvil lost the chain's state in the deep reorg")
            reorgs.append(
                {
                    "depth": head - fork,
                    "past_finality": head - fork >= CONFIRMATIONS,
                    "transactions_dropped": len(dropped),
                    "payments_dropped": len(payers_dropped),
                    "credited_payments_dropped": credited_dropped,
                    "included_again_by_the_reorg": False,
                }
            )

        def reorgs_planned() -> None:
            time.sleep(4)
            reorg(2, include_again=True)
            time.sleep(4)
            reorg(3, include_again=True)
            deep_reorg()
            time.sleep(3)
            reorg(1, include_again=True)

        started = time.monotonic()
        chaos_thread = threading.Thread(target=chaos, daemon=True)
        chaos_thread.start()
        reorg_thread = threading.Thread(target=reorgs_run, daemon=True)
        reorg_thread.start()
        refunded: set[int] = set()

        def pay() -> None:
            # Investors pay throughout the run, one every quarter second.
            for p in range(payments):
                sent.add(p)
                with contextlib.suppress(NodeUnavailable, Exception):
                    client.send_raw(signed[p][1])
                time.sleep(0.25)

        payer_thread = threading.Thread(target=pay, daemon=True)
        payer_thread.start()
        last_tick = 0.0

        def refunds_request() -> None:
            # Refund the first payers as soon as their payment is credited (the subscription was cancelled).
            if len(refunded) >= refunds_wanted:
                return
            for payment in Payment.objects.filter(provider="stablecoin", status=PaymentStatus.SUCCEEDED).order_by("pk")[
                : refunds_wanted * 2
            ]:
                if len(refunded) >= refunds_wanted or payment.pk in refunded:
                    continue
                with contextlib.suppress(Exception):
                    refund_request(payment=payment, reason="Cancelled by the investor")
                    refunded.add(payment.pk)

        for i in range(mints):
            amount = i + 1  # every mint has its own amount, so a duplicate is visible on-chain
            holder = i % HOLDERS
            intended[holder] = intended.get(holder, 0) + amount
            token_mint(owner_ref="offering:chaos", wallet=_wallet(holder), amount=amount, idempotency_key=f"chaos-{i}")
            if i % 50 == 0:
                time.sleep(0.05)
            if time.monotonic() - last_tick > 4:
                last_tick = time.monotonic()
                tick()
                refunds_request()
        payer_thread.join()

        def figures() -> dict[str, Any]:
            """What the chain holds (up to its last final block) against what the portal recorded."""
            final = client.block_number() - CONFIRMATIONS + 1
            transfer = "0x" + keccak_text("Transfer(address,address,uint256)").hex()
            logs = rpc(
                "eth_getLogs", [{"address": coin, "fromBlock": "0x0", "toBlock": hex(final), "topics": [transfer]}]
            )
            receiving_topic = "0x" + "0" * 24 + receiving[2:].lower()
            payer_addresses = {p.address.lower() for p in payers}
            into = [
                (log["transactionHash"], int(log["logIndex"], 16), int(log["data"], 16))
                for log in logs
                if log["topics"][2] == receiving_topic and "0x" + log["topics"][1][26:] in payer_addresses
            ]
            refunds_on_chain = Counter(
                "0x" + log["topics"][2][26:] for log in logs if log["topics"][1] == receiving_topic
            )
            on_chain_keys = {(h, n) for h, n, _ in into}
            credited = set(Receipt.objects.filter(credited=True).values_list("transaction_hash", "log_index"))
            return {
                "on_chain": len(into),
                "on_chain_units": sum(v for *_, v in into),
                "credited_not_on_chain": len(credited - on_chain_keys),
                "on_chain_not_credited": len(on_chain_keys - credited),
                "refunds_on_chain": refunds_on_chain,
            }

        def finished() -> bool:
            wallets_send()
            refunds_request()
            if reorg_errors:
                return True  # the scenario could not run as planned; the figures say so
            if kills < kills_wanted or restarts < 1 or reorg_thread.is_alive() or len(reorgs) < 4:
                return False
            rows = ChainTransaction.objects.filter(idempotency_key__regex=r"^chaos-[0-9]+$")
            if rows.exclude(status__in=[TxStatus.CONFIRMED, TxStatus.FAILED]).exists():
                return False
            if ChainTransaction.objects.filter(
                status__in=[TxStatus.PENDING, TxStatus.SIGNED, TxStatus.BROADCAST, TxStatus.MINED]
            ).exists():
                return False
            if Refund.objects.filter(status__in=OPEN_REFUND_STATUSES).exists():
                return False
            f = figures()
            return f["credited_not_on_chain"] == 0 and f["on_chain_not_credited"] == 0

        timed_out = False
        try:
            wait_until(finished, timeout=1800, tick=tick, poll=4.0)
        except TimeoutError:
            timed_out = True  # report what is, not what was hoped for
        stop.set()
        chaos_thread.join()
        reorg_thread.join()
        producer.join()
        seconds = time.monotonic() - started
        failed_rows = ChainTransaction.objects.filter(idempotency_key__regex=r"^chaos-[0-9]+$", status=TxStatus.FAILED)
        failed = failed_rows.count()
        reasons = Counter(r.error_name or r.last_error[:80] for r in failed_rows)

        transfer = "0x" + keccak_text("Transfer(address,address,uint256)").hex()
        logs = rpc(
            "eth_getLogs", [{"address": token.address, "fromBlock": "0x0", "toBlock": "latest", "topics": [transfer]}]
        )
        minted = Counter(int(log["data"], 16) for log in logs if int(log["topics"][1], 16) == 0)
        duplicate_mints = sum(n - 1 for n in minted.values() if n > 1)
        onchain_total = sum(value * n for value, n in minted.items())
        expected_total = sum(intended.values())

        f = figures()
        stablecoin_payments = Payment.objects.filter(provider="stablecoin")
        received = Counter(
            PaymentEntry.objects.filter(provider="stablecoin", kind=EntryKind.RECEIVED).values_list(
                "payment_id", flat=True
            )
        )
        reversed_ = Counter(
            PaymentEntry.objects.filter(provider="stablecoin", kind=EntryKind.REORG_REVERSAL).values_list(
                "payment_id", flat=True
            )
        )
        # A payment credited more times than the chain dropped it is a double credit.
        duplicate_credits = sum(max(received[p] - reversed_[p] - 1, 0) for p in received)
        credited_units = sum(
            cents_to_units(p.amount_minor) * (received[p.pk] - reversed_[p.pk]) for p in stablecoin_payments
        )
        refunds_sent = Refund.objects.filter(provider="stablecoin", status=RefundStatus.SENT).count()
        refunds_failed = Refund.objects.filter(provider="stablecoin", status=RefundStatus.FAILED).count()
        refunded_wallets = {
            p.details.get("paid_from", "").lower()
            for p in stablecoin_payments.filter(refunds__status=RefundStatus.SENT).distinct()
        }
        refunds_on_chain = f["refunds_on_chain"]
        duplicate_refunds = sum(n - 1 for n in refunds_on_chain.values() if n > 1)
        refunds_missing = len([w for w in refunded_wallets if refunds_on_chain.get(w, 0) == 0])
        dropped_for_good = sum(1 for i in abandoned if client.receipt(signed[i][0]) is None)
        refunded_but_dropped = len(
            abandoned & {i for i, p in enumerate(payers) if p.address.lower() in refunded_wallets}
        )
        detected = ChainReorg.objects.count()
        included_again = Receipt.objects.filter(inclusions__gt=1).count()

    duplicates = duplicate_mints + duplicate_credits + duplicate_refunds
    payload = {
        "mints": mints,
        "worker_kills": kills,
        "node_restarts": restarts,
        "expected_total": expected_total,
        "onchain_total": onchain_total,
        "duplicates": duplicates,
        "stablecoin_payments": payments,
        "refunds": refunds_sent,
        "reorgs": len(reorgs),
        "credited_not_on_chain": f["credited_not_on_chain"],
        "on_chain_not_credited": f["on_chain_not_credited"],
        "confirmations": CONFIRMATIONS,
        "reorg_depths": [r["depth"] for r in reorgs],
        "reorg_log": reorgs,
        "reorgs_past_finality_detected": detected,
        "payments_on_chain": f["on_chain"],
        "payment_units_on_chain": f["on_chain_units"],
        "payment_units_credited": credited_units,
        "credits_reversed": sum(reversed_.values()),
        "payments_reversed": len(reversed_),
        "receipts_included_again": included_again,
        "payments_dropped_for_good": dropped_for_good,
        "refunds_failed": refunds_failed,
        "refunds_missing_on_chain": refunds_missing,
        "refunds_for_transfers_dropped_for_good": refunded_but_dropped,
        "duplicate_mints": duplicate_mints,
        "duplicate_credits": duplicate_credits,
        "duplicate_refunds": duplicate_refunds,
        "failed_transactions": failed,
        "timed_out": timed_out,
        "reorg_errors": reorg_errors,
        "seconds": round(seconds, 1),
    }
    ok_mints = onchain_total == expected_total
    ok_credits = f["on_chain_units"] == credited_units
    report(
        "bench.chaos: mints, stablecoin payments and refunds while workers are SIGKILLed, the node restarts "
        "and the chain reorganises",
        [
            ("mints", mints),
            ("stablecoin payments", payments),
            ("refunds sent", f"{refunds_sent} of {refunds_wanted} requested ({refunds_failed} failed)"),
            ("worker SIGKILLs", kills),
            ("node restarts", restarts),
            ("confirmation depth", CONFIRMATIONS),
            (
                "reorgs",
                f"{len(reorgs)}, depths {[r['depth'] for r in reorgs]} "
                f"({sum(r['past_finality'] for r in reorgs)} past finality, {detected} detected past finality)",
            ),
            *[
                (
                    f"  reorg of {r['depth']} blocks",
                    f"{r['transactions_dropped']} transactions dropped, {r['payments_dropped']} payments "
                    f"({r['credited_payments_dropped']} already credited), "
                    f"{'included again by the reorg' if r['included_again_by_the_reorg'] else 'not included again'}",
                )
                for r in reorgs
            ],
            ("mint expected total", expected_total),
            ("mint on-chain total", f"{onchain_total}  {'= expected' if ok_mints else 'MISMATCH'}"),
            ("payments on-chain", f"{f['on_chain']} ({dropped_for_good} dropped for good by the deep reorg)"),
            (
                "payment units credited",
                f"{credited_units}  {'= on-chain' if ok_credits else 'MISMATCH'} ({f['on_chain_units']} on-chain)",
            ),
            (
                "credits reversed (payments)",
                f"{sum(reversed_.values())} ({len(reversed_)}), {included_again} receipts "
                "credited again on re-inclusion",
            ),
            ("credited, not on chain", f["credited_not_on_chain"]),
            ("on chain, not credited", f["on_chain_not_credited"]),
            ("refunds missing on chain", refunds_missing),
            ("refunds sent for a payment later dropped", refunded_but_dropped),
            (
                "duplicates",
                f"{duplicates} (mints {duplicate_mints}, credits {duplicate_credits}, refunds {duplicate_refunds})",
            ),
            ("failed transactions", f"{failed} {dict(reasons) if reasons else ''}"),
            ("wall time", f"{seconds:.1f} s{' (TIMED OUT)' if timed_out else ''}"),
            *([("reorg errors", "; ".join(reorg_errors))] if reorg_errors else []),
        ],
        payload,
        args.json,
    )
    if (
        duplicates
        or not ok_mints
        or not ok_credits
        or f["credited_not_on_chain"]
        or f["on_chain_not_credited"]
        or refunds_missing
        or timed_out
        or reorg_errors
        or len(reorgs) < 3
    ):
        raise SystemExit(1)


if __name__ == "__main__":
    main()

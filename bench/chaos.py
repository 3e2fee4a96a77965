"""python -m bench.chaos [--mints N] [--kills N] [--quick] [--json]

N single mints through the outbox while worker processes are SIGKILLed at random moments and
the anvil node is stopped and restarted from its state file once. Afterwards every intended
mint must be on-chain exactly once: prints expected vs on-chain totals and the duplicate count.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import signal
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from bench.harness import report, stack, wait_until

HOLDERS = 20


def _wallet(i: int) -> str:
    from tokens.chain.testing import address_for

    return address_for(f"chaos-holder-{i}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mints", type=int, default=1000)
    parser.add_argument("--kills", type=int, default=12)
    parser.add_argument("--quick", action="store_true", help="200 mints, 10 kills, for CI")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--seed", type=int, default=20261122)
    args = parser.parse_args()
    mints = 200 if args.quick else args.mints
    kills_wanted = max(10, args.kills)
    rng = random.Random(args.seed)

    with stack(state_file=True) as s:
        from tokens.chain.addresses import keccak_text
        from tokens.chain.client import client_for
        from tokens.models import ChainTransaction, TxStatus
        from tokens.services import (
            InvestorRecord,
            TokenTerms,
            registry_deploy,
            registry_investors_register_batch,
            token_deploy,
            token_mint,
        )
        from tokens.tasks import outbox_watch_task

        s.start_worker("setup")

        def settle(prefix: str) -> None:
            def done() -> bool:
                rows = ChainTransaction.objects.filter(idempotency_key__startswith=prefix)
                return rows.exists() and not rows.exclude(status=TxStatus.CONFIRMED).exists()

            wait_until(done, timeout=300, tick=outbox_watch_task.delay, poll=0.5)

        registry_deploy()
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
        s.stop_workers()

        intended: dict[int, int] = {}
        kills = 0
        restarts = 0
        stop = threading.Event()

        def chaos() -> None:
            nonlocal kills, restarts
            workers = [s.start_worker("chaos-0"), s.start_worker("chaos-1")]
            while not stop.is_set() and kills < kills_wanted:
                time.sleep(rng.uniform(0.4, 1.6))
                victim = rng.randrange(len(workers))
                if workers[victim].poll() is None:
                    workers[victim].send_signal(signal.SIGKILL)
                    workers[victim].wait()
                    kills += 1
                workers[victim] = s.start_worker(f"chaos-{victim}-{kills}")
                if restarts == 0 and kills >= kills_wanted // 2:
                    s.anvil.stop()  # the state file keeps the chain; the mempool is lost
                    time.sleep(1.0)
                    s.anvil.start()
                    restarts += 1

        started = time.monotonic()
        chaos_thread = threading.Thread(target=chaos, daemon=True)
        chaos_thread.start()
        for i in range(mints):
            amount = i + 1  # every mint has its own amount, so a duplicate is visible on-chain
            holder = i % HOLDERS
            intended[holder] = intended.get(holder, 0) + amount
            token_mint(owner_ref="offering:chaos", wallet=_wallet(holder), amount=amount, idempotency_key=f"chaos-{i}")
            if i % 50 == 0:
                time.sleep(0.05)

        def finished() -> bool:
            if kills < kills_wanted or restarts < 1:
                return False
            rows = ChainTransaction.objects.filter(idempotency_key__regex=r"^chaos-[0-9]+$")
            return not rows.exclude(status__in=[TxStatus.CONFIRMED, TxStatus.FAILED]).exists()

        def tick() -> None:
            # The broker is local; a hiccup only delays the next tick.
            with contextlib.suppress(Exception):
                outbox_watch_task.delay()

        wait_until(finished, timeout=1800, tick=tick, poll=1.0)
        stop.set()
        chaos_thread.join()
        seconds = time.monotonic() - started
        failed_rows = ChainTransaction.objects.filter(idempotency_key__regex=r"^chaos-[0-9]+$", status=TxStatus.FAILED)
        failed = failed_rows.count()
        reasons = Counter(r.error_name or r.last_error[:80] for r in failed_rows)

        client = client_for(s.anvil.rpc_url)
        transfer = "0x" + keccak_text("Transfer(address,address,uint256)").hex()
        logs = client.rpc(
            "eth_getLogs", [{"address": token.address, "fromBlock": "0x0", "toBlock": "latest", "topics": [transfer]}]
        )["result"]
        minted = Counter(int(log["data"], 16) for log in logs if int(log["topics"][1], 16) == 0)
        duplicates = sum(n - 1 for n in minted.values() if n > 1)
        onchain_total = sum(value * n for value, n in minted.items())
        expected_total = sum(intended.values())

    payload = {
        "mints": mints,
        "worker_kills": kills,
        "node_restarts": restarts,
        "expected_total": expected_total,
        "onchain_total": onchain_total,
        "duplicates": duplicates,
    }
    report(
        "bench.chaos: mints while workers are SIGKILLed and the node restarts",
        [
            ("mints", mints),
            ("worker SIGKILLs", kills),
            ("node restarts", restarts),
            ("expected total", expected_total),
            ("on-chain total", f"{onchain_total}  {'= expected' if onchain_total == expected_total else 'MISMATCH'}"),
            ("duplicates", duplicates),
            ("failed transactions", f"{failed} {dict(reasons) if reasons else ''}"),
            ("wall time", f"{seconds:.1f} s"),
        ],
        payload,
        args.json,
    )
    if duplicates or onchain_total != expected_total:
        raise SystemExit(1)


if __name__ == "__main__":
    main()

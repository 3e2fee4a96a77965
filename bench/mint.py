"""python -m bench.mint [--holders N] [--batch N] [--senders N] [--quick] [--json]

Mints to N distinct verified investors end to end: services write outbox rows, Celery workers
sign and send them to anvil, the watcher confirms them, the indexer reads the Transfer events
back. Prints wall time, transactions sent, gas per holder and indexer throughput.

`--senders N` signs with the agent and N - 1 agent pool senders (anvil's accounts 10 and up), each
its own nonce stream, flushed by N worker processes; the pool is granted the agent role at deploy.
For N > 1 point BENCH_DATABASE_URL at PostgreSQL: SQLite takes one writer at a time.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta

from bench.harness import report, stack, wait_until


def _wallet(i: int) -> str:
    from tokens.chain.testing import address_for

    return address_for(f"bench-holder-{i}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--holders", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--senders", type=int, default=1, help="agent senders signing in parallel (1 to 7)")
    parser.add_argument("--quick", action="store_true", help="500 holders, for CI")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    holders = 500 if args.quick else args.holders
    if not 1 <= args.senders <= 7:
        parser.error("--senders takes 1 to 7 (the agent and up to six of anvil's development accounts)")

    with stack() as s:
        from django.conf import settings
        from django.db import transaction
        from django.db.models import Count, Sum

        from tokens.chain.client import client_for
        from tokens.indexer import chain_index
        from tokens.models import ChainEvent, ChainTransaction, IndexerCursor, TxStatus
        from tokens.services import (
            InvestorRecord,
            TokenTerms,
            registry_deploy,
            registry_investors_register_batch,
            token_batch_mint,
            token_deploy,
        )
        from tokens.tasks import chain_index_task, outbox_watch_task

        pool = list(settings.ANVIL_DEV_POOL)[: args.senders - 1]
        settings.CHAIN_AGENT_POOL = pool  # this process queues the rows; the workers below sign them
        s.env["CHAIN_AGENT_POOL_ADDRESSES"] = ",".join(pool)
        for address in pool:
            s.anvil.rpc("anvil_setBalance", [address, hex(10**22)])
        s.start_worker("flush", concurrency=args.senders)
        s.start_worker("watch")

        def tick() -> None:
            outbox_watch_task.delay()
            chain_index_task.delay()

        def all_confirmed(prefix: str) -> bool:
            rows = ChainTransaction.objects.filter(idempotency_key__startswith=prefix)
            failed = rows.filter(status=TxStatus.FAILED).first()
            if failed:
                raise RuntimeError(f"{failed.purpose}: {failed.error_name or failed.last_error}")
            return rows.exists() and not rows.exclude(status=TxStatus.CONFIRMED).exists()

        setup_started = time.monotonic()
        registry_deploy()
        wait_until(lambda: all_confirmed("deploy:"), timeout=120, tick=tick, poll=0.5)
        expiry = datetime.now(tz=UTC) + timedelta(days=365)
        for start in range(0, holders, args.batch):
            with transaction.atomic():
                registry_investors_register_batch(
                    investors=[
                        InvestorRecord(f"bench-{i}", _wallet(i), 840, 1, expiry)
                        for i in range(start, min(start + args.batch, holders))
                    ],
                    idempotency_key=f"registry-batch-{start}",
                )
        token = token_deploy(
            owner_ref="bench:mint", terms=TokenTerms(name="Bench Equity", symbol="BNCH", allowed_countries=[840])
        )
        wait_until(
            lambda: all_confirmed("registry-batch-") and all_confirmed("token:") and all_confirmed("deploy:"),
            timeout=600,
            tick=tick,
            poll=0.5,
        )
        token.refresh_from_db()
        setup_seconds = time.monotonic() - setup_started

        started = time.monotonic()
        for start in range(0, holders, args.batch):
            token_batch_mint(
                owner_ref="bench:mint",
                allocations=[(_wallet(i), 100 + i % 7) for i in range(start, min(start + args.batch, holders))],
                idempotency_key=f"mint-batch-{start}",
            )

        def minted_and_indexed() -> bool:
            if not all_confirmed("mint-batch-"):
                return False
            return ChainEvent.objects.filter(contract_address=token.address, name="Transfer").count() >= holders

        wait_until(minted_and_indexed, timeout=1800, tick=tick, poll=0.25)
        seconds = time.monotonic() - started
        s.stop_workers()

        mints = ChainTransaction.objects.filter(idempotency_key__startswith="mint-batch-")
        gas = mints.aggregate(total=Sum("gas_used"))["total"] or 0
        mint_count = mints.count()
        per_sender = dict(mints.values_list("sender").annotate(n=Count("id")).order_by("sender"))
        expected = sum(100 + i % 7 for i in range(holders))
        supply = int(
            client_for(s.env["CHAIN_RPC_URL"]).rpc("eth_call", [{"to": token.address, "data": "0x18160ddd"}, "latest"])[
                "result"
            ],
            16,
        )

        # Indexer throughput: read the token's whole history again from scratch.
        ChainEvent.objects.filter(contract_address=token.address).delete()
        IndexerCursor.objects.filter(contract_address=token.address).delete()
        index_started = time.monotonic()
        indexed = chain_index(client=client_for(s.env["CHAIN_RPC_URL"]), confirmations=1)
        index_seconds = time.monotonic() - index_started

    payload = {
        "holders": holders,
        "senders": args.senders,
        "seconds": round(seconds, 2),
        "transactions": mint_count,
        "gas_per_holder": round(gas / holders),
        "events_per_second": round(indexed / index_seconds, 1) if index_seconds else None,
    }
    report(
        "bench.mint: services → outbox → Celery → anvil → confirmations → indexer",
        [
            ("holders", holders),
            ("setup (registry, investors, token)", f"{setup_seconds:.1f} s"),
            ("mint wall time, end to end", f"{seconds:.1f} s  (target ≤ 120 s for 10,000)"),
            ("mint transactions", payload["transactions"]),
            ("senders (mint transactions each)", ", ".join(f"{a[:10]}…: {n}" for a, n in per_sender.items())),
            ("gas per holder", payload["gas_per_holder"]),
            ("on-chain supply = intended", f"{supply} = {expected}  {'OK' if supply == expected else 'MISMATCH'}"),
            ("indexer", f"{indexed} events in {index_seconds:.2f} s = {payload['events_per_second']} events/s"),
        ],
        payload,
        args.json,
    )
    if supply != expected:
        raise SystemExit(1)


if __name__ == "__main__":
    main()

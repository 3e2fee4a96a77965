from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from tokens.chain.signer import agent_pool
from tokens.services import agent_pool_ensure


class Command(BaseCommand):
    help = (
        "Queue the agent role of the registry and of every token for each sender of the agent pool "
        "(CHAIN_AGENT_POOL_ADDRESSES) that lacks it; run after adding senders to the pool. Running it again "
        "queues nothing."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        pool = agent_pool()
        if not pool:
            self.stdout.write("No agent pool is configured (CHAIN_AGENT_POOL_ADDRESSES): nothing to grant.")
            return
        queued = agent_pool_ensure()
        for tx in queued:
            self.stdout.write(f"Queued: {tx.purpose}")
        self.stdout.write(
            f"{len(queued)} grants queued for {len(pool)} pool senders; workers send them, and a pool sender signs "
            "for a contract only once its grant is confirmed."
            if queued
            else f"Every one of the {len(pool)} pool senders is already an agent of the registry and every token."
        )

"""Which blocks the portal treats as final: one answer for every reader.

The indexer reads events only up to this block (so stablecoin payments are credited only from
final blocks), and the outbox marks a transaction confirmed (so closing mints against it and
pages show it as done) only once its receipt is at or below it. `CHAIN_FINALITY` chooses the rule:
"depth" (the block has `CHAIN_CONFIRMATIONS` blocks on top, itself included) or "finalized" (the
node's own `finalized` block tag, for proof-of-stake chains).
"""

from __future__ import annotations

from django.conf import settings

from tokens.chain.client import ChainClient

FINALITY_RULES = ("depth", "finalized")


def final_block_number(client: ChainClient, *, head: int | None = None, confirmations: int | None = None) -> int:
    """The highest block number treated as final (-1 when none is yet)."""
    rule = getattr(settings, "CHAIN_FINALITY", "depth")
    if rule not in FINALITY_RULES:
        raise ValueError(f"CHAIN_FINALITY must be one of {FINALITY_RULES}, not {rule!r}")
    if rule == "finalized" and confirmations is None:
        block = client.block("finalized")
        return int(block["number"]) if block is not None else -1
    depth = settings.CHAIN_CONFIRMATIONS if confirmations is None else confirmations
    head = client.block_number() if head is None else head
    return head - max(depth, 1) + 1

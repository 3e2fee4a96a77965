"""Reads contract events back from the chain, once each, and follows reorgs.

The only writer of `ChainEvent`. For every contract the portal deployed it keeps a cursor,
reads logs up to the last final block (tokens/finality.py), records the hash of every block it
relied on, and when a stored hash no longer matches the chain (parent-hash mismatch) rolls
events and cursors back to the fork point and reads again.

Since only final blocks are read, a rollback means the chain reorganised deeper than the
portal's finality rule: it is recorded as a `ChainReorg` for staff, every transaction the outbox
had confirmed above the fork is reopened (the watcher finds it again or re-sends its signed
bytes), and readers of the dropped events (stablecoin receipts) reverse what they did with them.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet

from core.audit import audit_record
from tokens.chain.abi import decode_log
from tokens.chain.addresses import transfer_topics_to
from tokens.chain.client import ChainClient
from tokens.finality import final_block_number
from tokens.models import (
    ChainEvent,
    ChainReorg,
    ChainTransaction,
    ContractDeployment,
    ContractKind,
    IndexedBlock,
    IndexerCursor,
    TxStatus,
)
from tokens.stablecoin import stablecoin_receiving_address

log = logging.getLogger(__name__)
MAX_RANGE = 2_000


def _highest_still_on_chain(client: ChainClient, rows: QuerySet[Any, tuple[int, str]]) -> int | None:
    """Over stored (number, hash) rows, newest first: None when the newest is still on the chain, else
    the highest stored block that still is (-1 when none is). Rows above the fork differ and rows at or
    below it match, so a doubling then binary search finds it however deep the reorg, in few calls."""

    def matches(position: int) -> bool:
        number, stored_hash = rows[position : position + 1][0]
        block = client.block(int(number))
        return block is not None and block["hash"] == stored_hash

    if not rows[:1] or matches(0):
        return None
    count = rows.count()  # only after a reorg
    low, high = 0, 1  # low differs; look further down until a row matches
    while high < count and not matches(high):
        low, high = high, high * 2
    if high >= count:
        high = count - 1
        if high == low or not matches(high):
            return -1
    while high - low > 1:
        middle = (low + high) // 2
        if matches(middle):
            high = middle
        else:
            low = middle
    return int(rows[high : high + 1][0][0])


def _fork_point(client: ChainClient, chain_id: int) -> int | None:
    """The highest stored block that is still on the chain, or None when nothing changed."""
    rows = IndexedBlock.objects.filter(chain_id=chain_id).order_by("-number").values_list("number", "hash")
    return _highest_still_on_chain(client, rows)


def _confirmed_fork(client: ChainClient, chain_id: int) -> int | None:
    """Like `_fork_point`, over the blocks of transactions the outbox confirmed (the indexer may not
    have read them yet): the highest such block still on the chain, or None when nothing changed."""
    rows = (
        ChainTransaction.objects.filter(chain_id=chain_id, status=TxStatus.CONFIRMED, block_number__isnull=False)
        .exclude(block_hash="")
        .order_by("-block_number")
        .values_list("block_number", "block_hash")
        .distinct()
    )
    return _highest_still_on_chain(client, rows)  # type: ignore[arg-type]


def _rollback(chain_id: int, fork: int) -> ChainReorg:
    with transaction.atomic():
        read_to = IndexedBlock.objects.filter(chain_id=chain_id).order_by("-number").values_list("number", flat=True)
        dropped = ChainEvent.objects.filter(chain_id=chain_id, block_number__gt=fork).delete()[0]
        highest = read_to.first()
        blocks = IndexedBlock.objects.filter(chain_id=chain_id, number__gt=fork).delete()[0]
        cursors = IndexerCursor.objects.filter(chain_id=chain_id, last_block__gt=fork).update(last_block=fork)
        # Confirmed above the fork means confirmed in blocks that are gone: the watcher looks again.
        reopened = list(
            ChainTransaction.objects.filter(
                chain_id=chain_id, status=TxStatus.CONFIRMED, block_number__gt=fork
            ).values_list("pk", flat=True)
        )
        ChainTransaction.objects.filter(pk__in=reopened).update(status=TxStatus.MINED)
        reorg = ChainReorg.objects.create(
            chain_id=chain_id,
            fork_block=fork,
            depth=max((highest or fork) - fork, 0),
            events_dropped=dropped,
            transactions_reopened=len(reopened),
        )
        audit_record(
            actor="indexer",
            action="chain.index_rolled_back",  # a reorg past finality
            obj=reorg,
            after={
                "chain_id": chain_id,
                "fork_block": fork,
                "events": dropped,
                "blocks": blocks,
                "cursors": cursors,
                "transactions_reopened": reopened[:100],
            },
        )
    log.error(
        "chain reorganised above block %s, past finality: %s events rolled back, %s transactions reopened",
        fork,
        dropped,
        len(reopened),
    )
    return reorg


def _remember_block(chain_id: int, block: dict) -> None:
    IndexedBlock.objects.update_or_create(
        chain_id=chain_id, number=block["number"], defaults={"hash": block["hash"], "parent_hash": block["parent_hash"]}
    )


def _index_range(
    client: ChainClient, chain_id: int, address: str, start: int, end: int, topics: list[Any] | None = None
) -> int:
    """Read [start, end] for one contract; raises ReorgDetected on a parent-hash mismatch."""
    first = client.block(start)
    if first is None:
        return 0
    previous = IndexedBlock.objects.filter(chain_id=chain_id, number=start - 1).values_list("hash", flat=True).first()
    if previous is not None and first["parent_hash"] != previous:
        raise ReorgDetected(start - 1)
    last = client.block(end)
    logs = client.logs([address], start, end, topics)
    events = []
    blocks = {end: last}
    for entry in logs:
        decoded = decode_log(entry["topics"], entry["data"])
        if decoded is None:
            continue
        name, args = decoded
        events.append(
            ChainEvent(
                chain_id=chain_id,
                contract_address=entry["address"],
                block_number=entry["block_number"],
                block_hash=entry["block_hash"],
                transaction_hash=entry["transaction_hash"],
                log_index=entry["log_index"],
                name=name,
                args=args,
            )
        )
        blocks.setdefault(entry["block_number"], None)
    # The blocks that hold the logs, in one batch request rather than a round trip each.
    blocks.update(client.blocks([number for number, block in blocks.items() if block is None]))
    with transaction.atomic():
        for block in blocks.values():
            if block is not None:
                _remember_block(chain_id, block)
        _remember_block(chain_id, first)
        ChainEvent.objects.bulk_create(events, ignore_conflicts=True, batch_size=1000)
        IndexerCursor.objects.filter(chain_id=chain_id, contract_address=address).update(last_block=end)
    return len(events)


class ReorgDetected(Exception):
    def __init__(self, below: int) -> None:
        super().__init__(f"parent hash mismatch above block {below}")
        self.below = below


def _genesis_changed(client: ChainClient, chain_id: int) -> bool:
    """Record the chain's genesis block the first time; True when the node now has another one (a reset)."""
    genesis = client.block(0)
    if genesis is None:
        return False
    recorded = IndexedBlock.objects.filter(chain_id=chain_id, number=0).values_list("hash", flat=True).first()
    if recorded is None:
        _remember_block(chain_id, genesis)
        return False
    return bool(recorded != genesis["hash"])


def _confirmed_contracts_gone(client: ChainClient, chain_id: int) -> bool:
    """True when a contract whose deployment the outbox confirmed (final) has no code on the node."""
    addresses = ContractDeployment.objects.filter(
        chain_id=chain_id, deploy_transaction__status=TxStatus.CONFIRMED
    ).exclude(address="")
    return any(not client.code(address) for address in addresses.values_list("address", flat=True))


def index_reset(*, chain_id: int) -> int:
    """Forget everything read from a chain that was reset (events, blocks, cursors); returns the events dropped."""
    reorg = _rollback(chain_id, -1)
    return reorg.events_dropped


def chain_index(*, client: ChainClient, chain_id: int | None = None, confirmations: int | None = None) -> int:
    """One indexing pass over every deployed contract; returns how many events were stored."""
    chain_id = chain_id or settings.CHAIN_ID
    if _genesis_changed(client, chain_id):
        # Not a reorg: the chain was replaced under the database. Nothing is read or rolled back until a
        # person runs `manage.py chain_resync`, which checks that the history can be sent again first.
        log.error("chain %s has a new genesis block: run `manage.py chain_resync` (nothing indexed)", chain_id)
        return 0
    forks = [f for f in (_fork_point(client, chain_id), _confirmed_fork(client, chain_id)) if f is not None]
    if forks and _confirmed_contracts_gone(client, chain_id):
        # A node with the same genesis (a local chain started again within the same second) that has lost
        # contracts deployed and confirmed: a reset too, not a reorg to roll back.
        log.error(
            "chain %s lost contracts the portal confirmed: run `manage.py chain_resync` (nothing indexed)", chain_id
        )
        return 0
    if forks:
        _rollback(chain_id, min(forks))
    target = final_block_number(client, confirmations=confirmations)
    stored = 0
    deployments = (
        ContractDeployment.objects.filter(chain_id=chain_id).exclude(address="").select_related("deploy_transaction")
    )
    receiving = [stablecoin_receiving_address()]
    for deployment in deployments:
        deploy_tx = deployment.deploy_transaction
        if deploy_tx is not None:
            if deploy_tx.status not in (TxStatus.MINED, TxStatus.CONFIRMED):
                continue
            first_block = deploy_tx.block_number or 0
        elif deployment.index_from_block is not None:
            first_block = deployment.index_from_block
        else:
            continue
        # A stablecoin has far more transfers than ours: read only those into the receiving address.
        topics = transfer_topics_to(receiving) if deployment.kind == ContractKind.STABLECOIN else None
        cursor, _ = IndexerCursor.objects.get_or_create(
            chain_id=chain_id, contract_address=deployment.address, defaults={"last_block": first_block - 1}
        )
        start = cursor.last_block + 1
        while start <= target:
            end = min(start + MAX_RANGE - 1, target)
            try:
                stored += _index_range(client, chain_id, deployment.address, start, end, topics)
            except ReorgDetected as reorg:
                fork = _fork_point(client, chain_id)
                _rollback(chain_id, fork if fork is not None else reorg.below - 1)
                break
            start = end + 1
    return stored

"""A chain reset under an existing database: detect it, then send the recorded history again.

A node restarted without its state (a local anvil whose state file was lost, a wiped test network)
keeps its chain id but loses every block, while the database still says what was deployed and
minted. It shows as a genesis block other than the one the indexer recorded, or as deployed
contracts without code.

The outbox holds every transaction the portal signed, as signed bytes at fixed nonces. On a fresh
chain where each sender is at the nonce of its first recorded transaction, sending those bytes
again in the order they were mined rebuilds the same history: the same contracts at the same
addresses, the same effects, each once (the same hashes), so every reference in the database
stays true. The indexer's events are dropped and read again from the rebuilt chain; the watcher
confirms the transactions as they are mined. Where that is not possible (a sender already used
on the new chain, a contract the portal did not deploy) nothing is changed and the report says why.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.audit import audit_record
from core.models import User
from tokens.chain.client import ChainClient, NodeRejected
from tokens.indexer import index_reset
from tokens.models import ChainTransaction, ContractDeployment, IndexedBlock, TxStatus
from tokens.outbox import chain_client

Verdict = Literal["in_sync", "reset", "wrong_chain"]
# Rows whose signed bytes used their nonce on the old chain: mined, or sent and maybe mined.
_REPLAYED = Q(status__in=[TxStatus.SIGNED, TxStatus.BROADCAST, TxStatus.MINED, TxStatus.CONFIRMED]) | Q(
    status=TxStatus.FAILED, block_number__isnull=False
)


@dataclass
class ContractState:
    label: str
    address: str
    has_code: bool
    deployed_by_portal: bool


@dataclass
class SenderState:
    address: str
    first_nonce: int
    last_nonce: int
    node_nonce: int
    balance: int
    problem: str = ""


@dataclass
class ResyncReport:
    rpc_url: str
    chain_id: int
    node_chain_id: int
    genesis_recorded: str
    genesis_node: str
    verdict: Verdict
    reasons: list[str] = field(default_factory=list)
    contracts: list[ContractState] = field(default_factory=list)
    senders: list[SenderState] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    resent: int = 0
    send_errors: list[str] = field(default_factory=list)
    events_dropped: int = 0
    applied: bool = False

    @property
    def replayable(self) -> bool:
        return self.verdict == "reset" and not self.problems


def _genesis(client: ChainClient) -> str:
    block = client.block(0)
    return str(block["hash"]) if block else ""


def chain_resync_check(*, client: ChainClient | None = None) -> ResyncReport:
    """Compare the node with what the database recorded: chain id, genesis block, code at the contracts."""
    client = client or chain_client()
    chain_id = int(settings.CHAIN_ID)
    recorded = IndexedBlock.objects.filter(chain_id=chain_id, number=0).values_list("hash", flat=True).first() or ""
    report = ResyncReport(
        rpc_url=settings.CHAIN_RPC_URL,
        chain_id=chain_id,
        node_chain_id=client.chain_id(),
        genesis_recorded=recorded,
        genesis_node=_genesis(client),
        verdict="in_sync",
    )
    if report.node_chain_id != chain_id:
        report.verdict = "wrong_chain"
        report.reasons.append(
            f"The node answers chain id {report.node_chain_id}; the portal is set up for chain {chain_id} "
            "(CHAIN_ID). That is another network, not a reset: check CHAIN_RPC_URL and CHAIN_ID."
        )
        return report
    if recorded and recorded != report.genesis_node:
        report.reasons.append(f"The genesis block is {report.genesis_node}, not {recorded} as recorded.")
    for deployment in (
        ContractDeployment.objects.filter(chain_id=chain_id).exclude(address="").select_related("deploy_transaction")
    ):
        deploy = deployment.deploy_transaction
        if deploy is not None and deploy.status not in (TxStatus.MINED, TxStatus.CONFIRMED):
            continue  # not mined before: the outbox sends it as usual
        state = ContractState(
            label=str(deployment.name or deployment.get_kind_display()),
            address=deployment.address,
            has_code=bool(client.code(deployment.address)),
            deployed_by_portal=deploy is not None,
        )
        report.contracts.append(state)
        if not state.has_code:
            report.reasons.append(f"{state.label} has no code at {state.address}.")
            if not state.deployed_by_portal:
                report.problems.append(
                    f"{state.label} at {state.address} was not deployed by the portal, so it cannot be sent again: "
                    "point CHAIN_RPC_URL at the chain that holds it."
                )
    if report.reasons:
        report.verdict = "reset"
        _senders_check(client, report)
    return report


def _senders_check(client: ChainClient, report: ResyncReport) -> None:
    rows = ChainTransaction.objects.filter(_REPLAYED, chain_id=report.chain_id, nonce__isnull=False).exclude(
        signed_raw=None
    )
    for sender in sorted(set(rows.values_list("sender", flat=True))):
        nonces = sorted(int(n or 0) for n in rows.filter(sender=sender).values_list("nonce", flat=True))
        state = SenderState(
            address=sender,
            first_nonce=nonces[0],
            last_nonce=nonces[-1],
            node_nonce=client.pending_nonce(sender),
            balance=client.balance(sender),
        )
        missing = sorted(set(range(nonces[0], nonces[-1] + 1)) - set(nonces))
        if state.node_nonce != state.first_nonce:
            state.problem = (
                f"the node has it at nonce {state.node_nonce}, but its first recorded transaction has nonce "
                f"{state.first_nonce}: the history cannot be sent again as it was"
            )
        elif missing:
            state.problem = f"no signed transaction is recorded for its nonce {missing[0]}"
        elif state.balance == 0:
            state.problem = "it has no ether to pay for gas on the new chain: fund it first"
        if state.problem:
            report.problems.append(f"Sender {sender}: {state.problem}.")
        report.senders.append(state)


def _wait_mined(client: ChainClient, hashes: list[str], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while hashes:
        if client.receipt(hashes[0]) is not None:
            hashes.pop(0)
        elif time.monotonic() > deadline:
            return False
        else:
            time.sleep(0.2)
    return True


def chain_resync_apply(
    *, actor: User | None = None, client: ChainClient | None = None, mined_timeout: float = 60.0
) -> ResyncReport:
    """After a reset: drop the indexed events, send every recorded transaction again, record the new genesis."""
    client = client or chain_client()
    report = chain_resync_check(client=client)
    if not report.replayable:
        return report
    chain_id = report.chain_id
    with transaction.atomic():
        report.events_dropped = index_reset(chain_id=chain_id)  # confirmed rows reopen; the watcher finds them again
        rows = list(
            ChainTransaction.objects.select_for_update()
            .filter(_REPLAYED, chain_id=chain_id, nonce__isnull=False)
            .exclude(signed_raw=None)
        )
        reopened = [r.pk for r in rows if r.status != TxStatus.FAILED]
        ChainTransaction.objects.filter(pk__in=reopened).update(
            status=TxStatus.SIGNED, block_number=None, block_hash="", gas_used=None, updated_at=timezone.now()
        )
        IndexedBlock.objects.update_or_create(
            chain_id=chain_id, number=0, defaults={"hash": report.genesis_node, "parent_hash": "0x" + "00" * 32}
        )
        audit_record(
            actor=actor,
            action="chain.reset_resynchronised",
            obj=None,
            before={"genesis": report.genesis_recorded},
            after={
                "genesis": report.genesis_node,
                "reasons": report.reasons[:20],
                "transactions": len(rows),
                "events_dropped": report.events_dropped,
            },
        )
    # Cross-sender order is block order (a row that depends on another sender's waited for it to confirm);
    # one sender's rows keep their nonce order. Rows never mined go last, as the watcher would send them.
    rows.sort(key=lambda r: (r.block_number is None, r.block_number or 0, r.sender, r.nonce))
    in_flight: list[str] = []
    last_sender, sent = "", []
    for row in rows:
        if row.sender != last_sender and not _wait_mined(client, in_flight, mined_timeout):
            report.send_errors.append(
                f"Stopped before #{row.pk}: earlier transactions were not mined within {mined_timeout:.0f} s; "
                "the watcher sends the rest."
            )
            break
        last_sender = row.sender
        try:
            sent_hash = client.send_raw(bytes(row.signed_raw or b""))
        except NodeRejected as exc:  # left signed: the watcher sends it again and handles the refusal
            report.send_errors.append(f"#{row.pk} ({row.purpose}): the node refused it: {exc}")
            continue
        in_flight += [sent_hash] if sent_hash else []
        report.resent += 1
        sent.append(row.pk)
    ChainTransaction.objects.filter(pk__in=sent, status=TxStatus.SIGNED).update(
        status=TxStatus.BROADCAST, broadcast_at=timezone.now()
    )
    report.applied = True
    return report

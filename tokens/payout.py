"""Paying distribution lines on-chain: stablecoin from the treasury through `DistributionPayout`.

The treasury approves the payout contract once; each batch of lines is one outbox transaction
under an idempotency key, so asking twice records one row. The contract keeps one bit per
(distribution, line) and skips a line whose bit is set, so whatever sends a batch again — a
duplicate task under another key, a row signed again at another nonce, a batch mined again after
a reorg — a line is paid at most once; the outbox makes sure it is paid at least once.

Tokens knows lines only as numbers, payees and amounts under a distribution reference; what a
line means (an investor's net dividend) belongs to the app that asks.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from core.audit import audit_record
from core.errors import ApplicationError, Conflict
from core.models import User
from tokens.chain.abi import decode_result, encode_call, encode_deploy
from tokens.chain.addresses import address_is_valid, checksum, keccak_text
from tokens.chain.client import Reverted, client_for
from tokens.chain.signer import sender_address
from tokens.finality import final_block_number
from tokens.models import OPEN_STATUSES, ChainEvent, ChainTransaction, ContractDeployment, ContractKind
from tokens.outbox import transaction_enqueue
from tokens.stablecoin import portal_stablecoin

PORTAL = "portal"
CONTRACT = "DistributionPayout"
MAX_UINT = 2**256 - 1
ZERO_ADDRESS = "0x" + "0" * 40
# Bounds that keep a line's number and amount well inside what the contract adds up without overflow.
MAX_LINE_INDEX = 2**64 - 1
MAX_AMOUNT = 2**128 - 1
WORDS_PER_CALL = 1024  # paidWords: 262,144 lines per eth_call


@dataclass(frozen=True)
class PayoutLine:
    """One payment of a distribution: its number within the distribution, who gets it, how much (minor units).

    The number is the line's for the distribution's whole life: the contract guards each number, so
    numbering the lines afresh after a batch was sent could pay a holder twice.
    """

    index: int
    payee: str
    amount: int


def distribution_chain_id(distribution_ref: str) -> bytes:
    """The bytes32 the payout contract knows a distribution by: a hash of the reference."""
    return keccak_text(f"tessera:distribution:{distribution_ref}")


def payout_treasury() -> str:
    """The address distributions are paid from: the treasury sender, whose key the portal holds."""
    return sender_address("treasury")


def portal_payout() -> ContractDeployment | None:
    return ContractDeployment.objects.filter(
        chain_id=settings.CHAIN_ID, kind=ContractKind.DISTRIBUTION_PAYOUT, owner_ref=PORTAL
    ).first()


def _payout() -> ContractDeployment:
    payout = portal_payout()
    if payout is None:
        raise ApplicationError("The distribution payout contract is not deployed yet.", code="no_payout_contract")
    return payout


# --------------------------------------------------------------------------- services


@transaction.atomic
def payout_contract_deploy(*, actor: User | None = None) -> ContractDeployment:
    """Deploy the payout contract for the portal's stablecoin and treasury; the agent sender is its admin and agent."""
    if portal_payout() is not None:
        raise Conflict("The distribution payout contract is already deployed.", code="deployed")
    coin = portal_stablecoin()
    if coin is None:
        raise ApplicationError("No stablecoin is set up for this portal.", code="no_stablecoin")
    if not coin.address:
        raise ApplicationError("The stablecoin is still being deployed; try again shortly.", code="no_stablecoin")
    agent = sender_address("agent")
    try:
        with transaction.atomic():
            deployment = ContractDeployment.objects.create(
                chain_id=settings.CHAIN_ID,
                kind=ContractKind.DISTRIBUTION_PAYOUT,
                owner_ref=PORTAL,
                name="Tessera distribution payout",
            )
    except IntegrityError as exc:
        raise Conflict("The distribution payout contract is already deployed.", code="deployed") from exc
    tx = transaction_enqueue(
        idempotency_key=f"deploy:{settings.CHAIN_ID}:{ContractKind.DISTRIBUTION_PAYOUT}:{PORTAL}",
        purpose="Deploy the distribution payout contract",
        data=encode_deploy(CONTRACT, [coin.address, payout_treasury(), agent, agent]),
        actor=actor,
    )
    deployment.deploy_transaction = tx
    deployment.save(update_fields=["deploy_transaction"])
    audit_record(
        actor=actor,
        action="chain.contract_deploy_requested",
        obj=deployment,
        after={"kind": ContractKind.DISTRIBUTION_PAYOUT, "stablecoin": coin.address, "treasury": payout_treasury()},
    )
    return deployment


@dataclass(frozen=True)
class TreasuryFunds:
    """What the treasury can pay through the payout contract now (stablecoin minor units)."""

    treasury: str
    balance: int
    allowance: int

    @property
    def payable(self) -> int:
        return min(self.balance, self.allowance)


def payout_treasury_funds() -> TreasuryFunds | None:
    """The treasury's stablecoin balance and its allowance to the payout contract, read from the node.

    None until both contracts have addresses. Raises the chain's transient errors when the node is down.
    """
    payout, coin = portal_payout(), portal_stablecoin()
    if payout is None or coin is None or not payout.address or not coin.address:
        return None
    client = client_for(settings.CHAIN_RPC_URL)
    treasury = payout_treasury()

    def view(function: str, args: list[object]) -> int:
        data = client.call({"to": coin.address, "data": "0x" + encode_call("TestStablecoin", function, args).hex()})
        return int(decode_result("TestStablecoin", function, data)[0]) if data else 0

    return TreasuryFunds(
        treasury=treasury,
        balance=view("balanceOf", [treasury]),
        allowance=view("allowance", [treasury, payout.address]),
    )


@transaction.atomic
def payout_allowance_ensure(*, actor: User | None = None) -> ChainTransaction | None:
    """Have the treasury approve the payout contract for good, unless it has or an approval is on its way.

    The approval is unlimited, and set once: the contract pays only from this treasury, only when the
    agent asks, and each line once; a bounded one would be rewritten by every distribution.
    """
    payout, coin = _payout(), portal_stablecoin()
    if coin is None or not coin.address:
        raise ApplicationError("No stablecoin is set up for this portal.", code="no_stablecoin")
    if not payout.address:
        raise ApplicationError("The payout contract is still being deployed; try again shortly.", code="no_address")
    prefix = f"payout:{settings.CHAIN_ID}:{payout.address}:approve:"
    approvals = ChainTransaction.objects.filter(idempotency_key__startswith=prefix)
    on_its_way = approvals.filter(status__in=OPEN_STATUSES).order_by("-id").first()
    if on_its_way is not None:
        return on_its_way
    funds = payout_treasury_funds()
    if funds is not None and funds.allowance >= MAX_UINT // 2:
        return None
    return transaction_enqueue(
        idempotency_key=f"{prefix}{approvals.count()}",
        purpose="Let the distribution payout contract pay from the treasury",
        to_address=coin.address,
        data=encode_call("TestStablecoin", "approve", [payout.address, MAX_UINT]),
        actor=actor,
        sender_role="treasury",
    )


def _line_checked(line: PayoutLine) -> PayoutLine:
    index, amount = line.index, line.amount
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index <= MAX_LINE_INDEX:
        raise ApplicationError(f"Line number {index!r} is not a whole number from 0 to 2^64-1.", code="invalid_line")
    if not address_is_valid(line.payee) or line.payee.lower() == ZERO_ADDRESS:
        raise ApplicationError(f"Line {index}: “{line.payee}” is not a wallet address.", code="invalid_address")
    if not isinstance(amount, int) or isinstance(amount, bool) or not 0 < amount <= MAX_AMOUNT:
        raise ApplicationError(f"Line {index}: the amount must be a whole number above zero.", code="invalid_amount")
    return PayoutLine(index=index, payee=checksum(line.payee), amount=amount)


@transaction.atomic
def distribution_batch_pay(
    *, key: str, distribution_ref: str, lines: Sequence[PayoutLine], actor: User | None = None
) -> list[ChainTransaction]:
    """Queue the payment of these lines, in batches of PAYOUT_BATCH_MAX_LINES, one transaction per batch.

    Batch n of `key` is recorded under `key:n`: the same call again returns the same rows, and the
    same key with other lines is refused. Lines already paid on-chain (under any key) are skipped
    by the contract, so asking again under another key pays nothing twice.
    """
    if not key or len(key) > 180:
        raise ApplicationError("A payout needs an idempotency key of at most 180 characters.", code="invalid_key")
    if not distribution_ref:
        raise ApplicationError("A payout needs the distribution it pays.", code="invalid_distribution")
    if not lines:
        raise ApplicationError("There is no line to pay.", code="empty_batch")
    checked = sorted((_line_checked(line) for line in lines), key=lambda line: line.index)
    for before, after in pairwise(checked):
        if before.index == after.index:
            raise ApplicationError(f"Line {after.index} appears twice in this payout.", code="duplicate_line")
    payout = _payout()
    size = max(1, int(settings.PAYOUT_BATCH_MAX_LINES))
    distribution_id = distribution_chain_id(distribution_ref)
    batches = [checked[start : start + size] for start in range(0, len(checked), size)]
    rows = []
    for number, batch in enumerate(batches):
        data = encode_call(
            CONTRACT,
            "pay",
            [
                distribution_id,
                [line.index for line in batch],
                [line.payee for line in batch],
                [line.amount for line in batch],
            ],
        )
        batch_key = f"{key}:{number}"
        # Looked up here, not only in transaction_enqueue: the row may have been recorded before the
        # contract had an address, and the same lines are the same request whatever address it got since.
        existing = ChainTransaction.objects.filter(idempotency_key=batch_key).first()
        if existing is not None:
            if bytes(existing.data) != data:
                raise ApplicationError(
                    f"Payout batch {batch_key} was already asked for with other lines.", code="idempotency_conflict"
                )
            rows.append(existing)
            continue
        total = sum(line.amount for line in batch)
        tx = transaction_enqueue(
            idempotency_key=batch_key,
            purpose=f"Pay {len(batch)} lines ({batch[0].index}–{batch[-1].index}) of distribution "
            f"{distribution_ref}: {total} units",
            to_address=payout.address,
            to_deployment=None if payout.address else payout,
            data=data,
            actor=actor,
        )
        audit_record(
            actor=actor,
            action="chain.distribution_batch_requested",
            obj=tx,
            after={
                "distribution": distribution_ref,
                "lines": len(batch),
                "first_line": batch[0].index,
                "last_line": batch[-1].index,
                "amount": total,
            },
        )
        rows.append(tx)
    return rows


# --------------------------------------------------------------------------- selectors


def _runs(words: list[int]) -> Iterable[tuple[int, int]]:
    """(first word, count) for runs of consecutive word numbers, at most WORDS_PER_CALL each."""
    start = previous = words[0]
    for word in words[1:]:
        if word != previous + 1 or word - start >= WORDS_PER_CALL:
            yield start, previous - start + 1
            start = word
        previous = word
    yield start, previous - start + 1


def distribution_lines_paid(*, distribution_ref: str, indices: Iterable[int], final: bool = True) -> set[int]:
    """Which of these lines the payout contract has paid, read from its bitmap (one call per 262,144 lines).

    `final` reads at the last block the portal treats as final (tokens/finality.py), so a line reported
    paid stays paid whatever reorg the rule allows for; otherwise at the head.
    """
    wanted = sorted(set(indices))
    payout = portal_payout()
    if not wanted or payout is None or not payout.address:
        return set()
    client = client_for(settings.CHAIN_RPC_URL)
    block: int | str = final_block_number(client) if final else "latest"
    if isinstance(block, int) and block < 0:
        return set()
    distribution_id = distribution_chain_id(distribution_ref)
    bits: dict[int, int] = {}
    for first, count in _runs(sorted({index >> 8 for index in wanted})):
        call = {
            "to": payout.address,
            "data": "0x" + encode_call(CONTRACT, "paidWords", [distribution_id, first, count]).hex(),
        }
        try:
            data = client.call(call, block)
        except Reverted:
            data = b""
        if not data:  # no code at that block yet: nothing was paid
            continue
        (words,) = decode_result(CONTRACT, "paidWords", data)
        bits.update(zip(range(first, first + count), words, strict=True))
    return {index for index in wanted if bits.get(index >> 8, 0) >> (index & 255) & 1}


def distribution_payout_events(*, distribution_ref: str, names: Sequence[str] = ("LinePaid",)) -> QuerySet[ChainEvent]:
    """The payout contract's indexed events for one distribution (final blocks only), oldest first."""
    payout = portal_payout()
    if payout is None or not payout.address:
        return ChainEvent.objects.none()
    return ChainEvent.objects.filter(
        chain_id=settings.CHAIN_ID,
        contract_address=payout.address,
        name__in=list(names),
        args__distributionId="0x" + distribution_chain_id(distribution_ref).hex(),
    ).order_by("block_number", "log_index")


def distribution_line_payments(*, distribution_ref: str) -> dict[int, str]:
    """line number → hash of the transaction that paid it, from the indexed LinePaid events."""
    rows = distribution_payout_events(distribution_ref=distribution_ref).values_list("args", "transaction_hash")
    return {int(args["line"]): tx_hash for args, tx_hash in rows}

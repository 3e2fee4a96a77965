"""Freezing and burning redeemed units through `RedemptionBurner`: each request frozen once, each line burned once.

A redemption request's units are frozen in the holder's wallet when the holder asks, in batches: the burner
calls the token's own `freezePartialTokens` for each request of a batch and keeps one bit per request number,
so a request is decided once (frozen, or refused by the token with its reason, the batch going on), whatever
sends a batch again; a batch costs one transaction instead of one per request. At settlement the burner, which
holds the token's agent role, unfreezes exactly the line's amount and burns it in one call, so the units never
move in between; it keeps one bit per (dealing day, line), so whatever sends a batch again — a duplicate task
under another key, a row signed again at another nonce, a batch mined again after a reorg — a line is burned at
most once; the outbox makes sure it is burned at least once.

Tokens knows lines only as numbers, holders and amounts under a dealing-day reference; what a line means (a
holder's redemption request) belongs to the app that asks. The SecurityToken is not changed: it is near its
size limit, and partial freeze, partial unfreeze and burn are agent functions it has.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise

from django.conf import settings
from django.db import IntegrityError, transaction

from core.audit import audit_record
from core.errors import ApplicationError
from core.models import User
from tokens.chain.abi import decode_result, decode_revert_any, encode_call, encode_deploy
from tokens.chain.addresses import address_is_valid, checksum, keccak_text
from tokens.chain.client import Reverted, client_for
from tokens.chain.signer import sender_address
from tokens.finality import final_block_number
from tokens.models import ChainEvent, ChainTransaction, ContractDeployment, ContractKind, TxStatus
from tokens.outbox import order_keys_for, transaction_enqueue
from tokens.refusals import refusal_reason

PORTAL = "portal"
CONTRACT = "RedemptionBurner"
ZERO_ADDRESS = "0x" + "0" * 40
MAX_LINE_INDEX = 2**64 - 1
MAX_AMOUNT = 2**128 - 1
WORDS_PER_CALL = 1024


@dataclass(frozen=True)
class FreezeLine:
    """One redemption request's freeze: its number (unique among the token's requests), whose units, how many."""

    request: int
    holder: str
    amount: int


@dataclass(frozen=True)
class FreezeOutcome:
    """What the burner decided for a request: frozen, or refused with the token's reason (in words)."""

    frozen: bool
    reason: str = ""


@dataclass(frozen=True)
class BurnLine:
    """One line of a dealing day: its number for the dealing day's whole life, whose units, how many."""

    index: int
    holder: str
    amount: int


def dealing_chain_id(dealing_ref: str) -> bytes:
    """The bytes32 the burner knows a dealing day by: a hash of the reference."""
    return keccak_text(f"tessera:redemption:{dealing_ref}")


def redemption_burner() -> ContractDeployment | None:
    return ContractDeployment.objects.filter(
        chain_id=settings.CHAIN_ID, kind=ContractKind.REDEMPTION_BURNER, owner_ref=PORTAL
    ).first()


def _token(owner_ref: str) -> ContractDeployment:
    token = ContractDeployment.objects.filter(
        chain_id=settings.CHAIN_ID, kind=ContractKind.SECURITY_TOKEN, owner_ref=owner_ref
    ).first()
    if token is None or not token.address:
        raise ApplicationError(f"{owner_ref} has no deployed token yet.", code="no_token")
    return token


@transaction.atomic
def redemption_burner_ensure(*, actor: User | None = None) -> ContractDeployment:
    """Deploy the portal's redemption burner unless it is deployed or on its way; the agent sender is its
    admin and its agent."""
    existing = redemption_burner()
    if existing is not None:
        return existing
    agent = sender_address("agent")
    try:
        with transaction.atomic():
            deployment = ContractDeployment.objects.create(
                chain_id=settings.CHAIN_ID,
                kind=ContractKind.REDEMPTION_BURNER,
                owner_ref=PORTAL,
                name="Tessera redemption burner",
            )
    except IntegrityError:
        return ContractDeployment.objects.get(
            chain_id=settings.CHAIN_ID, kind=ContractKind.REDEMPTION_BURNER, owner_ref=PORTAL
        )
    tx = transaction_enqueue(
        idempotency_key=f"deploy:{settings.CHAIN_ID}:{ContractKind.REDEMPTION_BURNER}:{PORTAL}",
        purpose="Deploy the redemption burner",
        data=encode_deploy(CONTRACT, [agent, agent]),
        actor=actor,
    )
    deployment.deploy_transaction = tx
    deployment.save(update_fields=["deploy_transaction"])
    audit_record(
        actor=actor,
        action="chain.contract_deploy_requested",
        obj=deployment,
        after={"kind": ContractKind.REDEMPTION_BURNER, "admin": agent},
    )
    return deployment


def _authorize_key(owner_ref: str, burner_address: str) -> str:
    return f"redemption-burner:{settings.CHAIN_ID}:{owner_ref}:authorize:{burner_address}"


@dataclass(frozen=True)
class BurnerReadiness:
    """Whether the burner may burn a token's units now, and if not what it waits for (in words)."""

    ready: bool
    waiting_for: str = ""


@transaction.atomic
def redemption_burner_authorize(*, owner_ref: str, actor: User | None = None) -> BurnerReadiness:
    """Grant the burner the token's agent role (`addAgent`, by the token's admin) once; say whether it holds it."""
    token = _token(owner_ref)
    burner = redemption_burner_ensure(actor=actor)
    if not burner.address:
        return BurnerReadiness(False, "the redemption burner's deployment to be signed")
    deploy = burner.deploy_transaction
    tx = transaction_enqueue(
        idempotency_key=_authorize_key(owner_ref, burner.address),
        purpose=f"Let the redemption burner {burner.address} burn redeemed {token.name or owner_ref}",
        to_address=token.address,
        data=encode_call("SecurityToken", "addAgent", [burner.address]),
        actor=actor,
    )
    if tx.status == TxStatus.FAILED:
        raise ApplicationError(
            f"Granting the redemption burner the token's agent role failed: {tx.last_error or tx.error_name}. "
            "Retry it from the chain transactions page.",
            code="burner_not_authorized",
        )
    if deploy is not None and deploy.status != TxStatus.CONFIRMED:
        return BurnerReadiness(False, "the redemption burner's deployment to be confirmed")
    if tx.status != TxStatus.CONFIRMED:
        return BurnerReadiness(False, "the token to grant the redemption burner its agent role")
    return BurnerReadiness(True)


def _line_checked(line: BurnLine) -> BurnLine:
    index, amount = line.index, line.amount
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index <= MAX_LINE_INDEX:
        raise ApplicationError(f"Line number {index!r} is not a whole number from 0 to 2^64-1.", code="invalid_line")
    if not address_is_valid(line.holder) or line.holder.lower() == ZERO_ADDRESS:
        raise ApplicationError(f"Line {index}: “{line.holder}” is not a wallet address.", code="invalid_address")
    if not isinstance(amount, int) or isinstance(amount, bool) or not 0 < amount <= MAX_AMOUNT:
        raise ApplicationError(f"Line {index}: the amount must be a whole number above zero.", code="invalid_amount")
    return BurnLine(index=index, holder=checksum(line.holder), amount=amount)


@transaction.atomic
def redemption_batch_burn(
    *, key: str, owner_ref: str, dealing_ref: str, lines: Sequence[BurnLine], actor: User | None = None
) -> list[ChainTransaction]:
    """Queue the burning of these lines, in batches of REDEMPTION_BURN_BATCH_MAX_LINES, one transaction each.

    Batch n of `key` is recorded under `key:n`: the same call again returns the same rows, and the same key
    with other lines is refused. Lines already redeemed on-chain (under any key) are skipped by the burner."""
    if not key or len(key) > 180:
        raise ApplicationError("A burn needs an idempotency key of at most 180 characters.", code="invalid_key")
    if not lines:
        raise ApplicationError("There is no line to burn.", code="empty_batch")
    checked = sorted((_line_checked(line) for line in lines), key=lambda line: line.index)
    for before, after in pairwise(checked):
        if before.index == after.index:
            raise ApplicationError(f"Line {after.index} appears twice in this burn.", code="duplicate_line")
    token = _token(owner_ref)
    burner = redemption_burner()
    if burner is None or not burner.address:
        raise ApplicationError("The redemption burner is not deployed yet.", code="no_burner")
    size = max(1, int(settings.REDEMPTION_BURN_BATCH_MAX_LINES))
    dealing_id = dealing_chain_id(dealing_ref)
    rows = []
    for number, start in enumerate(range(0, len(checked), size)):
        batch = checked[start : start + size]
        data = encode_call(
            CONTRACT,
            "redeem",
            [
                token.address,
                dealing_id,
                [line.index for line in batch],
                [line.holder for line in batch],
                [line.amount for line in batch],
            ],
        )
        batch_key = f"{key}:{number}"
        existing = ChainTransaction.objects.filter(idempotency_key=batch_key).first()
        if existing is not None:
            if bytes(existing.data) != data:
                raise ApplicationError(
                    f"Burn batch {batch_key} was already asked for with other lines.", code="idempotency_conflict"
                )
            rows.append(existing)
            continue
        total = sum(line.amount for line in batch)
        tx = transaction_enqueue(
            idempotency_key=batch_key,
            purpose=f"Burn {total} redeemed units of {len(batch)} lines ({batch[0].index}–{batch[-1].index}) "
            f"of dealing day {dealing_ref}",
            to_address=burner.address,
            data=data,
            actor=actor,
            # Behind the freeze of each holder's units, which a pool sender may carry (tokens/outbox.py).
            order_keys=order_keys_for(token, [line.holder for line in batch]),
        )
        audit_record(
            actor=actor,
            action="chain.redemption_batch_requested",
            obj=tx,
            after={
                "dealing_day": dealing_ref,
                "token": token.address,
                "lines": len(batch),
                "first_line": batch[0].index,
                "last_line": batch[-1].index,
                "units": total,
            },
        )
        rows.append(tx)
    return rows


def _freeze_checked(line: FreezeLine) -> FreezeLine:
    checked = _line_checked(BurnLine(index=line.request, holder=line.holder, amount=line.amount))
    return FreezeLine(request=checked.index, holder=checked.holder, amount=checked.amount)


@transaction.atomic
def redemption_batch_freeze(
    *, key: str, owner_ref: str, lines: Sequence[FreezeLine], actor: User | None = None
) -> list[ChainTransaction]:
    """Queue the freezing of these requests' units, in batches of REDEMPTION_FREEZE_BATCH_MAX_LINES, one
    transaction each, recorded under `key:n`; the same call again returns the same rows. Requests already
    decided on-chain (under any key) are skipped by the burner."""
    if not key or len(key) > 180:
        raise ApplicationError("A freeze needs an idempotency key of at most 180 characters.", code="invalid_key")
    if not lines:
        raise ApplicationError("There is no request to freeze.", code="empty_batch")
    checked = sorted((_freeze_checked(line) for line in lines), key=lambda line: line.request)
    for before, after in pairwise(checked):
        if before.request == after.request:
            raise ApplicationError(f"Request {after.request} appears twice in this freeze.", code="duplicate_line")
    token = _token(owner_ref)
    burner = redemption_burner()
    if burner is None or not burner.address:
        raise ApplicationError("The redemption burner is not deployed yet.", code="no_burner")
    size = max(1, int(settings.REDEMPTION_FREEZE_BATCH_MAX_LINES))
    rows = []
    for number, start in enumerate(range(0, len(checked), size)):
        batch = checked[start : start + size]
        data = encode_call(
            CONTRACT,
            "freeze",
            [
                token.address,
                [line.request for line in batch],
                [line.holder for line in batch],
                [line.amount for line in batch],
            ],
        )
        batch_key = f"{key}:{number}"
        existing = ChainTransaction.objects.filter(idempotency_key=batch_key).first()
        if existing is not None:
            if bytes(existing.data) != data:
                raise ApplicationError(
                    f"Freeze batch {batch_key} was already asked for with other requests.",
                    code="idempotency_conflict",
                )
            rows.append(existing)
            continue
        total = sum(line.amount for line in batch)
        tx = transaction_enqueue(
            idempotency_key=batch_key,
            purpose=f"Freeze {total} units of {len(batch)} redemption requests of {token.name or owner_ref}",
            to_address=burner.address,
            data=data,
            actor=actor,
            # Ahead of each holder's later effects (a cancellation's unfreeze, the burn), whichever sender has them.
            order_keys=order_keys_for(token, [line.holder for line in batch]),
        )
        audit_record(
            actor=actor,
            action="chain.redemption_freeze_requested",
            obj=tx,
            after={
                "token": token.address,
                "requests": len(batch),
                "first_request": batch[0].request,
                "last_request": batch[-1].request,
                "units": total,
            },
        )
        rows.append(tx)
    return rows


# --------------------------------------------------------------------------- selectors


def _runs(words: list[int]) -> Iterable[tuple[int, int]]:
    start = previous = words[0]
    for word in words[1:]:
        if word != previous + 1 or word - start >= WORDS_PER_CALL:
            yield start, previous - start + 1
            start = word
        previous = word
    yield start, previous - start + 1


def redemption_lines_burned(*, dealing_ref: str, indices: Iterable[int], final: bool = True) -> set[int]:
    """Which of these lines the burner has redeemed, read from its bitmap at the last final block (or the head)."""
    wanted = sorted(set(indices))
    burner = redemption_burner()
    if not wanted or burner is None or not burner.address:
        return set()
    client = client_for(settings.CHAIN_RPC_URL)
    block: int | str = final_block_number(client) if final else "latest"
    if isinstance(block, int) and block < 0:
        return set()
    dealing_id = dealing_chain_id(dealing_ref)
    bits: dict[int, int] = {}
    for first, count in _runs(sorted({index >> 8 for index in wanted})):
        call = {
            "to": burner.address,
            "data": "0x" + encode_call(CONTRACT, "redeemedWords", [dealing_id, first, count]).hex(),
        }
        try:
            data = client.call(call, block)
        except Reverted:
            data = b""
        if not data:
            continue
        (words,) = decode_result(CONTRACT, "redeemedWords", data)
        bits.update(zip(range(first, first + count), words, strict=True))
    return {index for index in wanted if bits.get(index >> 8, 0) >> (index & 255) & 1}


def redemption_line_burns(*, dealing_ref: str) -> dict[int, str]:
    """line number → hash of the transaction that burned it, from the indexed (final) LineRedeemed events."""
    burner = redemption_burner()
    if burner is None or not burner.address:
        return {}
    rows = ChainEvent.objects.filter(
        chain_id=settings.CHAIN_ID,
        contract_address=burner.address,
        name="LineRedeemed",
        args__dealingId="0x" + dealing_chain_id(dealing_ref).hex(),
    ).values_list("args", "transaction_hash")
    return {int(args["line"]): tx_hash for args, tx_hash in rows}


FREEZE_EVENTS = ("RequestFrozen", "FreezeRefused", "FreezeSkipped")


def _refusal_words(reason: str) -> str:
    try:
        decoded = decode_revert_any(reason)
    except (LookupError, ValueError):
        return "the token refused to freeze the units."
    return refusal_reason(decoded.name, decoded.kwargs) or f"the token refused to freeze the units ({decoded.name})."


def redemption_freeze_outcomes(*, token_address: str, tx_hashes: Iterable[str]) -> dict[int, FreezeOutcome] | None:
    """request number → what the burner decided, from the indexed (final) events of these freeze transactions;
    None while any of them is not indexed yet (every freeze transaction has an event per request)."""
    hashes = {h for h in tx_hashes if h}
    burner = redemption_burner()
    if not hashes or burner is None or not burner.address:
        return None
    rows = list(
        ChainEvent.objects.filter(
            chain_id=settings.CHAIN_ID,
            contract_address=burner.address,
            transaction_hash__in=hashes,
            name__in=FREEZE_EVENTS,
        ).values_list("name", "args", "transaction_hash")
    )
    if {tx_hash for _, _, tx_hash in rows} != hashes:
        return None
    outcomes: dict[int, FreezeOutcome] = {}
    skipped: list[int] = []
    token = checksum(token_address)
    for name, args, _ in rows:
        if checksum(str(args.get("token", ""))) != token:
            continue
        request = int(args["request"])
        if name == "RequestFrozen":
            outcomes[request] = FreezeOutcome(frozen=True)
        elif name == "FreezeRefused":
            outcomes[request] = FreezeOutcome(frozen=False, reason=_refusal_words(str(args.get("reason", ""))))
        else:
            skipped.append(request)
    if skipped:  # decided by another batch: its event says how
        earlier = ChainEvent.objects.filter(
            chain_id=settings.CHAIN_ID, contract_address=burner.address, name__in=FREEZE_EVENTS[:2]
        ).exclude(transaction_hash__in=hashes)
        for name, args in earlier.values_list("name", "args"):
            request = int(args["request"])
            if request in skipped and checksum(str(args.get("token", ""))) == token:
                outcomes[request] = FreezeOutcome(
                    frozen=name == "RequestFrozen", reason=_refusal_words(str(args.get("reason", "")))
                )
    return outcomes

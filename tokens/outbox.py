"""Exactly-once on-chain effects.

A service writes a `ChainTransaction` in the same database transaction as its business change
(`transaction_enqueue`). After commit, `outbox_flush` gives each pending row of a sender the
next nonce under that sender's row lock, signs it, stores the signed bytes and hash, and only
then broadcasts. `outbox_watch` reads receipts, confirms after N blocks, re-sends the same bytes
when a receipt vanished (reorg, node restart) and replaces a stuck transaction with the same
nonce at a higher fee. A killed worker, a restarted node or a duplicate task can delay an effect
but never repeat it: the nonce is fixed once signed, and re-sending the same bytes is harmless.

A node's refusal never stalls the sender's later nonces: an under-priced transaction is re-priced
at the same nonce; one the sender cannot pay gas for is held (and shown) without giving up its
nonce; one the node refuses for good fails with its reason and its nonce is filled with an empty
self-transfer. A revert counts as a failure only once its block is final.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone

from core.audit import audit_record
from core.errors import ApplicationError, Conflict
from core.middleware import current_request_id
from core.models import User
from core.tasks import task_enqueue_on_commit
from tokens.chain.abi import decode_revert_any
from tokens.chain.addresses import checksum, create_address
from tokens.chain.client import ChainClient, NodeRejected, NodeUnavailable, Receipt, Reverted, client_for
from tokens.chain.errors import INSUFFICIENT_FUNDS, INVALID, NONCE_TOO_LOW, UNDERPRICED
from tokens.chain.failpoints import failpoint
from tokens.chain.signer import SenderKeyMissing, Signer, agent_pool, sender_address, signer_for
from tokens.finality import final_block_number
from tokens.models import (
    OPEN_STATUSES,
    ChainEvent,
    ChainTransaction,
    ContractDeployment,
    SenderAccount,
    TxHold,
    TxStatus,
)
from tokens.refusals import refusal_reason

log = logging.getLogger(__name__)


def chain_client() -> ChainClient:
    return client_for(settings.CHAIN_RPC_URL)


def _log_step(tx: ChainTransaction, step: str) -> None:
    """A line under the id of the request that asked for the transaction, whichever task moves it."""
    log.info(
        "%s %s (nonce %s, %s): %s",
        step,
        tx.tx_hash,
        tx.nonce,
        tx.sender,
        tx.purpose,
        extra={"request_id": tx.request_id, "chain_transaction": tx.pk, "tx_hash": tx.tx_hash},
    )


# --------------------------------------------------------------------------- enqueue


def transaction_enqueue(
    *,
    idempotency_key: str,
    purpose: str,
    data: bytes,
    to_address: str = "",
    to_deployment: ContractDeployment | None = None,
    gas_limit: int | None = None,
    actor: User | None = None,
    sender_role: str = "agent",
    order_keys: Sequence[str] = (),
    pooled_on: ContractDeployment | None = None,
) -> ChainTransaction:
    """Record one intended transaction, sent by the role's address. The same key returns the row already recorded.

    `pooled_on`: a contract whose agent role the agent pool holds too; the row may then go to a pool sender
    (`order_keys` keep it behind the earlier effects it must follow, whichever sender has them)."""
    existing = ChainTransaction.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        if bytes(existing.data) != data or existing.to_address != to_address:
            raise ApplicationError("This request was already made with different details.", code="idempotency_conflict")
        return existing
    # An address only: web processes never load a key.
    sender = _sender_choose(sender=sender_address(sender_role), pooled_on=pooled_on, order_keys=order_keys)
    try:
        with transaction.atomic():
            tx = ChainTransaction.objects.create(
                idempotency_key=idempotency_key,
                purpose=purpose[:200],
                chain_id=settings.CHAIN_ID,
                sender=sender,
                to_address=checksum(to_address) if to_address else "",
                to_deployment=to_deployment,
                data=data,
                gas_limit=gas_limit,
                order_keys=list(dict.fromkeys(order_keys)),
                request_id=current_request_id(),
            )
    except IntegrityError:
        # Another request with the same key committed first: one row, one effect.
        return ChainTransaction.objects.get(idempotency_key=idempotency_key)
    audit_record(actor=actor, action="chain.transaction_requested", obj=tx, after={"purpose": tx.purpose})
    _flush_on_commit(tx)
    return tx


# --------------------------------------------------------------------------- the agent pool: which sender, what order


def order_keys_for(deployment: ContractDeployment, subjects: Iterable[str]) -> list[str]:
    """The order keys of effects on `subjects` (wallets, "inv:<ref>", or "*" for the whole contract)."""
    scope = f"{deployment.kind}:{deployment.owner_ref}"
    return [f"{scope}|{subject.lower()}" for subject in subjects]


def pool_grant_key(deployment: ContractDeployment, address: str) -> str:
    """The idempotency key of granting `address` of the agent pool the agent role of `deployment`."""
    return f"agent-pool:{deployment.chain_id}:{deployment.kind}:{deployment.owner_ref}:{address.lower()}"


def _sender_choose(*, sender: str, pooled_on: ContractDeployment | None, order_keys: Sequence[str]) -> str:
    """The role's sender, or a pool sender granted the contract's agent role (its grant queued and not failed)."""
    pool = agent_pool()
    if pooled_on is None or not pool:
        return sender
    grants = {pool_grant_key(pooled_on, address): address for address in pool}
    granted = set(
        ChainTransaction.objects.filter(idempotency_key__in=list(grants))
        .exclude(status=TxStatus.FAILED)
        .values_list("idempotency_key", flat=True)
    )
    candidates = [sender, *(address for key, address in grants.items() if key in granted and address != sender)]
    if len(candidates) == 1:
        return sender
    subjects = [k for k in order_keys if not k.endswith("|*")]
    if 0 < len(subjects) <= 2:
        # One holder's effects (a mint, then a transfer from them) go to one sender, whose nonces order them.
        digest = hashlib.sha256(subjects[0].encode()).digest()
        return candidates[int.from_bytes(digest[:8], "big") % len(candidates)]
    load = dict(
        ChainTransaction.objects.filter(chain_id=settings.CHAIN_ID, sender__in=candidates, status__in=OPEN_STATUSES)
        .values_list("sender")
        .annotate(n=Count("id"))
        .order_by()
    )
    return min(candidates, key=lambda address: (load.get(address, 0), candidates.index(address)))


class _EarlierEffects:
    """Order keys of earlier rows not yet confirmed; a row sharing one waits ("…|*" shares with its whole contract)."""

    def __init__(self) -> None:
        self.keys: set[str] = set()
        self.scopes: set[str] = set()
        self.whole: set[str] = set()

    def add(self, keys: Iterable[str]) -> None:
        for key in keys:
            scope, _, subject = key.partition("|")
            self.scopes.add(scope)
            if subject == "*":
                self.whole.add(scope)
            else:
                self.keys.add(key)

    def hold_back(self, keys: Iterable[str]) -> bool:
        for key in keys:
            scope, _, subject = key.partition("|")
            if scope in self.whole or key in self.keys or (subject == "*" and scope in self.scopes):
                return True
        return False


WAITING = (
    "Waits for an earlier transaction of the same holder or contract, sent by another of the portal's senders, "
    "to be confirmed."
)


def _flush_on_commit(tx: ChainTransaction) -> None:
    from tokens.tasks import outbox_flush_task

    task_enqueue_on_commit(
        outbox_flush_task, tx.chain_id, tx.sender, when_broker_down="the watcher's beat flushes pending rows"
    )


# --------------------------------------------------------------------------- flush: nonce, sign, store, send

FILL_GAS = 21_000  # a plain transfer: the cheapest transaction that uses a nonce


def _sender_row(client: ChainClient, chain_id: int, sender: str) -> SenderAccount:
    row = SenderAccount.objects.filter(chain_id=chain_id, address=sender).first()
    if row is not None:
        return row
    try:
        with transaction.atomic():
            return SenderAccount.objects.create(
                chain_id=chain_id, address=sender, next_nonce=client.pending_nonce(sender)
            )
    except IntegrityError:
        return SenderAccount.objects.get(chain_id=chain_id, address=sender)


def _sender_catch_up(client: ChainClient, chain_id: int, sender: str) -> None:
    """Skip nonces something else used with this key, so new rows are not signed at a used nonce."""
    row = SenderAccount.objects.filter(chain_id=chain_id, address=sender).first()
    if row is None:
        return
    used = client.pending_nonce(sender)
    if used <= row.next_nonce:
        return
    with transaction.atomic():
        locked = SenderAccount.objects.select_for_update().get(pk=row.pk)
        if used > locked.next_nonce:
            before = locked.next_nonce
            locked.next_nonce = used
            locked.save(update_fields=["next_nonce"])
            audit_record(
                actor=None,
                action="chain.sender_nonce_skipped",
                obj=locked,
                before={"next_nonce": before},
                after={"next_nonce": used},
            )


def _target(tx: ChainTransaction) -> str | None:
    if tx.to_deployment_id is None:
        return tx.to_address or None
    deployment = ContractDeployment.objects.select_related("deploy_transaction").get(pk=tx.to_deployment_id)
    if deployment.deploy_transaction is not None and deployment.deploy_transaction.status == TxStatus.FAILED:
        raise Reverted(None, f"the contract it calls was not deployed ({deployment})")
    return deployment.address or None


def _gas_limit(client: ChainClient, tx: ChainTransaction, target: str | None, sender_row: SenderAccount) -> int:
    """Estimate gas; a revert is final only when nothing of ours is still in flight before it."""
    if tx.gas_limit:
        return int(tx.gas_limit)
    in_flight = client.mined_nonce(tx.sender) < sender_row.next_nonce
    if target and tx.to_deployment_id is not None and in_flight and not client.code(target):
        # The contract's deployment is not mined yet: an estimate against its empty address prices
        # a plain transfer (36,550 gas for setLockupPeriod, which needs 68,900).
        return int(settings.CHAIN_FALLBACK_GAS_LIMIT)
    call: dict[str, Any] = {"from": tx.sender, "data": "0x" + bytes(tx.data).hex(), "value": int(tx.value)}
    if target:
        call["to"] = target
    try:
        return int(client.estimate_gas(call) * 1.25) + 10_000
    except Reverted:
        if in_flight:
            return int(settings.CHAIN_FALLBACK_GAS_LIMIT)  # an earlier transaction may make it valid
        raise


def _failure(error: Reverted | str) -> tuple[str, dict[str, str] | None, str]:
    name, args, message = "", None, str(error)
    if isinstance(error, Reverted) and error.data:
        try:
            decoded = decode_revert_any(error.data)
            name, args = decoded.name, {k: str(v) for k, v in decoded.kwargs.items()}
            message = refusal_reason(decoded.name, decoded.kwargs) or f"The contract refused: {decoded.name}"
        except LookupError:
            message = "The contract refused with an unknown error."
    return name, args, message


def _fail(
    tx: ChainTransaction,
    *,
    error: Reverted | str,
    name: str = "",
    args: dict[str, str] | None = None,
    actor: User | None = None,
    **fields: Any,
) -> None:
    """Mark a locked row FAILED with its reason, audited in the caller's transaction."""
    decoded_name, decoded_args, message = _failure(error)
    name, args = name or decoded_name, args if args is not None else decoded_args
    before = {"status": tx.status, "nonce": tx.nonce, "tx_hash": tx.tx_hash}
    ChainTransaction.objects.filter(pk=tx.pk).update(
        status=TxStatus.FAILED,
        error_name=name,
        error_args=args,
        last_error=message[:2000],
        hold=TxHold.NONE,
        updated_at=timezone.now(),
        **fields,
    )
    tx.refresh_from_db()
    audit_record(
        actor=actor, action="chain.transaction_failed", obj=tx, before=before, after={"error": name or message[:200]}
    )


def _hold(tx: ChainTransaction, *, hold: str, message: str) -> None:
    """The row waits for a person (fund the sender, restore its key); it keeps its nonce, if any."""
    with transaction.atomic():
        locked = ChainTransaction.objects.select_for_update().get(pk=tx.pk)
        if locked.status not in OPEN_STATUSES:
            return
        changed = locked.hold != hold
        locked.hold, locked.last_error, locked.attempts = hold, message[:2000], locked.attempts + 1
        locked.save(update_fields=["hold", "last_error", "attempts", "updated_at"])
        if changed:
            audit_record(
                actor=None, action="chain.transaction_held", obj=locked, after={"hold": hold, "reason": message[:200]}
            )


def _signer(tx: ChainTransaction) -> Signer | None:
    """The key of the row's recorded sender, or None (the row is held and says why)."""
    try:
        return signer_for(tx.sender)
    except SenderKeyMissing as exc:
        _hold(tx, hold=TxHold.SENDER_KEY, message=str(exc))
        return None


def _fields(tx: ChainTransaction, *, nonce: int, gas: int, fees: tuple[int, int], target: str | None) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "chainId": tx.chain_id,
        "nonce": nonce,
        "gas": gas,
        "maxFeePerGas": fees[0],
        "maxPriorityFeePerGas": fees[1],
        "data": bytes(tx.data),
        "value": int(tx.value),
        "type": 2,
    }
    if target:
        fields["to"] = checksum(target)
    return fields


def _sign_one(client: ChainClient, tx_id: int) -> ChainTransaction | None:
    """Assign the nonce and sign under the sender lock; return the row if it is now SIGNED."""
    tx = ChainTransaction.objects.get(pk=tx_id)
    if tx.status != TxStatus.PENDING:
        return None
    signer = _signer(tx)
    if signer is None:
        return None
    sender_row = _sender_row(client, tx.chain_id, tx.sender)
    target: str | None = tx.to_address
    if tx.nonce is not None:  # a fill: its nonce and call are fixed
        gas = int(tx.gas_limit or FILL_GAS)
    else:
        try:
            target = _target(tx)
            gas = _gas_limit(client, tx, target, sender_row)
        except Reverted as exc:
            with transaction.atomic():
                locked = ChainTransaction.objects.select_for_update().get(pk=tx_id)
                if locked.status == TxStatus.PENDING:
                    _fail(locked, error=exc)
            return None
    max_fee, priority = client.fees()
    if tx.max_fee_per_gas:  # a fill replacing a transaction the node may still hold must outbid it
        max_fee = max(max_fee, int(int(tx.max_fee_per_gas) * 1.25) + 1)
        priority = max(priority, int(int(tx.max_priority_fee_per_gas or 0) * 1.25) + 1)
    with transaction.atomic():
        account = SenderAccount.objects.select_for_update().get(pk=sender_row.pk)
        locked = ChainTransaction.objects.select_for_update().get(pk=tx_id)
        if locked.status != TxStatus.PENDING:
            return None  # another worker signed it first
        nonce = account.next_nonce if locked.nonce is None else locked.nonce
        signed = signer.sign(_fields(locked, nonce=nonce, gas=gas, fees=(max_fee, priority), target=target))
        locked.nonce, locked.gas_limit = nonce, gas
        locked.max_fee_per_gas, locked.max_priority_fee_per_gas = max_fee, priority
        locked.signed_raw, locked.tx_hash, locked.status = signed.raw, signed.hash, TxStatus.SIGNED
        locked.signed_at, locked.hold = timezone.now(), TxHold.NONE
        if tx.hold or locked.last_error == WAITING:
            locked.last_error = ""
        locked.save()
        if hasattr(locked, "deployment") and not target:
            ContractDeployment.objects.filter(pk=locked.deployment.pk).update(
                address=create_address(locked.sender, nonce)
            )
        if nonce >= account.next_nonce:
            account.next_nonce = nonce + 1
            account.save(update_fields=["next_nonce"])
    failpoint("after_sign")
    return locked


def transaction_broadcast(*, client: ChainClient, tx: ChainTransaction, depth: int = 0) -> None:
    """Send the stored signed bytes (again). Signs anew only at the same nonce, when the node asks for a higher fee."""
    if tx.signed_raw is None:
        return
    try:
        client.send_raw(bytes(tx.signed_raw))
    except NodeRejected as exc:
        message = f"The node did not accept the transaction: {exc}"
        if exc.kind == UNDERPRICED and depth < 3:
            _resign(client, tx, action="chain.transaction_repriced", reason=message, depth=depth)
        elif exc.kind == INSUFFICIENT_FUNDS:
            # Not filled and not failed: the nonce waits for the sender to be funded (shown on /health/).
            _hold(tx, hold=TxHold.INSUFFICIENT_FUNDS, message=f"{message}. Fund {tx.sender} to send it.")
        elif exc.kind == NONCE_TOO_LOW:
            _nonce_used(client, tx)
        elif exc.kind == INVALID:
            _fill_and_fail(client, tx, reason=str(exc))
        else:
            ChainTransaction.objects.filter(pk=tx.pk).update(last_error=message[:2000], attempts=tx.attempts + 1)
        return
    failpoint("after_broadcast")
    with transaction.atomic():
        sent = ChainTransaction.objects.filter(pk=tx.pk, status__in=[TxStatus.SIGNED, TxStatus.BROADCAST]).update(
            status=TxStatus.BROADCAST,
            broadcast_at=timezone.now(),
            attempts=tx.attempts + 1,
            last_error="",
            hold=TxHold.NONE,
        )
        if sent and tx.hold:
            audit_record(actor=None, action="chain.transaction_released", obj=tx, before={"hold": tx.hold})
    if sent:
        _log_step(tx, "sent")


def outbox_flush(*, chain_id: int, sender: str, limit: int = 500) -> int:
    """Sign and send a sender's pending rows in the order they were written. Safe to run twice."""
    client = chain_client()
    _sender_catch_up(client, chain_id, sender)
    sent = 0
    pending = list(
        ChainTransaction.objects.filter(chain_id=chain_id, sender=sender, status=TxStatus.PENDING)
        .order_by("id")
        .values_list("id", "order_keys")[:limit]
    )
    # Effects other senders still have open: this sender's nonces cannot order a row behind them.
    others = iter(
        list(
            ChainTransaction.objects.filter(
                chain_id=chain_id, status__in=OPEN_STATUSES, id__lt=pending[-1][0] if pending else 0
            )
            .exclude(sender=sender)
            .exclude(order_keys=[])
            .order_by("id")
            .values_list("id", "order_keys")
        )
    )
    earlier, other = _EarlierEffects(), next(others, None)
    for tx_id, keys in pending:
        while other is not None and other[0] < tx_id:
            earlier.add(other[1])
            other = next(others, None)
        if keys and earlier.hold_back(keys):
            earlier.add(keys)  # and so are this sender's later rows that share its keys
            ChainTransaction.objects.filter(pk=tx_id, last_error="").update(last_error=WAITING)
            continue
        signed = _sign_one(client, tx_id)
        if signed is not None:
            transaction_broadcast(client=client, tx=signed)
            sent += 1
    # Signed before a crash but never sent: send those bytes now, in nonce order.
    for tx in ChainTransaction.objects.filter(chain_id=chain_id, sender=sender, status=TxStatus.SIGNED).order_by(
        "nonce"
    ):
        transaction_broadcast(client=client, tx=tx)
    return sent


# --------------------------------------------------------------------------- rejections: re-price, fill, nonce used


def _resign(client: ChainClient, tx: ChainTransaction, *, action: str, reason: str, depth: int = 0) -> None:
    """Same nonce, same call, fees raised: whichever signing is mined is the only effect."""
    signer = _signer(tx)
    if signer is None:
        return
    max_fee, priority = client.fees()
    # A replacement must outbid the earlier signing by at least 10% on both fees (geth's rule).
    max_fee = max(max_fee, int(int(tx.max_fee_per_gas or 0) * 1.25) + 1)
    priority = max(priority, int(int(tx.max_priority_fee_per_gas or 0) * 1.25) + 1)
    target = tx.to_address or (tx.to_deployment.address if tx.to_deployment is not None else "")
    assert tx.nonce is not None and tx.gas_limit is not None
    signed = signer.sign(_fields(tx, nonce=tx.nonce, gas=int(tx.gas_limit), fees=(max_fee, priority), target=target))
    with transaction.atomic():
        locked = ChainTransaction.objects.select_for_update().get(pk=tx.pk)
        if locked.status not in (TxStatus.SIGNED, TxStatus.BROADCAST) or locked.tx_hash != tx.tx_hash:
            return
        before = {"tx_hash": locked.tx_hash, "max_fee_per_gas": str(locked.max_fee_per_gas)}
        locked.previous_hashes = [*locked.previous_hashes, locked.tx_hash]
        locked.signed_raw, locked.tx_hash = signed.raw, signed.hash
        locked.max_fee_per_gas, locked.max_priority_fee_per_gas = max_fee, priority
        locked.status, locked.last_error = TxStatus.SIGNED, reason[:2000]
        locked.save()
        audit_record(
            actor=None,
            action=action,
            obj=locked,
            before=before,
            after={"tx_hash": signed.hash, "max_fee_per_gas": str(max_fee), "reason": reason[:200]},
        )
    transaction_broadcast(client=client, tx=locked, depth=depth + 1)


def _filler_new(original: ChainTransaction, *, nonce: int, purpose: str) -> ChainTransaction:
    return ChainTransaction.objects.create(
        idempotency_key=f"fill:{original.chain_id}:{original.sender}:{nonce}:{original.pk}",
        purpose=purpose[:200],
        chain_id=original.chain_id,
        sender=original.sender,
        to_address=original.sender,
        data=b"",
        value=0,
        gas_limit=FILL_GAS,
        nonce=nonce,
        fill_for=original,
    )


def _fill_and_fail(client: ChainClient, tx: ChainTransaction, *, reason: str) -> None:
    """The node refused it for good: fail it with the reason and fill its nonce so later ones proceed."""
    if tx.fill_for_id is not None or any(client.transaction_known(h) for h in tx.previous_hashes):
        # A fill refused for good, or an earlier signing of this nonce is still alive: nothing to fill with.
        with transaction.atomic():
            locked = ChainTransaction.objects.select_for_update().get(pk=tx.pk)
            if locked.tx_hash == tx.tx_hash and locked.status in OPEN_STATUSES:
                if tx.fill_for_id is not None:
                    _fail(locked, error=f"The node refused the fill: {reason}", name="RejectedByNode")
                else:
                    ChainTransaction.objects.filter(pk=tx.pk).update(last_error=f"The node refused it: {reason}")
        return
    signer = _signer(tx)
    if signer is None:
        return
    max_fee, priority = client.fees()
    with transaction.atomic():
        locked = ChainTransaction.objects.select_for_update().get(pk=tx.pk)
        if locked.status not in (TxStatus.SIGNED, TxStatus.BROADCAST) or locked.tx_hash != tx.tx_hash:
            return
        nonce = locked.nonce
        assert nonce is not None
        _fail(
            locked,
            error=f"The node refused it for good ({reason}); its nonce {nonce} was filled with an empty transfer.",
            name="RejectedByNode",
            args={"reason": reason[:300], "nonce": str(nonce)},
            nonce=None,
        )
        filler = _filler_new(locked, nonce=nonce, purpose=f"Fill nonce {nonce} left by #{locked.pk} ({locked.purpose})")
        signed = signer.sign(_fields(filler, nonce=nonce, gas=FILL_GAS, fees=(max_fee, priority), target=filler.sender))
        filler.max_fee_per_gas, filler.max_priority_fee_per_gas = max_fee, priority
        filler.signed_raw, filler.tx_hash, filler.status, filler.signed_at = (
            signed.raw,
            signed.hash,
            TxStatus.SIGNED,
            timezone.now(),
        )
        filler.save()
        audit_record(
            actor=None,
            action="chain.nonce_filled",
            obj=filler,
            after={"nonce": nonce, "for": locked.pk, "tx_hash": signed.hash, "reason": reason[:200]},
        )
    transaction_broadcast(client=client, tx=filler)


def transaction_nonce_fill(*, tx: ChainTransaction, actor: User | None) -> ChainTransaction:
    """Staff: give up on an open transaction and use its nonce for an empty transfer (signed by a worker)."""
    try:
        mined = _mined_receipt(chain_client(), tx)
    except NodeUnavailable as exc:
        raise ApplicationError("The node cannot be reached to check it; try again shortly.", code="node") from exc
    if mined is not None:
        raise ApplicationError("It was mined; its nonce is used already and is not filled.", code="mined")
    with transaction.atomic():
        locked = ChainTransaction.objects.select_for_update().get(pk=tx.pk)
        if locked.status not in (TxStatus.SIGNED, TxStatus.BROADCAST) or locked.nonce is None:
            raise ApplicationError(
                "Only a signed transaction that is not mined holds a nonce to fill.", code="no_nonce"
            )
        if locked.fill_for_id is not None:
            raise ApplicationError("This is a fill already.", code="is_fill")
        nonce = locked.nonce
        _fail(
            locked,
            error=f"Staff filled its nonce {nonce} with an empty transfer; it is not sent again.",
            name="NonceFilled",
            args={"nonce": str(nonce)},
            actor=actor,
            nonce=None,
        )
        filler = _filler_new(locked, nonce=nonce, purpose=f"Fill nonce {nonce} left by #{locked.pk} (by staff)")
        # Outbid the original's fees, so a node still holding it takes the fill instead.
        filler.max_fee_per_gas, filler.max_priority_fee_per_gas = (
            locked.max_fee_per_gas,
            locked.max_priority_fee_per_gas,
        )
        filler.save(update_fields=["max_fee_per_gas", "max_priority_fee_per_gas"])
        audit_record(
            actor=actor, action="chain.nonce_fill_requested", obj=filler, after={"nonce": nonce, "for": locked.pk}
        )
        _flush_on_commit(filler)
    return filler


def _mined_receipt(
    client: ChainClient, tx: ChainTransaction, known: Mapping[str, Receipt | None] | None = None
) -> tuple[str, Receipt] | None:
    """The receipt of whichever signing of `tx` was mined; `known`: receipts read just before, by hash."""
    for candidate in [tx.tx_hash, *reversed(tx.previous_hashes)]:
        if candidate:
            receipt = known[candidate] if known is not None and candidate in known else client.receipt(candidate)
            if receipt is not None:
                return candidate, receipt
    return None


def _nonce_used(client: ChainClient, tx: ChainTransaction) -> None:
    """Its nonce is used on-chain. That is this row's success only if one of its own hashes has a receipt."""
    if _mined_receipt(client, tx) is not None:
        ChainTransaction.objects.filter(pk=tx.pk, status=TxStatus.SIGNED).update(
            status=TxStatus.BROADCAST, broadcast_at=timezone.now(), hold=TxHold.NONE
        )
        return  # the watcher reads the receipt
    assert tx.nonce is not None
    final_block = max(final_block_number(client), 0)
    if client.mined_nonce(tx.sender, final_block) <= tx.nonce or _mined_receipt(client, tx) is not None:
        ChainTransaction.objects.filter(pk=tx.pk).update(
            last_error="Its nonce is used in a block that is not final yet; waiting for it to settle."
        )
        return
    with transaction.atomic():
        locked = ChainTransaction.objects.select_for_update().get(pk=tx.pk)
        if locked.status not in (TxStatus.SIGNED, TxStatus.BROADCAST) or locked.tx_hash != tx.tx_hash:
            return
        original = (
            ChainTransaction.objects.select_for_update().get(pk=locked.fill_for_id) if locked.fill_for_id else None
        )
        mined_original = _mined_receipt(client, original) if original is not None else None
        if original is not None and mined_original is not None:
            # The transaction it was to replace was mined at this nonce after all: that effect stands.
            nonce = locked.nonce
            _fail(locked, error="Not needed: the transaction it replaced was mined at this nonce.", nonce=None)
            before = {"status": original.status, "error": original.error_name}
            original.status, original.nonce, original.tx_hash = TxStatus.BROADCAST, nonce, mined_original[0]
            original.error_name, original.error_args, original.last_error = "", None, ""
            original.save()
            audit_record(actor=None, action="chain.transaction_mined_after_fill", obj=original, before=before)
            return
        # Not re-signed: what used this nonce was signed with our key elsewhere, maybe as this very request.
        _fail(
            locked,
            error=f"Nonce {locked.nonce} was used on-chain by another transaction from {locked.sender}, not by this "
            "one (none of its hashes has a receipt). It is not sent again; check the sender's history, then retry.",
            name="NonceTaken",
            args={"nonce": str(locked.nonce)},
        )


# --------------------------------------------------------------------------- watch: receipts, reorgs, stuck

RECEIPTS_PER_REQUEST = 200  # receipts asked for in one JSON-RPC batch request by a watch pass


def _revert_reason(client: ChainClient, tx: ChainTransaction, block_number: int) -> Reverted:
    call: dict[str, Any] = {"from": tx.sender, "data": "0x" + bytes(tx.data).hex(), "value": int(tx.value)}
    target = tx.to_address or (tx.to_deployment.address if tx.to_deployment is not None else None)
    if target:
        call["to"] = target
    # Replay on the state before its block, then after it (an earlier transaction in the same
    # block may be what made it fail).
    for block in (block_number - 1, block_number):
        try:
            client.call(call, block)
        except Reverted as exc:
            if exc.data:
                return exc
    return Reverted(None, "The transaction reverted on-chain.")


def _fail_reverted(client: ChainClient, tx: ChainTransaction, receipt: Receipt) -> None:
    if tx.gas_limit and receipt.gas_used >= int(tx.gas_limit):
        _fail(
            tx,
            error=f"It ran out of gas: it used all {int(tx.gas_limit):,} gas it was given. "
            "A retry estimates the gas again.",
            name="OutOfGas",
            args={"gas_limit": str(tx.gas_limit), "gas_used": str(receipt.gas_used)},
        )
        return
    _fail(tx, error=_revert_reason(client, tx, receipt.block_number))


def _watch_one(
    client: ChainClient, tx: ChainTransaction, final_block: int, known: Mapping[str, Receipt | None] | None = None
) -> None:
    mined = _mined_receipt(client, tx, known)
    if mined is None:
        if tx.status == TxStatus.MINED:
            # The block that held it is gone (reorg): send the same signed bytes again.
            with transaction.atomic():
                reset = ChainTransaction.objects.filter(pk=tx.pk, status=TxStatus.MINED).update(
                    status=TxStatus.SIGNED, block_number=None, block_hash="", gas_used=None
                )
                if reset:
                    audit_record(
                        actor=None, action="chain.transaction_reorged", obj=tx, before={"block": tx.block_number}
                    )
            tx.refresh_from_db()
            transaction_broadcast(client=client, tx=tx)
        elif not client.transaction_known(tx.tx_hash or ""):
            if tx.nonce is not None and client.mined_nonce(tx.sender) > tx.nonce:
                _nonce_used(client, tx)
                return
            transaction_broadcast(client=client, tx=tx)  # the node forgot it (restart): send it again
        elif tx.broadcast_at and timezone.now() - tx.broadcast_at > timedelta(
            seconds=settings.CHAIN_REPLACE_UNMINED_AFTER_SECONDS
        ):
            _resign(client, tx, action="chain.transaction_replaced", reason="Not mined in time: sent at a higher fee.")
        return
    mined_hash, receipt = mined
    # A revert is a failure only once final: until then a reorg may still include it successfully.
    confirmed = receipt.block_number <= final_block  # tokens/finality.py: depth or the node's finalized tag
    with transaction.atomic():
        locked = ChainTransaction.objects.select_for_update().get(pk=tx.pk)
        if locked.status not in OPEN_STATUSES:
            return
        locked.tx_hash = mined_hash
        locked.block_number, locked.block_hash = receipt.block_number, receipt.block_hash
        locked.gas_used = receipt.gas_used
        locked.contract_address = receipt.contract_address or ""
        if receipt.status == 0 and confirmed:
            locked.save()
            _fail_reverted(client, locked, receipt)
            return
        locked.status = TxStatus.CONFIRMED if confirmed else TxStatus.MINED
        locked.last_error = "Reverted in a block that is not final yet." if receipt.status == 0 else ""
        locked.save()
        if confirmed:
            audit_record(
                actor=None,
                action="chain.transaction_confirmed",
                obj=locked,
                after={"tx_hash": mined_hash, "block": receipt.block_number},
            )
    if confirmed:
        _log_step(locked, "confirmed")


def outbox_watch(*, chain_id: int | None = None) -> int:
    """One pass over every open transaction; returns how many are still open."""
    client = chain_client()
    chain_id = chain_id or settings.CHAIN_ID
    final_block = final_block_number(client)
    open_rows = ChainTransaction.objects.filter(chain_id=chain_id).filter(
        Q(status__in=[TxStatus.BROADCAST, TxStatus.MINED])
        | Q(status=TxStatus.SIGNED, updated_at__lt=timezone.now() - timedelta(seconds=5))
    )
    rows = list(open_rows.select_related("to_deployment").order_by("nonce"))
    # Every open row's receipts in a few batch requests, not one round trip per signing of each row.
    hashes = [h for tx in rows for h in [tx.tx_hash, *tx.previous_hashes] if h]
    known: dict[str, Receipt | None] = {}
    for start in range(0, len(hashes), RECEIPTS_PER_REQUEST):
        known.update(client.receipts(hashes[start : start + RECEIPTS_PER_REQUEST]))
    for tx in rows:
        _watch_one(client, tx, final_block, known)
    for sender in (
        ChainTransaction.objects.filter(chain_id=chain_id, status=TxStatus.PENDING)
        .values_list("sender", flat=True)
        .distinct()
    ):
        outbox_flush(chain_id=chain_id, sender=sender)
    return ChainTransaction.objects.filter(chain_id=chain_id, status__in=OPEN_STATUSES).count()


def transaction_retry(*, tx: ChainTransaction, actor: User | None) -> ChainTransaction:
    """Try a FAILED transaction again with a new nonce and a new gas estimate, unless its effect happened."""
    tx.refresh_from_db()
    if tx.status != TxStatus.FAILED:
        raise ApplicationError("Only a failed transaction can be retried.", code="not_failed")
    if tx.fill_for_id is not None:
        raise ApplicationError("A fill is not retried; fill the nonce again if it is still open.", code="is_fill")
    hashes = [h for h in [tx.tx_hash, *tx.previous_hashes] if h]
    if hashes and ChainEvent.objects.filter(transaction_hash__in=hashes).exists():
        raise Conflict("Its transaction was mined and took effect (its events are indexed); it is not sent again.")
    try:
        mined = _mined_receipt(chain_client(), tx)
    except NodeUnavailable as exc:
        raise ApplicationError(
            "The node cannot be reached to check whether it already took effect; try again shortly.",
            code="node_unavailable",
        ) from exc
    if mined is not None and mined[1].status == 1:
        raise Conflict(
            f"Its transaction {mined[0]} was mined successfully in block {mined[1].block_number}; "
            "it is not sent again.",
            code="already_mined",
        )
    with transaction.atomic():
        locked = ChainTransaction.objects.select_for_update().get(pk=tx.pk)
        if locked.status != TxStatus.FAILED:
            raise ApplicationError("Only a failed transaction can be retried.", code="not_failed")
        before = {
            "error": locked.error_name or locked.last_error[:200],
            "tx_hash": locked.tx_hash,
            "previous_hashes": locked.previous_hashes,
            "gas_limit": locked.gas_limit,
        }
        # The failed attempt's hashes stay in the audit event; receipts are looked up only for the new one.
        locked.previous_hashes = []
        locked.status, locked.nonce, locked.signed_raw, locked.tx_hash = TxStatus.PENDING, None, None, None
        locked.error_name, locked.error_args, locked.last_error = "", None, ""
        locked.block_number, locked.block_hash, locked.gas_used = None, "", None
        locked.gas_limit = None  # estimated again: the limit that failed may be why it failed
        locked.max_fee_per_gas = locked.max_priority_fee_per_gas = None
        locked.hold, locked.signed_at = TxHold.NONE, None
        locked.save()
        audit_record(actor=actor, action="chain.transaction_retried", obj=locked, before=before)
        _flush_on_commit(locked)
    return locked


__all__ = [
    "NodeUnavailable",
    "chain_client",
    "order_keys_for",
    "outbox_flush",
    "outbox_watch",
    "pool_grant_key",
    "transaction_broadcast",
    "transaction_enqueue",
    "transaction_nonce_fill",
    "transaction_retry",
]

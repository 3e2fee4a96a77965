"""Exactly-once on-chain effects.

A service writes a `ChainTransaction` in the same database transaction as its business change
(`transaction_enqueue`). After commit, `outbox_flush` gives each pending row of a sender the
next nonce under that sender's row lock, signs it, stores the signed bytes and hash, and only
then broadcasts. `outbox_watch` reads receipts, confirms after N blocks, re-sends the same bytes
when a receipt vanished (reorg, node restart) and replaces a stuck transaction with the same
nonce at a higher fee. A killed worker, a restarted node or a duplicate task can delay an effect
but never repeat it: the nonce is fixed once signed, and re-sending the same bytes is harmless.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from core.audit import audit_record
from core.errors import ApplicationError
from core.models import User
from core.tasks import task_enqueue_on_commit
from tokens.chain.abi import decode_revert_any
from tokens.chain.addresses import checksum, create_address
from tokens.chain.client import ChainClient, NodeRejected, NodeUnavailable, Reverted, client_for
from tokens.chain.failpoints import failpoint
from tokens.chain.signer import portal_signer
from tokens.models import OPEN_STATUSES, ChainTransaction, ContractDeployment, SenderAccount, TxStatus


def chain_client() -> ChainClient:
    return client_for(settings.CHAIN_RPC_URL)


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
) -> ChainTransaction:
    """Record one intended transaction. The same key returns the row already recorded."""
    signer = portal_signer()
    existing = ChainTransaction.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        if bytes(existing.data) != data or existing.to_address != to_address:
            raise ApplicationError("This request was already made with different details.", code="idempotency_conflict")
        return existing
    try:
        with transaction.atomic():
            tx = ChainTransaction.objects.create(
                idempotency_key=idempotency_key,
                purpose=purpose[:200],
                chain_id=settings.CHAIN_ID,
                sender=signer.address,
                to_address=checksum(to_address) if to_address else "",
                to_deployment=to_deployment,
                data=data,
                gas_limit=gas_limit,
            )
    except IntegrityError:
        # Another request with the same key committed first: one row, one effect.
        return ChainTransaction.objects.get(idempotency_key=idempotency_key)
    audit_record(actor=actor, action="chain.transaction_requested", obj=tx, after={"purpose": tx.purpose})
    _flush_on_commit(tx)
    return tx


def _flush_on_commit(tx: ChainTransaction) -> None:
    from tokens.tasks import outbox_flush_task

    task_enqueue_on_commit(
        outbox_flush_task, tx.chain_id, tx.sender, when_broker_down="the watcher's beat flushes pending rows"
    )


# --------------------------------------------------------------------------- flush: nonce, sign, store, send


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
    call: dict[str, Any] = {"from": tx.sender, "data": "0x" + bytes(tx.data).hex(), "value": int(tx.value)}
    if target:
        call["to"] = target
    try:
        return int(client.estimate_gas(call) * 1.25) + 10_000
    except Reverted:
        if client.mined_nonce(tx.sender) < sender_row.next_nonce:
            return int(settings.CHAIN_FALLBACK_GAS_LIMIT)  # an earlier transaction may make it valid
        raise


def _fail(tx: ChainTransaction, *, error: Reverted | str, actor: User | None = None) -> None:
    name, args, message = "", None, str(error)
    if isinstance(error, Reverted) and error.data:
        try:
            decoded = decode_revert_any(error.data)
            name, args = decoded.name, {k: str(v) for k, v in decoded.kwargs.items()}
            message = f"The contract refused: {decoded.name}"
        except LookupError:
            message = "The contract refused with an unknown error."
    ChainTransaction.objects.filter(pk=tx.pk).update(
        status=TxStatus.FAILED, error_name=name, error_args=args, last_error=message[:2000], updated_at=timezone.now()
    )
    tx.refresh_from_db()
    audit_record(actor=actor, action="chain.transaction_failed", obj=tx, after={"error": name or message[:200]})


def _sign_one(client: ChainClient, tx_id: int) -> ChainTransaction | None:
    """Assign the nonce and sign under the sender lock; return the row if it is now SIGNED."""
    tx = ChainTransaction.objects.get(pk=tx_id)
    if tx.status != TxStatus.PENDING:
        return None
    sender_row = _sender_row(client, tx.chain_id, tx.sender)
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
    signer = portal_signer()
    with transaction.atomic():
        account = SenderAccount.objects.select_for_update().get(pk=sender_row.pk)
        locked = ChainTransaction.objects.select_for_update().get(pk=tx_id)
        if locked.status != TxStatus.PENDING:
            return None  # another worker signed it first
        nonce = account.next_nonce
        fields: dict[str, Any] = {
            "chainId": locked.chain_id,
            "nonce": nonce,
            "gas": gas,
            "maxFeePerGas": max_fee,
            "maxPriorityFeePerGas": priority,
            "data": bytes(locked.data),
            "value": int(locked.value),
            "type": 2,
        }
        if target:
            fields["to"] = checksum(target)
        signed = signer.sign(fields)
        locked.nonce, locked.gas_limit = nonce, gas
        locked.max_fee_per_gas, locked.max_priority_fee_per_gas = max_fee, priority
        locked.signed_raw, locked.tx_hash, locked.status = signed.raw, signed.hash, TxStatus.SIGNED
        locked.save()
        if hasattr(locked, "deployment") and not target:
            ContractDeployment.objects.filter(pk=locked.deployment.pk).update(
                address=create_address(locked.sender, nonce)
            )
        account.next_nonce = nonce + 1
        account.save(update_fields=["next_nonce"])
    failpoint("after_sign")
    return locked


def transaction_broadcast(*, client: ChainClient, tx: ChainTransaction) -> None:
    """Send the stored signed bytes (again). Never signs anything new."""
    if tx.signed_raw is None:
        return
    try:
        client.send_raw(bytes(tx.signed_raw))
    except NodeRejected as exc:
        ChainTransaction.objects.filter(pk=tx.pk).update(
            last_error=f"The node did not accept the transaction: {exc}"[:2000], attempts=tx.attempts + 1
        )
        return
    failpoint("after_broadcast")
    ChainTransaction.objects.filter(pk=tx.pk, status=TxStatus.SIGNED).update(
        status=TxStatus.BROADCAST, broadcast_at=timezone.now(), attempts=tx.attempts + 1, last_error=""
    )


def outbox_flush(*, chain_id: int, sender: str, limit: int = 500) -> int:
    """Sign and send a sender's pending rows in the order they were written. Safe to run twice."""
    client = chain_client()
    sent = 0
    pending = list(
        ChainTransaction.objects.filter(chain_id=chain_id, sender=sender, status=TxStatus.PENDING)
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )
    for tx_id in pending:
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


# --------------------------------------------------------------------------- watch: receipts, reorgs, stuck


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


def _replace(client: ChainClient, tx: ChainTransaction) -> None:
    """Same nonce, same call, fees raised by a quarter: whichever one is mined is the only effect."""
    signer = portal_signer()
    max_fee, priority = client.fees()
    max_fee = max(max_fee, int(int(tx.max_fee_per_gas or 0) * 1.25) + 1)
    priority = max(priority, int(int(tx.max_priority_fee_per_gas or 0) * 1.25) + 1)
    target = tx.to_address or (tx.to_deployment.address if tx.to_deployment is not None else "")
    fields: dict[str, Any] = {
        "chainId": tx.chain_id,
        "nonce": tx.nonce,
        "gas": tx.gas_limit,
        "maxFeePerGas": max_fee,
        "maxPriorityFeePerGas": priority,
        "data": bytes(tx.data),
        "value": int(tx.value),
        "type": 2,
    }
    if target:
        fields["to"] = checksum(target)
    signed = signer.sign(fields)
    with transaction.atomic():
        locked = ChainTransaction.objects.select_for_update().get(pk=tx.pk)
        if locked.status != TxStatus.BROADCAST or locked.tx_hash != tx.tx_hash:
            return
        locked.previous_hashes = [*locked.previous_hashes, locked.tx_hash]
        locked.signed_raw, locked.tx_hash = signed.raw, signed.hash
        locked.max_fee_per_gas, locked.max_priority_fee_per_gas = max_fee, priority
        locked.status = TxStatus.SIGNED
        locked.save()
    audit_record(actor=None, action="chain.transaction_replaced", obj=locked, after={"tx_hash": signed.hash})
    transaction_broadcast(client=client, tx=locked)


def _watch_one(client: ChainClient, tx: ChainTransaction, head: int) -> None:
    receipt, mined_hash = None, tx.tx_hash
    for candidate in [tx.tx_hash, *reversed(tx.previous_hashes)]:
        if candidate:
            receipt = client.receipt(candidate)
            if receipt is not None:
                mined_hash = candidate
                break
    if receipt is None:
        if tx.status == TxStatus.MINED:
            # The block that held it is gone (reorg): send the same signed bytes again.
            ChainTransaction.objects.filter(pk=tx.pk, status=TxStatus.MINED).update(
                status=TxStatus.SIGNED, block_number=None, block_hash="", gas_used=None
            )
            audit_record(actor=None, action="chain.transaction_reorged", obj=tx, before={"block": tx.block_number})
            tx.refresh_from_db()
            transaction_broadcast(client=client, tx=tx)
        elif not client.transaction_known(tx.tx_hash or ""):
            if tx.nonce is not None and client.mined_nonce(tx.sender) > tx.nonce:
                # Never mark this failed: only a person can tell whether the nonce went elsewhere.
                ChainTransaction.objects.filter(pk=tx.pk).update(
                    last_error="Its nonce is used on-chain but no receipt for it is found; check the node."
                )
                return
            transaction_broadcast(client=client, tx=tx)  # the node forgot it (restart): send it again
        elif tx.broadcast_at and timezone.now() - tx.broadcast_at > timedelta(
            seconds=settings.CHAIN_REPLACE_UNMINED_AFTER_SECONDS
        ):
            _replace(client, tx)
        return
    confirmed = head - receipt.block_number + 1 >= max(settings.CHAIN_CONFIRMATIONS, 1)
    with transaction.atomic():
        locked = ChainTransaction.objects.select_for_update().get(pk=tx.pk)
        if locked.status not in OPEN_STATUSES:
            return
        locked.tx_hash = mined_hash
        locked.block_number, locked.block_hash = receipt.block_number, receipt.block_hash
        locked.gas_used = receipt.gas_used
        locked.contract_address = receipt.contract_address or ""
        if receipt.status == 0:
            locked.save()
            _fail(locked, error=_revert_reason(client, locked, receipt.block_number))
            return
        locked.status = TxStatus.CONFIRMED if confirmed else TxStatus.MINED
        locked.save()
        if confirmed:
            audit_record(
                actor=None,
                action="chain.transaction_confirmed",
                obj=locked,
                after={"tx_hash": mined_hash, "block": receipt.block_number},
            )


def outbox_watch(*, chain_id: int | None = None) -> int:
    """One pass over every open transaction; returns how many are still open."""
    client = chain_client()
    chain_id = chain_id or settings.CHAIN_ID
    head = client.block_number()
    open_rows = ChainTransaction.objects.filter(chain_id=chain_id).filter(
        Q(status__in=[TxStatus.BROADCAST, TxStatus.MINED])
        | Q(status=TxStatus.SIGNED, updated_at__lt=timezone.now() - timedelta(seconds=5))
    )
    for tx in open_rows.select_related("to_deployment").order_by("nonce"):
        _watch_one(client, tx, head)
    for sender in (
        ChainTransaction.objects.filter(chain_id=chain_id, status=TxStatus.PENDING)
        .values_list("sender", flat=True)
        .distinct()
    ):
        outbox_flush(chain_id=chain_id, sender=sender)
    return ChainTransaction.objects.filter(chain_id=chain_id, status__in=OPEN_STATUSES).count()


def transaction_retry(*, tx: ChainTransaction, actor: User | None) -> ChainTransaction:
    """Try a FAILED transaction again with a new nonce. Its earlier attempt had no effect."""
    with transaction.atomic():
        locked = ChainTransaction.objects.select_for_update().get(pk=tx.pk)
        if locked.status != TxStatus.FAILED:
            raise ApplicationError("Only a failed transaction can be retried.", code="not_failed")
        before = {"error": locked.error_name or locked.last_error[:200], "tx_hash": locked.tx_hash}
        # The failed attempt's hash stays in the audit event; receipts are looked up only for the new one.
        locked.previous_hashes = []
        locked.status, locked.nonce, locked.signed_raw, locked.tx_hash = TxStatus.PENDING, None, None, None
        locked.error_name, locked.error_args, locked.last_error = "", None, ""
        locked.block_number, locked.block_hash, locked.gas_used = None, "", None
        locked.save()
        audit_record(actor=actor, action="chain.transaction_retried", obj=locked, before=before)
        _flush_on_commit(locked)
    return locked


__all__ = [
    "NodeUnavailable",
    "chain_client",
    "outbox_flush",
    "outbox_watch",
    "transaction_broadcast",
    "transaction_enqueue",
    "transaction_retry",
]

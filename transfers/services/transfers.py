"""A holder's transfer, from the instruction to the register.

`transfer_instruct` records a transfer only when the portal's rules and the token's own answer both let it go
(transfers/eligibility.py); a refused one is never recorded, so nothing can be signed for it. Then:

- a wallet the holder controls: `transfer_prepare` checks both sides again and hands the browser the one
  transaction to sign (`transfer(to, quantity)` on the token, from the checked wallet); the wallet sends it and
  `transfer_submitted` records its hash; `transfer_advance` finds the transaction on the chain, makes sure it is
  the transfer that was checked, and marks it done once the register has posted it;
- a custodial wallet: the portal signs on the holder's instruction, after a fresh two-factor check
  (`transfer_custodial_confirm`). The custodian's key is not the portal's, so the token's agent moves the units
  (`forcedTransfer`, with the instruction as its on-chain reason) through the chain outbox, once both sides have
  said yes again at that moment; the register shows it as a forced transfer sent by the portal.

One open transfer per sending wallet: the next is checked against a register that shows the first.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.audit import audit_record
from core.errors import ApplicationError, Conflict, NotPermitted
from core.models import User
from core.tasks import task_enqueue_on_commit
from investors.models import InvestorProfile, Wallet, WalletKind
from offerings.models import Offering
from registry.models import LedgerPosting
from registry.services.ledger import postings_mark_via_portal
from tokens import services as chain
from tokens.models import ChainTransaction, TxStatus
from tokens.selectors import (
    address_checksum,
    address_is_valid,
    token_deployment,
    token_transfer_calldata,
    transaction_sent,
)
from tokens.services import CHAIN_TRANSIENT_ERRORS
from transfers.eligibility import TransferCheck, transfer_eligibility
from transfers.models import OPEN_TRANSFER_STATES, Custody, HolderTransfer, TransferState

# A transfer checked but not signed within this long is checked afresh: the register may have moved.
SIGNATURE_WAIT = dt.timedelta(hours=24)
# A hash the chain never shows within this long was never sent (or was replaced in the wallet).
SUBMITTED_WAIT = dt.timedelta(hours=2)
TX_HASH = re.compile(r"^0x[0-9a-fA-F]{64}$")


class TransferRefused(Conflict):
    """Both sides were asked and at least one said no (or the token could not be asked): nothing is signed."""

    code = "transfer_refused"


class StepUpRequired(NotPermitted):
    """A custodial transfer waits for a fresh two-factor check of the holder."""

    code = "step_up_required"


def step_up_window() -> dt.timedelta:
    return dt.timedelta(seconds=int(settings.TRANSFER_STEP_UP_SECONDS))


def _refused(check: TransferCheck) -> TransferRefused:
    if check.reasons:
        message = "This transfer cannot go: " + " ".join(r.message for r in check.reasons)
    elif check.token is None:
        message = f"This transfer cannot go yet: {check.token_unread}"
    else:
        message = f"The token refuses this transfer: {check.token.message}."
    return TransferRefused(message, extra={"check": check.as_dict()})


def _key(value: str) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError as exc:
        raise ApplicationError("The form expired; open the page again and resubmit.", code="form_token") from exc


def _own_wallet(investor: InvestorProfile, address: str) -> Wallet:
    wallet = None
    if address_is_valid(address or ""):
        wallet = Wallet.objects.filter(
            investor=investor, address=address_checksum(address), removed_at__isnull=True
        ).first()
    if wallet is None:
        raise NotPermitted("Choose one of your own linked wallets to send from.", code="not_your_wallet")
    return wallet


def _no_open_transfer(offering: Offering, wallet: str, *, exclude: int | None = None) -> None:
    rows = HolderTransfer.objects.filter(offering=offering, from_wallet=wallet, state__in=OPEN_TRANSFER_STATES)
    if exclude is not None:
        rows = rows.exclude(pk=exclude)
    other = rows.first()
    if other is not None:
        raise Conflict(
            f"A transfer of {other.quantity:,} {offering.token_symbol} from this wallet is still on its way "
            f"({other.get_state_display().lower()}); wait until it is on the register, or cancel it, then try again.",
            code="transfer_open",
        )


def _audit_after(t: HolderTransfer) -> dict[str, object]:
    return {
        "state": t.state,
        "offering": t.offering_id,
        "from_wallet": t.from_wallet,
        "to_wallet": t.to_wallet,
        "to_investor": t.to_investor_id,
        "quantity": t.quantity,
        "custody": t.custody,
    }


@transaction.atomic
def transfer_instruct(
    *,
    investor: InvestorProfile,
    offering: Offering,
    from_wallet: str,
    to_wallet: str,
    quantity: int,
    actor: User,
    idempotency_key: str,
) -> HolderTransfer:
    """Record the holder's transfer once both sides say it can go; raises TransferRefused (with every reason) if not."""
    key = _key(idempotency_key)
    if investor.user_id != actor.pk:
        raise NotPermitted("Only the holder instructs a transfer of their units.")
    Offering.objects.select_for_update().only("pk").get(pk=offering.pk)
    found = HolderTransfer.objects.filter(idempotency_key=key).first()
    if found is not None:
        if found.investor_id != investor.pk:
            raise Conflict("This form was already used; open the page again.", code="form_token")
        return found
    wallet = _own_wallet(investor, from_wallet)
    _no_open_transfer(offering, wallet.address)
    check = transfer_eligibility(offering=offering, from_wallet=wallet.address, to_wallet=to_wallet, quantity=quantity)
    if not check.allowed:
        raise _refused(check)
    custodial = wallet.kind == WalletKind.CUSTODIAL
    transfer = HolderTransfer(
        offering=offering,
        investor=investor,
        from_wallet=wallet.address,
        to_wallet=check.to_wallet,
        to_investor=check.receiver,
        quantity=quantity,
        custody=Custody.CUSTODIAL if custodial else Custody.SELF,
        state=TransferState.AWAITING_CONFIRMATION if custodial else TransferState.AWAITING_SIGNATURE,
        checked=check.as_dict(),
        idempotency_key=key,
        created_by=actor,
    )
    try:
        with transaction.atomic():
            transfer.save()
    except IntegrityError:
        return HolderTransfer.objects.get(idempotency_key=key)  # the same form, committed by another request
    audit_record(
        actor=actor,
        action="transfer.instructed",
        obj=transfer,
        issuer=offering.issuer,
        after={**_audit_after(transfer), "checked": transfer.checked},
    )
    return transfer


def _locked(transfer: HolderTransfer) -> HolderTransfer:
    Offering.objects.select_for_update().only("pk").get(pk=transfer.offering_id)
    return (
        HolderTransfer.objects.select_for_update(of=("self",))
        .select_related("offering__issuer", "investor")
        .get(pk=transfer.pk)
    )


def _recheck(transfer: HolderTransfer) -> TransferCheck:
    _no_open_transfer(transfer.offering, transfer.from_wallet, exclude=transfer.pk)
    check = transfer_eligibility(
        offering=transfer.offering,
        from_wallet=transfer.from_wallet,
        to_wallet=transfer.to_wallet,
        quantity=transfer.quantity,
    )
    if not check.allowed:
        raise _refused(check)
    return check


def _owner(transfer: HolderTransfer, actor: User) -> None:
    if transfer.investor.user_id != actor.pk:
        raise NotPermitted("Only the holder acts on their transfer.")


@dataclass(frozen=True)
class PreparedTransfer:
    """The one transaction the holder's wallet signs: `transfer(to, quantity)` on the token, from the checked wallet."""

    chain_id: int
    sender: str
    token: str
    data: str


@transaction.atomic
def transfer_prepare(*, transfer: HolderTransfer, actor: User) -> PreparedTransfer:
    """Check both sides once more, then give the wallet what to sign; a refused transfer gets nothing to sign."""
    locked = _locked(transfer)
    _owner(locked, actor)
    if locked.custody != Custody.SELF:
        raise Conflict("The portal signs this custodial transfer; confirm it with two-factor authentication.")
    if locked.state != TransferState.AWAITING_SIGNATURE:
        raise Conflict(f"This transfer is {locked.get_state_display().lower()}: nothing is left to sign.", code="state")
    if timezone.now() - locked.created_at > SIGNATURE_WAIT:
        raise Conflict("This transfer was checked too long ago; start it again.", code="expired")
    _recheck(locked)
    token = token_deployment(owner_ref=locked.offering.owner_ref)
    assert token is not None and token.address  # the check asked it
    return PreparedTransfer(
        chain_id=int(settings.CHAIN_ID),
        sender=locked.from_wallet,
        token=address_checksum(token.address),
        data=token_transfer_calldata(to_wallet=locked.to_wallet, amount=locked.quantity),
    )


def _advance_soon(transfer: HolderTransfer) -> None:
    from transfers.tasks import transfer_advance_task

    task_enqueue_on_commit(
        transfer_advance_task, transfer.pk, when_broker_down="the transfers beat advances every open transfer"
    )


@transaction.atomic
def transfer_submitted(*, transfer: HolderTransfer, actor: User, tx_hash: str) -> HolderTransfer:
    """The holder's wallet sent the transaction: record its hash (the same hash again changes nothing)."""
    value = (tx_hash or "").strip()
    if not TX_HASH.match(value):
        raise ApplicationError("That is not a transaction hash (0x and 64 hexadecimal digits).", code="invalid_hash")
    value = value.lower()
    locked = _locked(transfer)
    _owner(locked, actor)
    if locked.tx_hash == value:
        return locked
    if locked.state != TransferState.AWAITING_SIGNATURE or locked.custody != Custody.SELF:
        raise Conflict(f"This transfer is {locked.get_state_display().lower()} already.", code="state")
    if HolderTransfer.objects.filter(tx_hash=value).exists():
        raise Conflict("That transaction belongs to another transfer.", code="hash_taken")
    before = locked.state
    locked.tx_hash, locked.state = value, TransferState.SUBMITTED
    locked.save(update_fields=["tx_hash", "state", "updated_at"])
    audit_record(
        actor=actor,
        action="transfer.submitted",
        obj=locked,
        issuer=locked.offering.issuer,
        before={"state": before},
        after={"state": locked.state, "tx_hash": value},
    )
    _advance_soon(locked)
    return locked


@transaction.atomic
def transfer_custodial_confirm(
    *, transfer: HolderTransfer, actor: User, step_up_at: dt.datetime | None, now: dt.datetime | None = None
) -> HolderTransfer:
    """The holder confirms a custodial transfer after a fresh two-factor check; the portal queues it, once."""
    moment = now or timezone.now()
    locked = _locked(transfer)
    _owner(locked, actor)
    if locked.custody != Custody.CUSTODIAL:
        raise Conflict("Your own wallet signs this transfer; the portal does not.")
    if locked.state != TransferState.AWAITING_CONFIRMATION:
        if locked.chain_transaction_id is not None:
            return locked  # confirmed already (a second click, a resent form)
        raise Conflict(f"This transfer is {locked.get_state_display().lower()}.", code="state")
    if step_up_at is None or not moment - step_up_window() <= step_up_at <= moment:
        raise StepUpRequired(
            "Confirm it's you with your two-factor authentication first: the portal signs custodial transfers only "
            f"within {step_up_window().seconds // 60} minutes of that check.",
        )
    check = _recheck(locked)
    tx = chain.token_forced_transfer(
        owner_ref=locked.offering.owner_ref,
        from_wallet=locked.from_wallet,
        to_wallet=locked.to_wallet,
        amount=locked.quantity,
        reason=f"Custodial transfer instructed by the holder (portal transfer {locked.public_id})",
        idempotency_key=f"transfer:{settings.CHAIN_ID}:{locked.public_id}",
        actor=actor,
    )
    before = locked.state
    locked.chain_transaction, locked.step_up_at = tx, step_up_at
    locked.state, locked.checked = TransferState.SENT, check.as_dict()
    locked.save(update_fields=["chain_transaction", "step_up_at", "state", "checked", "updated_at"])
    audit_record(
        actor=actor,
        action="transfer.confirmed",
        obj=locked,
        issuer=locked.offering.issuer,
        before={"state": before},
        after={"state": locked.state, "chain_transaction": tx.pk, "step_up_at": step_up_at, "checked": check.as_dict()},
    )
    return locked


@transaction.atomic
def transfer_cancel(*, transfer: HolderTransfer, actor: User) -> HolderTransfer:
    """Cancel a transfer nothing was signed for yet."""
    locked = _locked(transfer)
    _owner(locked, actor)
    if locked.state == TransferState.CANCELLED:
        return locked
    if locked.state not in (TransferState.AWAITING_SIGNATURE, TransferState.AWAITING_CONFIRMATION):
        raise Conflict(
            f"This transfer is {locked.get_state_display().lower()}: it was signed and cannot be called back.",
            code="state",
        )
    before = locked.state
    locked.state = TransferState.CANCELLED
    locked.save(update_fields=["state", "updated_at"])
    audit_record(
        actor=actor,
        action="transfer.cancelled",
        obj=locked,
        issuer=locked.offering.issuer,
        before={"state": before},
        after={"state": locked.state},
    )
    return locked


# --------------------------------------------------------------------------- following it to the register


def _fail(t: HolderTransfer, why: str) -> None:
    t.state, t.failure = TransferState.FAILED, why[:500]


def _follow_submitted(t: HolderTransfer, now: dt.datetime) -> None:
    assert t.tx_hash
    sent = transaction_sent(tx_hash=t.tx_hash)
    if sent is None:
        if now - t.updated_at > SUBMITTED_WAIT:
            _fail(t, "The chain never showed the transaction your wallet reported; check the transfer and start again.")
        return
    token = token_deployment(owner_ref=t.offering.owner_ref)
    expected = token_transfer_calldata(to_wallet=t.to_wallet, amount=t.quantity).lower()
    if (
        token is None
        or sent.sender != t.from_wallet
        or sent.to != address_checksum(token.address)
        or sent.data != expected
    ):
        _fail(
            t, "The transaction your wallet sent is not the transfer that was checked; nothing of it is counted here."
        )
        return
    if sent.succeeded is False:
        _fail(t, "The token refused the transaction on-chain; check the transfer again to see why.")
    elif sent.succeeded:
        t.state = TransferState.SENT


def _follow_sent(t: HolderTransfer) -> None:
    tx = t.chain_transaction
    if tx is not None and tx.status == TxStatus.FAILED:
        _fail(t, f"The chain refused it ({tx.error_name or tx.last_error[:200] or 'failed'}); nothing moved.")
        return
    tx_hash = t.tx_hash or (tx.tx_hash if tx is not None and tx.status == TxStatus.CONFIRMED else None)
    if tx_hash and LedgerPosting.objects.filter(offering_id=t.offering_id, transaction_hash=tx_hash).exists():
        t.state, t.posted_at = TransferState.POSTED, timezone.now()


def transfer_advance(*, transfer: HolderTransfer, now: dt.datetime | None = None) -> HolderTransfer:
    """Move a transfer on to what the chain and the register show: sent, on the register, failed, or expired."""
    moment = now or timezone.now()
    with transaction.atomic():
        t = (
            HolderTransfer.objects.select_for_update(of=("self",))
            .select_related("offering__issuer", "chain_transaction")
            .get(pk=transfer.pk)
        )
        before = t.state
        awaiting = t.state in (TransferState.AWAITING_SIGNATURE, TransferState.AWAITING_CONFIRMATION)
        if awaiting and moment - t.created_at > SIGNATURE_WAIT:
            t.state = TransferState.EXPIRED
        if t.state == TransferState.SUBMITTED:
            try:
                _follow_submitted(t, moment)
            except CHAIN_TRANSIENT_ERRORS:
                return t  # the node is away: the next pass looks again
        if t.state == TransferState.SENT:
            _follow_sent(t)
        if t.state == before:
            return t
        t.save(update_fields=["state", "failure", "posted_at", "updated_at"])
        if t.state in (TransferState.SENT, TransferState.POSTED) and t.tx_hash:
            # The register may have posted it before the transaction was matched to the instruction.
            postings_mark_via_portal(offering=t.offering, transaction_hash=t.tx_hash)
        after: dict[str, object] = {"state": t.state}
        if t.failure:
            after["failure"] = t.failure
        audit_record(
            actor=None,
            action="transfer.progressed",
            obj=t,
            issuer=t.offering.issuer,
            before={"state": before},
            after=after,
        )
        return t


def transfers_advance() -> int:
    """Advance every open transfer (the beat, after the ledger's sync); returns how many changed state."""
    changed = 0
    for t in HolderTransfer.objects.filter(state__in=OPEN_TRANSFER_STATES).order_by("pk").only("pk", "state"):
        if transfer_advance(transfer=t).state != t.state:
            changed += 1
    return changed


def transfer_retry_guard(tx: ChainTransaction) -> None:
    """A custodial transfer that failed is not sent again as it was: the holder instructs it afresh, and it is
    checked against the register and the token as they are then."""
    raise ApplicationError(
        "A holder's transfer is not retried here: the holder starts it again from their portfolio, where both "
        "the portal's rules and the token's answer are checked as they are now.",
        code="transfer_retry",
    )

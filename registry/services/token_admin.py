"""Token administration: freeze and unfreeze a wallet or an amount, pause and unpause, forced transfers and
wallet recoveries, each through the chain outbox, audited, with a reason.

Every action is checked against the holdings ledger before anything is queued (a readable refusal beats a
revert), and the token checks again on-chain. Forced transfers and recoveries move a holder's units
without their signature, so they carry a supporting document and wait for a second admin of the issuer
(core.approvals); the approval queues the chain call in its own transaction, so approving twice queues
once. Submitting the same form twice finds the action the first submission made (its form token is the
action's idempotency key).

An action is done once the ledger holds a posting from its transaction; `token_admin_actions_advance`
records each step (sent, confirmed, posted, failed) as the outbox and the ledger reach it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import timezone

from compliance.eligibility import EligibilityContext, ReasonCode, subscription_eligibility
from core.access import Perm, can
from core.approvals import ApprovalKind, approval_kind_register, approval_propose
from core.audit import audit_record
from core.errors import ApplicationError, Conflict, NotPermitted
from core.filetypes import ACCEPTED, UnreadableFile, file_type_read
from core.models import ApprovalRequest, ApprovalState, User
from investors.models import ApplicationStatus, InvestorProfile, IssuerApplication, Wallet
from offerings.models import Offering
from offerings.services.offerings import offering_terms
from registry.models import (
    OPEN_TOKEN_ADMIN_STATES,
    LedgerPosting,
    TokenAdminAction,
    TokenAdminKind,
    TokenAdminState,
)
from registry.selectors.ledger import restrictions
from registry.selectors.token_admin import wallet_holding
from registry.services.ledger import wallet_investors
from tokens import services as chain
from tokens.models import ChainTransaction, TxStatus
from tokens.selectors import (
    RegistrationState,
    address_checksum,
    address_is_valid,
    registry_wallet_states,
    registry_wallets_confirmed,
    token_deployment,
)

APPROVAL_KIND = {
    TokenAdminKind.FORCED_TRANSFER: "registry.forced_transfer",
    TokenAdminKind.RECOVERY: "registry.recovery",
}
MAX_REASON = 500
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
# What makes a holder eligible to receive units, as opposed to what limits a subscription (amounts, caps,
# the offering being open): identity, screening, country, accreditation, US-person rules, a registered wallet.
HOLDER_REASONS = frozenset(
    {
        ReasonCode.NOT_ADMITTED,
        ReasonCode.KYC_NOT_SUBMITTED,
        ReasonCode.KYC_PENDING,
        ReasonCode.KYC_MORE_INFO,
        ReasonCode.KYC_REJECTED,
        ReasonCode.KYC_EXPIRED,
        ReasonCode.KYC_UNVERIFIED,
        ReasonCode.SCREENING_NOT_CLEAR,
        ReasonCode.SCREENING_BLOCKED,
        ReasonCode.COUNTRY_NOT_ALLOWED,
        ReasonCode.COUNTRY_BLOCKED,
        ReasonCode.ACCREDITATION_NOT_VERIFIED,
        ReasonCode.ACCREDITATION_REQUIRED,
        ReasonCode.US_PERSON,
        ReasonCode.NO_REGISTERED_WALLET,
    }
)


# --------------------------------------------------------------------------- what apps above hold in a wallet


@dataclass(frozen=True)
class WalletClaim:
    """Units of a wallet an app above the registry holds for a purpose of its holder's (a redemption request's
    frozen units): an action must not take them, and must wait while a chain effect of the claim is on its way."""

    label: str
    units: int
    in_flight: bool = False


WalletClaims = Callable[[Offering, str], list[WalletClaim]]
RecoveryFollower = Callable[[TokenAdminAction], object]
_wallet_claims: list[WalletClaims] = []
_recovery_followers: list[RecoveryFollower] = []


def wallet_claims_register(provider: WalletClaims) -> None:
    """Let an app say what it holds in a wallet (`provider(offering, wallet)`); forced transfers, unfreezes and
    recoveries are checked against it."""
    if provider not in _wallet_claims:
        _wallet_claims.append(provider)


def recovery_followers_register(follower: RecoveryFollower) -> None:
    """Let an app carry what it holds in a lost wallet to the new one once a recovery is on the ledger (called
    in the transaction that records it, after the action's row lock)."""
    if follower not in _recovery_followers:
        _recovery_followers.append(follower)


def _claims_of(offering: Offering, wallet: str) -> list[WalletClaim]:
    return [claim for provider in _wallet_claims for claim in provider(offering, wallet)]


def _in_flight_refused(claims: list[WalletClaim], wallet: str) -> None:
    moving = [c.label for c in claims if c.in_flight]
    if moving:
        raise Conflict(
            f"{wallet} has a chain transaction on its way for {'; '.join(moving[:5])}: wait until it is done "
            "(a moment), then try again.",
            code="claim_in_flight",
        )


# --------------------------------------------------------------------------- checks


def _address(value: str, *, label: str) -> str:
    value = (value or "").strip()
    if not address_is_valid(value):
        raise ApplicationError(f"The {label} “{value}” is not an Ethereum address (0x and 40 hex digits).")
    return address_checksum(value)


def _quantity(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ApplicationError("The quantity must be a whole number of units above zero.", code="invalid_amount")
    return value


def _reason(value: str) -> str:
    reason = " ".join((value or "").split())
    if not reason:
        raise ApplicationError("Give the reason for this action; it is kept in the audit log.", code="reason_required")
    if len(reason) > MAX_REASON:
        raise ApplicationError(f"Keep the reason under {MAX_REASON} characters.", code="reason_too_long")
    return reason


def _key(value: str) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError as exc:
        raise ApplicationError("The form expired; open the page again and resubmit.", code="form_token") from exc


def _token_ready(offering: Offering) -> None:
    token = token_deployment(owner_ref=offering.owner_ref)
    if token is None or not token.address:
        raise ApplicationError(
            "This offering has no deployed token yet: there is nothing to administer.", code="no_token"
        )


def _no_open_action(
    offering: Offering, *, wallets: list[str], kinds: list[str] | None = None, exclude: int | None = None
) -> None:
    """One action at a time per wallet (and for the token's pause): the ledger must show the first one before
    the next is checked against it. `exclude`: the proposal being approved, checked against the others."""
    rows = TokenAdminAction.objects.filter(offering=offering, state__in=OPEN_TOKEN_ADMIN_STATES)
    if exclude is not None:
        rows = rows.exclude(pk=exclude)
    for action in rows.only("kind", "wallet", "to_wallet", "state"):
        if kinds is not None and action.kind in kinds:
            raise Conflict(
                f"“{action.get_kind_display()}” is still on its way ({action.get_state_display().lower()}); "
                "wait until it is on the ledger or has failed.",
                code="action_open",
            )
        if {action.wallet, action.to_wallet} & set(wallets) - {""}:
            raise Conflict(
                f"Another action on {wallets[0] if action.wallet in wallets else wallets[-1]} is still on its way "
                f"(“{action.get_kind_display()}”, {action.get_state_display().lower()}); wait until it is on the "
                "ledger or has failed.",
                code="action_open",
            )


def _holder_of(offering: Offering, wallet: str) -> InvestorProfile | None:
    return wallet_investors([wallet]).get(wallet)


def _eligibility_reasons(offering: Offering, investor: InvestorProfile, wallet: str) -> list[str]:
    """Why this investor may not hold the offering's units in this wallet (empty: eligible)."""
    registered = registry_wallets_confirmed(investor_refs=[investor.reference]).get(investor.reference, frozenset())
    declined = IssuerApplication.objects.filter(
        investor=investor, issuer_id=offering.issuer_id, status=ApplicationStatus.DECLINED
    ).exists()
    investor = InvestorProfile.objects.prefetch_related("accreditation_claims", "wallets").get(pk=investor.pk)
    terms = dataclasses.replace(offering_terms(offering), accepting=True)
    result = subscription_eligibility(
        investor=investor,
        terms=terms,
        amount_minor=offering.price_minor,
        context=EligibilityContext(declined_by_issuer=declined, registered_wallets=registered),
    )
    reasons = [r.message for r in result.reasons if r.code in HOLDER_REASONS]
    if wallet not in registered and not any(r.code == ReasonCode.NO_REGISTERED_WALLET for r in result.reasons):
        reasons.append(f"The on-chain registry does not hold {wallet} for this investor (yet).")
    return reasons


def supporting_document_read(upload: UploadedFile | None) -> tuple[bytes, str, str]:
    """The document behind a move of a holder's units, checked by its content: (bytes, content type, extension)."""
    if upload is None:
        raise ApplicationError(
            "Attach the supporting document (the court order, the instruction or the identity check behind it).",
            code="document_required",
        )
    if not upload.size:
        raise ApplicationError(f"“{upload.name}” is empty.", code="empty_file")
    if upload.size > MAX_DOCUMENT_BYTES:
        raise ApplicationError(
            f"“{upload.name}” is {filesizeformat(upload.size)}; the limit is {filesizeformat(MAX_DOCUMENT_BYTES)}.",
            code="file_too_large",
        )
    upload.seek(0)
    content = upload.read(MAX_DOCUMENT_BYTES + 1)
    if len(content) > MAX_DOCUMENT_BYTES:
        raise ApplicationError(f"The file is larger than {filesizeformat(MAX_DOCUMENT_BYTES)}.", code="file_too_large")
    try:
        kind = file_type_read(content)
    except UnreadableFile as exc:
        raise ApplicationError(f"“{upload.name}” was refused: {exc}.", code="file_unreadable") from exc
    if kind is None:
        accepted = ", ".join(t.label for t in ACCEPTED)
        raise ApplicationError(
            f"“{upload.name}” is not a {accepted} file: its content says otherwise, whatever its name.",
            code="file_type",
        )
    return content, kind.content_type, kind.extension


# --------------------------------------------------------------------------- creating an action


def _existing(*, offering: Offering, actor: User, idempotency_key: str) -> TokenAdminAction | None:
    found = TokenAdminAction.objects.filter(idempotency_key=idempotency_key).first()
    if found is not None and (found.offering_id != offering.pk or found.proposed_by_id != actor.pk):
        raise Conflict("This form was already used for another action; open the page again.", code="form_token")
    return found


def _create(
    *,
    offering: Offering,
    actor: User,
    idempotency_key: str,
    kind: str,
    reason: str,
    check: Callable[[], dict[str, Any]],
    document: UploadedFile | None = None,
    allowed_by: Perm = Perm.REGISTRY_ADMINISTER,
) -> TokenAdminAction:
    """Lock the offering, return what the same form made before, else check, record and send (or propose).
    `allowed_by`: what lets the actor propose it (an exception request's decider proposes what it approves)."""
    key = _key(idempotency_key)
    reason = _reason(reason)
    Offering.objects.select_for_update().only("pk").get(pk=offering.pk)
    found = _existing(offering=offering, actor=actor, idempotency_key=key)
    if found is not None:
        return found
    if not can(actor, allowed_by, offering.issuer):
        raise NotPermitted("Only an admin of the issuer administers its tokens.")
    _token_ready(offering)
    fields = check()
    action = TokenAdminAction(
        offering=offering,
        kind=kind,
        reason=reason,
        idempotency_key=key,
        proposed_by=actor,
        state=TokenAdminState.PROPOSED,
        **fields,
    )
    if document is not None or action.needs_four_eyes:
        content, content_type, extension = supporting_document_read(document)
        action.document_name = ((document.name if document else "") or "document")[:200]
        action.document_content_type = content_type
        action.document_sha256 = hashlib.sha256(content).hexdigest()
        action.document.save(f"{uuid.uuid4().hex}.{extension}", ContentFile(content), save=False)
    try:
        with transaction.atomic():
            action.save()
    except IntegrityError:
        # The same form committed in another request between our check and our insert.
        if action.document:
            action.document.delete(save=False)
        return TokenAdminAction.objects.get(idempotency_key=key)
    audit_record(
        actor=actor,
        action="registry.token_admin_requested",
        obj=action,
        issuer=offering.issuer,
        after={
            "kind": kind,
            "wallet": action.wallet,
            "to_wallet": action.to_wallet,
            "quantity": action.quantity,
            "reason": reason,
            "document_sha256": action.document_sha256,
        },
    )
    if action.needs_four_eyes:
        outcome = approval_propose(
            issuer=offering.issuer,
            kind=APPROVAL_KIND[TokenAdminKind(kind)],
            proposer=actor,
            summary=_summary(action),
            amount_minor=0,
            currency="",
            # The approvals page links to the action's page, where the approver reads the document first.
            payload={
                "action": str(action.public_id),
                "detail_url": reverse(
                    "token_admin_action", kwargs={"slug": offering.issuer.slug, "action_id": action.public_id}
                ),
            },
            obj=action,
            required=True,
        )
        action.approval = outcome.request
        action.save(update_fields=["approval", "updated_at"])
    else:
        _send(action, actor=actor)
    return action


def _summary(action: TokenAdminAction) -> str:
    offering = action.offering
    if action.kind == TokenAdminKind.FORCED_TRANSFER:
        what = (
            f"Forced transfer of {action.quantity} {offering.token_symbol} from {action.wallet} to {action.to_wallet}"
        )
    elif action.kind == TokenAdminKind.RECOVERY:
        what = f"Recover wallet {action.wallet} of {offering.token_symbol} to {action.to_wallet}"
    else:
        what = f"{action.get_kind_display()} ({offering.token_symbol})"
    return f"{what}: {action.reason}"


def _send(action: TokenAdminAction, *, actor: User) -> ChainTransaction:
    """Queue the action's one chain call; its key is the action's, so a second call finds the same row."""
    owner_ref = action.offering.owner_ref
    key = f"token-admin:{settings.CHAIN_ID}:{action.public_id}"
    kind = action.kind
    if kind in (TokenAdminKind.FREEZE_WALLET, TokenAdminKind.UNFREEZE_WALLET):
        tx = chain.token_freeze_wallet(
            owner_ref=owner_ref,
            wallet=action.wallet,
            frozen=kind == TokenAdminKind.FREEZE_WALLET,
            idempotency_key=key,
            actor=actor,
        )
    elif kind in (TokenAdminKind.FREEZE_AMOUNT, TokenAdminKind.UNFREEZE_AMOUNT):
        tx = chain.token_freeze_amount(
            owner_ref=owner_ref,
            wallet=action.wallet,
            amount=action.quantity,
            frozen=kind == TokenAdminKind.FREEZE_AMOUNT,
            idempotency_key=key,
            actor=actor,
        )
    elif kind in (TokenAdminKind.PAUSE, TokenAdminKind.UNPAUSE):
        tx = chain.token_set_paused(
            owner_ref=owner_ref, paused=kind == TokenAdminKind.PAUSE, idempotency_key=key, actor=actor
        )
    elif kind == TokenAdminKind.FORCED_TRANSFER:
        tx = chain.token_forced_transfer(
            owner_ref=owner_ref,
            from_wallet=action.wallet,
            to_wallet=action.to_wallet,
            amount=action.quantity,
            reason=action.reason,
            idempotency_key=key,
            actor=actor,
        )
    else:
        assert action.investor is not None
        tx = chain.token_recover(
            owner_ref=owner_ref,
            lost_wallet=action.wallet,
            new_wallet=action.to_wallet,
            investor_ref=action.investor.reference,
            idempotency_key=key,
            actor=actor,
        )
    before = action.state
    action.chain_transaction = tx
    action.state = TokenAdminState.APPROVED
    action.save(update_fields=["chain_transaction", "state", "updated_at"])
    audit_record(
        actor=actor,
        action="registry.token_admin_sent",
        obj=action,
        issuer=action.offering.issuer,
        before={"state": before},
        after={"state": action.state, "chain_transaction": tx.pk},
    )
    return tx


# --------------------------------------------------------------------------- the actions


def _freeze_wallet_check(offering: Offering, wallet: str, frozen: bool) -> dict[str, Any]:
    current = restrictions(offering=offering)
    if frozen and wallet in current.frozen_wallets:
        raise ApplicationError(f"{wallet} is frozen already.", code="already_frozen")
    if not frozen and wallet not in current.frozen_wallets:
        raise ApplicationError(f"{wallet} is not frozen.", code="not_frozen")
    _no_open_action(offering, wallets=[wallet])
    return {"wallet": wallet, "investor": _holder_of(offering, wallet)}


@transaction.atomic
def token_admin_freeze_wallet(
    *, offering: Offering, wallet: str, frozen: bool, reason: str, actor: User, idempotency_key: str
) -> TokenAdminAction:
    """Freeze a wallet (it can neither send nor receive) or unfreeze it."""
    address = _address(wallet, label="wallet")
    return _create(
        offering=offering,
        actor=actor,
        idempotency_key=idempotency_key,
        kind=TokenAdminKind.FREEZE_WALLET if frozen else TokenAdminKind.UNFREEZE_WALLET,
        reason=reason,
        check=lambda: _freeze_wallet_check(offering, address, frozen),
    )


def _freeze_amount_check(offering: Offering, wallet: str, quantity: int, frozen: bool) -> dict[str, Any]:
    held = wallet_holding(offering=offering, wallet=wallet)
    already = restrictions(offering=offering).frozen_amounts.get(wallet, 0)
    if frozen and quantity > held - already:
        raise ApplicationError(
            f"{wallet} holds {held} units on the ledger, {already} of them frozen already: at most "
            f"{max(held - already, 0)} more can be frozen.",
            code="exceeds_balance",
        )
    if not frozen and quantity > already:
        raise ApplicationError(
            f"{wallet} has {already} units frozen: at most {already} can be unfrozen.", code="exceeds_frozen"
        )
    claims = _claims_of(offering, wallet) if not frozen else []
    claimed = sum(c.units for c in claims)
    if not frozen and quantity > already - claimed:
        raise ApplicationError(
            f"{wallet} has {already} units frozen, {claimed} of them for {'; '.join(c.label for c in claims[:5])}: "
            f"at most {max(already - claimed, 0)} can be unfrozen here. A request's units are unfrozen by "
            "cancelling the request (on its dealing day's page; its holder is told why).",
            code="claimed_units",
        )
    _no_open_action(offering, wallets=[wallet])
    return {"wallet": wallet, "quantity": quantity, "investor": _holder_of(offering, wallet)}


@transaction.atomic
def token_admin_freeze_amount(
    *, offering: Offering, wallet: str, quantity: int, frozen: bool, reason: str, actor: User, idempotency_key: str
) -> TokenAdminAction:
    """Freeze part of what a wallet holds (at most its unfrozen balance), or unfreeze part of its frozen amount."""
    address = _address(wallet, label="wallet")
    amount = _quantity(quantity)
    return _create(
        offering=offering,
        actor=actor,
        idempotency_key=idempotency_key,
        kind=TokenAdminKind.FREEZE_AMOUNT if frozen else TokenAdminKind.UNFREEZE_AMOUNT,
        reason=reason,
        check=lambda: _freeze_amount_check(offering, address, amount, frozen),
    )


def _pause_check(offering: Offering, paused: bool) -> dict[str, Any]:
    if restrictions(offering=offering).paused == paused:
        raise ApplicationError(
            "The token is paused already." if paused else "The token is not paused.", code="pause_state"
        )
    _no_open_action(offering, wallets=[], kinds=[TokenAdminKind.PAUSE, TokenAdminKind.UNPAUSE])
    return {}


@transaction.atomic
def token_admin_set_paused(
    *, offering: Offering, paused: bool, reason: str, actor: User, idempotency_key: str
) -> TokenAdminAction:
    """Pause every transfer of the token, or let them resume."""
    return _create(
        offering=offering,
        actor=actor,
        idempotency_key=idempotency_key,
        kind=TokenAdminKind.PAUSE if paused else TokenAdminKind.UNPAUSE,
        reason=reason,
        check=lambda: _pause_check(offering, paused),
    )


def _forced_transfer_check(
    offering: Offering, source: str, target: str, quantity: int, *, exclude: int | None = None
) -> dict[str, Any]:
    if source == target:
        raise ApplicationError("The receiving wallet is the sending wallet.", code="same_wallet")
    held = wallet_holding(offering=offering, wallet=source)
    if quantity > held:
        raise ApplicationError(
            f"{source} holds {held} units on the ledger: at most {held} can be moved.", code="exceeds_balance"
        )
    claims = _claims_of(offering, source)
    claimed = sum(c.units for c in claims)
    if quantity > held - claimed:
        # The token would release frozen units the move needs (forcedTransfer): never those of a holder's request.
        raise ApplicationError(
            f"{source} holds {held} units, {claimed} of them frozen for {'; '.join(c.label for c in claims[:5])}: "
            f"at most {max(held - claimed, 0)} can be moved. Cancel the request first (on its dealing day's page; "
            "its holder is told why), then propose the transfer again.",
            code="claimed_units",
        )
    _in_flight_refused(claims, source)
    holders = wallet_investors([source, target])
    receiver = holders.get(target)
    if receiver is None:
        raise ApplicationError(
            f"{target} is not the wallet of any investor of the portal: units go only to an eligible holder.",
            code="receiver_unknown",
        )
    if target in restrictions(offering=offering).frozen_wallets:
        raise ApplicationError(f"{target} is frozen: unfreeze it first.", code="receiver_frozen")
    reasons = _eligibility_reasons(offering, receiver, target)
    if reasons:
        raise ApplicationError(
            "The receiving investor is not an eligible holder: " + " ".join(reasons), code="receiver_not_eligible"
        )
    _no_open_action(offering, wallets=[source, target], exclude=exclude)
    return {
        "wallet": source,
        "to_wallet": target,
        "quantity": quantity,
        "investor": holders.get(source),
        "to_investor": receiver,
    }


@transaction.atomic
def token_admin_forced_transfer_propose(
    *,
    offering: Offering,
    from_wallet: str,
    to_wallet: str,
    quantity: int,
    reason: str,
    document: UploadedFile | None,
    actor: User,
    idempotency_key: str,
    allowed_by: Perm = Perm.REGISTRY_ADMINISTER,
) -> TokenAdminAction:
    """Propose moving units from one wallet to an eligible holder's; a second admin approves, then it is sent."""
    source = _address(from_wallet, label="sending wallet")
    target = _address(to_wallet, label="receiving wallet")
    amount = _quantity(quantity)
    return _create(
        offering=offering,
        actor=actor,
        idempotency_key=idempotency_key,
        kind=TokenAdminKind.FORCED_TRANSFER,
        reason=reason,
        document=document,
        check=lambda: _forced_transfer_check(offering, source, target, amount),
        allowed_by=allowed_by,
    )


def _recovery_check(
    offering: Offering, investor: InvestorProfile, lost: str, new: str, *, exclude: int | None = None
) -> dict[str, Any]:
    if lost == new:
        raise ApplicationError("The new wallet is the lost wallet.", code="same_wallet")
    states = registry_wallet_states(investor_ref=investor.reference)
    bound = states.get(lost)
    if bound is None or bound.state not in (RegistrationState.CONFIRMED, RegistrationState.REMOVED):
        raise ApplicationError(
            f"{lost} is not a wallet the on-chain registry bound to this investor: only an investor's own wallet "
            "is recovered.",
            code="lost_not_investors",
        )
    held = wallet_holding(offering=offering, wallet=lost)
    if held <= 0:
        raise ApplicationError(f"{lost} holds nothing of this token on the ledger: nothing to recover.")
    # What apps hold in the lost wallet moves with it (the token moves its frozen units), once nothing of theirs
    # is on its way to the lost wallet.
    _in_flight_refused(_claims_of(offering, lost), lost)
    confirmed = registry_wallets_confirmed(investor_refs=[investor.reference]).get(investor.reference, frozenset())
    if new not in confirmed:
        raise ApplicationError(
            f"{new} is not a confirmed registry wallet of this investor: the investor links the new wallet first "
            "and its registration must be confirmed on-chain.",
            code="new_not_confirmed",
        )
    if not Wallet.objects.filter(investor=investor, address=new, removed_at__isnull=True).exists():
        raise ApplicationError(f"{new} is not linked to this investor's account.", code="new_not_linked")
    current = restrictions(offering=offering)
    if wallet_holding(offering=offering, wallet=new) or new in current.frozen_wallets or new in current.frozen_amounts:
        raise ApplicationError(
            f"{new} already holds units or restrictions of this token: recovery moves into an empty wallet only.",
            code="new_not_empty",
        )
    _no_open_action(offering, wallets=[lost, new], exclude=exclude)
    return {"wallet": lost, "to_wallet": new, "quantity": held, "investor": investor, "to_investor": investor}


@transaction.atomic
def token_admin_recovery_propose(
    *,
    offering: Offering,
    investor: InvestorProfile,
    lost_wallet: str,
    new_wallet: str,
    reason: str,
    document: UploadedFile | None,
    actor: User,
    idempotency_key: str,
    allowed_by: Perm = Perm.REGISTRY_ADMINISTER,
) -> TokenAdminAction:
    """Propose moving everything a lost wallet holds (and its restrictions) to a new wallet of the same investor."""
    lost = _address(lost_wallet, label="lost wallet")
    new = _address(new_wallet, label="new wallet")
    return _create(
        offering=offering,
        actor=actor,
        idempotency_key=idempotency_key,
        kind=TokenAdminKind.RECOVERY,
        reason=reason,
        document=document,
        check=lambda: _recovery_check(offering, investor, lost, new),
        allowed_by=allowed_by,
    )


# --------------------------------------------------------------------------- four eyes


def _approval_perform(request: ApprovalRequest, actor: User) -> TokenAdminAction:
    """The second admin approved: check once more against the ledger as it is now, then queue the chain call."""
    action = TokenAdminAction.objects.select_related("offering__issuer", "investor").get(
        public_id=request.payload["action"]
    )
    if not can(actor, Perm.REGISTRY_ADMINISTER, action.offering.issuer):
        raise NotPermitted("Only an admin of the issuer approves its token administration.")
    Offering.objects.select_for_update().only("pk").get(pk=action.offering_id)
    action = (
        TokenAdminAction.objects.select_for_update(of=("self",))
        .select_related("offering__issuer", "investor")
        .get(pk=action.pk)
    )
    if action.state != TokenAdminState.PROPOSED:
        raise Conflict(f"This action is {action.get_state_display().lower()} already.", code="decided")
    if action.proposed_by_id == actor.pk:
        raise NotPermitted("You proposed this, so another admin of the issuer must approve it.", code="four_eyes")
    if action.kind == TokenAdminKind.FORCED_TRANSFER:
        _forced_transfer_check(action.offering, action.wallet, action.to_wallet, action.quantity, exclude=action.pk)
    else:
        assert action.investor is not None
        fields = _recovery_check(action.offering, action.investor, action.wallet, action.to_wallet, exclude=action.pk)
        action.quantity = fields["quantity"]  # what the lost wallet holds now
    action.approved_by, action.approved_at = actor, timezone.now()
    action.save(update_fields=["approved_by", "approved_at", "quantity", "updated_at"])
    _send(action, actor=actor)
    return action


for _kind, _approval in APPROVAL_KIND.items():
    approval_kind_register(ApprovalKind(kind=_approval, label=TokenAdminKind(_kind).label, perform=_approval_perform))


def token_admin_retry_guard(tx: ChainTransaction) -> None:
    """A failed token administration call is not sent again as it was: the ledger may have moved since it was
    checked. The admin proposes it afresh, and it is checked against the ledger as it is then."""
    raise ApplicationError(
        "A token administration action is not retried here: propose it again from the offering's token "
        "administration page, where it is checked against the ledger as it is now.",
        code="token_admin_retry",
    )


# --------------------------------------------------------------------------- progress


def _tx_state(tx: ChainTransaction) -> TokenAdminState | None:
    if tx.status == TxStatus.FAILED:
        return TokenAdminState.FAILED
    if tx.status == TxStatus.CONFIRMED:
        return TokenAdminState.CONFIRMED
    if tx.status in (TxStatus.BROADCAST, TxStatus.MINED) or tx.tx_hash:
        return TokenAdminState.SENT
    return None


ORDER = [
    TokenAdminState.PROPOSED,
    TokenAdminState.APPROVED,
    TokenAdminState.SENT,
    TokenAdminState.CONFIRMED,
    TokenAdminState.POSTED,
]


def token_admin_action_advance(*, action: TokenAdminAction) -> TokenAdminAction:
    """Record how far the action got: sent, confirmed, on the ledger, failed, or its proposal rejected."""
    with transaction.atomic():
        locked = (
            TokenAdminAction.objects.select_for_update(of=("self",))
            .select_related("chain_transaction", "approval")
            .get(pk=action.pk)
        )
        before = locked.state
        target = before
        tx = locked.chain_transaction
        if before == TokenAdminState.PROPOSED and locked.approval is not None:
            if locked.approval.state in (ApprovalState.REJECTED, ApprovalState.WITHDRAWN):
                target = TokenAdminState.REJECTED
        elif tx is not None and before in OPEN_TOKEN_ADMIN_STATES:
            chain_state = _tx_state(tx)
            if chain_state == TokenAdminState.FAILED:
                target = TokenAdminState.FAILED
            elif chain_state is not None and ORDER.index(chain_state) > ORDER.index(TokenAdminState(before)):
                target = chain_state
            if (
                target == TokenAdminState.CONFIRMED
                and tx.tx_hash
                and LedgerPosting.objects.filter(offering_id=locked.offering_id, transaction_hash=tx.tx_hash).exists()
            ):
                target = TokenAdminState.POSTED
        if target == before:
            return locked
        locked.state = target
        if target == TokenAdminState.POSTED:
            locked.posted_at = timezone.now()
        locked.save(update_fields=["state", "posted_at", "updated_at"])
        if target == TokenAdminState.POSTED and locked.kind == TokenAdminKind.RECOVERY:
            for follower in _recovery_followers:
                follower(locked)
        after: dict[str, Any] = {"state": target}
        if tx is not None and tx.tx_hash:
            after["tx_hash"] = tx.tx_hash
        if target == TokenAdminState.FAILED and tx is not None:
            after["error"] = tx.error_name or tx.last_error[:200]
        audit_record(
            actor=None, action="registry.token_admin_progressed", obj=locked, before={"state": before}, after=after
        )
        return locked


def token_admin_actions_advance() -> int:
    """Advance every open action (the beat after each ledger sync); returns how many changed state."""
    changed = 0
    rows = TokenAdminAction.objects.filter(state__in=OPEN_TOKEN_ADMIN_STATES).order_by("pk")
    for action in rows.only("pk", "state"):
        if token_admin_action_advance(action=action).state != action.state:
            changed += 1
    return changed

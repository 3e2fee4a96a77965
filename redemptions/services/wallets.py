"""A holder's wallet under the issuer's hand while redemption requests hold units in it.

- A recovery (the holder lost the wallet's key) carries every request of the lost wallet not paid yet to the new
  wallet: the token moves the frozen units with the recovery, so each request is burned from and paid to the new
  wallet, audited and told to the holder. The registry refuses the recovery while a chain transaction of a
  request is on its way to the lost wallet (its freeze, its unfreeze, its burn, its payout): a moment later it
  goes through.
- A forced transfer never takes units frozen for a request, nor an issuer's unfreeze releases them: the registry
  refuses both, and the issuer cancels the request first (`redemption_cancel_by_issuer`), which unfreezes its
  units, is audited with its reason and tells the holder why.
- Settling sends no burn or payout to a wallet with a token administration action on its way, and no freeze
  batch takes a request of such a wallet: they go once the action is on the ledger (a recovery's new wallet).
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.urls import reverse

from core.audit import audit_record
from core.models import NotificationKind
from core.notifications import Message, notify
from distributions.models import LinePaymentState
from offerings.models import Offering
from redemptions.models import RedemptionRequest, RequestState
from registry.models import OPEN_TOKEN_ADMIN_STATES, TokenAdminAction
from registry.services.token_admin import WalletClaim
from tokens.models import TxStatus

# Holding units in the wallet (frozen, or to be frozen), or owed a payout to it.
UNPAID = Q(state__in=(RequestState.FREEZING, RequestState.PENDING, RequestState.PRICED, RequestState.APPROVED)) | Q(
    state=RequestState.BURNED
)
NOT_DONE = (TxStatus.PENDING, TxStatus.SIGNED, TxStatus.BROADCAST, TxStatus.MINED)


def wallets_under_action(*, offering: Offering) -> set[str]:
    """Wallets of the token with a token administration action on its way (proposed, approved, sent)."""
    rows = TokenAdminAction.objects.filter(offering=offering, state__in=OPEN_TOKEN_ADMIN_STATES)
    return {w for pair in rows.values_list("wallet", "to_wallet") for w in pair if w}


def _in_flight(request: RedemptionRequest) -> bool:
    """A chain transaction of the request on the wallet is on its way, or its payout is being sent to it."""
    if request.state in (RequestState.FREEZING, RequestState.CANCELLING):
        return True
    if request.state == RequestState.BURNED and request.payment_state == LinePaymentState.SENDING:
        return True
    burn, release = request.burn_transaction, request.release_transaction
    if release is not None and release.status in NOT_DONE:
        return True
    return request.state == RequestState.APPROVED and burn is not None and burn.status in NOT_DONE


def _claimed_units(request: RedemptionRequest) -> int:
    if request.state in (RequestState.FREEZING, RequestState.PENDING, RequestState.CANCELLING):
        return request.quantity
    if request.state in (RequestState.PRICED, RequestState.APPROVED):
        return request.accepted_units
    return 0  # burned: nothing left in the wallet, a payout owed to it


def _label(request: RedemptionRequest) -> str:
    return (
        f"redemption request {str(request.public_id)[:8]} of {request.quantity:,} units "
        f"({request.get_state_display().lower()}, dealing day {request.dealing_day.dealing_date:%d %B %Y})"
    )


def _claiming(offering: Offering, wallet: str) -> QuerySet[RedemptionRequest]:
    return (
        RedemptionRequest.objects.filter(offering=offering, wallet=wallet)
        .filter(UNPAID | Q(state=RequestState.CANCELLING))
        .select_related("dealing_day", "release_transaction", "burn_transaction")
        .order_by("pk")
    )


def redemption_wallet_claims(offering: Offering, wallet: str) -> list[WalletClaim]:
    """What redemption requests hold in a wallet, for the registry's token administration checks."""
    return [
        WalletClaim(label=_label(r), units=_claimed_units(r), in_flight=_in_flight(r))
        for r in _claiming(offering, wallet)
    ]


def redemption_requests_recovered(action: TokenAdminAction) -> int:
    """A recovery of `action.wallet` to `action.to_wallet` is on the ledger: its requests not paid yet follow."""
    rows = list(
        RedemptionRequest.objects.select_for_update(of=("self",))
        .filter(offering_id=action.offering_id, wallet=action.wallet)
        .filter(UNPAID)
        .select_related("investor__user", "offering__issuer", "dealing_day")
        .order_by("pk")
    )
    for request in rows:
        request.wallet = action.to_wallet
        request.save(update_fields=["wallet"])
        audit_record(
            actor="redemptions",
            action="redemption.request_recovered",
            obj=request,
            issuer=request.offering.issuer,
            before={"wallet": action.wallet},
            after={"wallet": action.to_wallet, "recovery": str(action.public_id), "state": request.state},
        )
        offering = request.offering
        notify(
            recipients=[request.investor.user],
            event_key=f"redemption:{request.pk}:recovered:{action.pk}",
            message=Message(
                kind=NotificationKind.REDEMPTION_STEP,
                subject=f"{offering.title}: your redemption request moved to your new wallet",
                template="redemptions/notifications/recovered.txt",
                context={"request": request, "offering": offering, "day": request.dealing_day, "lost": action.wallet},
                path=reverse("investor_redemptions"),
                action_label="See your redemptions",
            ),
            issuer=offering.issuer,
        )
    return len(rows)

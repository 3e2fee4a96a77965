"""A holder's redemption request: checked against the terms and the ledger, frozen on-chain at once, cancellable
until the cut-off (the units are unfrozen), and followed as the outbox confirms each step.

The request is checked in Python first (a readable refusal beats a revert): the token takes requests, the
holder's country is allowed, the wallet is the holder's, the quantity is at least the minimum and at most
what the wallet holds unfrozen and free of lock-up by the dealing day's cut-off. Its units are frozen a moment
later with the other requests of that moment, in one batch through the redemption burner, which decides each
request once (redemptions/services/freezing.py), and the token checks again on-chain. Submitting the same form
twice finds the request the first submission made.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from core.access import Perm, can
from core.audit import audit_record
from core.errors import ApplicationError, Conflict, NotPermitted
from core.models import User
from investors.models import InvestorProfile, ScreeningStatus, Wallet
from offerings.models import Offering
from redemptions.dealing_days import next_dealing_day
from redemptions.locks import offering_key_share
from redemptions.models import (
    OPEN_REQUEST_STATES,
    DealingDay,
    DealingState,
    RedemptionRequest,
    RedemptionTerms,
    RequestState,
)
from redemptions.notices import redemption_requests_notify
from redemptions.services.freezing import redemption_freezes_advance, redemption_freezes_send, redemption_freezes_soon
from registry.models import OPEN_TOKEN_ADMIN_STATES, TokenAdminAction
from registry.selectors.ledger import lots_held, wallet_restrictions
from tokens import services as chain
from tokens.models import ChainTransaction, TxStatus
from tokens.selectors import address_checksum, address_is_valid, token_deployment

KEY_PREFIX = "redemption:"


def _key(value: str) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError as exc:
        raise ApplicationError("The form expired; open the page again and resubmit.", code="form_token") from exc


def _chain_key(request: RedemptionRequest, step: str) -> str:
    return f"{KEY_PREFIX}{settings.CHAIN_ID}:{request.public_id}:{step}"


def redemption_terms_of(offering: Offering) -> RedemptionTerms | None:
    return RedemptionTerms.objects.filter(offering=offering).first()


# --------------------------------------------------------------------------- dealing days


def dealing_day_next(*, offering: Offering, terms: RedemptionTerms, now: dt.datetime | None = None) -> DealingDay:
    """The open dealing day a request made now counts for, opened on first use in a short transaction of its own.

    Opened inside a request's transaction, the day's row and the audit chain head its opening event locks would
    stay uncommitted until that request commits, and every other holder's request for the day would wait for it."""
    now = now or timezone.now()
    day, cutoff = next_dealing_day(
        now=now,
        frequency=terms.frequency,
        cutoff_time=terms.cutoff_time,
        timezone_name=terms.cutoff_timezone,
        notice_days=terms.notice_days,
    )
    found = DealingDay.objects.filter(offering=offering, dealing_date=day).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            offering_key_share(offering.pk)
            created = DealingDay.objects.create(
                offering=offering,
                dealing_date=day,
                cutoff_at=cutoff,
                currency=offering.currency,
                payout_method=terms.payout_method,
                fee_bps=terms.fee_bps,
                gate_bps=terms.gate_bps,
            )
            audit_record(
                actor="redemptions",
                action="redemption.dealing_day_opened",
                obj=created,
                issuer=offering.issuer,
                after={"dealing_date": day.isoformat(), "cutoff_at": cutoff.isoformat()},
            )
    except IntegrityError:
        return DealingDay.objects.get(offering=offering, dealing_date=day)
    return created


# --------------------------------------------------------------------------- what a wallet can redeem


def redeemable_units(*, offering: Offering, wallet: str, by: dt.datetime, lockups_apply: bool = True) -> int:
    """Units of the wallet free of lock-up by `by` (all of them when the terms say lock-ups do not apply), less
    what is frozen in it (by a request or an admin)."""
    lots = lots_held(offering=offering, wallet=wallet)
    held = sum(row.remaining for row in lots)
    free = sum(
        row.remaining
        for row in lots
        if not lockups_apply or row.lot.lockup_release is None or row.lot.lockup_release <= by
    )
    frozen = wallet_restrictions(offering=offering, wallet=wallet).frozen_amount
    return max(0, min(free, held - frozen))


def _day_shared(day_id: int) -> tuple[str, dt.datetime]:
    """The dealing day's state and cut-off under a key-share lock (PostgreSQL): requests of the same day share it
    without waiting on each other, while a cut-off (which locks the day for update) either finished before and is
    read here, or waits until this request commits, so a day is never priced without a request made in time."""
    table = DealingDay._meta.db_table
    lock = " FOR KEY SHARE" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT state, cutoff_at FROM {table} WHERE id = %s{lock}", [day_id])  # noqa: S608
        state, cutoff_at = cursor.fetchone()
    if isinstance(cutoff_at, str):  # SQLite hands a raw column back as text
        cutoff_at = dt.datetime.fromisoformat(cutoff_at)
    if timezone.is_naive(cutoff_at):
        cutoff_at = timezone.make_aware(cutoff_at, dt.UTC)
    return str(state), cutoff_at


def _after_cutoff(*, offering: Offering, shown: dt.date, next_day: DealingDay | None) -> None:
    cutoff = (
        DealingDay.objects.filter(offering=offering, dealing_date=shown).values_list("cutoff_at", flat=True).first()
    )
    when = f" at {timezone.localtime(cutoff):%d %B %Y %H:%M %Z}" if cutoff and cutoff <= timezone.now() else ""
    then = (
        f" The next dealing day is {next_day.dealing_date:%d %B %Y}, cut-off "
        f"{timezone.localtime(next_day.cutoff_at):%d %B %Y %H:%M %Z}: check the amount and ask again to redeem then."
        if next_day is not None
        else " Open the page again to ask for the next dealing day."
    )
    raise ApplicationError(
        f"The cut-off of the dealing day of {shown:%d %B %Y} passed{when}: your request was not taken, and "
        f"nothing was frozen.{then}",
        code="after_cutoff",
    )


def _check(
    *,
    offering: Offering,
    terms: RedemptionTerms,
    investor: InvestorProfile,
    wallet: str,
    quantity: int,
    day: DealingDay,
) -> None:
    if not terms.active:
        raise ApplicationError("This token does not take redemption requests at the moment.", code="not_dealing")
    if investor.screening_status == ScreeningStatus.BLOCKED:
        raise ApplicationError(
            "Your account is blocked by sanctions screening, so no redemption can be paid; contact the issuer.",
            code="screening_blocked",
        )
    country = str(investor.country or "")
    if terms.allowed_countries and country not in terms.allowed_countries:
        raise ApplicationError(
            f"Redemptions of {offering.token_symbol} are open to holders in {', '.join(terms.allowed_countries)} "
            f"only; your country on file is {country or 'not set'}.",
            code="country_not_allowed",
        )
    if not Wallet.objects.filter(investor=investor, address=wallet, removed_at__isnull=True).exists():
        raise ApplicationError(f"{wallet} is not a wallet linked to your account.", code="wallet_not_yours")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise ApplicationError("Enter a whole number of units above zero.", code="invalid_amount")
    if quantity < terms.minimum_units:
        raise ApplicationError(
            f"The minimum redemption is {terms.minimum_units:,} units.",
            code="below_minimum",
            extra={"field": "quantity"},
        )
    restrictions = wallet_restrictions(offering=offering, wallet=wallet)
    if restrictions.frozen:
        raise ApplicationError(f"{wallet} is frozen by the issuer; its units cannot be redeemed.", code="frozen")
    if RedemptionRequest.objects.filter(
        offering=offering, wallet=wallet, state__in=(RequestState.FREEZING, RequestState.CANCELLING)
    ).exists():
        raise Conflict(
            "Another request of this wallet is still being frozen or unfrozen on-chain; try again in a moment.",
            code="request_in_flight",
        )
    if (
        TokenAdminAction.objects.filter(offering=offering, state__in=OPEN_TOKEN_ADMIN_STATES)
        .filter(Q(wallet=wallet) | Q(to_wallet=wallet))
        .exists()
    ):
        raise Conflict(
            "The issuer is acting on this wallet just now; try again once that action is on the ledger.",
            code="action_open",
        )
    available = redeemable_units(offering=offering, wallet=wallet, by=day.cutoff_at, lockups_apply=terms.lockups_apply)
    if quantity > available:
        why = "units frozen, or still under lock-up at its cut-off, are" if terms.lockups_apply else "frozen units are"
        raise ApplicationError(
            f"{wallet} can redeem at most {available:,} units at the dealing day of {day.dealing_date:%d %B %Y}: "
            f"{why} not redeemable.",
            code="exceeds_redeemable",
            extra={"field": "quantity"},
        )


def redemption_request(
    *,
    offering: Offering,
    investor: InvestorProfile,
    actor: User,
    wallet: str,
    quantity: int,
    idempotency_key: str,
    dealing_date: dt.date | None = None,
) -> RedemptionRequest:
    """Ask to redeem `quantity` units of `wallet` at the next dealing day; the units are frozen on-chain at once.

    `dealing_date` is the dealing day the holder was offered: once its cut-off has passed the request is refused
    with the next one named, never quietly moved to it."""
    key = _key(idempotency_key)
    if investor.user_id != actor.pk:
        raise NotPermitted("Only the holder asks to redeem their own units.")
    wallet = (wallet or "").strip()
    if not address_is_valid(wallet):
        raise ApplicationError(f"“{wallet}” is not a wallet address.", code="invalid_address")
    wallet = address_checksum(wallet)
    found = RedemptionRequest.objects.filter(idempotency_key=key).first()
    if found is not None:  # the same form again (checked once more under the holder's lock)
        if found.investor_id != investor.pk:
            raise Conflict("This form was already used; open the page again.", code="form_token")
        return found
    terms = redemption_terms_of(offering)
    token = token_deployment(owner_ref=offering.owner_ref)
    if terms is None or token is None or not token.address:
        raise ApplicationError("This token does not take redemption requests.", code="no_terms")
    # Before the request's own transaction: other holders never wait for this one to see the day.
    day = dealing_day_next(offering=offering, terms=terms)
    with transaction.atomic():
        return _request_in(
            offering=offering,
            terms=terms,
            investor=investor,
            actor=actor,
            wallet=wallet,
            quantity=quantity,
            key=key,
            day=day,
            dealing_date=dealing_date,
        )


def _request_in(
    *,
    offering: Offering,
    terms: RedemptionTerms,
    investor: InvestorProfile,
    actor: User,
    wallet: str,
    quantity: int,
    key: str,
    day: DealingDay,
    dealing_date: dt.date | None,
) -> RedemptionRequest:
    """The request's transaction: row locks (the offering's and the day's key shares, the holder's profile), then
    the audit chain head at its one event, last (core.audit's lock order), so requests of different holders overlap
    but for that."""
    offering_key_share(offering.pk)
    InvestorProfile.objects.select_for_update().only("pk").get(pk=investor.pk)  # one holder's requests in turn
    found = RedemptionRequest.objects.filter(idempotency_key=key).first()
    if found is not None:
        if found.investor_id != investor.pk:
            raise Conflict("This form was already used; open the page again.", code="form_token")
        return found
    if dealing_date is not None and day.dealing_date != dealing_date:
        _after_cutoff(offering=offering, shown=dealing_date, next_day=day)
    _check(offering=offering, terms=terms, investor=investor, wallet=wallet, quantity=quantity, day=day)
    request = RedemptionRequest.objects.create(
        dealing_day=day,
        offering=offering,
        investor=investor,
        wallet=wallet,
        quantity=quantity,
        idempotency_key=key,
        requested_by=actor,
    )
    state, cutoff_at = _day_shared(day.pk)
    if state != DealingState.OPEN or timezone.now() >= cutoff_at:
        _after_cutoff(offering=offering, shown=day.dealing_date, next_day=None)
    audit_record(
        actor=actor,
        action="redemption.requested",
        obj=request,
        issuer=offering.issuer,
        after={
            "quantity": quantity,
            "wallet": wallet,
            "dealing_date": day.dealing_date.isoformat(),
            "cutoff_at": day.cutoff_at.isoformat(),
        },
    )
    # Frozen with the requests of the same moment, in one batch (redemptions/services/freezing.py).
    redemption_freezes_soon(offering_id=offering.pk)
    return request


@transaction.atomic
def redemption_cancel(*, request: RedemptionRequest, actor: User) -> RedemptionRequest:
    """The holder withdraws a request before the cut-off; its units are unfrozen on-chain."""
    locked = (
        RedemptionRequest.objects.select_for_update(of=("self",))
        .select_related("dealing_day", "offering__issuer", "investor")
        .get(pk=request.pk)
    )
    if locked.investor.user_id != actor.pk:
        raise NotPermitted("Only the holder cancels their own request.")
    if locked.state in (RequestState.CANCELLING, RequestState.CANCELLED):
        return locked
    if locked.state not in (RequestState.FREEZING, RequestState.PENDING):
        raise Conflict(f"This request is {locked.get_state_display().lower()}: it can no longer be cancelled.")
    day = locked.dealing_day
    now = timezone.now()
    if day.state != DealingState.OPEN or now >= day.cutoff_at:
        raise Conflict(
            f"The cut-off of the dealing day ({timezone.localtime(day.cutoff_at):%d %B %Y %H:%M}) has passed: "
            "the request is being priced and can no longer be cancelled.",
            code="after_cutoff",
        )
    before = locked.state
    if locked.state == RequestState.FREEZING and locked.freeze_transaction_id is None:
        # No batch carries it yet: nothing was or will be frozen.
        locked.state, locked.cancelled_at, locked.cancelled_by = RequestState.CANCELLED, now, actor
        locked.save(update_fields=["state", "cancelled_at", "cancelled_by"])
        audit_record(
            actor=actor,
            action="redemption.cancelled",
            obj=locked,
            issuer=locked.offering.issuer,
            before={"state": before},
            after={"state": locked.state, "cancelled_at": now.isoformat(), "note": "cancelled before any freeze"},
        )
        redemption_requests_notify(requests=[locked])
        return locked
    if locked.state == RequestState.FREEZING:
        raise Conflict(
            "The units are being frozen on-chain just now; cancel in a moment, once they are frozen.",
            code="request_in_flight",
        )
    # The freeze is final: the unfreeze comes after it whichever sender carries it.
    tx = chain.token_freeze_amount(
        owner_ref=locked.offering.owner_ref,
        wallet=locked.wallet,
        amount=locked.quantity,
        frozen=False,
        idempotency_key=_chain_key(locked, "unfreeze"),
        actor=actor,
    )
    locked.state, locked.cancel_transaction = RequestState.CANCELLING, tx
    locked.cancelled_at, locked.cancelled_by = now, actor
    locked.save(update_fields=["state", "cancel_transaction", "cancelled_at", "cancelled_by"])
    audit_record(
        actor=actor,
        action="redemption.cancelled",
        obj=locked,
        issuer=locked.offering.issuer,
        before={"state": before},
        after={"state": locked.state, "cancelled_at": now.isoformat(), "unfreeze_transaction": tx.pk},
    )
    return locked


MAX_CANCEL_REASON = 300


@transaction.atomic
def redemption_cancel_by_issuer(*, request: RedemptionRequest, actor: User, reason: str) -> RedemptionRequest:
    """An issuer admin cancels a holder's pending request before its day is priced (a forced transfer must take
    its units, a court order): the units are unfrozen on-chain, the holder is told why, and it is audited."""
    locked = (
        RedemptionRequest.objects.select_for_update(of=("self",))
        .select_related("dealing_day", "offering__issuer", "investor")
        .get(pk=request.pk)
    )
    if not can(actor, Perm.ISSUER_MANAGE_DISTRIBUTIONS, locked.offering.issuer):
        raise NotPermitted("Only an admin of the issuer cancels a holder's redemption request.")
    reason = " ".join((reason or "").split())
    if not reason:
        raise ApplicationError(
            "Say why the request is cancelled: the holder reads it.", code="reason_required", extra={"field": "reason"}
        )
    if locked.state in (RequestState.CANCELLING, RequestState.CANCELLED):
        return locked
    if locked.state == RequestState.FREEZING:
        raise Conflict(
            "The request's units are being frozen on-chain just now; cancel it in a moment.", code="request_in_flight"
        )
    if locked.state != RequestState.PENDING or locked.dealing_day.priced:
        raise Conflict(
            f"This request is {locked.get_state_display().lower()}: its dealing day is priced, so it is redeemed "
            "as priced and can no longer be cancelled.",
            code="priced",
        )
    tx = chain.token_freeze_amount(
        owner_ref=locked.offering.owner_ref,
        wallet=locked.wallet,
        amount=locked.quantity,
        frozen=False,
        idempotency_key=_chain_key(locked, "unfreeze"),
        actor=actor,
    )
    now = timezone.now()
    locked.state, locked.cancel_transaction = RequestState.CANCELLING, tx
    locked.cancelled_at, locked.cancelled_by, locked.cancel_reason = now, actor, reason[:MAX_CANCEL_REASON]
    locked.save(update_fields=["state", "cancel_transaction", "cancelled_at", "cancelled_by", "cancel_reason"])
    audit_record(
        actor=actor,
        action="redemption.cancelled_by_issuer",
        obj=locked,
        issuer=locked.offering.issuer,
        before={"state": RequestState.PENDING},
        after={
            "state": locked.state,
            "cancelled_at": now.isoformat(),
            "reason": locked.cancel_reason,
            "unfreeze_transaction": tx.pk,
        },
    )
    return locked


# --------------------------------------------------------------------------- following the chain


def _failure(tx: ChainTransaction) -> str:
    return tx.last_error or tx.error_name or "the transaction did not go through"


def redemption_requests_advance() -> int:
    """The beat: send the freezes no run has sent, record freezes and unfreezes the outbox confirmed or failed;
    returns how many requests moved."""
    redemption_freezes_send()
    moved = redemption_freezes_advance()
    done = (TxStatus.CONFIRMED, TxStatus.FAILED)
    cancelling = RedemptionRequest.objects.filter(state=RequestState.CANCELLING, cancel_transaction__status__in=done)
    for pk in list(cancelling.values_list("pk", flat=True)):
        moved += _advance_one(pk)
    return moved


def _advance_one(pk: int) -> int:
    with transaction.atomic():
        locked = (
            RedemptionRequest.objects.select_for_update(of=("self",))
            .select_related("cancel_transaction", "offering__issuer")
            .get(pk=pk)
        )
        before = locked.state
        cancel = locked.cancel_transaction
        now = timezone.now()
        fields = ["state"]
        if locked.state == RequestState.CANCELLING and cancel is not None:
            if cancel.status == TxStatus.CONFIRMED:
                locked.state, locked.unfrozen_at = RequestState.CANCELLED, now
                fields.append("unfrozen_at")
            elif cancel.status == TxStatus.FAILED:
                # Still frozen (only a frozen request is unfrozen): the holder sees why and may cancel again.
                locked.state, locked.cancel_transaction = RequestState.PENDING, None
                locked.cancelled_at = locked.cancelled_by = None
                locked.cancel_reason = ""
                locked.failure_reason = f"The cancellation could not unfreeze the units: {_failure(cancel)}"
                fields += ["cancel_transaction", "cancelled_at", "cancelled_by", "cancel_reason", "failure_reason"]
        if locked.state == before:
            return 0
        locked.save(update_fields=fields)
        audit_record(
            actor="redemptions",
            action="redemption.request_progressed",
            obj=locked,
            issuer=locked.offering.issuer,
            before={"state": before},
            after={"state": locked.state, "reason": locked.failure_reason[:200]},
        )
        redemption_requests_notify(requests=[locked])
        return 1


def redemption_retry_guard(tx: ChainTransaction) -> None:
    """A redemption's chain transaction is not sent again from the staff page: a failed freeze leaves the request
    failed (the holder asks again, checked against the ledger as it is then), and burns and payouts are sent again
    from the dealing day's page, under a new round the burner and the payout contract guard line by line."""
    raise ApplicationError(
        "A redemption's transaction is not retried here: a failed freeze is asked again by the holder, and a "
        "dealing day's failed burns or payouts are retried from its page.",
        code="redemption_retry",
    )


__all__ = [
    "OPEN_REQUEST_STATES",
    "dealing_day_next",
    "redeemable_units",
    "redemption_cancel",
    "redemption_cancel_by_issuer",
    "redemption_request",
    "redemption_requests_advance",
    "redemption_retry_guard",
    "redemption_terms_of",
]

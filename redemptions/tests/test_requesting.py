"""A holder's request on a real anvil: the units are frozen on-chain at once and cannot be transferred while it
waits; cancelling before the cut-off unfreezes them; what the terms and the ledger forbid is refused in words."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core.errors import ApplicationError, Conflict, NotPermitted
from core.models import Notification, NotificationKind
from core.tests.support import notifications_delivered
from redemptions.models import DealingDay, DealingState, RedemptionRequest, RequestState
from redemptions.services.requesting import redemption_cancel, redemption_request
from redemptions.tests.support import requested, settled_on_chain, terms_set
from registry.models import LedgerPosting, PostingKind
from registry.selectors.ledger import wallet_restrictions
from registry.tests.conftest import Closed
from tokens.tests.support import WALLETS, contract_send_refused, contract_view

pytestmark = [pytest.mark.chain]


def _frozen_on_chain(closed: Closed, wallet: str) -> int:
    return int(contract_view(closed.rpc_url, "SecurityToken", closed.token.address, "getFrozenTokens", wallet))


def _transfer_refused(closed: Closed, wallet: str, to: str, units: int) -> str:
    return contract_send_refused(closed.rpc_url, wallet, closed.token.address, "SecurityToken", "transfer", to, units)


@pytest.mark.django_db
def test_the_requested_units_are_frozen_at_once_and_cannot_be_transferred_while_the_request_waits(
    closed: Closed, cast
) -> None:
    terms_set(closed.offering, cast.admin)
    request = requested(closed.offering, closed.alice, WALLETS[0], 150)
    # Frozen a moment later with the requests of that moment, in one batch through the redemption burner.
    assert request.state == RequestState.FREEZING and request.freeze_transaction is None
    assert request.dealing_day.state == DealingState.OPEN and request.dealing_day.cutoff_at > timezone.now()

    settled_on_chain(closed)
    request.refresh_from_db()
    assert request.state == RequestState.PENDING and request.frozen_at is not None
    assert _frozen_on_chain(closed, WALLETS[0]) == 150
    # Alice holds 200: the 150 she asked to redeem cannot move, to anyone; the other 50 can.
    assert _transfer_refused(closed, WALLETS[0], WALLETS[2], 51) == "AmountFrozen"
    assert _transfer_refused(closed, WALLETS[0], WALLETS[1], 200) == "AmountFrozen"
    assert _transfer_refused(closed, WALLETS[0], WALLETS[2], 50) == ""
    assert wallet_restrictions(offering=closed.offering, wallet=WALLETS[0]).frozen_amount == 150


@pytest.mark.django_db
def test_cancelling_before_the_cut_off_unfreezes_the_units_and_the_journal_shows_both(closed: Closed, cast) -> None:
    terms_set(closed.offering, cast.admin)
    request = requested(closed.offering, closed.alice, WALLETS[0], 150)
    settled_on_chain(closed)

    cancelled = redemption_cancel(request=request, actor=closed.alice.user)
    assert cancelled.state == RequestState.CANCELLING and cancelled.cancelled_at is not None
    again = redemption_cancel(request=request, actor=closed.alice.user)
    assert again.cancel_transaction == cancelled.cancel_transaction
    settled_on_chain(closed)
    cancelled.refresh_from_db()
    assert cancelled.state == RequestState.CANCELLED and cancelled.unfrozen_at is not None
    assert _frozen_on_chain(closed, WALLETS[0]) == 0
    assert _transfer_refused(closed, WALLETS[0], WALLETS[2], 200) == ""
    kinds = list(
        LedgerPosting.objects.filter(offering=closed.offering, to_wallet=WALLETS[0])
        .exclude(kind=PostingKind.MINT)
        .values_list("kind", "quantity")
    )
    assert kinds == [(PostingKind.PARTIAL_FREEZE, 150), (PostingKind.PARTIAL_UNFREEZE, 150)]
    # The transfer agent's journal says what each was, the cancellation with its date.
    assert cancelled.cancelled_at is not None
    when = f"{cancelled.cancelled_at:%Y-%m-%d %H:%M} UTC"
    client = Client()
    client.force_login(cast.agent)
    page = client.get(
        reverse("registry_journal", kwargs={"slug": cast.issuer.slug, "public_id": closed.offering.public_id})
    )
    assert page.status_code == 200
    text = page.content.decode()
    assert f"Redemption request {str(request.public_id)[:8]}: 150 units frozen for the dealing day of" in text
    assert f"Redemption request {str(request.public_id)[:8]} cancelled by the holder on {when}" in text
    # The holder was told the request was in, then that it was cancelled, once each and with a link.
    steps = Notification.objects.filter(recipient=closed.alice.user, kind=NotificationKind.REDEMPTION_STEP)
    assert sorted(steps.values_list("subject", flat=True)) == [
        f"{closed.offering.title}: your redemption request is cancelled",
        f"{closed.offering.title}: your redemption request is in",
    ]
    mails = [m for m in notifications_delivered() if m.to == [closed.alice.user.email] and "redemption" in m.subject]
    assert len(mails) == 2 and all("/portfolio/redemptions/" in m.body for m in mails)
    assert "150 " in steps.get(event_key__endswith=":pending").body


@pytest.mark.django_db
def test_only_the_holder_cancels_and_never_after_the_cut_off(closed: Closed, cast) -> None:
    terms_set(closed.offering, cast.admin)
    request = requested(closed.offering, closed.alice, WALLETS[0], 20)
    with pytest.raises(NotPermitted):
        redemption_cancel(request=request, actor=closed.bob.user)
    day = request.dealing_day
    type(day).objects.filter(pk=day.pk).update(cutoff_at=timezone.now() - dt.timedelta(seconds=1))
    with pytest.raises(Conflict, match=r"cut-off of the dealing day .* has passed"):
        redemption_cancel(request=request, actor=closed.alice.user)


@pytest.mark.django_db
def test_what_the_terms_and_the_ledger_forbid_is_refused_in_words_and_nothing_is_recorded(closed: Closed, cast) -> None:
    terms_set(closed.offering, cast.admin, minimum_units=10, allowed_countries=["US"])
    with pytest.raises(ApplicationError, match="minimum redemption is 10 units"):
        requested(closed.offering, closed.alice, WALLETS[0], 9)
    with pytest.raises(ApplicationError, match="can redeem at most 200 units"):
        requested(closed.offering, closed.alice, WALLETS[0], 201)
    with pytest.raises(ApplicationError, match="not a wallet linked to your account"):
        requested(closed.offering, closed.alice, WALLETS[2], 10)
    with pytest.raises(NotPermitted):
        redemption_request(
            offering=closed.offering,
            investor=closed.alice,
            actor=closed.bob.user,
            wallet=WALLETS[0],
            quantity=10,
            idempotency_key=str(uuid.uuid4()),
        )
    type(closed.bob).objects.filter(pk=closed.bob.pk).update(country="DE")
    closed.bob.refresh_from_db()
    with pytest.raises(ApplicationError, match="open to holders in US only; your country on file is DE"):
        requested(closed.offering, closed.bob, WALLETS[2], 10)
    assert not RedemptionRequest.objects.exists()

    first = requested(closed.offering, closed.alice, WALLETS[0], 150)
    with pytest.raises(Conflict, match="still being frozen"):
        requested(closed.offering, closed.alice, WALLETS[0], 10)
    settled_on_chain(closed)
    with pytest.raises(ApplicationError, match="can redeem at most 50 units"):
        requested(closed.offering, closed.alice, WALLETS[0], 51)
    assert RedemptionRequest.objects.get() == first


@pytest.mark.django_db
def test_units_under_lock_up_at_the_cut_off_are_not_redeemable(closed: Closed, cast) -> None:
    terms_set(closed.offering, cast.admin)
    from registry.models import Lot

    Lot.objects.filter(offering=closed.offering, wallet=WALLETS[0]).update(
        lockup_release=timezone.now() + dt.timedelta(days=30)
    )
    with pytest.raises(ApplicationError, match="can redeem at most 0 units"):
        requested(closed.offering, closed.alice, WALLETS[0], 1)


@pytest.mark.django_db
def test_when_the_terms_say_lock_ups_do_not_apply_locked_up_units_are_redeemable(closed: Closed, cast) -> None:
    from registry.models import Lot

    terms = terms_set(closed.offering, cast.admin, lockups_apply=False)
    assert terms.lockups_apply is False
    Lot.objects.filter(offering=closed.offering, wallet=WALLETS[0]).update(
        lockup_release=timezone.now() + dt.timedelta(days=30)
    )
    request = requested(closed.offering, closed.alice, WALLETS[0], 150)
    assert request.state == RequestState.FREEZING
    settled_on_chain(closed)
    # Frozen units still are not: 50 are left of the 200.
    with pytest.raises(ApplicationError, match=r"can redeem at most 50 units.*frozen units are not redeemable"):
        requested(closed.offering, closed.alice, WALLETS[0], 51)
    terms_set(closed.offering, cast.admin, lockups_apply=True)
    with pytest.raises(ApplicationError, match="can redeem at most 0 units"):
        requested(closed.offering, closed.alice, WALLETS[0], 1)


@pytest.mark.django_db
def test_a_request_sent_just_after_the_cut_off_it_was_offered_is_refused_naming_the_next_day(
    closed: Closed, cast
) -> None:
    terms_set(closed.offering, cast.admin)
    first = requested(closed.offering, closed.alice, WALLETS[0], 10)
    offered = first.dealing_day.dealing_date - dt.timedelta(days=1)
    # The page offered the dealing day before the current one, and the form was sent after its cut-off.
    with pytest.raises(ApplicationError, match=f"The cut-off of the dealing day of {offered:%d %B %Y} passed") as no:
        redemption_request(
            offering=closed.offering,
            investor=closed.alice,
            actor=closed.alice.user,
            wallet=WALLETS[0],
            quantity=20,
            idempotency_key=str(uuid.uuid4()),
            dealing_date=offered,
        )
    assert no.value.code == "after_cutoff" and "nothing was frozen" in no.value.message
    assert f"The next dealing day is {first.dealing_day.dealing_date:%d %B %Y}" in no.value.message
    assert RedemptionRequest.objects.get() == first


@pytest.mark.django_db
def test_a_request_is_not_taken_by_a_dealing_day_cut_off_while_it_was_made(closed: Closed, cast) -> None:
    """The day found for a request was cut off before the request could join it: refused, nothing recorded."""
    from redemptions.services import requesting

    terms_set(closed.offering, cast.admin)
    day = requested(closed.offering, closed.alice, WALLETS[0], 10).dealing_day
    settled_on_chain(closed)
    real = requesting.dealing_day_next

    def found_then_cut_off(**kwargs):
        found = real(**kwargs)
        DealingDay.objects.filter(pk=found.pk).update(state=DealingState.CUT_OFF)
        return found

    requesting.dealing_day_next = found_then_cut_off
    try:
        with pytest.raises(ApplicationError, match="passed: your request was not taken, and nothing was frozen"):
            requested(closed.offering, closed.alice, WALLETS[0], 20)
    finally:
        requesting.dealing_day_next = real
    assert RedemptionRequest.objects.filter(dealing_day=day).count() == 1


@pytest.mark.django_db
def test_the_same_form_submitted_twice_makes_one_request_and_one_freeze(closed: Closed, cast) -> None:
    terms_set(closed.offering, cast.admin)
    key = str(uuid.uuid4())

    def submit() -> RedemptionRequest:
        return redemption_request(
            offering=closed.offering,
            investor=closed.alice,
            actor=closed.alice.user,
            wallet=WALLETS[0],
            quantity=30,
            idempotency_key=key,
        )

    assert submit() == submit()
    settled_on_chain(closed)
    assert _frozen_on_chain(closed, WALLETS[0]) == 30

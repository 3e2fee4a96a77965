"""A holder's wallet under the issuer's hand while a redemption request holds units in it, on a real anvil.

A recovery carries the lost wallet's pending request to the new wallet (the token moves its frozen units), and the
request is then burned from and paid to the new wallet; a recovery waits while the request's freeze is on its
way. A forced transfer or an issuer's unfreeze never takes units frozen for a request: the issuer cancels the
request first, with a reason the holder reads and the journal shows."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core.approvals import approval_approve
from core.errors import ApplicationError, Conflict, NotPermitted
from core.models import AuditEvent, Notification
from core.tests.files import pdf_bytes
from core.tests.support import Cast
from distributions.tests.support import second_admin
from redemptions.models import DealingDay, DealingState, RequestState
from redemptions.services.approval import dealing_day_propose
from redemptions.services.dealing import dealing_day_nav_enter, dealing_day_price
from redemptions.services.requesting import redemption_cancel_by_issuer
from redemptions.services.settling import dealing_day_settle
from redemptions.tests.support import requested, settled_on_chain, terms_set
from registry.models import TokenAdminAction, TokenAdminState
from registry.selectors.ledger import wallet_restrictions
from registry.services.token_admin import (
    token_admin_actions_advance,
    token_admin_forced_transfer_propose,
    token_admin_freeze_amount,
    token_admin_recovery_propose,
)
from registry.tests.conftest import Closed
from tokens.tests.support import WALLETS, coin_balance, contract_view, payout_ready, token_balance

pytestmark = [pytest.mark.chain]
ALICE_0, ALICE_1, BOB = WALLETS[:3]
UNITS_PER_CENT = 10_000


def _frozen_on_chain(closed: Closed, wallet: str) -> int:
    return int(contract_view(closed.rpc_url, "SecurityToken", closed.token.address, "getFrozenTokens", wallet))


def _settled(closed: Closed) -> None:
    settled_on_chain(closed)
    token_admin_actions_advance()
    settled_on_chain(closed)


def _recovery(closed: Closed, cast: Cast) -> TokenAdminAction:
    return token_admin_recovery_propose(
        offering=closed.offering,
        investor=closed.alice,
        lost_wallet=ALICE_0,
        new_wallet=ALICE_1,
        reason="Alice lost the device that held her key",
        document=SimpleUploadedFile("id-check.pdf", pdf_bytes("identity check")),
        actor=cast.admin,
        idempotency_key=str(uuid.uuid4()),
    )


@pytest.mark.django_db
def test_a_recovery_carries_the_pending_request_to_the_new_wallet_where_it_is_burned_and_paid(
    closed: Closed, cast
) -> None:
    payout_ready(treasury_units=1_000_00 * UNITS_PER_CENT)
    terms_set(closed.offering, cast.admin)
    request = requested(closed.offering, closed.alice, ALICE_0, 150)
    # While the freeze is on its way to the lost wallet, the recovery waits.
    with pytest.raises(Conflict, match="has a chain transaction on its way for redemption request"):
        _recovery(closed, cast)
    settled_on_chain(closed)
    request.refresh_from_db()
    assert request.state == RequestState.PENDING

    action = _recovery(closed, cast)
    assert action.approval is not None
    finance = second_admin(cast.issuer)
    approval_approve(request=action.approval, actor=finance)
    _settled(closed)
    action.refresh_from_db()
    assert action.state == TokenAdminState.POSTED
    request.refresh_from_db()
    assert request.wallet == ALICE_1 and request.state == RequestState.PENDING
    assert (_frozen_on_chain(closed, ALICE_0), _frozen_on_chain(closed, ALICE_1)) == (0, 150)
    event = AuditEvent.objects.get(action="redemption.request_recovered", object_id=str(request.pk))
    assert event.before == {"wallet": ALICE_0} and event.after is not None and event.after["wallet"] == ALICE_1
    told = Notification.objects.get(recipient=closed.alice.user, event_key__endswith=f":recovered:{action.pk}")
    assert f"Your wallet {ALICE_0} was recovered to {ALICE_1}" in told.body

    # The dealing day burns the units in the new wallet and pays the net to it.
    DealingDay.objects.filter(pk=request.dealing_day_id).update(cutoff_at=timezone.now() - dt.timedelta(seconds=1))
    day = DealingDay.objects.get(pk=request.dealing_day_id)
    dealing_day_nav_enter(day=day, actor=cast.admin, nav="1.02345678", source="NAV statement of the day")
    day = dealing_day_price(day_id=day.pk)
    outcome = dealing_day_propose(day=day, actor=cast.admin)
    assert outcome.request is not None
    approval_approve(request=outcome.request, actor=finance)
    for _ in range(12):
        dealing_day_settle(day_id=day.pk)
        settled_on_chain(closed)
        if DealingDay.objects.get(pk=day.pk).state == DealingState.SETTLED:
            break
    request.refresh_from_db()
    assert request.state == RequestState.PAID
    assert token_balance(closed.rpc_url, closed.token, ALICE_0) == 0
    assert token_balance(closed.rpc_url, closed.token, ALICE_1) == 50
    assert coin_balance(closed.rpc_url, ALICE_1) == request.net_minor * UNITS_PER_CENT == 153_13 * UNITS_PER_CENT
    assert coin_balance(closed.rpc_url, ALICE_0) == 0


@pytest.mark.django_db
def test_a_forced_transfer_or_an_unfreeze_never_takes_a_requests_units_until_the_issuer_cancels_it(
    closed: Closed, cast
) -> None:
    terms_set(closed.offering, cast.admin)
    request = requested(closed.offering, closed.alice, ALICE_0, 150)
    settled_on_chain(closed)
    common = {"offering": closed.offering, "actor": cast.admin}
    # Alice holds 200, 150 of them frozen for her request: 50 may be moved by force, none of the 150 unfrozen.
    with pytest.raises(ApplicationError, match=r"holds 200 units, 150 of them frozen for redemption .* at most 50"):
        token_admin_forced_transfer_propose(
            from_wallet=ALICE_0,
            to_wallet=BOB,
            quantity=51,
            reason="Court order 2026-17",
            document=SimpleUploadedFile("court-order.pdf", pdf_bytes("Order 2026-17")),
            idempotency_key=str(uuid.uuid4()),
            **common,
        )
    with pytest.raises(ApplicationError, match="at most 0 can be unfrozen here"):
        token_admin_freeze_amount(
            wallet=ALICE_0, quantity=10, frozen=False, reason="Release", idempotency_key=str(uuid.uuid4()), **common
        )

    # The issuer cancels the request, saying why; only an admin of the issuer may, and never without a reason.
    with pytest.raises(NotPermitted):
        redemption_cancel_by_issuer(request=request, actor=closed.bob.user, reason="No")
    day = request.dealing_day
    client = Client()
    client.force_login(cast.admin)
    url = reverse("dealing_day_request_cancel", args=[cast.issuer.slug, day.public_id, request.public_id])
    page = client.post(url, {"reason": " "}, follow=True).content.decode()
    assert "Say why the request is cancelled: the holder reads it." in page
    page = client.post(url, {"reason": "Court order 2026-17 attaches these units"}, follow=True).content.decode()
    assert "Cancelled: the request&#x27;s units are being unfrozen, and the holder is told why." in page
    settled_on_chain(closed)
    request.refresh_from_db()
    assert request.state == RequestState.CANCELLED
    assert request.cancel_reason == "Court order 2026-17 attaches these units"
    assert _frozen_on_chain(closed, ALICE_0) == 0
    assert wallet_restrictions(offering=closed.offering, wallet=ALICE_0).frozen_amount == 0
    told = Notification.objects.get(recipient=closed.alice.user, event_key__endswith=":cancelled")
    assert "is cancelled by Harbor Street" in told.body and "Court order 2026-17 attaches these units" in told.body
    journal = Client()
    journal.force_login(cast.agent)
    text = journal.get(
        reverse("registry_journal", kwargs={"slug": cast.issuer.slug, "public_id": closed.offering.public_id})
    ).content.decode()
    short = str(request.public_id)[:8]
    assert f"Redemption request {short} cancelled by the issuer (Court order 2026-17 attaches these units) on" in text

    # Now the transfer may take them.
    action = token_admin_forced_transfer_propose(
        from_wallet=ALICE_0,
        to_wallet=BOB,
        quantity=200,
        reason="Court order 2026-17",
        document=SimpleUploadedFile("court-order.pdf", pdf_bytes("Order 2026-17")),
        idempotency_key=str(uuid.uuid4()),
        **common,
    )
    assert action.state == TokenAdminState.PROPOSED

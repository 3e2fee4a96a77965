"""Stripe Checkout and its webhooks: every event path, duplicates, out-of-order delivery, forged signatures.

The real stripe library talks HTTP to a local endpoint with Stripe's documented response shapes, and
webhooks arrive as real signed payloads through the portal's URL.
"""

from __future__ import annotations

import time

import pytest
from django.test import Client
from django.utils import timezone

from core.tests.support import notifications_delivered
from investors.tests.support import verified_investor
from offerings.models import EntryKind, Payment, PaymentStatus, RefundStatus, SubscriptionStatus, WebhookEvent
from offerings.payments import PaymentError
from offerings.selectors.payments import overpayments_of
from offerings.services.payments import refund_retry, refund_send
from offerings.services.subscriptions import (
    subscription_cancel,
    subscription_payment_start,
    subscription_reject,
)
from offerings.tests.stripe_fake import (
    WEBHOOK_SECRET,
    charge_object,
    completed_session,
    dispute,
    event,
    fake_stripe,
    refund_object,
    signed,
)
from offerings.tests.support import offering_open, subscribed

pytestmark = pytest.mark.django_db
URL = "/payments/stripe/webhook/"


@pytest.fixture
def stripe_api(settings):
    with fake_stripe() as fake:
        settings.STRIPE_SECRET_KEY = "sk_test_offerings"
        settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
        settings.STRIPE_API_BASE = fake.base_url
        yield fake


@pytest.fixture
def checkout(cast, stripe_api):
    """A signed subscription of 2,000.00 USD with a Checkout Session started."""
    offering = offering_open(cast.issuer, cast.admin)
    investor = verified_investor(accreditation="verified")
    subscription = subscribed(offering, investor, 2_000_00)
    payment = subscription_payment_start(
        subscription=subscription, actor=investor.user, provider="stripe", return_url="http://testserver/s/"
    )
    return subscription, payment, stripe_api.sessions[payment.external_id]


def deliver(payload: dict, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None):
    body, header = signed(payload, secret=secret, timestamp=timestamp)
    return Client().post(URL, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=header)


def test_starting_checkout_creates_a_session_for_the_amount_due(checkout, stripe_api) -> None:
    subscription, payment, session = checkout
    path, params, headers = stripe_api.requests[0]
    assert path == "/v1/checkout/sessions"
    assert params["line_items[0][price_data][unit_amount]"] == "200000"
    assert params["metadata[subscription]"] == str(subscription.public_id)
    assert headers["idempotency-key"] == f"tessera-checkout-{payment.pk}"
    assert payment.redirect_url == session["url"] and payment.status == PaymentStatus.STARTED


def test_completed_pays_once_even_when_delivered_twice(checkout) -> None:
    subscription, _payment, session = checkout
    paid = event("checkout.session.completed", completed_session(session, intent="pi_1"))
    first = deliver(paid)
    second = deliver(paid)
    assert first.status_code == 200 and first.json()["outcome"] == "paid"
    assert second.status_code == 200 and second.json()["outcome"].startswith("duplicate")
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.PAID and subscription.paid_minor == 2_000_00
    assert subscription.entries.count() == 1
    # The same money reported by another event id (Stripe retries create new deliveries, not new ids,
    # but async success repeats the payment intent) is still counted once.
    deliver(event("checkout.session.async_payment_succeeded", completed_session(session, intent="pi_1")))
    subscription.refresh_from_db()
    assert subscription.paid_minor == 2_000_00


def test_ach_pending_then_failed(checkout) -> None:
    subscription, payment, session = checkout
    assert (
        deliver(event("checkout.session.completed", completed_session(session, intent="pi_2", paid=False)))
        .json()["outcome"]
        .startswith("processing")
    )
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PROCESSING
    deliver(event("checkout.session.async_payment_failed", completed_session(session, intent="pi_2", paid=False)))
    payment.refresh_from_db()
    subscription.refresh_from_db()
    assert payment.status == PaymentStatus.FAILED and subscription.status == SubscriptionStatus.SIGNED


def test_expired_after_paid_does_not_undo_the_payment(checkout) -> None:
    _subscription, payment, session = checkout
    deliver(event("checkout.session.completed", completed_session(session, intent="pi_3")))
    deliver(event("checkout.session.expired", {**session, "status": "expired"}))
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED


def test_expired_session(checkout) -> None:
    _, payment, session = checkout
    assert deliver(event("checkout.session.expired", {**session, "status": "expired"})).json()["outcome"] == "expired"
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.EXPIRED


def test_refund_arriving_before_the_payment_leaves_the_same_ledger(checkout) -> None:
    subscription, _payment, session = checkout
    refund = refund_object(intent="pi_4", charge="ch_4", amount=2_000_00, refund_id="re_early")
    charge = charge_object(intent="pi_4", charge="ch_4", amount=2_000_00, amount_refunded=2_000_00)
    assert deliver(event("refund.created", refund)).json()["state"] == "waiting"
    deliver(event("checkout.session.completed", completed_session(session, intent="pi_4")))
    deliver(event("charge.refunded", charge))
    deliver(event("refund.updated", refund))
    subscription.refresh_from_db()
    kinds = sorted(subscription.entries.values_list("kind", "amount_minor"))
    assert kinds == [(EntryKind.RECEIVED, 2_000_00), (EntryKind.REFUND, -2_000_00)]
    assert subscription.paid_minor == 0 and subscription.status == SubscriptionStatus.SIGNED


def test_dispute_takes_the_money_back_and_a_won_dispute_returns_it(checkout) -> None:
    subscription, _payment, session = checkout
    deliver(event("checkout.session.completed", completed_session(session, intent="pi_5")))
    case = dispute(intent="pi_5", amount=2_000_00)
    assert deliver(event("charge.dispute.created", case)).json()["outcome"] == "disputed"
    subscription.refresh_from_db()
    assert subscription.paid_minor == 0 and subscription.status == SubscriptionStatus.SIGNED
    assert "reversed" in subscription.status_reason
    deliver(event("charge.dispute.closed", {**case, "status": "won"}))
    subscription.refresh_from_db()
    assert subscription.paid_minor == 2_000_00 and subscription.status == SubscriptionStatus.PAID


def test_refund_goes_back_through_stripe_once(cast, checkout, stripe_api) -> None:
    subscription, payment, session = checkout
    deliver(event("checkout.session.completed", completed_session(session, intent="pi_6")))
    subscription_reject(subscription=subscription, actor=cast.admin, reason="Investor withdrew by letter.")
    refund = subscription.refunds.get()
    refund_send(refund_id=refund.pk)
    refund_send(refund_id=refund.pk)  # a duplicate task changes nothing
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SENT and refund.external_ref.startswith("re_")
    calls = [r for r in stripe_api.requests if r[0] == "/v1/refunds"]
    assert len(calls) == 1 and calls[0][1]["payment_intent"] == "pi_6" and calls[0][1]["amount"] == "200000"
    # Stripe then reports the same refund by webhook: recorded once.
    stripe_refund = stripe_api.refunds[refund.external_ref]
    deliver(event("refund.created", stripe_refund))
    charge = charge_object(
        intent="pi_6", charge=stripe_refund["charge"], amount=2_000_00, amount_refunded=2_000_00, payment_pk=payment.pk
    )
    deliver(event("charge.refunded", charge))
    subscription.refresh_from_db()
    assert subscription.paid_minor == 0 and subscription.entries.filter(kind=EntryKind.REFUND).count() == 1


@pytest.mark.django_db(transaction=True)
def test_stripe_is_asked_for_a_refund_outside_any_database_transaction(cast, checkout, stripe_api) -> None:
    from django.db import connections

    subscription, _payment, session = checkout
    deliver(event("checkout.session.completed", completed_session(session, intent="pi_tx")))
    subscription_reject(subscription=subscription, actor=cast.admin, reason="Investor withdrew by letter.")
    portal = connections["default"]  # this thread's connection object, read from the fake server's thread
    during_refund: list[bool] = []
    stripe_api.on_request = lambda path: during_refund.append(portal.in_atomic_block) if path == "/v1/refunds" else None
    refund = refund_send(refund_id=subscription.refunds.get().pk)
    assert refund.status == RefundStatus.SENT
    assert during_refund == [False]  # no transaction (and no row lock) was open while Stripe answered


def test_a_refund_stripe_refuses_is_visible_and_can_be_retried(cast, checkout, stripe_api) -> None:
    subscription, _payment, session = checkout
    deliver(event("checkout.session.completed", completed_session(session, intent="pi_7")))
    subscription_reject(subscription=subscription, actor=cast.admin, reason="Investor withdrew by letter.")
    stripe_api.fail_refunds = True
    refund = refund_send(refund_id=subscription.refunds.get().pk)
    assert refund.status == RefundStatus.FAILED and "disputed" in refund.failure_reason
    stripe_api.fail_refunds = False
    refund_retry(refund=refund, actor=cast.compliance)
    refund = refund_send(refund_id=refund.pk)
    assert refund.status == RefundStatus.SENT


def test_money_for_a_cancelled_subscription_is_refunded(checkout) -> None:
    subscription, _payment, session = checkout
    subscription_cancel(subscription=subscription, actor=subscription.investor.user)
    deliver(event("checkout.session.completed", completed_session(session, intent="pi_8")))
    refund = subscription.refunds.get()
    assert refund.amount_minor == 2_000_00 and refund.status == RefundStatus.REQUESTED


@pytest.mark.parametrize(
    "forgery",
    ["wrong secret", "no header", "stale timestamp", "tampered body"],
)
def test_forged_or_stale_webhooks_are_refused_and_change_nothing(checkout, forgery) -> None:
    subscription, _payment, session = checkout
    paid = event("checkout.session.completed", completed_session(session, intent="pi_9"))
    if forgery == "wrong secret":
        response = deliver(paid, secret="whsec_attacker")
    elif forgery == "no header":
        response = Client().post(URL, data=b"{}", content_type="application/json")
    elif forgery == "stale timestamp":
        response = deliver(paid, timestamp=int(time.time()) - 3600)
    else:
        body, header = signed(paid)
        response = Client().post(
            URL, data=body.replace(b"200000", b"900000"), content_type="application/json", HTTP_STRIPE_SIGNATURE=header
        )
    assert response.status_code == 400
    assert "signature" in response.json()["error"]
    subscription.refresh_from_db()
    assert subscription.paid_minor == 0 and not WebhookEvent.objects.exists()


def test_unknown_events_are_acknowledged_and_ignored(checkout) -> None:
    response = deliver(event("customer.created", {"id": "cus_1", "object": "customer"}))
    assert response.status_code == 200 and response.json()["outcome"] == "ignored: customer.created"


def test_webhook_is_off_without_configuration(settings) -> None:
    settings.STRIPE_SECRET_KEY = ""
    assert Client().post(URL, data=b"{}", content_type="application/json").status_code == 404
    assert Payment.objects.count() == 0
    assert timezone.now()


# --------------------------------------------------------------------------- malformed events


@pytest.mark.parametrize(
    "payload",
    [
        {},
        [],
        None,
        "event",
        {"id": "evt_1", "type": "checkout.session.completed"},
        {"id": "evt_1", "type": "checkout.session.completed", "data": {}},
        {"id": "evt_1", "type": "checkout.session.completed", "data": {"object": {"object": "checkout.session"}}},
        {"id": "evt_1", "type": "checkout.session.completed", "data": {"object": []}},
        {"type": "refund.created", "data": {"object": {"id": "re_1"}}},
    ],
    ids=["empty", "list", "null", "string", "no data", "no object", "no object id", "object not a dict", "no id"],
)
def test_a_signed_payload_that_is_not_a_well_formed_event_gets_400(checkout, payload) -> None:
    response = deliver(payload)
    assert response.status_code == 400 and response.json()["error"]
    assert not WebhookEvent.objects.exists()


# --------------------------------------------------------------------------- today's refund shapes


def _paid(checkout, intent: str, stripe_api) -> None:
    _subscription, _payment, session = checkout
    stripe_api.pay(session["id"], intent=intent)
    deliver(event("checkout.session.completed", completed_session(session, intent=intent)))


def test_a_dashboard_refund_reported_only_by_amount_refunded_is_booked(checkout, stripe_api) -> None:
    """API 2022-11-15 and later: the refunded charge carries amount_refunded and no refunds list."""
    subscription, payment, _session = checkout
    _paid(checkout, "pi_dash", stripe_api)
    charge = stripe_api.charge_of("pi_dash")
    dashboard = refund_object(intent="pi_dash", charge=charge, amount=500_00)
    stripe_api.refunds[dashboard["id"]] = dashboard  # made in Stripe's dashboard, not through the portal
    refunded = charge_object(intent="pi_dash", charge=charge, amount=2_000_00, amount_refunded=500_00)
    response = deliver(event("charge.refunded", refunded))
    assert response.status_code == 200 and response.json()["state"] == "applied"
    subscription.refresh_from_db()
    assert subscription.paid_minor == 1_500_00 and subscription.status == SubscriptionStatus.SIGNED
    # The refund's own event, later, books nothing more.
    deliver(event("refund.created", dashboard))
    deliver(event("charge.refunded", refunded))
    subscription.refresh_from_db()
    assert subscription.paid_minor == 1_500_00
    assert list(payment.entries.filter(kind=EntryKind.REFUND).values_list("external_ref", flat=True)) == [
        dashboard["id"]
    ]


def test_a_pending_refund_is_booked_only_when_stripe_reports_it_succeeded(cast, checkout, stripe_api) -> None:
    subscription, _payment, _session = checkout
    _paid(checkout, "pi_pend", stripe_api)
    stripe_api.refund_status = "pending"
    subscription_reject(subscription=subscription, actor=cast.admin, reason="Investor withdrew by letter.")
    refund = refund_send(refund_id=subscription.refunds.get().pk)
    subscription.refresh_from_db()
    assert refund.status == RefundStatus.PENDING and subscription.paid_minor == 2_000_00
    created = dict(stripe_api.refunds[refund.external_ref])
    succeeded = stripe_api.refund_settle(refund.external_ref, "succeeded")
    # Out of order: the success arrives before the creation event; each twice.
    for payload in (event("refund.updated", succeeded), event("refund.created", created)):
        deliver(payload)
        deliver(payload)
    refund.refresh_from_db()
    subscription.refresh_from_db()
    assert refund.status == RefundStatus.SENT and subscription.paid_minor == 0
    assert subscription.entries.filter(kind=EntryKind.REFUND).count() == 1


def test_a_failed_refund_is_reversed_and_shown_for_action(cast, checkout, stripe_api, client) -> None:
    subscription, _payment, _session = checkout
    _paid(checkout, "pi_fail", stripe_api)
    subscription_reject(subscription=subscription, actor=cast.admin, reason="Investor withdrew by letter.")
    refund = refund_send(refund_id=subscription.refunds.get().pk)
    assert refund.status == RefundStatus.SENT  # the card refund succeeded at once
    subscription.refresh_from_db()
    assert subscription.paid_minor == 0
    # Days later the card network returns it: refund.failed.
    failed = stripe_api.refund_settle(refund.external_ref, "failed", failure_reason="expired_or_canceled_card")
    assert deliver(event("refund.failed", failed)).json()["state"] == "applied"
    deliver(event("refund.updated", failed))
    refund.refresh_from_db()
    subscription.refresh_from_db()
    assert refund.status == RefundStatus.FAILED and "expired_or_canceled_card" in refund.failure_reason
    assert subscription.paid_minor == 2_000_00
    assert subscription.entries.filter(kind=EntryKind.REFUND_REVERSED).count() == 1
    client.force_login(cast.admin)
    page = client.get(f"/issuers/{cast.issuer.slug}/wires/")
    assert b"expired_or_canceled_card" in page.content


def test_a_small_refund_made_elsewhere_does_not_close_the_portals_full_refund(cast, checkout, stripe_api) -> None:
    subscription, _payment, _session = checkout
    _paid(checkout, "pi_small", stripe_api)
    subscription_reject(subscription=subscription, actor=cast.admin, reason="Investor withdrew by letter.")
    refund = subscription.refunds.get()
    small = refund_object(intent="pi_small", charge=stripe_api.charge_of("pi_small"), amount=100_00)
    deliver(event("refund.created", small))
    refund.refresh_from_db()
    subscription.refresh_from_db()
    assert refund.status == RefundStatus.REQUESTED and subscription.paid_minor == 1_900_00


# --------------------------------------------------------------------------- checkouts that do not match


def test_a_checkout_paid_for_more_is_flagged_with_the_difference_and_listed_as_overpaid(
    cast, checkout, stripe_api
) -> None:
    subscription, _payment, session = checkout
    more = {**completed_session(session, intent="pi_more"), "amount_total": 2_500_00}
    response = deliver(event("checkout.session.completed", more))
    assert response.status_code == 200 and response.json()["state"] == "flagged"
    stored = WebhookEvent.objects.get()
    assert "500.00 USD more" in stored.reason and stored.issuer == cast.issuer
    subscription.refresh_from_db()
    assert subscription.paid_minor == 2_500_00 and subscription.overpaid_minor == 500_00


def test_a_checkout_paid_for_less_is_flagged_and_not_paid(checkout) -> None:
    subscription, _payment, session = checkout
    less = {**completed_session(session, intent="pi_less"), "amount_total": 1_500_00}
    response = deliver(event("checkout.session.completed", less))
    assert response.json()["state"] == "flagged" and "500.00 USD less" in WebhookEvent.objects.get().reason
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.SIGNED and subscription.outstanding_minor == 500_00


def test_a_checkout_in_another_currency_is_stored_flagged_never_500(checkout) -> None:
    subscription, _payment, session = checkout
    euros = {**completed_session(session, intent="pi_eur"), "currency": "eur"}
    paid = event("checkout.session.completed", euros)
    response = deliver(paid)
    assert response.status_code == 200 and response.json()["state"] == "flagged"
    stored = WebhookEvent.objects.get()
    assert "EUR" in stored.reason and stored.payload["id"] == paid["id"]
    subscription.refresh_from_db()
    assert subscription.paid_minor == 0 and not subscription.entries.exists()
    again = deliver(paid)  # Stripe retries: the same event id is the duplicate, and still stored once
    assert again.status_code == 200 and again.json()["outcome"].startswith("duplicate")
    assert WebhookEvent.objects.count() == 1


# --------------------------------------------------------------------------- events before their payment


def test_a_dispute_before_the_checkout_completion_waits_and_is_applied_when_the_payment_appears(cast, checkout) -> None:
    subscription, _payment, session = checkout
    case = dispute(intent="pi_early", amount=2_000_00)
    first = deliver(event("charge.dispute.created", case))
    assert first.status_code == 200 and first.json()["state"] == "waiting"
    deliver(event("checkout.session.completed", completed_session(session, intent="pi_early")))
    subscription.refresh_from_db()
    assert subscription.paid_minor == 0 and subscription.status == SubscriptionStatus.SIGNED
    assert set(WebhookEvent.objects.values_list("state", flat=True)) == {"applied"}
    review = subscription.cases.get()
    assert review.stage == "review" and review.quantity == 0
    # The issuer is told: nothing was issued, the subscription is to be reviewed.
    sent = [m.to[0] for m in notifications_delivered() if "review it before closing" in m.body]
    assert sorted(sent) == sorted(set(sent)) and cast.admin.email in sent  # each admin and officer once


# --------------------------------------------------------------------------- one open checkout


def test_starting_payment_again_reuses_the_open_checkout_session(checkout, stripe_api) -> None:
    subscription, payment, _session = checkout
    again = subscription_payment_start(
        subscription=subscription, actor=subscription.investor.user, provider="stripe", return_url="http://t/s/"
    )
    assert again.pk == payment.pk and again.redirect_url == payment.redirect_url
    assert [r[0] for r in stripe_api.requests].count("/v1/checkout/sessions") == 1


def test_a_session_that_cannot_be_reused_is_expired_before_a_new_one_opens(checkout, stripe_api) -> None:
    subscription, payment, session = checkout
    Payment.objects.filter(pk=payment.pk).update(details={**payment.details, "expires_at": int(time.time()) + 60})
    fresh = subscription_payment_start(
        subscription=subscription, actor=subscription.investor.user, provider="stripe", return_url="http://t/s/"
    )
    payment.refresh_from_db()
    assert fresh.pk != payment.pk and payment.status == PaymentStatus.EXPIRED
    assert stripe_api.sessions[session["id"]]["status"] == "expired"
    assert f"/v1/checkout/sessions/{session['id']}/expire" in [r[0] for r in stripe_api.requests]


def test_a_completed_session_is_not_replaced_by_a_second_checkout(checkout, stripe_api) -> None:
    subscription, payment, session = checkout
    stripe_api.pay(session["id"], intent="pi_done")  # paid at Stripe, webhook not here yet
    Payment.objects.filter(pk=payment.pk).update(details={**payment.details, "expires_at": int(time.time()) + 60})
    with pytest.raises(PaymentError, match="being confirmed"):
        subscription_payment_start(
            subscription=subscription, actor=subscription.investor.user, provider="stripe", return_url="http://t/s/"
        )
    assert [r[0] for r in stripe_api.requests].count("/v1/checkout/sessions") == 1


def test_a_second_paid_checkout_is_listed_and_its_excess_refunded_in_one_click(
    cast, checkout, stripe_api, client
) -> None:
    subscription, _payment, session = checkout
    # Two sessions paid (one opened before the portal kept one per subscription).
    second = Payment.objects.create(
        subscription=subscription, provider="stripe", amount_minor=2_000_00, currency="USD", external_id="cs_second"
    )
    deliver(event("checkout.session.completed", completed_session(session, intent="pi_one")))
    twice = {**completed_session(session, intent="pi_two"), "id": "cs_second", "metadata": {"payment": str(second.pk)}}
    assert deliver(event("checkout.session.completed", twice)).json()["state"] == "flagged"
    assert [s.pk for s in overpayments_of(issuer=cast.issuer)] == [subscription.pk]
    client.force_login(cast.admin)
    page = client.get(f"/issuers/{cast.issuer.slug}/cases/")
    assert b"Refund 2,000.00 USD" in page.content and b"already paid" in page.content
    clicked = client.post(
        f"/issuers/{cast.issuer.slug}/subscriptions/{subscription.public_id}/refund-excess/", follow=True
    )
    assert b"The excess is being refunded" in clicked.content
    refunds = list(subscription.refunds.all())
    assert [(r.payment_id, r.amount_minor) for r in refunds] == [(second.pk, 2_000_00)]
    refund_send(refund_id=refunds[0].pk)
    call = [r for r in stripe_api.requests if r[0] == "/v1/refunds"][-1][1]
    assert call["payment_intent"] == "pi_two" and call["amount"] == "200000"
    subscription.refresh_from_db()
    assert subscription.paid_minor == 2_000_00 and subscription.status == SubscriptionStatus.PAID
    assert list(overpayments_of(issuer=cast.issuer)) == []

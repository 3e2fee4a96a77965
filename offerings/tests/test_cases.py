"""Money taken back after issuance, on a real anvil: a chargeback or a refund made in Stripe's dashboard
opens a case, freezes the investor's corresponding tokens through the chain pipeline once, tells the
issuer, and is resolved by releasing the tokens (money recovered) or burning / transferring them back."""

from __future__ import annotations

import pytest
from django.test import Client

from core.approvals import approval_approve
from core.errors import Conflict, NotPermitted
from core.models import ApprovalRequest, AuditEvent, Role
from core.tests.factories import MembershipFactory
from core.tests.support import notifications_delivered
from investors.services.verification import investor_registry_refresh
from investors.tests.support import verified_investor
from offerings.models import CaseKind, CaseStage, PaymentCase, SubscriptionStatus
from offerings.services.cases import case_burn, case_release, case_release_propose, case_transfer
from offerings.services.closing import closing_advance, offering_close
from offerings.services.offerings import offering_publish
from offerings.services.subscriptions import subscription_payment_start
from offerings.tests.stripe_fake import (
    WEBHOOK_SECRET,
    completed_session,
    dispute,
    event,
    fake_stripe,
    refund_object,
    signed,
)
from offerings.tests.support import offering_draft, subscribed
from tokens.models import ChainTransaction, ContractDeployment
from tokens.services import portal_registry_ensure
from tokens.tests.support import WALLETS, contract_view, drain, token_balance

pytestmark = [pytest.mark.chain, pytest.mark.django_db]
URL = "/payments/stripe/webhook/"


def deliver(payload: dict):
    body, header = signed(payload, secret=WEBHOOK_SECRET)
    return Client().post(URL, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=header)


@pytest.fixture
def issued(cast, chain_settings, settings):
    """A 2,000.00 USD subscription (200 tokens) paid by Stripe Checkout and issued on anvil; a second
    investor's wallet stands for the issuer's treasury."""
    with fake_stripe() as fake:
        settings.STRIPE_SECRET_KEY = "sk_test_offerings"
        settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
        settings.STRIPE_API_BASE = fake.base_url
        portal_registry_ensure()
        drain()
        investor = verified_investor(accreditation="verified", wallet=WALLETS[0], register=False)
        treasury = verified_investor(accreditation="verified", wallet=WALLETS[1], register=False)
        for person in (investor, treasury):
            investor_registry_refresh(investor=person, actor=None)
        offering = offering_publish(offering=offering_draft(cast.issuer, cast.admin), actor=cast.admin)
        drain()
        subscription = subscribed(offering, investor, 2_000_00)
        payment = subscription_payment_start(
            subscription=subscription, actor=investor.user, provider="stripe", return_url="http://testserver/s/"
        )
        session = fake.pay(payment.external_id, intent="pi_issued")
        deliver(event("checkout.session.completed", completed_session(session, intent="pi_issued")))
        subscription.refresh_from_db()
        # A soft cap of 5,000.00 needs more: a wire-paid whale is not needed, lower it for the test.
        type(offering).objects.filter(pk=offering.pk).update(soft_cap_minor=1_000_00)
        offering.refresh_from_db()
        offering_close(offering=offering, actor=cast.admin)
        closing_advance(offering_id=offering.pk)  # each paid subscription screened, then the batch queued
        drain()
        closing_advance(offering_id=offering.pk)
        subscription.refresh_from_db()
        assert subscription.status == SubscriptionStatus.ISSUED and subscription.quantity == 200
        token = ContractDeployment.objects.get(owner_ref=offering.owner_ref)
        yield subscription, token, fake


def _frozen(chain_settings, token, wallet: str) -> int:
    return int(contract_view(chain_settings.rpc_url, "SecurityToken", token.address, "getFrozenTokens", wallet))


def test_a_chargeback_after_issuance_freezes_the_tokens_once_and_is_released_when_won(
    cast, issued, chain_settings
) -> None:
    subscription, token, _fake = issued
    chargeback = dispute(intent="pi_issued", amount=2_000_00)
    opened = event("charge.dispute.created", chargeback)
    assert deliver(opened).json()["outcome"] == "disputed"
    deliver(opened)  # the same event again
    deliver(event("charge.dispute.created", chargeback))  # the same dispute under another event id
    case = PaymentCase.objects.get()
    assert case.kind == CaseKind.DISPUTE and case.stage == CaseStage.FROZEN and case.quantity == 200
    assert ChainTransaction.objects.filter(idempotency_key__startswith=f"case:{case.pk}:").count() == 1
    subscription.refresh_from_db()
    assert subscription.paid_minor == 0
    drain()
    assert _frozen(chain_settings, token, WALLETS[0]) == 200

    # The issuer is told by e-mail and on its pages.
    told = [m for m in notifications_delivered() if cast.admin.email in m.to and "chargeback" in m.body]
    assert len(told) == 1 and "action needed" in told[0].subject
    client = Client()
    client.force_login(cast.admin)
    page = client.get(f"/issuers/{cast.issuer.slug}/cases/")
    assert page.status_code == 200 and chargeback["id"].encode() in page.content

    # The money is not back: releasing is refused. Stripe then reports the dispute won.
    with pytest.raises(Conflict, match="not back"):
        case_release(case=case, actor=cast.admin, note="Dispute won")
    deliver(event("charge.dispute.closed", {**chargeback, "status": "won"}))
    case = case_release(case=case, actor=cast.admin, note="Stripe reports the dispute won")
    assert case.stage == CaseStage.RELEASED
    drain()
    assert _frozen(chain_settings, token, WALLETS[0]) == 0
    actions = set(AuditEvent.objects.filter(object_id=str(case.pk)).values_list("action", flat=True))
    assert {"case.opened", "case.dispute_won", "case.released"} <= actions


def test_a_dashboard_refund_after_issuance_freezes_its_share_and_a_burn_resolves_it(
    cast, issued, chain_settings
) -> None:
    _subscription, token, fake = issued
    outside = refund_object(intent="pi_issued", charge=fake.charge_of("pi_issued"), amount=500_00)
    deliver(event("refund.created", outside))
    case = PaymentCase.objects.get()
    assert case.kind == CaseKind.OUTSIDE_REFUND and case.quantity == 50
    drain()
    assert _frozen(chain_settings, token, WALLETS[0]) == 50
    case = case_burn(case=case, actor=cast.admin, note="The investor kept the refund")
    drain()
    assert case.stage == CaseStage.BURNED
    assert token_balance(chain_settings.rpc_url, token, WALLETS[0]) == 150
    assert _frozen(chain_settings, token, WALLETS[0]) == 0


def test_a_lost_chargeback_moves_the_tokens_back_to_the_issuers_wallet(cast, issued, chain_settings) -> None:
    _subscription, token, _fake = issued
    chargeback = dispute(intent="pi_issued", amount=2_000_00)
    deliver(event("charge.dispute.created", chargeback))
    deliver(event("charge.dispute.closed", {**chargeback, "status": "lost"}))
    case = PaymentCase.objects.get()
    assert case.provider_status == "lost"
    drain()
    case = case_transfer(case=case, actor=cast.admin, to_wallet=WALLETS[1], note="Chargeback lost")
    drain()
    assert case.stage == CaseStage.TRANSFERRED
    assert token_balance(chain_settings.rpc_url, token, WALLETS[0]) == 0
    assert token_balance(chain_settings.rpc_url, token, WALLETS[1]) == 200


def test_releasing_a_chargeback_case_needs_a_second_admin_and_the_proposer_cannot_approve(
    cast, issued, chain_settings
) -> None:
    _subscription, token, _fake = issued
    chargeback = dispute(intent="pi_issued", amount=2_000_00)
    deliver(event("charge.dispute.created", chargeback))
    case = PaymentCase.objects.get()
    drain()
    deliver(event("charge.dispute.closed", {**chargeback, "status": "won"}))

    # The default threshold (0) asks for a second person every time.
    outcome = case_release_propose(case=case, actor=cast.admin, note="Stripe reports the dispute won")
    assert outcome.pending and outcome.request is not None
    case.refresh_from_db()
    assert case.stage == CaseStage.FROZEN
    with pytest.raises(NotPermitted):
        approval_approve(request=outcome.request, actor=cast.admin)
    with pytest.raises(Conflict, match="already waiting"):
        case_release_propose(case=case, actor=cast.admin, note="again")
    drain()
    assert _frozen(chain_settings, token, WALLETS[0]) == 200

    second = MembershipFactory.create(issuer=cast.issuer, role=Role.ISSUER_ADMIN).user
    approval_approve(request=outcome.request, actor=second)
    case.refresh_from_db()
    assert case.stage == CaseStage.RELEASED and case.resolved_by == second
    drain()
    assert _frozen(chain_settings, token, WALLETS[0]) == 0


def test_a_case_release_is_refused_when_proposed_if_the_money_is_not_back(cast, issued) -> None:
    deliver(event("charge.dispute.created", dispute(intent="pi_issued", amount=2_000_00)))
    case = PaymentCase.objects.get()
    with pytest.raises(Conflict, match="not back"):
        case_release_propose(case=case, actor=cast.admin, note="Dispute won")
    assert not ApprovalRequest.objects.exists()

"""An offering whose token is not configured as its terms require says so and takes no subscription."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from core.errors import Conflict
from core.tests.support import Cast
from investors.services.verification import investor_registry_refresh
from investors.tests.support import verified_investor
from offerings.services.offerings import offering_publish
from offerings.services.subscriptions import subscription_create
from offerings.tests.support import offering_draft
from tokens.models import ChainTransaction, TxStatus
from tokens.services import portal_registry_ensure, transaction_retry
from tokens.tests.support import WALLETS, drain


@pytest.mark.chain
@pytest.mark.django_db
@pytest.mark.usefixtures("chain_settings")
def test_a_lock_up_that_ran_out_of_gas_shows_on_the_dashboard_and_blocks_subscriptions(cast: Cast) -> None:
    portal_registry_ensure()
    drain()
    investor = verified_investor(accreditation="verified", wallet=WALLETS[0], register=False)
    investor_registry_refresh(investor=investor, actor=None)
    offering = offering_publish(offering=offering_draft(cast.issuer, cast.admin), actor=cast.admin)
    lockup = ChainTransaction.objects.get(
        idempotency_key=f"token:31337:{offering.owner_ref}:setup:setLockupPeriod", status=TxStatus.PENDING
    )
    # The limit an issuer's "set lock-up period" was once sent with; it needs about 68,900.
    ChainTransaction.objects.filter(pk=lockup.pk).update(gas_limit=36_550)
    drain(failures_allowed=True)
    lockup.refresh_from_db()
    assert lockup.status == TxStatus.FAILED and lockup.error_name == "OutOfGas"

    client = Client()
    client.force_login(cast.admin)
    page = client.get(
        reverse("offering_dashboard", kwargs={"slug": cast.issuer.slug, "public_id": offering.public_id})
    ).content.decode()
    assert "The token is not configured as the offering" in page and "cannot take subscriptions" in page
    assert "ran out of gas" in page and "36,550" in page
    with pytest.raises(Conflict, match="cannot take subscriptions: its token is not configured"):
        subscription_create(offering=offering, investor=investor, actor=investor.user, amount_minor=2_000_00)

    transaction_retry(tx=lockup, actor=cast.staff)  # estimated again, not re-sent at 36,550
    drain()
    lockup.refresh_from_db()
    assert lockup.status == TxStatus.CONFIRMED and (lockup.gas_used or 0) > 36_550
    subscription = subscription_create(offering=offering, investor=investor, actor=investor.user, amount_minor=2_000_00)
    assert subscription.pk

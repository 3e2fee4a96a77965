"""Requested units are frozen in batches through the redemption burner on a real anvil: the requests of a moment
share one transaction, each request is decided once however often its batch is sent, and a request the token
refuses fails alone, with the token's reason, while the rest of its batch is frozen."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from redemptions.models import RedemptionRequest, RequestState
from redemptions.services.freezing import redemption_freezes_send
from redemptions.tests.support import requested, settled_on_chain, terms_set
from registry.tests.conftest import Closed
from tokens.models import ChainEvent, ChainTransaction
from tokens.services import FreezeLine, redemption_batch_freeze
from tokens.tests.support import WALLETS, contract_send, contract_view, drain

pytestmark = [pytest.mark.chain]


def _frozen_on_chain(closed: Closed, wallet: str) -> int:
    return int(contract_view(closed.rpc_url, "SecurityToken", closed.token.address, "getFrozenTokens", wallet))


def _freeze_batches() -> list[ChainTransaction]:
    return list(ChainTransaction.objects.filter(idempotency_key__contains=":freeze:"))


@pytest.mark.django_db
def test_the_requests_of_a_moment_share_one_freeze_and_a_batch_sent_again_freezes_nothing_twice(
    closed: Closed, cast
) -> None:
    terms_set(closed.offering, cast.admin)
    alice = requested(closed.offering, closed.alice, WALLETS[0], 150)
    bob = requested(closed.offering, closed.bob, WALLETS[2], 100)
    settled_on_chain(closed)
    assert redemption_freezes_send() == 0  # a second run (a duplicate task) finds nothing left to send

    (batch,) = _freeze_batches()
    for request in (alice, bob):
        request.refresh_from_db()
        assert request.state == RequestState.PENDING and request.freeze_transaction == batch
    assert (_frozen_on_chain(closed, WALLETS[0]), _frozen_on_chain(closed, WALLETS[2])) == (150, 100)
    assert sorted(int(e.args["request"]) for e in ChainEvent.objects.filter(name="RequestFrozen")) == sorted(
        [alice.pk, bob.pk]
    )

    # The transfer agent's journal names each holder's own request on the batch's freeze of their wallet.
    client = Client()
    client.force_login(cast.agent)
    page = client.get(
        reverse("registry_journal", kwargs={"slug": cast.issuer.slug, "public_id": closed.offering.public_id})
    ).content.decode()
    for request in (alice, bob):
        assert f"Redemption request {str(request.public_id)[:8]}: {request.quantity:,} units frozen for" in page

    # The same requests sent again by mistake, under another key: the burner decided them already.
    redemption_batch_freeze(
        key="a-second-freeze-by-mistake",
        owner_ref=closed.offering.owner_ref,
        lines=[FreezeLine(request=r.pk, holder=r.wallet, amount=r.quantity) for r in (alice, bob)],
    )
    drain()
    settled_on_chain(closed)
    assert ChainEvent.objects.filter(name="FreezeSkipped").count() == 2
    assert (_frozen_on_chain(closed, WALLETS[0]), _frozen_on_chain(closed, WALLETS[2])) == (150, 100)
    assert set(RedemptionRequest.objects.values_list("state", flat=True)) == {RequestState.PENDING}


@pytest.mark.django_db
def test_a_request_the_token_refuses_to_freeze_fails_alone_with_the_reason_and_its_batch_goes_on(
    closed: Closed, cast
) -> None:
    terms_set(closed.offering, cast.admin)
    alice = requested(closed.offering, closed.alice, WALLETS[0], 150)
    bob = requested(closed.offering, closed.bob, WALLETS[2], 100)
    # Before the batch goes out, Alice moves 100 of her 200 units wallet to wallet, outside the portal.
    token = closed.token.address
    moved = contract_send(closed.rpc_url, WALLETS[0], token, "SecurityToken", "transfer", WALLETS[2], 100)
    assert moved["status"] == 1
    settled_on_chain(closed)

    (batch,) = _freeze_batches()
    alice.refresh_from_db()
    bob.refresh_from_db()
    assert alice.state == RequestState.FAILED and alice.freeze_transaction == batch
    assert alice.failure_reason == (
        f"The units could not be frozen: {WALLETS[0]} holds 100 units, fewer than the 150 that would then be "
        "frozen in it: its units moved since the request was checked."
    )
    assert bob.state == RequestState.PENDING
    assert (_frozen_on_chain(closed, WALLETS[0]), _frozen_on_chain(closed, WALLETS[2])) == (0, 100)
    assert ChainEvent.objects.filter(name="FreezeRefused").count() == 1
    # Alice is told her request could not be taken; she may ask again for what she holds now.
    assert requested(closed.offering, closed.alice, WALLETS[0], 100).state == RequestState.FREEZING

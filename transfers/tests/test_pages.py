"""The transfer pages on a real anvil: the portfolio leads to a transfer; the holder sees each lot's lock-up and
holding period before anything is offered; a check shows both sides in words and offers the transfer only when
both say yes; the holder's wallet then gets its transaction from the API; the issuer's admins read and decide
exception requests, transfer agents read them."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from compliance.exemptions import Exemption
from core.tests.files import pdf_bytes
from registry.models import Lot
from registry.tests.conftest import Closed, offering_closed
from tokens.tests.support import WALLETS
from transfers.models import ExceptionKind, HolderTransfer, RequestState, TransferState
from transfers.services.requests import transfer_request_file
from transfers.tests.support import indexed

pytestmark = [pytest.mark.chain, pytest.mark.django_db]

ALICE, BOB = WALLETS[0], WALLETS[2]


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _form(**overrides: str) -> dict[str, str]:
    values = {
        "form_token": str(uuid.uuid4()),
        "from_wallet": ALICE,
        "destination": "other",
        "to_address": BOB,
        "quantity": "50",
        "step": "check",
    }
    values.update(overrides)
    return values


def test_the_portfolio_leads_to_a_transfer_of_each_token_held(closed: Closed) -> None:
    page = _client(closed.alice.user).get(reverse("portfolio")).content.decode()
    url = reverse("investor_transfer_new", args=[closed.offering.public_id])
    assert 'id="transfers-section"' in page and url in page and "Transfer HSCA" in page
    carol = _client(closed.carol.user).get(reverse("portfolio")).content.decode()
    assert url not in carol  # Carol holds none of it
    assert _client(closed.carol.user).get(url).status_code == 404


def test_each_lot_shows_its_lock_up_and_rule_144_holding_period_and_a_locked_transfer_is_not_offered(
    cast, chain_settings
) -> None:
    closed = offering_closed(cast, chain_settings.rpc_url, exemption=Exemption.REG_D_506B)
    indexed(closed)
    lot = Lot.objects.get(offering=closed.offering, wallet=ALICE)
    url = reverse("investor_transfer_new", args=[closed.offering.public_id])
    client = _client(closed.alice.user)

    page = client.get(url).content.decode()
    assert lot.lockup_release is not None
    release = timezone.localtime(lot.lockup_release)
    holding_ends = timezone.localtime(lot.issued_at + dt.timedelta(days=365))
    assert f"until {release:%-d %b %Y}" in page
    assert f"Rule 144 holding period: ends {holding_ends:%-d %b %Y}" in page

    checked = client.post(url, _form()).content.decode()
    assert "This transfer cannot go" in checked
    assert "in their lock-up until" in checked and "Tokens are in their lock-up (holding) period" in checked
    assert 'value="transfer"' not in checked  # nothing to confirm
    refused = client.post(url, _form(step="transfer"))
    assert refused.status_code == 200 and "cannot go now" in refused.content.decode()
    assert not HolderTransfer.objects.exists()


def test_a_refused_check_says_why_on_both_sides_and_a_fixed_one_is_offered_and_handed_to_the_wallet(
    closed: Closed,
) -> None:
    url = reverse("investor_transfer_new", args=[closed.offering.public_id])
    client = _client(closed.alice.user)
    stranger = "0x" + "12" * 20
    refused = client.post(url, _form(to_address=stranger)).content.decode()
    assert "This transfer cannot go" in refused and "is not the wallet of a verified investor" in refused
    assert "Receiver wallet is not verified or its verification expired" in refused

    typo = client.post(url, _form(to_address="0x123")).content.decode()
    assert "is not a wallet address" in typo
    empty = client.post(url, _form(to_address="", quantity="lots")).content.decode()
    assert "Enter the receiving wallet" in empty and "Enter a whole number" in empty

    fixed = client.post(url, _form()).content.decode()
    assert "This transfer can go" in fixed and "It would accept the transfer" in fixed
    token = str(uuid.uuid4())
    sent = client.post(url, _form(step="transfer", form_token=token))
    transfer = HolderTransfer.objects.get()
    assert sent.status_code == 302 and sent["Location"] == reverse("investor_transfer", args=[transfer.public_id])
    client.post(url, _form(step="transfer", form_token=token))  # the same form again
    assert HolderTransfer.objects.count() == 1

    detail = client.get(sent["Location"]).content.decode()
    assert 'id="transfer-sign"' in detail and reverse("api_transfer_prepare", args=[transfer.public_id]) in detail
    prepared = client.post(reverse("api_transfer_prepare", args=[transfer.public_id]), content_type="application/json")
    assert prepared.status_code == 200
    body = prepared.json()
    assert body["chain_id"] == 31337 and body["transaction"]["from"] == ALICE
    assert body["transaction"]["to"] == closed.token.address and body["transaction"]["data"].startswith("0xa9059cbb")
    submitted = reverse("api_transfer_submitted", args=[transfer.public_id])
    bad = client.post(submitted, {"tx_hash": "0x1"}, content_type="application/json")
    assert bad.status_code == 400 and "not a transaction hash" in bad.json()["error"]["message"]
    transfer.refresh_from_db()
    assert transfer.state == TransferState.AWAITING_SIGNATURE
    other = _client(closed.bob.user).post(
        reverse("api_transfer_prepare", args=[transfer.public_id]), content_type="application/json"
    )
    assert other.status_code == 404  # another holder's transfer does not exist for them


def test_the_issuer_reads_and_decides_exception_requests_and_transfer_agents_read_them(closed: Closed, cast) -> None:
    request = transfer_request_file(
        investor=closed.alice,
        offering=closed.offering,
        kind=ExceptionKind.LOST_WALLET,
        from_wallet=ALICE,
        to_wallet=WALLETS[1],
        quantity=None,
        explanation="My hardware wallet broke; the seed phrase was lost with it.",
        document=SimpleUploadedFile("statement.pdf", pdf_bytes("Statutory declaration"), "application/pdf"),
        actor=closed.alice.user,
        idempotency_key=str(uuid.uuid4()),
    )
    dashboard = reverse("offering_dashboard", args=[cast.issuer.slug, closed.offering.public_id])
    panel = _client(cast.admin).get(dashboard).content.decode()
    assert 'id="transfer-requests-title"' in panel and "I lost my wallet" in panel
    listing = reverse("issuer_transfer_requests", args=[cast.issuer.slug])
    detail = reverse("issuer_transfer_request", args=[cast.issuer.slug, request.public_id])
    for user in (cast.admin, cast.agent):
        assert closed.alice.legal_name in _client(user).get(listing).content.decode()
        page = _client(user).get(detail).content.decode()
        assert "My hardware wallet broke" in page and "statement.pdf" in page
        assert ("Record the decision" in page) == (user == cast.admin)
    file_url = reverse("issuer_transfer_request_document", args=[cast.issuer.slug, request.public_id])
    document = _client(cast.agent).get(file_url)
    assert document.status_code == 200 and document["Content-Disposition"].startswith("attachment")

    decide = reverse("issuer_transfer_request_decide", args=[cast.issuer.slug, request.public_id])
    no_reason = _client(cast.admin).post(decide, {"decision": "refuse", "note": ""}, follow=True).content.decode()
    assert "Say why it is refused" in no_reason
    approved = _client(cast.admin).post(decide, {"decision": "approve"}, follow=True).content.decode()
    assert "waits for another issuer admin" in approved
    request.refresh_from_db()
    assert request.state == RequestState.APPROVING and request.action is not None
    holder = _client(closed.alice.user).get(reverse("investor_transfer_request", args=[request.public_id]))
    assert "another issuer admin approves it before the units move" in holder.content.decode()


def test_an_issuer_admin_lets_the_transfer_agent_decide_requests_on_the_requests_page(closed: Closed, cast) -> None:
    request = transfer_request_file(
        investor=closed.alice,
        offering=closed.offering,
        kind=ExceptionKind.LOST_WALLET,
        from_wallet=ALICE,
        to_wallet=WALLETS[1],
        quantity=None,
        explanation="My hardware wallet broke; the seed phrase was lost with it.",
        document=SimpleUploadedFile("statement.pdf", pdf_bytes("Statutory declaration"), "application/pdf"),
        actor=closed.alice.user,
        idempotency_key=str(uuid.uuid4()),
    )
    listing = reverse("issuer_transfer_requests", args=[cast.issuer.slug])
    deciders = reverse("issuer_transfer_agent_decisions", args=[cast.issuer.slug])
    detail = reverse("issuer_transfer_request", args=[cast.issuer.slug, request.public_id])
    decide = reverse("issuer_transfer_request_decide", args=[cast.issuer.slug, request.public_id])
    agent, admin = _client(cast.agent), _client(cast.admin)
    assert 'id="deciders-form"' not in agent.get(listing).content.decode()
    assert agent.post(decide, {"decision": "refuse", "note": "No"}).status_code == 403
    assert agent.post(deciders, {"transfer_agent_decides_requests": "on"}).status_code == 403

    page = admin.get(listing).content.decode()
    assert 'id="deciders-form"' in page and "The issuer's admins decide these requests." in page
    saved = admin.post(deciders, {"transfer_agent_decides_requests": "on"}, follow=True).content.decode()
    assert "Your transfer agent now approves or refuses transfer requests" in saved
    assert "The issuer's admins and its transfer agent decide these requests." in saved
    assert "Record the decision" in agent.get(detail).content.decode()
    approved = agent.post(decide, {"decision": "approve"}, follow=True).content.decode()
    assert "waits for another issuer admin" in approved
    request.refresh_from_db()
    assert request.state == RequestState.APPROVING and request.decided_by == cast.agent
    assert request.action is not None and request.action.proposed_by == cast.agent

    admin.post(deciders, {}, follow=True)  # unticked: taken back
    assert "Record the decision" not in agent.get(detail).content.decode()

"""Token administration on a real anvil: each action reaches the chain and the ledger shows it, forced transfers
and recoveries wait for a second admin with their document, a revert shows its decoded reason, and nobody but
the issuer's admins can act."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from core.approvals import approval_approve, approval_reject
from core.errors import ApplicationError, Conflict, NotPermitted
from core.models import AuditEvent, Role, User
from core.tests.factories import MembershipFactory
from core.tests.files import pdf_bytes
from core.tests.support import Cast
from investors.models import KycStatus
from registry.models import LedgerPosting, PostingKind, TokenAdminAction, TokenAdminKind, TokenAdminState
from registry.selectors.ledger import lots_held, restrictions, wallet_balances
from registry.selectors.token_admin import token_admin_progress
from registry.services.ledger import ledger_sync
from registry.services.token_admin import (
    token_admin_actions_advance,
    token_admin_forced_transfer_propose,
    token_admin_freeze_amount,
    token_admin_freeze_wallet,
    token_admin_recovery_propose,
    token_admin_set_paused,
)
from registry.tests.conftest import Closed
from tokens.models import ChainTransaction
from tokens.services import transaction_retry
from tokens.tests.support import WALLETS, chain_indexed, contract_send, contract_view, drain

pytestmark = [pytest.mark.chain, pytest.mark.django_db]

ALICE_0, ALICE_1, BOB, CAROL_3, CAROL_4, STRANGER = WALLETS[:6]


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path) -> Iterator[Path]:
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    yield settings.PRIVATE_MEDIA_ROOT


@pytest.fixture
def posted(closed: Closed) -> Closed:
    """The closing mints are on the ledger: Alice holds 200 in wallet 0, Bob 300 in wallet 2."""
    _settle(closed)
    assert wallet_balances(offering=closed.offering) == {ALICE_0: 200, BOB: 300}
    return closed


@pytest.fixture
def second_admin(cast: Cast) -> User:
    return MembershipFactory.create(
        issuer=cast.issuer, role=Role.ISSUER_ADMIN, user__email="finance@harbor.example"
    ).user


def _settle(closed: Closed, *, failures_allowed: bool = False) -> None:
    """What the workers and the beat do: send and confirm, index, post to the ledger, advance the actions."""
    drain(failures_allowed=failures_allowed)
    chain_indexed(closed.rpc_url)
    ledger_sync(offering=closed.offering)
    token_admin_actions_advance()


def _key() -> str:
    return str(uuid.uuid4())


def _document(name: str = "court-order.pdf", content: bytes | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, pdf_bytes("Order 2026-17") if content is None else content)


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _holder_url(closed: Closed, investor_public_id: object) -> str:
    offering = closed.offering
    return f"/issuers/{offering.issuer.slug}/offerings/{offering.public_id}/token/holders/{investor_public_id}/"


def _done(action: TokenAdminAction) -> TokenAdminAction:
    action.refresh_from_db()
    return action


# --------------------------------------------------------------------------- freeze, unfreeze, pause


def test_an_admin_freezes_an_amount_from_the_holder_page_and_follows_it_onto_the_ledger(
    posted: Closed, cast: Cast
) -> None:
    client = _client(cast.admin)
    url = _holder_url(posted, posted.alice.public_id)
    page = client.get(url)
    assert page.status_code == 200 and ALICE_0 in page.content.decode()
    token = _key()
    form = {
        "freeze_amount-form_token": token,
        "freeze_amount-wallet": ALICE_0,
        "freeze_amount-frozen": "1",
        "freeze_amount-quantity": "50",
        "freeze_amount-reason": "Pledged as collateral, instruction of 1 Dec",
        "operation": "freeze_amount",
    }
    response = client.post(url, form)
    assert response.status_code == 302
    action = TokenAdminAction.objects.get()
    assert response["Location"] == f"/issuers/{cast.issuer.slug}/token-actions/{action.public_id}/"
    # The same form sent again (a double click) makes no second action and no second transaction.
    assert client.post(url, form)["Location"] == response["Location"]
    assert TokenAdminAction.objects.count() == 1
    assert ChainTransaction.objects.filter(idempotency_key__startswith="token-admin:").count() == 1
    assert (action.kind, action.state, action.quantity) == (TokenAdminKind.FREEZE_AMOUNT, "approved", 50)
    progress = client.get(response["Location"]).content.decode()
    assert "Queued for the chain" in progress and "data-poll-url" in progress

    drain()
    assert token_admin_progress(action=_done(action)).state == TokenAdminState.CONFIRMED  # not yet on the ledger
    _settle(posted)
    action = _done(action)
    assert action.state == TokenAdminState.POSTED and action.posted_at is not None
    assert restrictions(offering=posted.offering).frozen_amounts == {ALICE_0: 50}
    fragment = client.get(f"{response['Location']}progress/").content.decode()
    assert "Done: the ledger shows it." in fragment and "data-poll-url" not in fragment
    assert action.chain_transaction is not None and action.chain_transaction.tx_hash
    assert action.chain_transaction.tx_hash in fragment
    assert LedgerPosting.objects.filter(
        kind=PostingKind.PARTIAL_FREEZE, transaction_hash=action.chain_transaction.tx_hash, quantity=50
    ).exists()
    steps = [
        e.action
        for e in AuditEvent.objects.filter(object_id=str(action.pk), object_type="registry.tokenadminaction").order_by(
            "pk"
        )
    ]
    assert steps[:2] == ["registry.token_admin_requested", "registry.token_admin_sent"]
    assert "registry.token_admin_progressed" in steps
    holder_page = client.get(url).content.decode()
    assert "On the ledger" in holder_page
    # The holder's cap table page shows the frozen units too, to the transfer agent as well.
    offering_url = f"/issuers/{cast.issuer.slug}/offerings/{posted.offering.public_id}"
    detail = f"{offering_url}/cap-table/holders/{posted.alice.public_id.hex}/"
    for viewer in (cast.admin, cast.agent):
        restricted = _client(viewer).get(detail).content.decode().split('id="holder-restrictions"')[1]
        assert "50 units frozen" in restricted.split("</section>")[0]


def test_freezing_more_than_is_free_or_unfreezing_more_than_is_frozen_is_refused_with_the_figures(
    posted: Closed, cast: Cast
) -> None:
    offering = posted.offering
    with pytest.raises(ApplicationError, match="holds 200 units on the ledger, 0 of them frozen already: at most 200"):
        token_admin_freeze_amount(
            offering=offering,
            wallet=ALICE_0,
            quantity=201,
            frozen=True,
            reason="x",
            actor=cast.admin,
            idempotency_key=_key(),
        )
    for quantity in (0, -5):
        with pytest.raises(ApplicationError, match="above zero"):
            token_admin_freeze_amount(
                offering=offering,
                wallet=ALICE_0,
                quantity=quantity,
                frozen=True,
                reason="x",
                actor=cast.admin,
                idempotency_key=_key(),
            )
    with pytest.raises(ApplicationError, match="Give the reason"):
        token_admin_freeze_amount(
            offering=offering,
            wallet=ALICE_0,
            quantity=5,
            frozen=True,
            reason="  ",
            actor=cast.admin,
            idempotency_key=_key(),
        )
    with pytest.raises(ApplicationError, match="has 0 units frozen"):
        token_admin_freeze_amount(
            offering=offering,
            wallet=ALICE_0,
            quantity=1,
            frozen=False,
            reason="x",
            actor=cast.admin,
            idempotency_key=_key(),
        )
    token_admin_freeze_amount(
        offering=offering,
        wallet=ALICE_0,
        quantity=150,
        frozen=True,
        reason="Pledge",
        actor=cast.admin,
        idempotency_key=_key(),
    )
    # While it is on its way, nothing else is asked of the same wallet (the ledger does not show it yet).
    with pytest.raises(Conflict, match="still on its way"):
        token_admin_freeze_amount(
            offering=offering,
            wallet=ALICE_0,
            quantity=1,
            frozen=True,
            reason="x",
            actor=cast.admin,
            idempotency_key=_key(),
        )
    _settle(posted)
    with pytest.raises(ApplicationError, match="150 of them frozen already: at most 50 more"):
        token_admin_freeze_amount(
            offering=offering,
            wallet=ALICE_0,
            quantity=51,
            frozen=True,
            reason="x",
            actor=cast.admin,
            idempotency_key=_key(),
        )
    unfreeze = token_admin_freeze_amount(
        offering=offering,
        wallet=ALICE_0,
        quantity=100,
        frozen=False,
        reason="Pledge released",
        actor=cast.admin,
        idempotency_key=_key(),
    )
    _settle(posted)
    assert _done(unfreeze).state == TokenAdminState.POSTED
    assert restrictions(offering=offering).frozen_amounts == {ALICE_0: 50}
    assert not TokenAdminAction.objects.filter(quantity__in=[0, 51, 201]).exists()  # refusals leave nothing behind


def test_a_wallet_is_frozen_and_unfrozen_and_the_token_paused_and_unpaused_on_the_ledger(
    posted: Closed, cast: Cast
) -> None:
    offering = posted.offering
    freeze = token_admin_freeze_wallet(
        offering=offering,
        wallet=BOB.lower(),
        frozen=True,
        reason="Sanctions match under review",
        actor=cast.admin,
        idempotency_key=_key(),
    )
    pause = token_admin_set_paused(
        offering=offering, paused=True, reason="Corporate action", actor=cast.admin, idempotency_key=_key()
    )
    with pytest.raises(Conflict, match="still on its way"):
        token_admin_set_paused(offering=offering, paused=True, reason="again", actor=cast.admin, idempotency_key=_key())
    _settle(posted)
    assert _done(freeze).state == _done(pause).state == TokenAdminState.POSTED
    now = restrictions(offering=offering)
    assert now.paused and now.frozen_wallets == {BOB}
    assert contract_view(posted.rpc_url, "SecurityToken", posted.token.address, "paused")
    with pytest.raises(ApplicationError, match="paused already"):
        token_admin_set_paused(offering=offering, paused=True, reason="again", actor=cast.admin, idempotency_key=_key())
    with pytest.raises(ApplicationError, match="frozen already"):
        token_admin_freeze_wallet(
            offering=offering, wallet=BOB, frozen=True, reason="again", actor=cast.admin, idempotency_key=_key()
        )
    token_admin_freeze_wallet(
        offering=offering, wallet=BOB, frozen=False, reason="Cleared", actor=cast.admin, idempotency_key=_key()
    )
    token_admin_set_paused(offering=offering, paused=False, reason="Done", actor=cast.admin, idempotency_key=_key())
    _settle(posted)
    now = restrictions(offering=offering)
    assert not now.paused and not now.frozen_wallets
    assert not TokenAdminAction.objects.exclude(state=TokenAdminState.POSTED).exists()


def test_pausing_from_the_page_twice_never_turns_into_an_unpause(
    posted: Closed, cast: Cast, second_admin: User
) -> None:
    url = f"/issuers/{cast.issuer.slug}/offerings/{posted.offering.public_id}/token/"
    # Both admins opened the page while transfers were open: each sees "Pause".
    forms = [
        {"operation": "pause", "pause-form_token": _key(), "pause-paused": "1", "pause-reason": reason}
        for reason in ("Corporate action", "Corporate action, again")
    ]
    first = _client(cast.admin).post(url, forms[0])
    assert first.status_code == 302
    _settle(posted)
    assert restrictions(offering=posted.offering).paused
    late = _client(second_admin).post(url, forms[1])
    assert late.status_code == 400 and "The token is paused already." in late.content.decode()
    assert restrictions(offering=posted.offering).paused
    assert TokenAdminAction.objects.filter(kind=TokenAdminKind.UNPAUSE).count() == 0
    page = _client(cast.admin).get(url).content.decode()
    assert f"Unpause {posted.offering.token_symbol}" in page


def test_a_wallet_no_investor_linked_is_frozen_by_its_address(posted: Closed, cast: Cast) -> None:
    url = f"/issuers/{cast.issuer.slug}/offerings/{posted.offering.public_id}/token/"
    form = {"operation": "freeze_address", "freeze_address-form_token": _key(), "freeze_address-frozen": "1"}
    bad = _client(cast.admin).post(url, {**form, "freeze_address-wallet": "0x123", "freeze_address-reason": "Stolen"})
    assert bad.status_code == 400 and "is not an Ethereum address" in bad.content.decode()
    sent = _client(cast.admin).post(
        url, {**form, "freeze_address-wallet": STRANGER, "freeze_address-reason": "Reported stolen"}
    )
    assert sent.status_code == 302
    _settle(posted)
    assert restrictions(offering=posted.offering).frozen_wallets == {STRANGER}
    page = _client(cast.admin).get(url).content.decode()
    assert STRANGER in page.split('id="frozen-wallets"')[1].split("</ul>")[0]


def test_a_revert_shows_the_contracts_decoded_reason_and_what_to_do(posted: Closed, cast: Cast) -> None:
    # Alice moves 150 units herself, outside the portal; the ledger has not read it yet.
    receipt = contract_send(posted.rpc_url, ALICE_0, posted.token.address, "SecurityToken", "transfer", BOB, 150)
    assert receipt["status"] == 1
    action = token_admin_freeze_amount(
        offering=posted.offering,
        wallet=ALICE_0,
        quantity=100,
        frozen=True,
        reason="Pledge",
        actor=cast.admin,
        idempotency_key=_key(),
    )
    _settle(posted, failures_allowed=True)
    action = _done(action)
    assert action.state == TokenAdminState.FAILED
    assert action.chain_transaction is not None and action.chain_transaction.error_name == "FreezeExceedsBalance"
    progress = token_admin_progress(action=action)
    assert progress.failure is not None and "holds 50 units on-chain, fewer than the 100" in progress.failure
    assert progress.next_step is not None and "freeze at most what it holds" in progress.next_step
    page = _client(cast.admin).get(f"/issuers/{cast.issuer.slug}/token-actions/{action.public_id}/").content.decode()
    assert "FreezeExceedsBalance" in page and "freeze at most what it holds" in page
    # It is proposed again rather than retried as it was: the ledger has moved since.
    with pytest.raises(ApplicationError, match="propose it again"):
        transaction_retry(tx=action.chain_transaction, actor=cast.staff)
    assert wallet_balances(offering=posted.offering)[ALICE_0] == 50
    token_admin_freeze_amount(
        offering=posted.offering,
        wallet=ALICE_0,
        quantity=50,
        frozen=True,
        reason="Pledge",
        actor=cast.admin,
        idempotency_key=_key(),
    )
    _settle(posted, failures_allowed=True)
    assert restrictions(offering=posted.offering).frozen_amounts == {ALICE_0: 50}


# --------------------------------------------------------------------------- four eyes


def test_a_forced_transfer_waits_for_a_second_admin_then_moves_the_lots(
    posted: Closed, cast: Cast, second_admin: User
) -> None:
    action = token_admin_forced_transfer_propose(
        offering=posted.offering,
        from_wallet=BOB,
        to_wallet=CAROL_3,
        quantity=120,
        reason="Court order 2026-17",
        document=_document(),
        actor=cast.admin,
        idempotency_key=_key(),
    )
    assert action.state == TokenAdminState.PROPOSED and action.chain_transaction is None
    assert action.document_sha256 and len(action.document_sha256) == 64
    assert action.approval is not None and action.approval.summary.startswith("Forced transfer of 120")
    assert not ChainTransaction.objects.filter(idempotency_key__startswith="token-admin:").exists()
    with pytest.raises(NotPermitted, match="another admin"):
        approval_approve(request=action.approval, actor=cast.admin)
    # Neither through this page: the proposer's approval is refused and nothing is sent.
    client = _client(cast.admin)
    decide = f"/issuers/{cast.issuer.slug}/token-actions/{action.public_id}/decide/"
    client.post(decide, {"decision": "approve"})
    assert _done(action).state == TokenAdminState.PROPOSED
    # The issuer's approvals page lists it with a link to its page, where the document is.
    approvals = _client(second_admin).get(f"/issuers/{cast.issuer.slug}/approvals/").content.decode()
    assert f'href="/issuers/{cast.issuer.slug}/token-actions/{action.public_id}/"' in approvals
    page = _client(second_admin).get(f"/issuers/{cast.issuer.slug}/token-actions/{action.public_id}/").content.decode()
    assert "Approve and send" in page and action.document_sha256 in page
    document = _client(second_admin).get(f"/issuers/{cast.issuer.slug}/token-actions/{action.public_id}/document/")
    assert document.status_code == 200 and document.getvalue().startswith(b"%PDF-")

    assert _client(second_admin).post(decide, {"decision": "approve"}).status_code == 302
    assert _client(second_admin).post(decide, {"decision": "approve"}).status_code == 302  # twice: sent once
    action = _done(action)
    assert action.state == TokenAdminState.APPROVED and action.approved_by == second_admin
    assert ChainTransaction.objects.filter(idempotency_key__startswith="token-admin:").count() == 1
    _settle(posted)
    assert _done(action).state == TokenAdminState.POSTED
    assert wallet_balances(offering=posted.offering) == {ALICE_0: 200, BOB: 180, CAROL_3: 120}
    (lot,) = [row.lot for row in lots_held(offering=posted.offering, wallet=CAROL_3)]
    assert lot.investor == posted.carol and lot.quantity == 120
    forced = LedgerPosting.objects.get(kind=PostingKind.FORCED_TRANSFER)
    assert forced.reason == "Court order 2026-17" and forced.via_portal


def test_recovery_moves_a_lost_wallets_holdings_and_frozen_amount_to_the_investors_new_wallet(
    posted: Closed, cast: Cast, second_admin: User
) -> None:
    token_admin_freeze_amount(
        offering=posted.offering,
        wallet=ALICE_0,
        quantity=30,
        frozen=True,
        reason="Pledge",
        actor=cast.admin,
        idempotency_key=_key(),
    )
    _settle(posted)
    common: dict[str, Any] = {"offering": posted.offering, "reason": "Lost device", "actor": cast.admin}
    with pytest.raises(ApplicationError, match="not a confirmed registry wallet of this investor"):
        token_admin_recovery_propose(
            investor=posted.alice,
            lost_wallet=ALICE_0,
            new_wallet=BOB,
            document=_document(),
            idempotency_key=_key(),
            **common,
        )
    with pytest.raises(ApplicationError, match="not a wallet the on-chain registry bound to this investor"):
        token_admin_recovery_propose(
            investor=posted.alice,
            lost_wallet=BOB,
            new_wallet=ALICE_1,
            document=_document(),
            idempotency_key=_key(),
            **common,
        )
    with pytest.raises(ApplicationError, match="Attach the supporting document"):
        token_admin_recovery_propose(
            investor=posted.alice,
            lost_wallet=ALICE_0,
            new_wallet=ALICE_1,
            document=None,
            idempotency_key=_key(),
            **common,
        )
    action = token_admin_recovery_propose(
        investor=posted.alice,
        lost_wallet=ALICE_0,
        new_wallet=ALICE_1,
        document=_document("id-check.pdf"),
        idempotency_key=_key(),
        **common,
    )
    assert action.approval is not None and action.quantity == 200
    approval_approve(request=action.approval, actor=second_admin)
    with pytest.raises(Conflict, match="already approved"):
        approval_approve(request=action.approval, actor=second_admin)
    _settle(posted)
    assert _done(action).state == TokenAdminState.POSTED
    assert wallet_balances(offering=posted.offering) == {ALICE_1: 200, BOB: 300}
    assert restrictions(offering=posted.offering).frozen_amounts == {ALICE_1: 30}
    assert LedgerPosting.objects.filter(kind=PostingKind.RECOVERY, to_wallet=ALICE_1, quantity=200).exists()


def test_a_forced_transfer_goes_only_to_an_eligible_holder(posted: Closed, cast: Cast) -> None:
    common: dict[str, Any] = {
        "offering": posted.offering,
        "from_wallet": BOB,
        "quantity": 10,
        "reason": "Order",
        "actor": cast.admin,
    }
    with pytest.raises(ApplicationError, match="not the wallet of any investor"):
        token_admin_forced_transfer_propose(to_wallet=STRANGER, document=_document(), idempotency_key=_key(), **common)
    with pytest.raises(ApplicationError, match="holds 300 units on the ledger: at most 300"):
        token_admin_forced_transfer_propose(
            **{**common, "quantity": 301}, to_wallet=CAROL_3, document=_document(), idempotency_key=_key()
        )
    posted.carol.kyc_status = KycStatus.EXPIRED
    posted.carol.save(update_fields=["kyc_status"])
    with pytest.raises(ApplicationError, match="not an eligible holder: Your identity verification has expired"):
        token_admin_forced_transfer_propose(to_wallet=CAROL_3, document=_document(), idempotency_key=_key(), **common)
    assert not TokenAdminAction.objects.exists()


def test_a_rejected_or_withdrawn_proposal_sends_nothing(posted: Closed, cast: Cast, second_admin: User) -> None:
    common: dict[str, Any] = {
        "offering": posted.offering,
        "from_wallet": BOB,
        "to_wallet": CAROL_3,
        "quantity": 5,
        "reason": "Order",
    }
    rejected = token_admin_forced_transfer_propose(
        document=_document(), actor=cast.admin, idempotency_key=_key(), **common
    )
    assert rejected.approval is not None
    client = _client(second_admin)
    decide = f"/issuers/{cast.issuer.slug}/token-actions/{rejected.public_id}/decide/"
    client.post(decide, {"decision": "reject", "note": "The order names another holder"})
    assert _done(rejected).state == TokenAdminState.REJECTED
    progress = token_admin_progress(action=_done(rejected))
    assert progress.failure == "Rejected: The order names another holder" and progress.finished
    withdrawn = token_admin_forced_transfer_propose(
        document=_document(), actor=cast.admin, idempotency_key=_key(), **common
    )
    assert withdrawn.approval is not None
    approval_reject(request=withdrawn.approval, actor=cast.admin)
    token_admin_actions_advance()
    assert _done(withdrawn).state == TokenAdminState.REJECTED
    assert not ChainTransaction.objects.filter(idempotency_key__startswith="token-admin:").exists()


def test_a_supporting_document_that_is_not_what_it_claims_is_refused_with_a_clear_message(
    posted: Closed, cast: Cast, private_media: Path
) -> None:
    client = _client(cast.admin)
    url = _holder_url(posted, posted.bob.public_id)
    form = {
        "operation": "forced_transfer",
        "forced_transfer-form_token": _key(),
        "forced_transfer-from_wallet": BOB,
        "forced_transfer-to_wallet": CAROL_3,
        "forced_transfer-quantity": "10",
        "forced_transfer-reason": "Court order",
        "forced_transfer-document": SimpleUploadedFile("order.pdf", b"#!/bin/sh\necho this is no PDF\n"),
    }
    response = client.post(url, form)
    assert response.status_code == 400
    assert "“order.pdf” is not a PDF, JPEG, PNG file" in response.content.decode()
    cut = SimpleUploadedFile("order.pdf", pdf_bytes()[:-40])
    response = client.post(url, {**form, "forced_transfer-form_token": _key(), "forced_transfer-document": cut})
    assert "was refused" in response.content.decode()
    assert not TokenAdminAction.objects.exists()
    assert not (private_media / "token-admin").exists()  # nothing stored for a refused upload


# --------------------------------------------------------------------------- who may act


def test_only_the_issuers_admins_administer_its_token(posted: Closed, cast: Cast) -> None:
    action = token_admin_freeze_amount(
        offering=posted.offering,
        wallet=ALICE_0,
        quantity=5,
        frozen=True,
        reason="Pledge",
        actor=cast.admin,
        idempotency_key=_key(),
    )
    slug, offering_id = cast.issuer.slug, posted.offering.public_id
    urls = [
        ("get", f"/issuers/{slug}/offerings/{offering_id}/token/"),
        ("get", _holder_url(posted, posted.alice.public_id)),
        ("post", _holder_url(posted, posted.alice.public_id)),
        ("post", f"/issuers/{slug}/offerings/{offering_id}/token/"),
        ("get", f"/issuers/{slug}/token-actions/{action.public_id}/"),
        ("get", f"/issuers/{slug}/token-actions/{action.public_id}/progress/"),
        ("post", f"/issuers/{slug}/token-actions/{action.public_id}/decide/"),
    ]
    for user in (cast.other_admin, cast.agent, cast.compliance, cast.staff, cast.investor):
        client = _client(user)
        for method, url in urls:
            assert getattr(client, method)(url, {"operation": "pause"}).status_code == 403, (user.email, url)
    # Another issuer's admin reaching for this issuer's token through its own slug finds nothing.
    other = _client(cast.other_admin).get(f"/issuers/{cast.other_issuer.slug}/offerings/{offering_id}/token/")
    assert other.status_code == 404
    for user in (cast.other_admin, cast.agent, cast.compliance):
        with pytest.raises(NotPermitted):
            token_admin_set_paused(
                offering=posted.offering, paused=True, reason="x", actor=user, idempotency_key=_key()
            )
    assert TokenAdminAction.objects.count() == 1
    assert _client(cast.admin).get(f"/issuers/{slug}/offerings/{offering_id}/token/").status_code == 200

"""Holders' transfers on a real anvil: nothing is signed for a transfer either side refuses; the holder's own wallet
signs a checked transfer and the register shows it in both portfolios as made through the portal; a custodial
transfer waits for a fresh two-factor check and is then sent once; a transaction that is not the checked transfer
is not counted; a transfer made wallet to wallet shows everywhere as made outside the portal."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from compliance.eligibility import ReasonCode
from core.mfa import totp_code, totp_enroll
from core.models import AuditEvent
from core.tests.factories import TEST_TOTP_SECRET
from investors.models import Wallet, WalletKind
from registry.models import LedgerPosting, PostingKind
from registry.tests.conftest import Closed
from tokens.models import ChainTransaction
from tokens.tests.support import WALLETS, account_new, contract_send, token_balance, transaction_send
from transfers.models import Custody, HolderTransfer, TransferState
from transfers.selectors import movements_of
from transfers.services.transfers import (
    StepUpRequired,
    TransferRefused,
    transfer_advance,
    transfer_custodial_confirm,
    transfer_instruct,
    transfer_prepare,
    transfer_submitted,
)
from transfers.tests.support import frozen_wallet, indexed

pytestmark = [pytest.mark.chain, pytest.mark.django_db]

ALICE, ALICE_2, BOB, CAROL = WALLETS[0], WALLETS[1], WALLETS[2], WALLETS[3]


def _instruct(closed: Closed, to: str, quantity: int, *, source: str = ALICE) -> HolderTransfer:
    return transfer_instruct(
        investor=closed.alice,
        offering=closed.offering,
        from_wallet=source,
        to_wallet=to,
        quantity=quantity,
        actor=closed.alice.user,
        idempotency_key=str(uuid.uuid4()),
    )


def _signed_and_sent(closed: Closed, transfer: HolderTransfer) -> str:
    """What the holder's wallet does with the prepared transaction (eth_sendTransaction from its own key)."""
    prepared = transfer_prepare(transfer=transfer, actor=closed.alice.user)
    receipt = transaction_send(closed.rpc_url, prepared.sender, prepared.token, data=prepared.data)
    assert receipt["status"] == 1
    return "0x" + bytes(receipt["transactionHash"]).hex()


def test_a_refused_transfer_is_recorded_nowhere_and_nothing_is_signed_for_it(closed: Closed) -> None:
    stranger, _ = account_new()
    rows = ChainTransaction.objects.count()
    with pytest.raises(TransferRefused) as refused:
        _instruct(closed, stranger, 50)
    check = refused.value.extra["check"]
    assert [r["code"] for r in check["reasons"]] == [ReasonCode.RECEIVER_UNKNOWN]
    assert check["token_code"] == 3 and "Receiver wallet is not verified" in check["token_message"]
    assert stranger in refused.value.message
    assert not HolderTransfer.objects.exists() and ChainTransaction.objects.count() == rows


def test_a_transfer_refused_after_it_was_checked_gets_nothing_to_sign(closed: Closed, cast) -> None:
    transfer = _instruct(closed, BOB, 50)
    assert (transfer.custody, transfer.state) == (Custody.SELF, TransferState.AWAITING_SIGNATURE)
    frozen_wallet(closed, cast.admin, BOB)  # the issuer freezes Bob's wallet before Alice signs

    with pytest.raises(TransferRefused) as refused:
        transfer_prepare(transfer=transfer, actor=closed.alice.user)
    assert [r["code"] for r in refused.value.extra["check"]["reasons"]] == [ReasonCode.RECEIVER_FROZEN]
    assert refused.value.extra["check"]["token_code"] == 7
    transfer.refresh_from_db()
    assert transfer.state == TransferState.AWAITING_SIGNATURE and transfer.tx_hash is None
    assert token_balance(closed.rpc_url, closed.token, BOB) == 300


def test_the_holders_wallet_signs_the_checked_transfer_and_both_portfolios_show_it_through_the_portal(
    closed: Closed,
) -> None:
    transfer = _instruct(closed, BOB, 50)
    tx_hash = _signed_and_sent(closed, transfer)
    shouted = "0x" + tx_hash[2:].upper()  # a wallet may report it in capitals
    transfer = transfer_submitted(transfer=transfer, actor=closed.alice.user, tx_hash=shouted)
    assert transfer.state == TransferState.SUBMITTED and transfer.tx_hash == tx_hash
    again = transfer_submitted(transfer=transfer, actor=closed.alice.user, tx_hash=tx_hash)
    assert again.pk == transfer.pk  # the same hash twice changes nothing

    transfer = transfer_advance(transfer=transfer)
    assert transfer.state == TransferState.SENT  # the chain shows the very transfer that was checked
    indexed(closed)
    transfer = transfer_advance(transfer=transfer)
    assert transfer.state == TransferState.POSTED and transfer.posted_at is not None

    posting = LedgerPosting.objects.get(transaction_hash=tx_hash)
    assert (posting.kind, posting.quantity, posting.via_portal) == (PostingKind.TRANSFER, 50, True)
    assert token_balance(closed.rpc_url, closed.token, BOB) == 350
    sent, received = movements_of(investor=closed.alice)[0], movements_of(investor=closed.bob)[0]
    assert (sent.incoming, sent.outside_portal) == (False, False)
    assert (received.incoming, received.outside_portal) == (True, False)
    actions = set(AuditEvent.objects.filter(object_id=str(transfer.pk)).values_list("action", flat=True))
    assert {"transfer.instructed", "transfer.submitted", "transfer.progressed"} <= actions


def test_a_transaction_that_is_not_the_checked_transfer_is_not_counted(closed: Closed) -> None:
    transfer = _instruct(closed, BOB, 50)
    transfer_prepare(transfer=transfer, actor=closed.alice.user)
    # The wallet sends something else (another receiver) and reports its hash.
    receipt = contract_send(closed.rpc_url, ALICE, closed.token.address, "SecurityToken", "transfer", CAROL, 50)
    other = "0x" + bytes(receipt["transactionHash"]).hex()
    transfer_submitted(transfer=transfer, actor=closed.alice.user, tx_hash=other)

    transfer = transfer_advance(transfer=transfer)
    assert transfer.state == TransferState.FAILED and "not the transfer that was checked" in transfer.failure
    indexed(closed)
    assert LedgerPosting.objects.get(transaction_hash=other).via_portal is False


def _custodial(closed: Closed) -> None:
    Wallet.objects.filter(address=ALICE).update(kind=WalletKind.CUSTODIAL, custodian_name="Harbor custody")
    totp_enroll(actor=None, user=closed.alice.user, secret=TEST_TOTP_SECRET)


def test_a_custodial_transfer_is_signed_by_the_portal_only_after_a_fresh_two_factor_check(closed: Closed) -> None:
    _custodial(closed)
    transfer = _instruct(closed, BOB, 40)
    assert (transfer.custody, transfer.state) == (Custody.CUSTODIAL, TransferState.AWAITING_CONFIRMATION)
    rows = ChainTransaction.objects.count()
    for step_up_at in (None, timezone.now() - dt.timedelta(minutes=6)):
        with pytest.raises(StepUpRequired):
            transfer_custodial_confirm(transfer=transfer, actor=closed.alice.user, step_up_at=step_up_at)
    assert ChainTransaction.objects.count() == rows

    client = Client()
    client.force_login(closed.alice.user)
    detail = reverse("investor_transfer", args=[transfer.public_id])
    asked = client.post(reverse("investor_transfer_confirm", args=[transfer.public_id]))
    assert asked.status_code == 302 and asked["Location"].startswith(reverse("mfa_reauthenticate"))
    assert ChainTransaction.objects.count() == rows  # a password session alone sends nothing

    reauthenticated = client.post(asked["Location"], {"code": totp_code(secret=TEST_TOTP_SECRET)})
    assert reauthenticated.status_code == 302 and reauthenticated["Location"] == detail
    confirmed = client.post(reverse("investor_transfer_confirm", args=[transfer.public_id]))
    assert confirmed.status_code == 302
    transfer.refresh_from_db()
    assert transfer.state == TransferState.SENT and transfer.step_up_at is not None
    tx = transfer.chain_transaction
    assert tx is not None and tx.idempotency_key == f"transfer:31337:{transfer.public_id}"
    client.post(reverse("investor_transfer_confirm", args=[transfer.public_id]))  # a second click
    assert ChainTransaction.objects.count() == rows + 1

    indexed(closed)
    transfer = transfer_advance(transfer=transfer)
    assert transfer.state == TransferState.POSTED
    assert token_balance(closed.rpc_url, closed.token, BOB) == 340
    assert transfer.chain_transaction is not None
    posting = LedgerPosting.objects.get(transaction_hash=transfer.chain_transaction.tx_hash)
    assert posting.via_portal and posting.kind == PostingKind.FORCED_TRANSFER
    assert str(transfer.public_id) in posting.reason and "instructed by the holder" in posting.reason
    assert AuditEvent.objects.filter(action="transfer.confirmed", object_id=str(transfer.pk)).exists()


def test_a_transfer_made_wallet_to_wallet_shows_as_made_outside_the_portal_everywhere(closed: Closed, cast) -> None:
    receipt = contract_send(closed.rpc_url, ALICE, closed.token.address, "SecurityToken", "transfer", CAROL, 80)
    tx_hash = "0x" + bytes(receipt["transactionHash"]).hex()
    indexed(closed)

    assert LedgerPosting.objects.get(transaction_hash=tx_hash).via_portal is False
    sent, received = movements_of(investor=closed.alice)[0], movements_of(investor=closed.carol)[0]
    assert sent.outside_portal and received.outside_portal and received.incoming

    for user in (closed.alice.user, closed.carol.user):
        client = Client()
        client.force_login(user)
        page = client.get(reverse("portfolio")).content.decode()
        assert tx_hash in page and "outside the portal" in page
    admin = Client()
    admin.force_login(cast.admin)
    holder = admin.get(
        reverse("holder_detail", args=[cast.issuer.slug, closed.offering.public_id, closed.carol.public_id.hex])
    ).content.decode()
    assert "outside the portal" in holder
    journal = admin.get(reverse("registry_journal", args=[cast.issuer.slug, closed.offering.public_id]))
    assert "outside portal" in journal.content.decode()

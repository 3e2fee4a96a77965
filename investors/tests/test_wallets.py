"""Linking wallets with Sign-In with Ethereum: only the right wallet, once, before the nonce expires."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from core.tests.factories import UserFactory
from investors.models import SiweChallenge, Wallet
from investors.siwe import message_nonce
from tokens.tests.support import DEV_ACCOUNTS, DEV_KEYS, personal_sign

pytestmark = pytest.mark.django_db

# Two of anvil's dev accounts: wallets whose keys the test holds.
ADDRESS_A, KEY_A = DEV_ACCOUNTS[1], DEV_KEYS[1]
ADDRESS_B, KEY_B = DEV_ACCOUNTS[2], DEV_KEYS[2]


@pytest.fixture
def browser():
    client = Client(HTTP_HOST="localhost")
    client.force_login(UserFactory.create())
    return client


def challenge(client: Client, address: str = ADDRESS_A, chain_id: int = 31337) -> str:
    response = client.post(
        "/api/v1/investor/wallets/challenge/",
        {"address": address, "chain_id": chain_id},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    return response.json()["message"]


def link(client: Client, message: str, signature: str):
    return client.post(
        "/api/v1/investor/wallets/link/", {"message": message, "signature": signature}, content_type="application/json"
    )


def test_the_message_is_eip4361_for_this_site_and_chain(browser) -> None:
    message = challenge(browser, ADDRESS_A.lower())
    lines = message.split("\n")
    assert lines[0] == "localhost wants you to sign in with your Ethereum account:"
    assert lines[1] == ADDRESS_A  # checksummed
    assert "URI: http://localhost/" in lines and "Version: 1" in lines and "Chain ID: 31337" in lines
    assert any(line.startswith("Expiration Time: ") for line in lines)


def test_a_wallet_signed_by_its_key_is_linked(browser) -> None:
    message = challenge(browser)
    response = link(browser, message, personal_sign(message, KEY_A))
    assert response.status_code == 201, response.content
    wallet = Wallet.objects.get()
    assert wallet.address == ADDRESS_A and wallet.kind == "signed" and wallet.siwe_message == message
    assert SiweChallenge.objects.get().used_at is not None


def test_a_signature_from_a_different_wallet_is_refused(browser) -> None:
    message = challenge(browser, ADDRESS_A)
    response = link(browser, message, personal_sign(message, KEY_B))
    assert response.status_code == 400
    assert f"made by wallet {ADDRESS_B}, not by {ADDRESS_A}" in response.json()["error"]["message"]
    assert not Wallet.objects.exists()
    assert SiweChallenge.objects.get().used_at is None


def test_a_replayed_nonce_is_refused(browser) -> None:
    message = challenge(browser)
    signature = personal_sign(message, KEY_A)
    assert link(browser, message, signature).status_code == 201
    Wallet.objects.update(removed_at=timezone.now())  # even after unlinking, the old signature is spent
    again = link(browser, message, signature)
    assert again.status_code == 400
    assert "already used once and cannot be replayed" in again.json()["error"]["message"]
    assert Wallet.objects.filter(removed_at__isnull=True).count() == 0


def test_an_expired_challenge_is_refused(browser) -> None:
    message = challenge(browser)
    SiweChallenge.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    response = link(browser, message, personal_sign(message, KEY_A))
    assert response.status_code == 400 and "expired" in response.json()["error"]["message"]
    assert not Wallet.objects.exists()


def test_an_altered_message_or_someone_elses_nonce_is_refused(browser) -> None:
    message = challenge(browser)
    altered = message.replace("Chain ID: 31337", "Chain ID: 1")
    response = link(browser, altered, personal_sign(altered, KEY_A))
    assert response.status_code == 400 and "not the one the portal issued" in response.json()["error"]["message"]
    other = Client(HTTP_HOST="localhost")
    other.force_login(UserFactory.create())
    stolen = link(other, message, personal_sign(message, KEY_A))
    assert stolen.status_code == 400 and "unknown" in stolen.json()["error"]["message"]
    assert not Wallet.objects.exists()


def test_bad_addresses_chains_and_signatures_get_clear_answers(browser) -> None:
    bad = browser.post(
        "/api/v1/investor/wallets/challenge/", {"address": "0x1234", "chain_id": 31337}, content_type="application/json"
    )
    assert bad.status_code == 400 and "not an Ethereum address" in bad.json()["error"]["message"]
    wrong_checksum = ADDRESS_A[:2] + ADDRESS_A[2:].swapcase()
    bad = browser.post(
        "/api/v1/investor/wallets/challenge/",
        {"address": wrong_checksum, "chain_id": 31337},
        content_type="application/json",
    )
    assert bad.status_code == 400 and "checksum" in bad.json()["error"]["message"]
    wrong_chain = browser.post(
        "/api/v1/investor/wallets/challenge/", {"address": ADDRESS_A, "chain_id": 1}, content_type="application/json"
    )
    assert wrong_chain.status_code == 400 and "switch it to chain 31337" in wrong_chain.json()["error"]["message"]
    message = challenge(browser)
    garbled = link(browser, message, "0x" + "00" * 65)
    assert garbled.status_code == 400 and "not valid" in garbled.json()["error"]["message"]
    assert message_nonce("hello") is None


def test_a_wallet_belongs_to_one_investor(browser) -> None:
    message = challenge(browser)
    assert link(browser, message, personal_sign(message, KEY_A)).status_code == 201
    other = Client(HTTP_HOST="localhost")
    other.force_login(UserFactory.create())
    taken = other.post(
        "/api/v1/investor/wallets/challenge/",
        {"address": ADDRESS_A, "chain_id": 31337},
        content_type="application/json",
    )
    assert taken.status_code == 409 and "another investor" in taken.json()["error"]["message"]


def _refused(client: Client, message: str, key: str = KEY_A) -> str:
    response = link(client, message, personal_sign(message, key))
    assert response.status_code == 400, response.content
    return str(response.json()["error"]["message"])


def test_a_message_for_another_site_is_refused(browser: Client) -> None:
    message = challenge(browser)
    phished = message.replace("localhost wants you", "evil.example wants you").replace(
        "URI: http://localhost/", "URI: https://evil.example/"
    )
    assert "not the one the portal issued" in _refused(browser, phished)
    assert not Wallet.objects.exists() and SiweChallenge.objects.get().used_at is None


def test_a_message_with_a_nonce_the_portal_never_issued_is_refused(browser: Client) -> None:
    message = challenge(browser)
    nonce = message_nonce(message)
    assert nonce is not None
    assert "unknown" in _refused(browser, message.replace(f"Nonce: {nonce}", "Nonce: 0123456789abcdef01234567"))
    assert "not a sign-in message issued by this portal" in _refused(browser, message.replace(f"Nonce: {nonce}\n", ""))
    assert "not the one the portal issued" in _refused(browser, "Please sign: " + message)
    assert "not a sign-in message issued by this portal" in _refused(browser, f"Sign in to Tessera, nonce {nonce}")
    assert not Wallet.objects.exists()


def test_a_message_whose_address_lost_its_checksum_is_refused(browser: Client) -> None:
    message = challenge(browser)
    broken = ADDRESS_A[:2] + ADDRESS_A[2:].swapcase()
    assert "not the one the portal issued" in _refused(browser, message.replace(ADDRESS_A, broken))
    assert "not the one the portal issued" in _refused(browser, message.replace(ADDRESS_A, ADDRESS_A.lower()))
    assert not Wallet.objects.exists()


def test_a_message_past_its_expiration_time_is_refused_even_when_signed_in_time(browser: Client) -> None:
    message = challenge(browser)
    signature = personal_sign(message, KEY_A)
    SiweChallenge.objects.update(expires_at=timezone.now())
    response = link(browser, message, signature)
    assert response.status_code == 400 and "expired" in response.json()["error"]["message"]
    assert not Wallet.objects.exists() and SiweChallenge.objects.get().used_at is None

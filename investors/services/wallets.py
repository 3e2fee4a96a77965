"""Wallets: linked by an EIP-4361 signature in the browser, or recorded by platform compliance as a custodian's."""

from __future__ import annotations

import datetime as dt
import secrets

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.audit import audit_record
from core.errors import ApplicationError, Conflict, NotPermitted
from core.models import User
from investors.models import InvestorProfile, SiweChallenge, Wallet, WalletKind
from investors.services.profiles import mark_step_saved
from investors.services.verification import investor_registry_refresh
from investors.siwe import SignatureInvalid, SiweMessage, checksum_address, message_nonce, recover_signer


def _address(value: str) -> str:
    try:
        return checksum_address(value)
    except ValueError as exc:
        raise ApplicationError(f"“{value}” is not an Ethereum address: {exc}.", code="invalid_address") from exc


def _ensure_unclaimed(address: str, investor: InvestorProfile) -> None:
    holder = Wallet.objects.filter(address=address, removed_at__isnull=True).first()
    if holder is None:
        return
    if holder.investor_id == investor.pk:
        raise Conflict("This wallet is already linked to your account.", code="wallet_linked")
    raise Conflict("This wallet is linked to another investor account.", code="wallet_taken")


@transaction.atomic
def wallet_challenge_issue(
    *, investor: InvestorProfile, actor: User, address: str, chain_id: int, domain: str, uri: str
) -> SiweChallenge:
    """A fresh single-use message for the browser wallet to sign."""
    address = _address(address)
    if chain_id != settings.CHAIN_ID:
        raise ApplicationError(
            f"Your wallet is on chain {chain_id}; switch it to chain {settings.CHAIN_ID} and try again.",
            code="wrong_chain",
        )
    _ensure_unclaimed(address, investor)
    now = timezone.now().replace(microsecond=0)
    message = SiweMessage(
        domain=domain,
        address=address,
        uri=uri,
        chain_id=chain_id,
        nonce=secrets.token_hex(12),
        issued_at=now,
        expiration_time=now + dt.timedelta(seconds=settings.SIWE_NONCE_TTL_SECONDS),
    )
    return SiweChallenge.objects.create(
        nonce=message.nonce,
        user=actor,
        address=address,
        chain_id=chain_id,
        message=message.text(),
        issued_at=message.issued_at,
        expires_at=message.expiration_time,
    )


@transaction.atomic
def wallet_link_by_signature(*, investor: InvestorProfile, actor: User, message: str, signature: str) -> Wallet:
    """Check the signed challenge and link its wallet. A failed check consumes and changes nothing."""
    nonce = message_nonce(message or "")
    if nonce is None:
        raise ApplicationError("That is not a sign-in message issued by this portal.", code="siwe_malformed")
    challenge = SiweChallenge.objects.select_for_update().filter(nonce=nonce).first()
    if challenge is None or challenge.user_id != actor.pk:
        raise ApplicationError("This sign-in request is unknown. Start the wallet link again.", code="siwe_unknown")
    if challenge.used_at is not None:
        raise ApplicationError(
            "This signed message was already used once and cannot be replayed. Start the wallet link again.",
            code="siwe_replayed",
        )
    if challenge.expires_at <= timezone.now():
        raise ApplicationError("The sign-in request expired. Start the wallet link again.", code="siwe_expired")
    if message != challenge.message:
        raise ApplicationError("The signed message is not the one the portal issued.", code="siwe_altered")
    try:
        signer = recover_signer(text=message, signature=signature)
    except SignatureInvalid as exc:
        raise ApplicationError(f"The signature is not valid: {exc}.", code="signature_invalid") from exc
    if signer != challenge.address:
        raise ApplicationError(
            f"The signature was made by wallet {signer}, not by {challenge.address}. "
            "Sign with the wallet you are linking.",
            code="signature_wrong_wallet",
        )
    investor = InvestorProfile.objects.select_for_update().get(pk=investor.pk)
    _ensure_unclaimed(challenge.address, investor)
    challenge.used_at = timezone.now()
    challenge.save(update_fields=["used_at"])
    wallet = Wallet.objects.create(
        investor=investor,
        address=challenge.address,
        kind=WalletKind.SIGNED,
        siwe_message=message,
        siwe_signature=signature.strip(),
        linked_by=actor,
    )
    mark_step_saved(investor, "wallets", save=True)
    audit_record(
        actor=actor,
        action="wallet.linked",
        obj=wallet,
        after={"investor": investor.reference, "address": wallet.address, "kind": wallet.kind, "nonce": nonce},
    )
    investor_registry_refresh(investor=investor, actor=actor)
    return wallet


@transaction.atomic
def wallet_custodial_record(*, investor: InvestorProfile, actor: User, address: str, custodian_name: str) -> Wallet:
    """Platform compliance records an address that a custodian controls for this investor."""
    address = _address(address)
    custodian_name = custodian_name.strip()
    if not custodian_name:
        raise ApplicationError("Name the custodian that controls the wallet.", code="custodian_missing")
    investor = InvestorProfile.objects.select_for_update().get(pk=investor.pk)
    _ensure_unclaimed(address, investor)
    wallet = Wallet.objects.create(
        investor=investor,
        address=address,
        kind=WalletKind.CUSTODIAL,
        custodian_name=custodian_name,
        linked_by=actor,
    )
    audit_record(
        actor=actor,
        action="wallet.custodial_recorded",
        obj=wallet,
        after={"investor": investor.reference, "address": address, "custodian": custodian_name},
    )
    investor_registry_refresh(investor=investor, actor=actor)
    return wallet


@transaction.atomic
def wallet_remove(*, wallet: Wallet, actor: User) -> None:
    wallet = Wallet.objects.select_for_update().get(pk=wallet.pk)
    if wallet.removed_at is not None:
        return
    if wallet.kind == WalletKind.CUSTODIAL and wallet.investor.user_id == actor.pk:
        raise NotPermitted("A custodial wallet is removed by platform compliance.")
    wallet.removed_at = timezone.now()
    wallet.save(update_fields=["removed_at"])
    audit_record(
        actor=actor,
        action="wallet.removed",
        obj=wallet,
        before={"investor": wallet.investor.reference, "address": wallet.address, "kind": wallet.kind},
    )
    investor_registry_refresh(investor=wallet.investor, actor=actor)

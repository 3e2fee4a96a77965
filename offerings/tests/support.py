"""Builders for offerings tests: verified investors with registered wallets, offerings with documents."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from eth_utils import keccak, to_checksum_address

from compliance.exemptions import Exemption
from core.models import Issuer, User
from core.tests.factories import UserFactory
from investors.models import (
    AccreditationClaim,
    AccreditationMethod,
    AccreditationStatus,
    InvestorKind,
    InvestorProfile,
    KycStatus,
    ScreeningStatus,
    Wallet,
    WalletKind,
)
from offerings.models import DocumentKind, Offering
from offerings.services.documents import document_upload
from offerings.services.offerings import OfferingInput, offering_create
from tokens.models import ChainTransaction, RegistryInvestor, RegistryWallet, TxStatus

_counter = itertools.count(1)


def pdf(text: str = "terms") -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
        b"% " + text.encode() + b"\ntrailer<</Root 1 0 R>>\n%%EOF\n"
    )


def wallet_address(n: int) -> str:
    return to_checksum_address(keccak(text=f"offerings-test-wallet-{n}")[12:])


def registered(investor: InvestorProfile, address: str, *, confirmed: bool = True) -> None:
    """What the chain pipeline records once the registry holds the wallet (without a chain)."""
    n = next(_counter)
    tx = ChainTransaction.objects.create(
        idempotency_key=f"test-registry-{investor.reference}-{n}",
        purpose="register",
        chain_id=settings.CHAIN_ID,
        sender="0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
        data=b"",
        status=TxStatus.CONFIRMED if confirmed else TxStatus.PENDING,
    )
    reg, _ = RegistryInvestor.objects.get_or_create(
        chain_id=settings.CHAIN_ID,
        investor_ref=investor.reference,
        defaults={"investor_id": "0x" + "00" * 32, "country": 840, "flags": 1, "expiry": 0, "registered": True},
    )
    RegistryWallet.objects.create(investor=reg, address=address, active=True, transaction=tx)


def verified_investor(
    *,
    user: User | None = None,
    country: str = "US",
    accreditation: str | None = None,
    kyc: str = KycStatus.APPROVED,
    screening: str = ScreeningStatus.CLEAR,
    wallet: str | None = "auto",
    entity: bool = False,
    register: bool = True,
    name: str = "",
) -> InvestorProfile:
    """An investor as onboarding leaves them when approved (fields set directly: onboarding is tested elsewhere)."""
    user = user or UserFactory()
    n = next(_counter)
    investor = InvestorProfile.objects.create(
        user=user,
        kind=InvestorKind.ENTITY if entity else InvestorKind.INDIVIDUAL,
        legal_name=name or f"Investor {n}",
        country=country,
        citizenship=country,
        formation_country=country if entity else "",
        kyc_status=kyc,
        kyc_expires_at=timezone.now() + dt.timedelta(days=365),
        screening_status=screening,
    )
    if accreditation:
        AccreditationClaim.objects.create(
            investor=investor,
            method=AccreditationMethod.NET_WORTH
            if accreditation == AccreditationStatus.VERIFIED
            else AccreditationMethod.SELF_CERTIFICATION,
            status=accreditation,
            expires_at=timezone.now() + dt.timedelta(days=90),
        )
    if wallet:
        address = wallet_address(n) if wallet == "auto" else wallet
        Wallet.objects.create(investor=investor, address=address, kind=WalletKind.SIGNED, linked_by=user)
        if register:
            registered(investor, address)
    return investor


def offering_input(**overrides: Any) -> OfferingInput:
    now = timezone.now()
    values: dict[str, Any] = {
        "title": "Harbor Street Class A",
        "security_type": "equity",
        "exemption": Exemption.REG_D_506C,
        "currency": "USD",
        "price_minor": 10_00,
        "min_investment_minor": 1_000_00,
        "max_investment_minor": None,
        "soft_cap_minor": 5_000_00,
        "hard_cap_minor": 100_000_00,
        "opens_at": now - dt.timedelta(days=30),
        "closes_at": now + dt.timedelta(days=30),
        "token_name": "Harbor Street Class A",
        "token_symbol": "HSCA",
        "allowed_countries": (),
        "blocked_countries": (),
        "rules": None,
    }
    values.update(overrides)
    return OfferingInput(**values)


def offering_draft(issuer: Issuer, actor: User, **overrides: Any) -> Offering:
    offering = offering_create(issuer=issuer, actor=actor, data=offering_input(**overrides))
    document_upload(
        offering=offering,
        actor=actor,
        kind=DocumentKind.SUBSCRIPTION_AGREEMENT,
        title="Subscription agreement",
        upload=SimpleUploadedFile("agreement.pdf", pdf("agreement"), "application/pdf"),
    )
    document_upload(
        offering=offering,
        actor=actor,
        kind=DocumentKind.PPM,
        title="Private placement memorandum",
        upload=SimpleUploadedFile("ppm.pdf", pdf("ppm"), "application/pdf"),
    )
    return offering


def offering_open(issuer: Issuer, actor: User, **overrides: Any) -> Offering:
    """Published without a chain: the token deployment is recorded as the pipeline would."""
    from tokens.models import ContractDeployment, ContractKind

    offering = offering_draft(issuer, actor, **overrides)
    ContractDeployment.objects.get_or_create(
        chain_id=settings.CHAIN_ID,
        kind=ContractKind.REGISTRY,
        owner_ref="portal",
        defaults={"name": "registry", "address": "0x5FbDB2315678afecb367f032d93F642f64180aa3"},
    )
    from offerings.services.offerings import offering_publish

    return offering_publish(offering=offering, actor=actor)

"""Building investors in tests, the one place for it: through the onboarding services
(`investor_started`, `onboarded_individual`) or as rows as an approved onboarding leaves them
(`verified_investor`). Real files of each accepted type come from core/tests/files.py."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from core.models import User
from core.tests.factories import UserFactory
from core.tests.files import pdf_bytes, png_bytes
from investors.models import (
    AccreditationClaim,
    AccreditationMethod,
    AccreditationStatus,
    DocumentKind,
    HolderRecordCause,
    InvestorKind,
    InvestorProfile,
    KycStatus,
    ScreeningStatus,
    Wallet,
    WalletKind,
)
from investors.services.documents import document_upload
from investors.services.holder_records import holder_record_update
from investors.services.profiles import investor_details_save, investor_kind_set, investor_profile_ensure
from investors.services.tax import tax_form_sign
from tokens.tests.support import address_for, registry_wallet_recorded

_counter = itertools.count(1)


def upload(name: str, content: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


@dataclass
class Person:
    name: str = "Alice Marchetti"
    dob: dt.date = dt.date(1980, 5, 17)
    country: str = "US"
    citizenship: str = "US"
    tax_id_kind: str = "ssn"
    tax_id: str = "123-45-6789"
    tax_id_country: str = ""


def individual_details(person: Person) -> dict[str, object]:
    return {
        "legal_name": person.name,
        "date_of_birth": person.dob,
        "address_line1": "12 Harbor Street",
        "city": "Boston",
        "region": "MA",
        "postal_code": "02110",
        "country": person.country,
        "citizenship": person.citizenship,
        "phone": "+1 617 555 0100",
        "tax_id_kind": person.tax_id_kind,
        "tax_id": person.tax_id,
        "tax_id_country": person.tax_id_country,
    }


def investor_started(user: User | None = None, *, kind: str = "individual") -> InvestorProfile:
    """An investor who has only chosen whether they invest as an individual or an entity."""
    user = user or UserFactory.create()
    return investor_kind_set(investor=investor_profile_ensure(user=user), actor=user, kind=kind)


def onboarded_individual(user: User | None = None, person: Person | None = None) -> InvestorProfile:
    """An individual who finished every required step (not yet submitted)."""
    person = person or Person()
    investor = investor_started(user)
    user = investor.user
    investor = investor_details_save(investor=investor, actor=user, details=individual_details(person))
    in_five_years = timezone.localdate() + dt.timedelta(days=5 * 365)
    document_upload(
        investor=investor,
        actor=user,
        kind=DocumentKind.PASSPORT,
        upload=upload("passport.png", png_bytes(), "image/png"),
        document_number="X1234567",
        issuing_country=person.citizenship,
        expires_on=in_five_years,
    )
    document_upload(
        investor=investor,
        actor=user,
        kind=DocumentKind.PROOF_OF_ADDRESS,
        upload=upload("utility-bill.pdf", pdf_bytes(), "application/pdf"),
    )
    us = person.country == "US" or person.citizenship == "US"
    tax_form_sign(
        investor=investor,
        actor=user,
        kind="w9" if us else "w8ben",
        signer_name=person.name,
        signed_on=timezone.localdate(),
        tin_certified=us,
    )
    investor.refresh_from_db()
    return investor


def verified_investor(
    *,
    user: User | None = None,
    name: str = "",
    country: str = "US",
    citizenship: str | None = None,
    date_of_birth: dt.date | None = None,
    entity: bool = False,
    kyc: str = KycStatus.APPROVED,
    kyc_expires_in: dt.timedelta | None = dt.timedelta(days=365),
    screening: str = ScreeningStatus.CLEAR,
    accreditation: str | None = None,
    accreditation_expires_in: dt.timedelta = dt.timedelta(days=90),
    wallet: str | None = "auto",
    register: bool = True,
) -> InvestorProfile:
    """An investor as onboarding leaves them when approved (rows written directly: onboarding is
    tested through the services). `citizenship` defaults to `country`; `kyc_expires_in=None` leaves
    no expiry; `wallet="auto"` links a fresh address, `None` none; `register` records the wallet as
    confirmed in the registry, as the chain pipeline would."""
    user = user or UserFactory.create()
    n = next(_counter)
    now = timezone.now()
    investor = InvestorProfile.objects.create(
        user=user,
        kind=InvestorKind.ENTITY if entity else InvestorKind.INDIVIDUAL,
        legal_name=name or f"Investor {n}",
        **({"date_of_birth": date_of_birth} if date_of_birth else {}),
        country=country,
        citizenship=country if citizenship is None else citizenship,
        formation_country=country if entity else "",
        kyc_status=kyc,
        kyc_expires_at=None if kyc_expires_in is None else now + kyc_expires_in,
        screening_status=screening,
    )
    if accreditation:
        AccreditationClaim.objects.create(
            investor=investor,
            method=AccreditationMethod.NET_WORTH
            if accreditation == AccreditationStatus.VERIFIED
            else AccreditationMethod.SELF_CERTIFICATION,
            status=accreditation,
            expires_at=now + accreditation_expires_in,
        )
    if wallet:
        address = address_for(f"investors-test-wallet-{n}") if wallet == "auto" else wallet
        Wallet.objects.create(investor=investor, address=address, kind=WalletKind.SIGNED, linked_by=user)
        if register:
            registry_wallet_recorded(investor.reference, address)
    # As the onboarding services do: the holder's registration is on record from the start (17Ad-10(f)).
    holder_record_update(investor=investor, cause=HolderRecordCause.OPENED)
    return investor

"""Test helpers: real files of each accepted type, real signatures, and investors built through the services."""

from __future__ import annotations

import datetime as dt
import struct
import zlib
from dataclasses import dataclass

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from eth_account import Account
from eth_account.messages import encode_defunct

from core.models import User
from investors.models import DocumentKind, InvestorProfile
from investors.services.documents import document_upload
from investors.services.profiles import investor_details_save, investor_kind_set, investor_profile_ensure
from investors.services.tax import tax_form_sign
from tokens.models import ContractDeployment, ContractKind

# anvil's well-known development keys: public, worthless outside a local chain.
KEY_A = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
KEY_B = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"
ADDRESS_A = Account.from_key(KEY_A).address
ADDRESS_B = Account.from_key(KEY_B).address


def png_bytes() -> bytes:
    """A real 2×2 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\x2a\x6f\x97" * 2 for _ in range(2))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def pdf_bytes() -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
        b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )


def jpeg_bytes() -> bytes:
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"


def upload(name: str, content: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def sign(message: str, key: str) -> str:
    return "0x" + Account.sign_message(encode_defunct(text=message), private_key=key).signature.hex().removeprefix("0x")


def registry_deployed() -> ContractDeployment:
    """The portal registry as the chain pipeline records it once deployed."""
    return ContractDeployment.objects.get_or_create(
        chain_id=settings.CHAIN_ID,
        kind=ContractKind.REGISTRY,
        owner_ref="portal",
        defaults={"name": "Tessera investor registry", "address": "0x5FbDB2315678afecb367f032d93F642f64180aa3"},
    )[0]


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


def onboarded_individual(user: User, person: Person | None = None) -> InvestorProfile:
    """An individual who finished every required step (not yet submitted)."""
    person = person or Person()
    investor = investor_profile_ensure(user=user)
    investor = investor_kind_set(investor=investor, actor=user, kind="individual")
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

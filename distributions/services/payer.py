"""The issuer as the payer on the IRS information returns of its distributions: its EIN and its address.

1099-DIV and 1099-INT carry the payer's name, address and TIN; 1042-S the withholding agent's EIN (box 12a),
name and address (boxes 12d-12i). Instructions for Forms 1099-DIV and 1042-S; REGULATORY.md, "Tax on
distributions (US)".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import transaction

from core.audit import audit_record
from core.errors import ApplicationError
from core.models import Issuer, User

_EIN = re.compile(r"^\d{9}$")
FIELDS = ("tax_id", "address_line1", "address_line2", "city", "region", "postal_code")


@dataclass(frozen=True)
class PayerInput:
    tax_id: str
    address_line1: str
    address_line2: str
    city: str
    region: str
    postal_code: str


def ein_format(value: str) -> str:
    """An EIN as printed on the forms, XX-XXXXXXX; '' for none."""
    return f"{value[:2]}-{value[2:]}" if value else ""


def _clean(value: str, limit: int) -> str:
    return " ".join((value or "").split())[:limit]


@transaction.atomic
def issuer_payer_set(*, issuer: Issuer, actor: User, data: PayerInput) -> Issuer:
    """Record the EIN and address the issuer's information returns name it by; audited with the old values."""
    locked = Issuer.objects.select_for_update().get(pk=issuer.pk)
    tin = re.sub(r"[\s\-]", "", data.tax_id or "")
    if tin and not _EIN.match(tin):
        raise ApplicationError(
            "An EIN has nine digits, as 12-3456789.", code="invalid_tax_id", extra={"field": "tax_id"}
        )
    values = {
        "tax_id": tin,
        "address_line1": _clean(data.address_line1, 200),
        "address_line2": _clean(data.address_line2, 200),
        "city": _clean(data.city, 100),
        "region": _clean(data.region, 100),
        "postal_code": _clean(data.postal_code, 20),
    }
    if any(values[f] for f in ("address_line2", "city", "region", "postal_code")) and not values["address_line1"]:
        raise ApplicationError(
            "Enter the street address too.", code="address_incomplete", extra={"field": "address_line1"}
        )
    if values["address_line1"] and not values["city"]:
        raise ApplicationError("Enter the city or town.", code="address_incomplete", extra={"field": "city"})
    before = {f: getattr(locked, f) for f in FIELDS}
    if before == values:
        return locked
    for name, value in values.items():
        setattr(locked, name, value)
    locked.save(update_fields=list(FIELDS))
    audit_record(actor=actor, action="issuer.payer_details_set", obj=locked, issuer=locked, before=before, after=values)
    return locked

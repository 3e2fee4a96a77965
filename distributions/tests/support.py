"""Building distributions in tests: a second admin, tax forms as onboarding leaves them, and inputs."""

from __future__ import annotations

import datetime as dt
from typing import Any

from core.models import Issuer, Role, User
from core.tests.factories import MembershipFactory
from distributions.services.declaring import DistributionInput
from investors.models import InvestorProfile, TaxForm, TaxFormKind
from investors.services.tax import tax_form_expiry


def second_admin(issuer: Issuer, email: str = "second@harbor.example") -> User:
    return MembershipFactory.create(issuer=issuer, role=Role.ISSUER_ADMIN, user__email=email).user


def w9(investor: InvestorProfile, *, certified: bool = True, exempt_from_backup: bool = True) -> TaxForm:
    return TaxForm.objects.create(
        investor=investor,
        kind=TaxFormKind.W9,
        signer_name=investor.legal_name,
        signed_on=dt.date(2026, 1, 5),
        tin_certified=certified,
        not_subject_to_backup_withholding=exempt_from_backup,
    )


def w8(investor: InvestorProfile, *, signed_on: dt.date, treaty_rate_bps: int | None = None) -> TaxForm:
    kind = TaxFormKind.W8BENE if investor.is_entity else TaxFormKind.W8BEN
    return TaxForm.objects.create(
        investor=investor,
        kind=kind,
        signer_name=investor.legal_name,
        signed_on=signed_on,
        expires_on=tax_form_expiry(kind=kind, signed_on=signed_on),
        treaty_country=investor.country if treaty_rate_bps is not None else "",
        treaty_article="Article 10" if treaty_rate_bps is not None else "",
        treaty_rate_bps=treaty_rate_bps,
    )


def declaration(*, record_at: dt.datetime, **overrides: Any) -> DistributionInput:
    values: dict[str, Any] = {
        "kind": "dividend",
        "amount_basis": "total",
        "amount_minor": 1_000_000_01,
        "currency": "USD",
        "record_date": record_at.date(),
        "payment_date": record_at.date() + dt.timedelta(days=14),
        "payment_method": "bank_file",
        "record_at": record_at,
    }
    values.update(overrides)
    return DistributionInput(**values)

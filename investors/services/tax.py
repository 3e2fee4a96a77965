"""W-9 and W-8BEN / W-8BEN-E: which form applies, what it claims, and when it expires."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.audit import audit_record
from core.countries import UNITED_STATES
from core.errors import ApplicationError
from core.models import User
from investors.models import Chapter4Status, InvestorProfile, TaxForm, TaxFormKind
from investors.services.holder_records import holder_record_update
from investors.services.profiles import US_TAX_ID_KINDS, mark_step_saved, normalise_tax_id, validate_country

# 26 USC 1441: the statutory rate a treaty can only lower; a claim above it is a mistake.
STATUTORY_WITHHOLDING_BPS = 3000
# Treas. Reg. 1.1441-1(e)(4)(ii): a W-8 stays valid to the end of the third calendar year after signing.
W8_VALID_CALENDAR_YEARS = 3


def tax_form_expiry(*, kind: str, signed_on: dt.date) -> dt.date | None:
    if kind == TaxFormKind.W9:
        return None  # a W-9 has no expiry; a change of circumstances calls for a new one
    return dt.date(signed_on.year + W8_VALID_CALENDAR_YEARS, 12, 31)


def tax_form_kind_for(investor: InvestorProfile) -> str:
    if investor.is_us_taxpayer:
        return TaxFormKind.W9
    return TaxFormKind.W8BENE if investor.is_entity else TaxFormKind.W8BEN


@transaction.atomic
def tax_form_sign(
    *,
    investor: InvestorProfile,
    actor: User,
    kind: str,
    signer_name: str,
    signed_on: dt.date,
    tin_certified: bool = False,
    not_subject_to_backup_withholding: bool = False,
    foreign_tin: str = "",
    treaty_country: str = "",
    treaty_article: str = "",
    treaty_rate_bps: int | None = None,
    chapter_4_status: str = "",
) -> TaxForm:
    investor = InvestorProfile.objects.select_for_update().get(pk=investor.pk)
    if not investor.country or not investor.tax_id_kind:
        raise ApplicationError("Fill in your identification details before the tax form.", code="details_missing")
    if kind not in TaxFormKind.values:
        raise ApplicationError("Choose a tax form.", code="tax_form_kind")
    expected = tax_form_kind_for(investor)
    if kind != expected:
        raise ApplicationError(
            f"From your details, the form for you is {TaxFormKind(expected).label}.", code="wrong_tax_form"
        )
    signer_name = signer_name.strip()
    if len(signer_name) < 2:
        raise ApplicationError("Type your full name as your signature.", code="signature_missing")
    today = timezone.localdate()
    if signed_on > today:
        raise ApplicationError("The signature date cannot be in the future.", code="signed_in_future")
    expires_on = tax_form_expiry(kind=kind, signed_on=signed_on)
    if expires_on is not None and expires_on < today:
        raise ApplicationError("A form signed on that date has already expired; sign a new one.", code="expired")
    if (today - signed_on).days > settings.ACCREDITATION_EVIDENCE_MAX_AGE_DAYS:
        raise ApplicationError("Sign the form now (the date may be at most three months ago).", code="signed_too_early")

    fields: dict[str, object] = {}
    if kind == TaxFormKind.W9:
        # Form W-9 Part II: the payee certifies the TIN, and that no backup withholding notice applies.
        if investor.tax_id_kind not in US_TAX_ID_KINDS:
            raise ApplicationError("A W-9 needs your US taxpayer number (SSN, ITIN or EIN).", code="tin_missing")
        if not tin_certified:
            raise ApplicationError("Certify that the taxpayer number shown is correct.", code="tin_not_certified")
        fields.update(tin_certified=True, not_subject_to_backup_withholding=not_subject_to_backup_withholding)
    else:
        if kind == TaxFormKind.W8BENE:
            # Part I, line 5: the entity's FATCA status, which the 1042-S reports (box 13g).
            if chapter_4_status not in Chapter4Status.values:
                raise ApplicationError(
                    "Choose your entity's chapter 4 (FATCA) status, as on line 5 of Form W-8BEN-E.",
                    code="chapter_4_status",
                )
            fields["chapter_4_status"] = chapter_4_status
        if foreign_tin:
            fields["foreign_tin"] = normalise_tax_id(kind="foreign_tin", value=foreign_tin)
        if treaty_country or treaty_rate_bps is not None:
            country = validate_country(treaty_country, label="treaty country")
            if country == UNITED_STATES:
                raise ApplicationError("The treaty country is your country of residence, not the US.", code="treaty")
            if treaty_rate_bps is None or not 0 <= treaty_rate_bps <= STATUTORY_WITHHOLDING_BPS:
                raise ApplicationError("A treaty rate is between 0% and 30%.", code="treaty_rate")
            if not treaty_article.strip():
                raise ApplicationError("Name the treaty article you rely on (e.g. Article 10).", code="treaty_article")
            if country != investor.country:
                raise ApplicationError(
                    "Treaty benefits are claimed for your country of residence.", code="treaty_country_mismatch"
                )
            fields.update(
                treaty_country=country, treaty_article=treaty_article.strip(), treaty_rate_bps=treaty_rate_bps
            )

    now = timezone.now()
    superseded = list(
        investor.tax_forms.select_for_update().filter(superseded_at__isnull=True).values_list("pk", flat=True)
    )
    TaxForm.objects.filter(pk__in=superseded).update(superseded_at=now)
    form = TaxForm.objects.create(
        investor=investor, kind=kind, signer_name=signer_name, signed_on=signed_on, expires_on=expires_on, **fields
    )
    mark_step_saved(investor, "tax", save=True)
    audit_record(
        actor=actor,
        action="tax_form.signed",
        obj=form,
        after={
            "investor": investor.reference,
            "kind": kind,
            "signed_on": signed_on,
            "expires_on": expires_on,
            "treaty_country": fields.get("treaty_country", ""),
            "treaty_rate_bps": fields.get("treaty_rate_bps"),
            "chapter_4_status": fields.get("chapter_4_status", ""),
            "superseded": superseded,
        },
    )
    holder_record_update(investor=investor)
    return form

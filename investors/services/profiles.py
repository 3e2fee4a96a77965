"""The investor's own record: kind, identity details, and an entity's owners and controlling person."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.audit import audit_record
from core.countries import UNITED_STATES, country_code, country_name, is_country
from core.errors import ApplicationError, NotPermitted
from core.models import User
from investors.models import (
    BeneficialOwner,
    HolderRecordCause,
    InvestorKind,
    InvestorProfile,
    KycStatus,
    OwnerRole,
    TaxIdKind,
)
from investors.services.holder_records import holder_record_update

# The investor may change what the reviewers see only before review or when asked for more.
EDITABLE_KYC_STATES = frozenset({KycStatus.NOT_SUBMITTED, KycStatus.MORE_INFO, KycStatus.EXPIRED})
# 31 CFR 1010.230(d)(1): beneficial owners are those holding 25% or more of the equity.
BENEFICIAL_OWNER_MIN_BPS = 2500
BPS_WHOLE = 10_000

US_TAX_ID_KINDS = frozenset({TaxIdKind.SSN, TaxIdKind.ITIN, TaxIdKind.EIN})
_US_TIN = re.compile(r"^\d{9}$")
_FOREIGN_ID = re.compile(r"^[A-Z0-9]{4,30}$")
_PHONE = re.compile(r"^\+?[0-9 ()\-.]{7,24}$")

DETAIL_FIELDS = (
    "legal_name",
    "date_of_birth",
    "address_line1",
    "address_line2",
    "city",
    "region",
    "postal_code",
    "country",
    "citizenship",
    "phone",
    "tax_id",
    "tax_id_kind",
    "tax_id_country",
    "entity_type",
    "registration_number",
    "formation_country",
)
# Encrypted or identifying values never go into the audit chain; only the fact that they changed.
SECRET_FIELDS = frozenset({"date_of_birth", "tax_id"})


def ensure_editable(investor: InvestorProfile) -> None:
    if investor.kyc_status not in EDITABLE_KYC_STATES:
        raise NotPermitted(
            f"Your details are {investor.get_kyc_status_display().lower()} and can no longer be changed here. "
            "Write to the compliance team if something is wrong.",
            code="profile_locked",
        )


def mark_step_saved(investor: InvestorProfile, step: str, *, save: bool = False) -> None:
    """Record that the investor saved an onboarding step (the progress bar reads it).

    Without `save` the caller writes `steps_saved` together with the fields it changed; with it the
    marker is written now, and only if the step was not marked before.
    """
    if step in investor.steps_saved:
        return
    investor.steps_saved = [*investor.steps_saved, step]
    if save:
        investor.save(update_fields=["steps_saved", "updated_at"])


def validate_country(value: str, *, label: str) -> str:
    code = country_code(value)
    if not is_country(code):
        raise ApplicationError(
            f"“{code or '(empty)'}” is not a country code we know ({label}).", code="unknown_country"
        )
    return code


def validate_birth_date(value: dt.date | None, *, label: str = "Date of birth") -> dt.date:
    if value is None:
        raise ApplicationError(f"{label} is required.", code="missing_birth_date")
    today = timezone.localdate()
    if value > today:
        raise ApplicationError(f"{label} cannot be in the future.", code="birth_date_in_future")
    adult = settings.INVESTOR_MINIMUM_AGE_YEARS
    try:
        threshold = value.replace(year=value.year + adult)
    except ValueError:  # 29 February
        threshold = value.replace(year=value.year + adult, day=28)
    if threshold > today:
        raise ApplicationError(f"{label}: investors must be at least {adult} years old.", code="under_age")
    if value.year < today.year - 130:
        raise ApplicationError(f"{label} is not plausible.", code="birth_date_implausible")
    return value


def normalise_tax_id(*, kind: str, value: str) -> str:
    if kind not in TaxIdKind.values:
        raise ApplicationError("Choose the kind of tax or identity number.", code="invalid_tax_id_kind")
    cleaned = re.sub(r"[\s\-./]", "", value or "").upper()
    if kind in US_TAX_ID_KINDS:
        if not _US_TIN.match(cleaned):
            raise ApplicationError("A US taxpayer number has nine digits.", code="invalid_tax_id")
        if kind == TaxIdKind.SSN and (cleaned[0] == "9" or cleaned[:3] in {"000", "666"} or cleaned[3:5] == "00"):
            raise ApplicationError("That is not a valid Social Security number.", code="invalid_tax_id")
        if kind == TaxIdKind.ITIN and cleaned[0] != "9":
            raise ApplicationError("An ITIN starts with 9.", code="invalid_tax_id")
    elif not _FOREIGN_ID.match(cleaned):
        raise ApplicationError(
            "A foreign tax or identity number has 4 to 30 letters and digits.", code="invalid_tax_id"
        )
    return cleaned


@transaction.atomic
def investor_profile_ensure(*, user: User) -> InvestorProfile:
    """The user's investor record, created on first use."""
    profile = InvestorProfile.objects.filter(user=user).first()
    if profile is not None:
        return profile
    profile = InvestorProfile.objects.create(user=user, legal_name=user.full_name)
    audit_record(actor=user, action="investor.created", obj=profile, after={"public_id": profile.reference})
    holder_record_update(investor=profile, cause=HolderRecordCause.OPENED)
    return profile


@transaction.atomic
def investor_kind_set(*, investor: InvestorProfile, actor: User, kind: str) -> InvestorProfile:
    if kind not in InvestorKind.values:
        raise ApplicationError("Choose individual or entity.", code="invalid_kind")
    investor = InvestorProfile.objects.select_for_update().get(pk=investor.pk)
    ensure_editable(investor)
    if investor.kind == kind:
        mark_step_saved(investor, "kind")
        investor.save(update_fields=["steps_saved", "updated_at"])
        return investor
    if investor.kind and investor.owners.exists() and kind == InvestorKind.INDIVIDUAL:
        raise ApplicationError(
            "Remove the entity's owners first, then change to an individual account.", code="owners_present"
        )
    before = {"kind": investor.kind}
    investor.kind = kind
    mark_step_saved(investor, "kind")
    investor.save(update_fields=["kind", "steps_saved", "updated_at"])
    audit_record(actor=actor, action="investor.kind_set", obj=investor, before=before, after={"kind": kind})
    holder_record_update(investor=investor)
    return investor


@transaction.atomic
def investor_details_save(*, investor: InvestorProfile, actor: User, details: dict[str, Any]) -> InvestorProfile:
    """Save the identification step. Every rule is checked before anything is written."""
    investor = InvestorProfile.objects.select_for_update().get(pk=investor.pk)
    ensure_editable(investor)
    if not investor.kind:
        raise ApplicationError("Choose individual or entity first.", code="kind_missing")
    clean: dict[str, Any] = {
        k: (v.strip() if isinstance(v, str) else v) for k, v in details.items() if k in DETAIL_FIELDS
    }
    required = ["legal_name", "address_line1", "city", "postal_code", "country", "phone", "tax_id", "tax_id_kind"]
    if investor.is_entity:
        required += ["entity_type", "registration_number", "formation_country"]
        clean["date_of_birth"] = None
        clean["citizenship"] = ""
    else:
        required += ["citizenship"]
        clean["date_of_birth"] = validate_birth_date(clean.get("date_of_birth"))
        clean.update(entity_type="", registration_number="", formation_country="")
    missing = [name.replace("_", " ") for name in required if not clean.get(name)]
    if missing:
        raise ApplicationError(f"Please fill in: {', '.join(missing)}.", code="missing_fields")
    clean["country"] = validate_country(clean["country"], label="country")
    if clean.get("citizenship"):
        clean["citizenship"] = validate_country(clean["citizenship"], label="citizenship")
    if clean.get("formation_country"):
        clean["formation_country"] = validate_country(clean["formation_country"], label="country of formation")
    if not _PHONE.match(clean["phone"]):
        raise ApplicationError("Enter the phone number with its country code, e.g. +1 212 555 0100.", code="phone")
    clean["tax_id"] = normalise_tax_id(kind=clean["tax_id_kind"], value=clean["tax_id"])
    if clean["tax_id_kind"] in US_TAX_ID_KINDS:
        clean["tax_id_country"] = UNITED_STATES
    else:
        clean["tax_id_country"] = validate_country(
            clean.get("tax_id_country", ""), label="country that issued the number"
        )
    if investor.is_entity and clean["tax_id_kind"] in {TaxIdKind.SSN, TaxIdKind.ITIN}:
        raise ApplicationError("An entity identifies itself with an EIN or a foreign tax number.", code="tax_id_kind")
    if not investor.is_entity and clean["tax_id_kind"] == TaxIdKind.EIN:
        raise ApplicationError("A person identifies with an SSN, ITIN or a foreign number.", code="tax_id_kind")

    changed = [name for name in DETAIL_FIELDS if name in clean and getattr(investor, name) != clean[name]]
    for name in changed:
        setattr(investor, name, clean[name])
    mark_step_saved(investor, "details")
    investor.save()
    if changed:
        public = {n: clean[n] for n in changed if n in {"country", "citizenship", "formation_country", "tax_id_kind"}}
        audit_record(
            actor=actor,
            action="investor.details_saved",
            obj=investor,
            after={"changed": changed, **public, "country_name": country_name(investor.country)},
        )
        holder_record_update(investor=investor)
    return investor


def _validate_owner(investor: InvestorProfile, data: dict[str, Any]) -> dict[str, Any]:
    role = data.get("role", "")
    if role not in OwnerRole.values:
        raise ApplicationError("Choose whether the person is an owner, the controlling person, or both.", code="role")
    name = (data.get("full_name") or "").strip()
    address = (data.get("address") or "").strip()
    if not name or not address:
        raise ApplicationError("Each person needs a full name and a residential address.", code="missing_fields")
    bps = int(data.get("ownership_bps") or 0)
    if not 0 <= bps <= BPS_WHOLE:
        raise ApplicationError("Ownership is a share between 0% and 100%.", code="ownership_range")
    if role in {OwnerRole.BENEFICIAL_OWNER, OwnerRole.BOTH} and bps < BENEFICIAL_OWNER_MIN_BPS:
        raise ApplicationError(
            "Beneficial owners are those holding 25% or more; list others only if they control the entity.",
            code="ownership_below_threshold",
        )
    others = sum(investor.owners.values_list("ownership_bps", flat=True))
    if others + bps > BPS_WHOLE:
        raise ApplicationError("The owners listed would hold more than 100% together.", code="ownership_total")
    id_kind = data.get("id_kind", "")
    return {
        "role": role,
        "full_name": name,
        "address": address,
        "ownership_bps": bps,
        "date_of_birth": validate_birth_date(data.get("date_of_birth"), label="The person's date of birth"),
        "country": validate_country(data.get("country", ""), label="country of residence"),
        "citizenship": validate_country(data.get("citizenship", ""), label="citizenship"),
        "id_kind": id_kind,
        "id_number": normalise_tax_id(kind=id_kind, value=data.get("id_number", "")),
    }


@transaction.atomic
def owner_add(*, investor: InvestorProfile, actor: User, data: dict[str, Any]) -> BeneficialOwner:
    investor = InvestorProfile.objects.select_for_update().get(pk=investor.pk)
    ensure_editable(investor)
    if not investor.is_entity:
        raise ApplicationError("Only entities list beneficial owners.", code="not_entity")
    clean = _validate_owner(investor, data)
    if (
        clean["role"] in {OwnerRole.CONTROLLER, OwnerRole.BOTH}
        and investor.owners.filter(role__in=[OwnerRole.CONTROLLER, OwnerRole.BOTH]).exists()
    ):
        raise ApplicationError("The entity already has its controlling person.", code="controller_exists")
    owner = BeneficialOwner.objects.create(investor=investor, **clean)
    investor.owners_declared_complete = False
    investor.save(update_fields=["owners_declared_complete", "updated_at"])
    audit_record(
        actor=actor,
        action="investor.owner_added",
        obj=owner,
        after={"investor": investor.reference, "role": owner.role, "ownership_bps": owner.ownership_bps},
    )
    return owner


@transaction.atomic
def owner_remove(*, owner: BeneficialOwner, actor: User) -> None:
    investor = InvestorProfile.objects.select_for_update().get(pk=owner.investor_id)
    ensure_editable(investor)
    audit_record(
        actor=actor,
        action="investor.owner_removed",
        obj=owner,
        before={"investor": investor.reference, "role": owner.role, "ownership_bps": owner.ownership_bps},
    )
    owner.delete()
    investor.owners_declared_complete = False
    investor.save(update_fields=["owners_declared_complete", "updated_at"])


@transaction.atomic
def owners_declare_complete(*, investor: InvestorProfile, actor: User) -> InvestorProfile:
    """The representative confirms the list holds every 25% owner and one controlling person."""
    investor = InvestorProfile.objects.select_for_update().get(pk=investor.pk)
    ensure_editable(investor)
    if not investor.is_entity:
        raise ApplicationError("Only entities list beneficial owners.", code="not_entity")
    if not investor.owners.filter(role__in=[OwnerRole.CONTROLLER, OwnerRole.BOTH]).exists():
        raise ApplicationError(
            "Add the one person who controls the entity (for example its CEO or managing member).",
            code="controller_missing",
        )
    investor.owners_declared_complete = True
    mark_step_saved(investor, "owners")
    investor.save(update_fields=["owners_declared_complete", "steps_saved", "updated_at"])
    audit_record(
        actor=actor,
        action="investor.owners_declared",
        obj=investor,
        after={"owners": investor.owners.count()},
    )
    return investor

"""The holder's registration over time (17Ad-10(f)): every service that changes a holder's name, holder
type, address, country, tax form or accreditation calls `holder_record_update` in its transaction; the
record that stops being current is kept, dated, until six years after it was replaced, then purged.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.audit import audit_record
from investors.models import AccreditationStatus, HolderRecordCause, HolderRecordVersion, InvestorProfile

REGISTRATION_FIELDS = (
    "legal_name",
    "holder_type",
    "entity_type",
    "address_line1",
    "address_line2",
    "city",
    "region",
    "postal_code",
    "country",
    "tax_form_kind",
    "tax_form_signed_on",
    "tax_form_expires_on",
    "tin_certified",
    "accreditation_status",
    "accreditation_method",
    "accreditation_expires_at",
)


def retain_until(valid_to: dt.datetime) -> dt.datetime:
    """17Ad-10(f): kept for six years after it stopped being current (calendar years, leap days kept)."""
    years = int(settings.HOLDER_RECORD_RETENTION_YEARS)
    try:
        return valid_to.replace(year=valid_to.year + years)
    except ValueError:  # 29 February: the anniversary is the 1st of March
        return valid_to.replace(year=valid_to.year + years, month=3, day=1)


def holder_registration_of(investor: InvestorProfile) -> dict[str, Any]:
    """What the master file registers for the holder now."""
    tax_form = investor.tax_forms.filter(superseded_at__isnull=True).order_by("-created_at", "-pk").first()
    # The newest claim not replaced by another (investors.selectors.accreditation_current).
    claim = investor.accreditation_claims.exclude(status=AccreditationStatus.WITHDRAWN).first()
    return {
        "legal_name": investor.legal_name,
        "holder_type": investor.kind,
        "entity_type": investor.entity_type,
        "address_line1": investor.address_line1,
        "address_line2": investor.address_line2,
        "city": investor.city,
        "region": investor.region,
        "postal_code": investor.postal_code,
        "country": str(investor.country or ""),
        "tax_form_kind": tax_form.kind if tax_form else "",
        "tax_form_signed_on": tax_form.signed_on if tax_form else None,
        "tax_form_expires_on": tax_form.expires_on if tax_form else None,
        "tin_certified": bool(tax_form and tax_form.tin_certified),
        "accreditation_status": claim.status if claim else "",
        "accreditation_method": claim.method if claim else "",
        "accreditation_expires_at": claim.expires_at if claim else None,
    }


def _close(version: HolderRecordVersion, *, at: dt.datetime, cause: str) -> None:
    version.valid_to = max(at, version.valid_from)
    version.retain_until = retain_until(version.valid_to)
    version.ended_by = cause
    version.save(update_fields=["valid_to", "retain_until", "ended_by"])


@transaction.atomic
def holder_record_update(
    *, investor: InvestorProfile, cause: str = HolderRecordCause.CHANGED, at: dt.datetime | None = None
) -> HolderRecordVersion | None:
    """Keep the holder's registration as it is now: when it differs from the current record, the current
    one ends (kept until six years later) and a new one begins. Returns the new record, or None."""
    at = at or timezone.now()
    now = holder_registration_of(investor)
    current = HolderRecordVersion.objects.select_for_update().filter(investor=investor, valid_to__isnull=True).first()
    if current is not None and all(getattr(current, f) == now[f] for f in REGISTRATION_FIELDS):
        return None
    if current is not None:
        _close(current, at=at, cause=cause)
    # The first record of an investor opened by the portal counts from the investor's creation.
    starts = investor.created_at if current is None and cause == HolderRecordCause.OPENED else at
    version = HolderRecordVersion.objects.create(
        investor=investor,
        investor_public_id=investor.public_id,
        cause=HolderRecordCause.OPENED if current is None else cause,
        valid_from=min(starts, at),
        **now,
    )
    if current is not None:
        changed = [f for f in REGISTRATION_FIELDS if getattr(current, f) != now[f]]
        # Which fields changed, never their values: the audit chain keeps no personal data.
        audit_record(
            actor=None,
            action="investor.holder_record_replaced",
            obj=current,
            after={"investor": investor.reference, "changed": changed, "retain_until": current.retain_until},
        )
    return version


@transaction.atomic
def holder_record_end(*, investor: InvestorProfile, cause: str, at: dt.datetime | None = None) -> None:
    """The holder's data is about to be erased or deleted: the current record ends and is kept six years."""
    current = HolderRecordVersion.objects.select_for_update().filter(investor=investor, valid_to__isnull=True).first()
    if current is None:
        holder_record_update(investor=investor, cause=HolderRecordCause.OPENED, at=at)
        current = HolderRecordVersion.objects.select_for_update().get(investor=investor, valid_to__isnull=True)
    _close(current, at=at or timezone.now(), cause=cause)


def holder_records_purge(*, now: dt.datetime | None = None) -> int:
    """Delete only the records whose six years have passed (17Ad-10(f)); returns how many went."""
    now = now or timezone.now()
    with transaction.atomic():
        expired = HolderRecordVersion.objects.filter(valid_to__isnull=False, retain_until__lt=now)
        count = expired.count()
        if count:
            expired.delete()
            audit_record(
                actor="retention",
                action="investor.holder_records_purged",
                obj=None,
                after={"purged": count, "retained_until_before": now.isoformat()},
            )
    return count

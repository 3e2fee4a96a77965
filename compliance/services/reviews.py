"""Reviewer decisions on accreditation claims and on an entity's owners; expiry of decisions."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from compliance.notices import accreditation_decision_notify
from core.audit import audit_record
from core.errors import ApplicationError
from core.models import User
from investors.models import (
    AccreditationClaim,
    AccreditationStatus,
    BeneficialOwner,
    InvestorProfile,
    KycStatus,
    ReviewStatus,
)
from investors.services.accreditation import accreditation_missing, stale_evidence
from investors.services.holder_records import holder_record_update
from investors.services.verification import investor_registry_refresh


def _claim_locked(claim: AccreditationClaim) -> AccreditationClaim:
    return AccreditationClaim.objects.select_for_update().select_related("investor").get(pk=claim.pk)


@transaction.atomic
def accreditation_approve(*, claim: AccreditationClaim, actor: User) -> AccreditationClaim:
    """Rule 506(c)(2)(ii): the reviewer took reasonable steps with this evidence; valid for a set time."""
    claim = _claim_locked(claim)
    if claim.status == AccreditationStatus.VERIFIED:
        return claim
    if claim.status != AccreditationStatus.PENDING:
        raise ApplicationError(f"This claim is {claim.get_status_display().lower()}; nothing to verify.", code="state")
    missing = accreditation_missing(claim=claim)
    if missing:
        raise ApplicationError("Evidence is missing: " + ", ".join(m.label for m in missing) + ".", code="evidence")
    stale = stale_evidence(claim=claim)
    if stale:
        raise ApplicationError("Evidence is older than three months: " + ", ".join(stale) + ".", code="stale")
    now = timezone.now()
    claim.status, claim.decided_at = AccreditationStatus.VERIFIED, now
    claim.expires_at = now + dt.timedelta(days=settings.ACCREDITATION_VALIDITY_DAYS)
    claim.decision_note = ""
    claim.save(update_fields=["status", "decided_at", "expires_at", "decision_note"])
    event = audit_record(
        actor=actor,
        action="accreditation.verified",
        obj=claim,
        before={"status": AccreditationStatus.PENDING},
        after={"status": claim.status, "method": claim.method, "expires_at": claim.expires_at},
    )
    holder_record_update(investor=claim.investor)
    investor_registry_refresh(investor=claim.investor, actor=actor)
    accreditation_decision_notify(claim=claim, event=event)
    return claim


@transaction.atomic
def accreditation_reject(*, claim: AccreditationClaim, actor: User, reason: str) -> AccreditationClaim:
    reason = reason.strip()
    if not reason:
        raise ApplicationError("Give the reason; the investor will read it.", code="reason")
    claim = _claim_locked(claim)
    if claim.status not in {AccreditationStatus.PENDING, AccreditationStatus.VERIFIED}:
        raise ApplicationError(f"This claim is {claim.get_status_display().lower()}; nothing to reject.", code="state")
    before = {"status": claim.status}
    claim.status, claim.decided_at, claim.decision_note, claim.expires_at = (
        AccreditationStatus.REJECTED,
        timezone.now(),
        reason,
        None,
    )
    claim.save(update_fields=["status", "decided_at", "decision_note", "expires_at"])
    event = audit_record(
        actor=actor,
        action="accreditation.rejected",
        obj=claim,
        before=before,
        after={"status": claim.status, "reason": reason},
    )
    holder_record_update(investor=claim.investor)
    investor_registry_refresh(investor=claim.investor, actor=actor)
    accreditation_decision_notify(claim=claim, event=event)
    return claim


@transaction.atomic
def accreditation_request_information(*, claim: AccreditationClaim, actor: User, message: str) -> AccreditationClaim:
    message = message.strip()
    if not message:
        raise ApplicationError("Say what evidence the investor should add.", code="message")
    claim = _claim_locked(claim)
    if claim.status != AccreditationStatus.PENDING:
        raise ApplicationError("Information can be requested only while the claim is under review.", code="state")
    claim.status, claim.decision_note = AccreditationStatus.MORE_INFO, message
    claim.save(update_fields=["status", "decision_note"])
    event = audit_record(
        actor=actor,
        action="accreditation.information_requested",
        obj=claim,
        before={"status": AccreditationStatus.PENDING},
        after={"status": claim.status, "message": message},
    )
    holder_record_update(investor=claim.investor)
    accreditation_decision_notify(claim=claim, event=event)
    return claim


@transaction.atomic
def owner_review(*, owner: BeneficialOwner, actor: User, verified: bool, note: str = "") -> BeneficialOwner:
    """A reviewer verifies (or rejects) the identification of one owner or the controlling person."""
    owner = BeneficialOwner.objects.select_for_update().get(pk=owner.pk)
    if not verified and not note.strip():
        raise ApplicationError("Give the reason the person could not be verified.", code="reason")
    if verified and not owner.documents.filter(removed_at__isnull=True).exists():
        raise ApplicationError(f"No identity document of {owner.full_name} has been uploaded.", code="documents")
    target = ReviewStatus.VERIFIED if verified else ReviewStatus.REJECTED
    if owner.status == target:
        return owner
    before = {"status": owner.status}
    owner.status, owner.review_note = target, note.strip()
    owner.save(update_fields=["status", "review_note"])
    audit_record(
        actor=actor,
        action="investor.owner_reviewed",
        obj=owner,
        before=before,
        after={"status": target, "note": owner.review_note},
    )
    return owner


@dataclass(frozen=True)
class ExpirySummary:
    kyc_expired: int
    accreditations_expired: int


def verifications_expire(*, now: dt.datetime | None = None) -> ExpirySummary:
    """Expired KYC or accreditation makes the investor ineligible again and updates the registry."""
    now = now or timezone.now()
    kyc_ids = list(
        InvestorProfile.objects.filter(kyc_status=KycStatus.APPROVED, kyc_expires_at__lte=now).values_list(
            "pk", flat=True
        )
    )
    for pk in kyc_ids:
        with transaction.atomic():
            investor = InvestorProfile.objects.select_for_update().get(pk=pk)
            if investor.kyc_status != KycStatus.APPROVED or investor.kyc_expires_at is None:
                continue
            if investor.kyc_expires_at > now:
                continue
            before = {"kyc_status": investor.kyc_status, "kyc_expires_at": investor.kyc_expires_at}
            investor.kyc_status = KycStatus.EXPIRED
            investor.kyc_note = "Your identity verification expired. Update your details and documents to renew it."
            investor.save(update_fields=["kyc_status", "kyc_note", "updated_at"])
            audit_record(actor=None, action="kyc.expired", obj=investor, before=before, after={"kyc_status": "expired"})
            investor_registry_refresh(investor=investor, actor=None)
    claim_ids = list(
        AccreditationClaim.objects.filter(status=AccreditationStatus.VERIFIED, expires_at__lte=now).values_list(
            "pk", flat=True
        )
    )
    for pk in claim_ids:
        with transaction.atomic():
            claim = AccreditationClaim.objects.select_for_update().select_related("investor").get(pk=pk)
            if claim.status != AccreditationStatus.VERIFIED or claim.expires_at is None or claim.expires_at > now:
                continue
            claim.status = AccreditationStatus.EXPIRED
            claim.save(update_fields=["status"])
            audit_record(
                actor=None,
                action="accreditation.expired",
                obj=claim,
                before={"status": AccreditationStatus.VERIFIED},
                after={"status": claim.status},
            )
            holder_record_update(investor=claim.investor)
            investor_registry_refresh(investor=claim.investor, actor=None)
    return ExpirySummary(len(kyc_ids), len(claim_ids))

"""KYC checks and decisions: started with the configured provider, decided by a person or a vendor."""

from __future__ import annotations

import datetime as dt
import logging
import uuid

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from compliance.kyc.base import KycProviderError, VendorResult, VendorVerdict, default_kyc_provider, kyc_provider
from compliance.models import OPEN_CHECK_STATES, HitStatus, KycCheck, KycCheckStatus, VendorWebhookEvent
from compliance.notices import kyc_decision_notify
from core.audit import audit_record
from core.errors import ApplicationError, Conflict
from core.models import User
from core.tasks import task_enqueue_on_commit
from investors.models import PHOTO_ID_KINDS, InvestorProfile, KycStatus, ReviewStatus
from investors.selectors import identity_documents_missing
from investors.services.verification import investor_registry_refresh

logger = logging.getLogger(__name__)
DECIDABLE = frozenset({KycStatus.PENDING, KycStatus.MORE_INFO})


def _open_check(investor: InvestorProfile) -> KycCheck | None:
    return investor.kyc_checks.select_for_update().filter(status__in=OPEN_CHECK_STATES).first()


@transaction.atomic
def kyc_check_open(*, investor: InvestorProfile, actor: User) -> KycCheck:
    """Open a check with the configured provider (or keep the open one); the provider is told after commit."""
    existing = _open_check(investor)
    if existing is not None:
        if existing.status == KycCheckStatus.MORE_INFO:
            existing.status = KycCheckStatus.PENDING
            existing.save(update_fields=["status"])
            audit_record(actor=actor, action="kyc.resubmitted", obj=existing, after={"status": existing.status})
        return existing
    provider = default_kyc_provider()
    check = KycCheck.objects.create(investor=investor, provider=provider.identifier)
    audit_record(
        actor=actor,
        action="kyc.check_opened",
        obj=check,
        after={"investor": investor.reference, "provider": provider.identifier},
    )
    if provider.decides_by_webhook:
        from compliance.tasks import kyc_check_send_task

        task_enqueue_on_commit(kyc_check_send_task, check.pk)
    return check


def kyc_check_send(*, check_id: int) -> KycCheck:
    """Hand a check to its provider (a task runs this after commit). Failure is recorded on the check."""
    check = KycCheck.objects.select_related("investor").get(pk=check_id)
    if check.external_ref or check.status != KycCheckStatus.PENDING:
        return check
    provider = kyc_provider(check.provider)
    if provider is None:
        raise ApplicationError(f"KYC provider “{check.provider}” is no longer configured.", code="provider_missing")
    try:
        reference = provider.start(check)
    except KycProviderError as exc:
        with transaction.atomic():
            locked = KycCheck.objects.select_for_update().get(pk=check.pk)
            locked.status, locked.reason = KycCheckStatus.SEND_FAILED, str(exc)[:2000]
            locked.save(update_fields=["status", "reason"])
            audit_record(actor=None, action="kyc.send_failed", obj=locked, after={"error": locked.reason})
        raise
    with transaction.atomic():
        locked = KycCheck.objects.select_for_update().get(pk=check.pk)
        if not locked.external_ref:
            locked.external_ref = reference
            locked.save(update_fields=["external_ref"])
            audit_record(actor=None, action="kyc.sent", obj=locked, after={"external_ref": reference})
    return locked


def _kyc_expiry(investor: InvestorProfile, *, now: dt.datetime, valid_until: dt.date | None = None) -> dt.datetime:
    """The decision holds for KYC_VALIDITY_DAYS, but not past the vendor's date or the photo id it rests on."""
    limits = [now + dt.timedelta(days=settings.KYC_VALIDITY_DAYS)]
    if valid_until is not None:
        limits.append(dt.datetime.combine(valid_until, dt.time(23, 59, 59), tzinfo=dt.UTC))
    id_expiries = [
        d
        for d in investor.documents.filter(
            removed_at__isnull=True, owner__isnull=True, kind__in=list(PHOTO_ID_KINDS)
        ).values_list("expires_on", flat=True)
        if d is not None
    ]
    if id_expiries:
        limits.append(dt.datetime.combine(max(id_expiries), dt.time(23, 59, 59), tzinfo=dt.UTC))
    return min(limits)


def _decide(
    *,
    investor: InvestorProfile,
    actor: User | None,
    status: str,
    check_status: str,
    note: str,
    expires_at: dt.datetime | None,
    action: str,
) -> InvestorProfile:
    now = timezone.now()
    before = {"kyc_status": investor.kyc_status, "kyc_expires_at": investor.kyc_expires_at}
    investor.kyc_status, investor.kyc_note = status, note
    investor.kyc_decided_at = now
    investor.kyc_expires_at = expires_at
    investor.save(update_fields=["kyc_status", "kyc_note", "kyc_decided_at", "kyc_expires_at", "updated_at"])
    check = _open_check(investor)
    if check is not None:
        check.status, check.reason, check.decided_at = check_status, note, now
        check.decided_by = actor if actor is not None and actor.is_authenticated else None
        check.expires_at = expires_at
        check.save(update_fields=["status", "reason", "decided_at", "decided_by", "expires_at"])
    event = audit_record(
        actor=actor or "kyc vendor",
        action=action,
        obj=investor,
        before=before,
        after={"kyc_status": status, "kyc_expires_at": expires_at, "note": note, "check": check.pk if check else None},
    )
    investor_registry_refresh(investor=investor, actor=actor)
    kyc_decision_notify(investor=investor, event=event)
    return investor


def _lock(investor: InvestorProfile) -> InvestorProfile:
    return InvestorProfile.objects.select_for_update().get(pk=investor.pk)


def approval_refusal(investor: InvestorProfile, *, name_owners: bool = True) -> ApplicationError | None:
    """Why KYC cannot be approved now (documents, owners, sanctions, screening), or None.

    The one list of checks for every approval, by an officer or by the KYC vendor. `name_owners`
    lists unverified owners by name (for the officer's page; never for what goes into the audit chain).
    """
    if investor.kyc_status not in DECIDABLE | {KycStatus.APPROVED}:  # approved again: a renewal
        return ApplicationError(
            f"KYC is {investor.get_kyc_status_display().lower()}; nothing to approve.", code="state"
        )
    missing = identity_documents_missing(investor=investor)
    if missing:
        return ApplicationError("Identity documents are missing: " + "; ".join(missing) + ".", code="documents")
    unverified = investor.owners.exclude(status=ReviewStatus.VERIFIED)
    if unverified.exists():
        names = ": " + ", ".join(o.full_name for o in unverified) if name_owners else ""
        return ApplicationError(f"Verify every owner and the controlling person first{names}.", code="owners")
    if investor.screening_hits.filter(status__in=[HitStatus.PENDING, HitStatus.CONFIRMED]).exists():
        return ApplicationError("A sanctions match is open for this investor; decide it first.", code="sanctions")
    if investor.screened_at is None:
        return ApplicationError("The investor has not been screened against the sanctions list yet.", code="unscreened")
    return None


@transaction.atomic
def kyc_approve(*, investor: InvestorProfile, actor: User) -> InvestorProfile:
    investor = _lock(investor)
    if investor.kyc_status == KycStatus.APPROVED:
        return investor
    refusal = approval_refusal(investor)
    if refusal is not None:
        raise refusal
    now = timezone.now()
    return _decide(
        investor=investor,
        actor=actor,
        status=KycStatus.APPROVED,
        check_status=KycCheckStatus.APPROVED,
        note="",
        expires_at=_kyc_expiry(investor, now=now),
        action="kyc.approved",
    )


@transaction.atomic
def kyc_reject(*, investor: InvestorProfile, actor: User, reason: str) -> InvestorProfile:
    reason = reason.strip()
    if not reason:
        raise ApplicationError("Give the reason for the rejection; the investor will read it.", code="reason")
    investor = _lock(investor)
    if investor.kyc_status not in DECIDABLE | {KycStatus.APPROVED}:
        raise ApplicationError(f"KYC is {investor.get_kyc_status_display().lower()}; nothing to reject.", code="state")
    return _decide(
        investor=investor,
        actor=actor,
        status=KycStatus.REJECTED,
        check_status=KycCheckStatus.REJECTED,
        note=reason,
        expires_at=None,
        action="kyc.rejected",
    )


@transaction.atomic
def kyc_request_information(*, investor: InvestorProfile, actor: User, message: str) -> InvestorProfile:
    message = message.strip()
    if not message:
        raise ApplicationError("Say what the investor should add or correct.", code="message")
    investor = _lock(investor)
    if investor.kyc_status != KycStatus.PENDING:
        raise ApplicationError("Information can be requested only while KYC is under review.", code="state")
    return _decide(
        investor=investor,
        actor=actor,
        status=KycStatus.MORE_INFO,
        check_status=KycCheckStatus.MORE_INFO,
        note=message,
        expires_at=None,
        action="kyc.information_requested",
    )


@transaction.atomic
def kyc_vendor_result_apply(*, provider: str, result: VendorResult) -> KycCheck | None:
    """Apply a verified webhook once. A repeated event id, or an unknown check, changes nothing."""
    try:
        with transaction.atomic():
            event = VendorWebhookEvent.objects.create(provider=provider, event_id=result.event_id, result=result.result)
    except IntegrityError:
        return None
    try:
        reference = uuid.UUID(result.reference)
    except ValueError as exc:
        raise Conflict("No KYC check has this reference.", code="unknown_reference") from exc
    check = (
        KycCheck.objects.select_for_update()
        .select_related("investor")
        .filter(provider=provider, public_id=reference)
        .first()
    )
    if check is None:
        raise Conflict("No KYC check has this reference.", code="unknown_reference")
    event.kyc_check = check
    event.save(update_fields=["kyc_check"])
    if result.external_ref and check.external_ref and result.external_ref != check.external_ref:
        raise Conflict("The applicant id does not belong to this check.", code="reference_mismatch")
    if check.status not in OPEN_CHECK_STATES:
        return check  # decided already (e.g. by an officer); a late vendor verdict does not overturn it
    investor = _lock(check.investor)
    if result.result == VendorVerdict.REVIEW:
        check.status, check.reason = KycCheckStatus.NEEDS_REVIEW, result.reason
        check.save(update_fields=["status", "reason"])
        audit_record(actor="kyc vendor", action="kyc.vendor_needs_review", obj=check, after={"reason": result.reason})
        return check
    if result.result == VendorVerdict.APPROVED:
        # The vendor verified the identity; the portal's own checks for an approval still apply.
        refusal = approval_refusal(investor, name_owners=False)
        if refusal is not None:
            check.status = KycCheckStatus.NEEDS_REVIEW
            check.reason = f"The vendor approved, but: {refusal.message}"[:500]
            check.save(update_fields=["status", "reason"])
            audit_record(
                actor="kyc vendor",
                action="kyc.vendor_needs_review",
                obj=check,
                after={"reason": check.reason, "code": refusal.code},
            )
            return check
        now = timezone.now()
        _decide(
            investor=investor,
            actor=None,
            status=KycStatus.APPROVED,
            check_status=KycCheckStatus.APPROVED,
            note="",
            expires_at=_kyc_expiry(investor, now=now, valid_until=result.valid_until),
            action="kyc.approved",
        )
    else:
        _decide(
            investor=investor,
            actor=None,
            status=KycStatus.REJECTED,
            check_status=KycCheckStatus.REJECTED,
            note=result.reason or "The identity check was not passed.",
            expires_at=None,
            action="kyc.rejected",
        )
    check.refresh_from_db()
    return check

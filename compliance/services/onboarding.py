"""Submitting onboarding for review: applications, the KYC check and the first sanctions screening."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from compliance.services.kyc import kyc_check_open
from compliance.services.sanctions import active_list, investor_screen
from core.audit import audit_record
from core.errors import ApplicationError, NotPermitted
from core.models import Issuer, User
from investors.models import InvestorProfile, KycStatus
from investors.selectors import submission_missing
from investors.services.applications import issuer_application_create
from investors.services.profiles import EDITABLE_KYC_STATES, mark_step_saved

# Once under review or approved, an investor may still apply to more issuers.
APPLY_ONLY_STATES = frozenset({KycStatus.PENDING, KycStatus.APPROVED})


@transaction.atomic
def onboarding_submit(*, investor: InvestorProfile, actor: User, issuers: Sequence[Issuer]) -> InvestorProfile:
    if not issuers:
        raise ApplicationError("Choose at least one issuer to apply to.", code="issuer_missing")
    investor = InvestorProfile.objects.select_for_update().get(pk=investor.pk)
    if investor.kyc_status in APPLY_ONLY_STATES:
        for issuer in issuers:
            issuer_application_create(investor=investor, issuer=issuer, actor=actor)
        return investor
    if investor.kyc_status not in EDITABLE_KYC_STATES:
        raise NotPermitted(
            f"Your verification was {investor.get_kyc_status_display().lower()}; write to the compliance team.",
            code="profile_locked",
        )
    missing = submission_missing(investor=investor)
    if missing:
        raise ApplicationError("Finish these steps first: " + ", ".join(missing) + ".", code="steps_missing")
    before = {"kyc_status": investor.kyc_status}
    for issuer in issuers:
        issuer_application_create(investor=investor, issuer=issuer, actor=actor)
    investor.submitted_at = timezone.now()
    investor.kyc_status, investor.kyc_note = KycStatus.PENDING, ""
    mark_step_saved(investor, "submit")
    investor.save(update_fields=["submitted_at", "kyc_status", "kyc_note", "steps_saved", "updated_at"])
    audit_record(
        actor=actor,
        action="investor.submitted",
        obj=investor,
        before=before,
        after={"kyc_status": investor.kyc_status, "issuers": [i.slug for i in issuers]},
    )
    kyc_check_open(investor=investor, actor=actor)
    # Without a loaded list the investor stays unscreened (and cannot be approved) until the next load.
    if active_list() is not None:
        investor_screen(investor=investor, actor=actor)
    investor.refresh_from_db()
    return investor

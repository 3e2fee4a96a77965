"""Applications: the issuers an investor asked to invest with (their compliance staff may review them)."""

from __future__ import annotations

from django.db import transaction

from core.audit import audit_record
from core.models import Issuer, User
from investors.models import ApplicationStatus, InvestorProfile, IssuerApplication


@transaction.atomic
def issuer_application_create(*, investor: InvestorProfile, issuer: Issuer, actor: User) -> IssuerApplication:
    """Apply to an issuer (again, if withdrawn). Applying twice changes nothing."""
    application, created = IssuerApplication.objects.select_for_update().get_or_create(investor=investor, issuer=issuer)
    if not created and application.status == ApplicationStatus.SUBMITTED:
        return application
    before = None if created else {"status": application.status}
    application.status = ApplicationStatus.SUBMITTED
    application.save(update_fields=["status"])
    audit_record(
        actor=actor,
        action="investor.applied",
        obj=application,
        issuer=issuer,
        before=before,
        after={"investor": investor.reference, "issuer": issuer.slug, "status": application.status},
    )
    return application

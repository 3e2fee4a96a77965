"""Applications: the issuers an investor asked to invest with, and each issuer's decision to admit them."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from core.audit import audit_record
from core.errors import ApplicationError
from core.models import Issuer, User
from investors.models import ApplicationNote, ApplicationStatus, InvestorProfile, IssuerApplication

DECISIONS = {"admit": ApplicationStatus.ADMITTED, "decline": ApplicationStatus.DECLINED}


@transaction.atomic
def issuer_application_create(*, investor: InvestorProfile, issuer: Issuer, actor: User) -> IssuerApplication:
    """Apply to an issuer (again, if withdrawn). Applying twice changes nothing."""
    application, created = IssuerApplication.objects.select_for_update().get_or_create(investor=investor, issuer=issuer)
    if not created and application.status != ApplicationStatus.WITHDRAWN:
        return application
    before = None if created else {"status": application.status}
    application.status = ApplicationStatus.SUBMITTED
    application.save(update_fields=["status"])
    event = audit_record(
        actor=actor,
        action="investor.applied",
        obj=application,
        issuer=issuer,
        before=before,
        after={"investor": investor.reference, "issuer": issuer.slug, "status": application.status},
    )
    _reviewers_notify(application, event_id=event.pk)
    return application


def _reviewers_notify(application: IssuerApplication, *, event_id: int) -> None:
    """The issuer's compliance officers (and admins) hear of an investor waiting in their review queue."""
    from django.urls import reverse

    from core.models import NotificationKind, Role
    from core.notifications import Message, issuer_people, notify

    issuer = application.issuer
    notify(
        recipients=issuer_people(issuer, roles=(Role.COMPLIANCE_OFFICER, Role.ISSUER_ADMIN)),
        event_key=f"audit:{event_id}",
        message=Message(
            kind=NotificationKind.APPLICATION_TO_REVIEW,
            subject=f"An investor applied to {issuer.name}: to review",
            template="investors/notifications/application_to_review.txt",
            context={"application": application, "investor": application.investor, "issuer": issuer},
            path=reverse("compliance_queue", args=[issuer.slug]),
            action_label="Open the review queue",
        ),
        issuer=issuer,
    )


@transaction.atomic
def issuer_application_decide(
    *, application: IssuerApplication, actor: User, decision: str, note: str = ""
) -> IssuerApplication:
    """The issuer admits or declines an applicant, or only adds a note (`decision` "note").

    The note and the decision stay with this issuer: no other issuer sees them.
    """
    note = note.strip()
    application = IssuerApplication.objects.select_for_update().select_related("issuer").get(pk=application.pk)
    if application.status == ApplicationStatus.WITHDRAWN:
        raise ApplicationError("The investor withdrew this application; there is nothing to decide.", code="state")
    if decision == "note":
        if not note:
            raise ApplicationError("Write the note first.", code="note_missing")
        ApplicationNote.objects.create(application=application, author=actor, text=note)
        audit_record(actor=actor, action="application.note_added", obj=application, issuer=application.issuer)
        return application
    target = DECISIONS.get(decision)
    if target is None:
        raise ApplicationError("Choose to admit or decline the investor.", code="decision")
    if target == ApplicationStatus.DECLINED and not note:
        raise ApplicationError("Say why the investor is declined; your team will read it.", code="reason")
    if application.status == target and not note:
        return application
    before = {"status": application.status}
    application.status, application.decided_at, application.decided_by = target, timezone.now(), actor
    application.save(update_fields=["status", "decided_at", "decided_by"])
    ApplicationNote.objects.create(application=application, author=actor, decision=target, text=note)
    audit_record(
        actor=actor,
        action=f"application.{target}",
        obj=application,
        issuer=application.issuer,
        before=before,
        after={"status": target},
    )
    return application

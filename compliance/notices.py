"""What investors are told about decisions on their identity check and accreditation (`core.notifications`).

Each decision is one audit event, and the notification is keyed by it: a decision is told once."""

from __future__ import annotations

from django.urls import reverse

from core.models import AuditEvent, NotificationKind
from core.notifications import Message, notify
from investors.models import AccreditationClaim, AccreditationStatus, InvestorProfile, KycStatus

_KYC_SUBJECTS: dict[str, str] = {
    KycStatus.APPROVED: "Your identity check is approved",
    KycStatus.REJECTED: "Your identity check was not approved",
    KycStatus.MORE_INFO: "We need more information for your identity check",
}
_ACCREDITATION_SUBJECTS: dict[str, str] = {
    AccreditationStatus.VERIFIED: "Your accreditation is verified",
    AccreditationStatus.REJECTED: "Your accreditation was not verified",
    AccreditationStatus.MORE_INFO: "We need more evidence for your accreditation",
}


def kyc_decision_notify(*, investor: InvestorProfile, event: AuditEvent) -> None:
    subject = _KYC_SUBJECTS.get(investor.kyc_status)
    if subject is None:
        return
    asking = investor.kyc_status == KycStatus.MORE_INFO
    notify(
        recipients=[investor.user],
        event_key=f"audit:{event.pk}",
        message=Message(
            kind=NotificationKind.INFORMATION_REQUESTED if asking else NotificationKind.KYC_DECIDED,
            subject=subject,
            template="compliance/notifications/kyc_decided.txt",
            context={"investor": investor},
            path=reverse("investor_status"),
            action_label="See what to do next" if investor.kyc_status != KycStatus.APPROVED else "See your status",
        ),
    )


def accreditation_decision_notify(*, claim: AccreditationClaim, event: AuditEvent) -> None:
    subject = _ACCREDITATION_SUBJECTS.get(claim.status)
    if subject is None:
        return
    asking = claim.status == AccreditationStatus.MORE_INFO
    notify(
        recipients=[claim.investor.user],
        event_key=f"audit:{event.pk}",
        message=Message(
            kind=NotificationKind.INFORMATION_REQUESTED if asking else NotificationKind.ACCREDITATION_DECIDED,
            subject=subject,
            template="compliance/notifications/accreditation_decided.txt",
            context={"claim": claim},
            path=reverse("onboarding_accreditation") if asking else reverse("investor_status"),
            action_label="Add the evidence" if asking else "See your status",
        ),
    )

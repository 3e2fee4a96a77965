"""Reads for the review queues and an investor's page.

Platform compliance sees every submitted investor with their whole file; an issuer sees only
its own applicants, its own application, notes and events (never another issuer's).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from compliance.models import HitStatus, KycCheck, SanctionsList, ScreeningHit
from core.models import AuditEvent, Issuer
from investors.models import (
    AccreditationClaim,
    AccreditationStatus,
    ApplicationNote,
    ApplicationStatus,
    BeneficialOwner,
    InvestorProfile,
    IssuerApplication,
    KycStatus,
    ReviewStatus,
)

QUEUE_FILTERS = {
    "open": "Needs a decision",
    "kyc": "KYC",
    "accreditation": "Accreditation",
    "sanctions": "Sanctions hits",
    "owners": "Entity owners",
    "all": "All investors",
}
# The issuer's queue: its own admission decision first, identity progress (read only) after.
ISSUER_QUEUE_FILTERS = {
    "open": "Awaiting your decision",
    "admitted": "Admitted",
    "declined": "Declined",
    "kyc": "Identity under review",
    "sanctions": "Sanctions hits",
    "all": "All applicants",
}
DECIDED_APPLICATIONS = [ApplicationStatus.SUBMITTED, ApplicationStatus.ADMITTED, ApplicationStatus.DECLINED]


def _count(model: Any, status_field: str, status: str) -> Coalesce:
    rows = (
        model.objects.filter(investor=OuterRef("pk"), **{status_field: status})
        .order_by()
        .values("investor")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))


def _top_pending_hit_score() -> Subquery:
    rows = (
        ScreeningHit.objects.filter(investor=OuterRef("pk"), status=HitStatus.PENDING)
        .order_by("-score")
        .values("score")[:1]
    )
    return Subquery(rows, output_field=IntegerField())


def applicants_of(*, issuer: Issuer) -> QuerySet[InvestorProfile]:
    return InvestorProfile.objects.filter(
        applications__issuer=issuer, applications__status__in=DECIDED_APPLICATIONS
    ).distinct()


def _searched(rows: QuerySet[InvestorProfile], search: str) -> QuerySet[InvestorProfile]:
    """Name or e-mail search; undecided sanctions hits first, the strongest match first, then by submission."""
    if search.strip():
        rows = rows.filter(Q(legal_name__icontains=search.strip()) | Q(user__email__icontains=search.strip()))
    return rows.select_related("user").order_by(F("top_hit_score").desc(nulls_last=True), "submitted_at", "pk")


def review_queue(*, issuer: Issuer, show: str = "open", search: str = "") -> QuerySet[InvestorProfile]:
    """Applicants of `issuer` with its decision and their identity progress, in a fixed number of queries.

    Applicants with an undecided sanctions hit come first, the strongest match first; the rest
    in the order they submitted.
    """
    status = IssuerApplication.objects.filter(investor=OuterRef("pk"), issuer=issuer).values("status")[:1]
    rows = applicants_of(issuer=issuer).annotate(
        pending_claims=_count(AccreditationClaim, "status", AccreditationStatus.PENDING),
        pending_hits=_count(ScreeningHit, "status", HitStatus.PENDING),
        top_hit_score=_top_pending_hit_score(),
        pending_owners=_count(BeneficialOwner, "status", ReviewStatus.PENDING),
        application_status=Subquery(status),
    )
    if show == "open":
        rows = rows.filter(application_status=ApplicationStatus.SUBMITTED)
    elif show in {"admitted", "declined"}:
        rows = rows.filter(application_status=show)
    elif show == "kyc":
        rows = rows.filter(kyc_status=KycStatus.PENDING)
    elif show == "sanctions":
        rows = rows.filter(pending_hits__gt=0)
    return _searched(rows, search)


def identity_queue(*, show: str = "open", search: str = "") -> QuerySet[InvestorProfile]:
    """Every submitted investor with the identity decisions they wait for (platform compliance)."""
    rows = InvestorProfile.objects.filter(submitted_at__isnull=False).annotate(
        pending_claims=_count(AccreditationClaim, "status", AccreditationStatus.PENDING),
        pending_hits=_count(ScreeningHit, "status", HitStatus.PENDING),
        top_hit_score=_top_pending_hit_score(),
        pending_owners=_count(BeneficialOwner, "status", ReviewStatus.PENDING),
    )
    kyc_open = Q(kyc_status=KycStatus.PENDING)
    if show == "kyc":
        rows = rows.filter(kyc_open)
    elif show == "accreditation":
        rows = rows.filter(pending_claims__gt=0)
    elif show == "sanctions":
        rows = rows.filter(pending_hits__gt=0)
    elif show == "owners":
        rows = rows.filter(pending_owners__gt=0, kyc_status=KycStatus.PENDING)
    elif show != "all":
        rows = rows.filter(kyc_open | Q(pending_claims__gt=0) | Q(pending_hits__gt=0))
    return _searched(rows, search)


def applicant_of(*, issuer: Issuer, public_id: Any) -> InvestorProfile | None:
    return applicants_of(issuer=issuer).filter(public_id=public_id).select_related("user").first()


def submitted_investor_of(*, public_id: Any) -> InvestorProfile | None:
    return (
        InvestorProfile.objects.filter(submitted_at__isnull=False, public_id=public_id).select_related("user").first()
    )


def application_of(*, issuer: Issuer, investor: InvestorProfile) -> IssuerApplication | None:
    return IssuerApplication.objects.filter(issuer=issuer, investor=investor).select_related("decided_by").first()


@dataclass
class InvestorReview:
    investor: InvestorProfile
    owners: list[BeneficialOwner]
    documents: list[Any]
    claims: list[AccreditationClaim]
    hits: list[ScreeningHit]
    checks: list[KycCheck]
    wallets: list[Any]
    tax_form: Any
    applications: list[Any]
    events: list[AuditEvent]
    notes: list[ApplicationNote]


def investor_review(*, investor: InvestorProfile, issuer: Issuer | None = None) -> InvestorReview:
    """The investor's file. With `issuer`, only what that issuer may see: its own application,
    notes and events, and the platform's identity events (never another issuer's)."""
    from investors.selectors import tax_form_current

    applications = investor.applications.select_related("issuer", "decided_by")
    events = AuditEvent.objects.filter(object_type="investors.investorprofile", object_id=str(investor.pk))
    notes = ApplicationNote.objects.filter(application__investor=investor).select_related("author", "application")
    if issuer is not None:
        applications = applications.filter(issuer=issuer)
        application_ids = [str(pk) for pk in applications.values_list("pk", flat=True)]
        events = AuditEvent.objects.filter(
            Q(object_type="investors.investorprofile", object_id=str(investor.pk), issuer_id__isnull=True)
            | Q(object_type="investors.issuerapplication", object_id__in=application_ids, issuer_id=issuer.pk)
        )
        notes = notes.filter(application__issuer=issuer)
    else:
        notes = notes.none()  # the issuer's own notes are not platform compliance's business
    return InvestorReview(
        investor=investor,
        owners=list(investor.owners.all()),
        documents=list(investor.documents.filter(removed_at__isnull=True).select_related("owner", "claim")),
        claims=list(investor.accreditation_claims.exclude(status=AccreditationStatus.WITHDRAWN)[:5]),
        hits=list(investor.screening_hits.select_related("owner", "decided_by")),
        checks=list(investor.kyc_checks.select_related("decided_by")[:5]),
        wallets=list(investor.wallets.filter(removed_at__isnull=True)),
        tax_form=tax_form_current(investor=investor),
        applications=list(applications),
        events=list(events.order_by("-id")[:20]),
        notes=list(notes[:50]),
    )


def sanctions_list_current() -> SanctionsList | None:
    return SanctionsList.objects.filter(active=True).first()

"""Reads for the compliance review queue and the investor detail page."""

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
    ApplicationStatus,
    BeneficialOwner,
    InvestorProfile,
    KycStatus,
    ReviewStatus,
)

QUEUE_FILTERS = {
    "open": "Needs a decision",
    "kyc": "KYC",
    "accreditation": "Accreditation",
    "sanctions": "Sanctions hits",
    "owners": "Entity owners",
    "all": "All applicants",
}


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
        applications__issuer=issuer, applications__status=ApplicationStatus.SUBMITTED
    ).distinct()


def review_queue(*, issuer: Issuer, show: str = "open", search: str = "") -> QuerySet[InvestorProfile]:
    """Applicants of `issuer` with what each is waiting for, in a fixed number of queries.

    Applicants with an undecided sanctions hit come first, the strongest match first; the rest
    in the order they submitted.
    """
    rows = applicants_of(issuer=issuer).annotate(
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
    if search.strip():
        rows = rows.filter(Q(legal_name__icontains=search.strip()) | Q(user__email__icontains=search.strip()))
    return rows.select_related("user").order_by(F("top_hit_score").desc(nulls_last=True), "submitted_at", "pk")


def applicant_of(*, issuer: Issuer, public_id: Any) -> InvestorProfile | None:
    return applicants_of(issuer=issuer).filter(public_id=public_id).select_related("user").first()


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


def investor_review(*, investor: InvestorProfile) -> InvestorReview:
    from investors.selectors import tax_form_current

    return InvestorReview(
        investor=investor,
        owners=list(investor.owners.all()),
        documents=list(investor.documents.filter(removed_at__isnull=True).select_related("owner", "claim")),
        claims=list(investor.accreditation_claims.exclude(status=AccreditationStatus.WITHDRAWN)[:5]),
        hits=list(investor.screening_hits.select_related("owner", "decided_by")),
        checks=list(investor.kyc_checks.select_related("decided_by")[:5]),
        wallets=list(investor.wallets.filter(removed_at__isnull=True)),
        tax_form=tax_form_current(investor=investor),
        applications=list(investor.applications.select_related("issuer")),
        events=list(
            AuditEvent.objects.filter(object_type="investors.investorprofile", object_id=str(investor.pk)).order_by(
                "-id"
            )[:20]
        ),
    )


def sanctions_list_current() -> SanctionsList | None:
    return SanctionsList.objects.filter(active=True).first()

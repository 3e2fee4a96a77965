"""Reads of the shared kernel."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from core.models import ApprovalRequest, ApprovalState, AuditEvent, Issuer, IssuerMembership


def issuer_list_visible_to(*, user: Any) -> QuerySet[Issuer]:
    if not getattr(user, "is_authenticated", False):
        return Issuer.objects.none()
    if user.is_staff:
        return Issuer.objects.all()
    return Issuer.objects.filter(memberships__user=user).distinct()


def issuer_team(*, issuer: Issuer) -> QuerySet[IssuerMembership]:
    return IssuerMembership.objects.filter(issuer=issuer).select_related("user").order_by("role", "user__email")


def audit_events_for_issuer(*, issuer: Issuer) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(issuer_id=issuer.pk).order_by("-id")


def audit_events_recent(*, limit: int = 50) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.order_by("-id")[:limit]


def approvals_pending(*, issuer: Issuer) -> QuerySet[ApprovalRequest]:
    return (
        ApprovalRequest.objects.filter(issuer=issuer, state=ApprovalState.PENDING)
        .select_related("proposed_by")
        .order_by("proposed_at", "pk")
    )


def approvals_decided(*, issuer: Issuer) -> QuerySet[ApprovalRequest]:
    return (
        ApprovalRequest.objects.filter(issuer=issuer)
        .exclude(state=ApprovalState.PENDING)
        .select_related("proposed_by", "decided_by")
        .order_by("-decided_at", "-pk")
    )

"""Reads of the shared kernel."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from core.models import (
    ApiToken,
    ApprovalRequest,
    ApprovalState,
    AuditEvent,
    Invitation,
    Issuer,
    IssuerMembership,
)


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


def invitations_open(*, issuer: Issuer | None) -> QuerySet[Invitation]:
    """Invitations not yet accepted or withdrawn (expired ones too: they can be resent), of an issuer or, with
    None, of the platform (platform roles and two-factor resets)."""
    rows = Invitation.objects.filter(accepted_at__isnull=True, revoked_at__isnull=True).select_related("invited_by")
    rows = rows.filter(issuer=issuer) if issuer is not None else rows.filter(issuer__isnull=True)
    return rows.order_by("-sent_at", "-pk")


def api_tokens_of(*, user: Any) -> QuerySet[ApiToken]:
    """A person's API tokens, newest first (revoked and expired ones too: they show when each stopped)."""
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")

"""Reads of the shared kernel."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from core.models import AuditEvent, Issuer, IssuerMembership


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

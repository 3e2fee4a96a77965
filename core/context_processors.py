"""Navigation per role, computed once per request from the access module."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from core.access import Perm, can, has_mfa, needs_mfa
from core.models import IssuerMembership, Notification


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "nav_issuers": [], "mfa_missing": False, "notifications_unread": 0}
    items = [{"label": "Dashboard", "url": reverse("home")}, {"label": "Offerings", "url": reverse("offering_list")}]
    memberships = list(IssuerMembership.objects.filter(user=user).select_related("issuer"))
    issuers = [
        {"name": m.issuer.name, "role": m.get_role_display(), "url": reverse("issuer_overview", args=[m.issuer.slug])}
        for m in memberships
    ]
    if can(user, Perm.REGISTRY_READER):
        items.append({"label": "Registers", "url": reverse("transfer_agent_home")})
    if can(user, Perm.PLATFORM_COMPLIANCE):
        items.append({"label": "Identity reviews", "url": reverse("identity_queue")})
    if not memberships and not user.is_staff and not user.platform_compliance:
        items.append({"label": "Investor status", "url": reverse("investor_status")})
        items.append({"label": "Portfolio", "url": reverse("portfolio")})
    issuers += [
        {
            "name": f"{m.issuer.name}: offerings",
            "role": "offerings",
            "url": reverse("issuer_offerings", args=[m.issuer.slug]),
        }
        for m in memberships
    ]
    issuers += [
        {
            "name": f"{m.issuer.name}: review queue",
            "role": "compliance",
            "url": reverse("compliance_queue", args=[m.issuer.slug]),
        }
        for m in memberships
        if can(user, Perm.COMPLIANCE_REVIEW, m.issuer)
    ]
    issuers += [
        {
            "name": f"{m.issuer.name}: register exports",
            "role": "register",
            "url": reverse("registry_exports", args=[m.issuer.slug]),
        }
        for m in memberships
        if can(user, Perm.REGISTRY_VIEW, m.issuer)
    ]
    if user.is_staff:
        items.append({"label": "Platform", "url": reverse("staff_console")})
        items.append({"label": "Chain", "url": reverse("chain_transactions")})
    return {
        "nav_items": items,
        "nav_issuers": issuers,
        "mfa_missing": needs_mfa(user) and not has_mfa(user),
        "notifications_unread": Notification.objects.filter(recipient=user, read_at__isnull=True).count(),
    }

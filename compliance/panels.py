"""What compliance adds to a home (settings.HOME_PANELS): a compliance officer's review queue at each issuer,
and platform compliance's identity queue (their whole work, so they land on it)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from compliance.selectors import identity_queue, review_queue
from core.access import Perm, can
from core.home import ORDER_COMPLIANCE, ORDER_PLATFORM_COMPLIANCE
from core.models import IssuerMembership, User

SHOWN = 8


def review_home_panels(user: User) -> list[dict[str, Any]]:
    """Officers who review but do not run the offerings (an admin sees the count in their issuer's panel)."""
    panels = []
    for membership in IssuerMembership.objects.filter(user=user).select_related("issuer").order_by("issuer__name"):
        issuer = membership.issuer
        if not can(user, Perm.COMPLIANCE_REVIEW, issuer) or can(user, Perm.ISSUER_MANAGE_OFFERINGS, issuer):
            continue
        queue = review_queue(issuer=issuer)
        panels.append(
            {
                "template": "compliance/_home_queue.html",
                "order": ORDER_COMPLIANCE,
                "issuer": issuer,
                "role": membership.get_role_display(),
                "applicants": list(queue[:SHOWN]),
                "waiting": queue.count(),
            }
        )
    return panels


def identity_home_panels(user: User) -> list[dict[str, Any]]:
    if not can(user, Perm.PLATFORM_COMPLIANCE):
        return []
    queue = identity_queue()
    return [
        {
            "template": "compliance/_home_identity.html",
            "order": ORDER_PLATFORM_COMPLIANCE,
            "lands_on": reverse("identity_queue"),
            "investors": list(queue[:SHOWN]),
            "waiting": queue.count(),
        }
    ]

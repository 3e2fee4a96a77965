"""What offerings add to an issuer admin's home (settings.HOME_PANELS): per issuer, the offerings and the
raises in progress, and what waits for them (wires to match, subscriptions and applicants to review,
approvals they are the second person for, Form D deadlines)."""

from __future__ import annotations

from typing import Any

from compliance.selectors import review_queue
from core.access import Perm, can
from core.home import ORDER_ISSUER
from core.models import IssuerMembership, User
from offerings.selectors.home import issuer_work


def issuer_home_panels(user: User) -> list[dict[str, Any]]:
    panels = []
    for membership in IssuerMembership.objects.filter(user=user).select_related("issuer").order_by("issuer__name"):
        issuer = membership.issuer
        if not can(user, Perm.ISSUER_MANAGE_OFFERINGS, issuer):
            continue
        work = issuer_work(issuer=issuer, user=user)
        panels.append(
            {
                "template": "offerings/_home_issuer.html",
                "order": ORDER_ISSUER,
                "work": work,
                "role": membership.get_role_display(),
                "applicants": review_queue(issuer=issuer).count() if can(user, Perm.COMPLIANCE_REVIEW, issuer) else 0,
                "can_record": can(user, Perm.ISSUER_RECORD_PAYMENTS, issuer),
                "can_approve": can(user, Perm.ISSUER_APPROVE_MONEY, issuer),
            }
        )
    return panels

"""Each person's home is their work. Apps add panels to it (settings.HOME_PANELS: dotted paths to
`panel(user) -> list[dict]`), since the kernel cannot import the apps above it; each dict names its
`template`, its `order` on the page and, for a panel that is a whole page of its own, `lands_on`: a
person whose only work is that page is taken straight there (a transfer agent to the registers)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils.module_loading import import_string

from core.access import has_mfa, is_privileged
from core.models import Issuer, User
from core.selectors import invitations_open

# Where panels stand on the page: the issuer's work first, then the platform's, an investor's own last
# (first for someone who is only an investor).
ORDER_ISSUER = 10
ORDER_COMPLIANCE = 20
ORDER_REGISTERS = 30
ORDER_PLATFORM_COMPLIANCE = 40
ORDER_STAFF = 50
ORDER_INVESTOR_ONLY = 0
ORDER_INVESTOR_TOO = 90


def is_investor_only(user: User) -> bool:
    """Holds no issuer or platform role: the portal is their investments."""
    return not is_privileged(user)


def staff_panel(user: User) -> list[dict[str, Any]]:
    if not user.is_staff:
        return []
    return [
        {
            "template": "core/_home_staff.html",
            "order": ORDER_STAFF,
            "lands_on": reverse("staff_console"),
            "issuers": Issuer.objects.count(),
            "invitations": invitations_open(issuer=None).count(),
        }
    ]


def home_panels(user: User) -> list[dict[str, Any]]:
    """Every panel of the user's home, in page order. Role panels need the second factor the role needs;
    without it only the investor's own panel shows (the page says how to get one)."""
    panels: list[dict[str, Any]] = []
    for path in settings.HOME_PANELS:
        panels.extend(import_string(path)(user))
    if is_privileged(user) and not has_mfa(user):
        panels = [p for p in panels if p["order"] in (ORDER_INVESTOR_ONLY, ORDER_INVESTOR_TOO)]
    return sorted(panels, key=lambda p: p["order"])


def landing_page(panels: list[dict[str, Any]]) -> str | None:
    """Where to take someone whose only work is one page of its own."""
    if len(panels) == 1 and panels[0].get("lands_on"):
        return str(panels[0]["lands_on"])
    return None

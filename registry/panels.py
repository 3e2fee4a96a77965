"""What the registry adds to an offering's dashboard (settings.OFFERING_DASHBOARD_PANELS) and to a transfer
agent's home (settings.HOME_PANELS): the registers they keep, a page of its own they land on."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from core.home import ORDER_REGISTERS
from core.models import Role, User
from offerings.models import Offering
from registry.selectors.control_book import differences_open, reconciliation_latest


def record_differences_panel(offering: Offering) -> tuple[str, dict[str, Any]]:
    return "registry/_record_differences.html", {
        "reconciliation": reconciliation_latest(offering=offering),
        "differences": differences_open(offering=offering),
    }


def registers_home_panels(user: User) -> list[dict[str, Any]]:
    kept = [m.issuer for m in user.memberships.filter(role=Role.TRANSFER_AGENT).select_related("issuer")]
    if not kept:
        return []
    return [
        {
            "template": "registry/_home_registers.html",
            "order": ORDER_REGISTERS,
            "lands_on": reverse("transfer_agent_home"),
            "issuers": sorted(kept, key=lambda i: i.name),
        }
    ]

"""What the registry adds to an offering's dashboard (settings.OFFERING_DASHBOARD_PANELS)."""

from __future__ import annotations

from typing import Any

from offerings.models import Offering
from registry.selectors.control_book import differences_open, reconciliation_latest


def record_differences_panel(offering: Offering) -> tuple[str, dict[str, Any]]:
    return "registry/_record_differences.html", {
        "reconciliation": reconciliation_latest(offering=offering),
        "differences": differences_open(offering=offering),
    }

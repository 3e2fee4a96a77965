"""What distributions add to an offering's dashboard (settings.OFFERING_DASHBOARD_PANELS)."""

from __future__ import annotations

from typing import Any

from distributions.selectors import distributions_of
from offerings.models import Offering


def distributions_panel(offering: Offering) -> tuple[str, dict[str, Any]]:
    return "distributions/_panel.html", {"distributions": list(distributions_of(offering=offering)[:5])}

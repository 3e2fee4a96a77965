"""What backing adds to an offering's dashboard (settings.OFFERING_DASHBOARD_PANELS): whether its mints are
guarded by reserves, the token's backing condition, and while a closing is held, why."""

from __future__ import annotations

from typing import Any

from backing.selectors import backing_rule_of, backing_status_of, reserve_statement_current
from offerings.models import Offering


def backing_panel(offering: Offering) -> tuple[str, dict[str, Any]]:
    return "backing/_panel.html", {
        "backing_rule": backing_rule_of(offering=offering),
        "backing_status": backing_status_of(offering=offering),
        "backing_statement": reserve_statement_current(offering=offering),
    }

"""What ballots add to an offering's dashboard (settings.OFFERING_DASHBOARD_PANELS)."""

from __future__ import annotations

from typing import Any

from governance.models import Ballot
from offerings.models import Offering


def ballots_panel(offering: Offering) -> tuple[str, dict[str, Any]]:
    return "governance/_panel.html", {"ballots": list(Ballot.objects.filter(offering=offering)[:5])}

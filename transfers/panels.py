"""What holders' transfers add to an offering's dashboard (settings.OFFERING_DASHBOARD_PANELS): the exception
requests waiting for the issuer, and where they are decided."""

from __future__ import annotations

from typing import Any

from offerings.models import Offering
from transfers.models import OPEN_REQUEST_STATES, TransferRequest


def requests_panel(offering: Offering) -> tuple[str, dict[str, Any]]:
    open_requests = TransferRequest.objects.filter(offering=offering, state__in=OPEN_REQUEST_STATES)
    return "transfers/_panel.html", {
        "open_requests": list(open_requests.select_related("investor")[:5]),
        "open_count": open_requests.count(),
    }

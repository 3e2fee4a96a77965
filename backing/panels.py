"""What backing adds to an offering's dashboard (settings.OFFERING_DASHBOARD_PANELS): whether its mints are
guarded by reserves, the token's backing condition, and while a closing is held, why; and to its public page
(settings.OFFERING_PAGE_SECTIONS): what backs it and the link to its transparency report."""

from __future__ import annotations

from typing import Any

from backing.models import BackingProfile
from backing.selectors import backing_profile_of, backing_rule_of, backing_status_of, reserve_statement_current
from offerings.models import Offering


def backing_panel(offering: Offering) -> tuple[str, dict[str, Any]]:
    return "backing/_panel.html", {
        "backing_rule": backing_rule_of(offering=offering),
        "backing_status": backing_status_of(offering=offering),
        "backing_statement": reserve_statement_current(offering=offering),
    }


def offering_page_section(offering: Offering) -> tuple[str, dict[str, Any]] | None:
    """On the offering's public page: what backs the token, the latest attested reserves, and the way to its
    transparency report (settings.OFFERING_PAGE_SECTIONS)."""
    if not BackingProfile.objects.filter(offering=offering).exists() and backing_rule_of(offering=offering) is None:
        return None
    return "backing/_offering_section.html", {
        "offering": offering,
        "profile": backing_profile_of(offering=offering),
        "statement": reserve_statement_current(offering=offering),
        "status": backing_status_of(offering=offering),
    }

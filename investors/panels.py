"""The investor's own panel on their home (settings.HOME_PANELS): onboarding until it is done, then their
investments. It shows for investors, and second for people with another role who also invest."""

from __future__ import annotations

from typing import Any

from core.home import ORDER_INVESTOR_ONLY, ORDER_INVESTOR_TOO, is_investor_only
from core.models import User
from investors.models import InvestorProfile
from investors.selectors import onboarding_steps


def onboarding_home_panel(user: User) -> list[dict[str, Any]]:
    profile = InvestorProfile.objects.filter(user=user).first()
    only_investor = is_investor_only(user)
    if profile is None and not only_investor:
        return []
    steps = onboarding_steps(investor=profile or InvestorProfile(kind=""))
    next_step = next((s for s in steps if not s.done and not s.optional), None)
    return [
        {
            "template": "investors/_home_panel.html",
            "order": ORDER_INVESTOR_ONLY if only_investor else ORDER_INVESTOR_TOO,
            "profile": profile,
            "steps": steps,
            "step_count": len(steps),
            "steps_done": sum(1 for s in steps if s.done),
            "next_step": next_step,
            "submitted": profile is not None and profile.submitted_at is not None,
        }
    ]

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.simple_tag
def onboarding_progress(user: Any) -> dict[str, object]:
    """The dashboard's onboarding checklist for the signed-in user (nothing is created by looking)."""
    from investors.models import InvestorProfile
    from investors.selectors import onboarding_steps

    profile = InvestorProfile.objects.filter(user=user).first() if getattr(user, "is_authenticated", False) else None
    if profile is None:
        profile = InvestorProfile(kind="")
        return {"steps": onboarding_steps(investor=profile), "profile": None}
    return {"steps": onboarding_steps(investor=profile), "profile": profile}

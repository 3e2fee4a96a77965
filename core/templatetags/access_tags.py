"""Templates ask the access rules before they show a link, so nobody is offered a page that refuses them."""

from __future__ import annotations

from typing import Any

from django import template

from core.access import Perm, can

register = template.Library()


@register.simple_tag(takes_context=True)
def may(context: template.Context, perm: str, obj: Any = None) -> bool:
    """`{% may "registry.view" issuer as can_view %}`: what core.access.can answers for the signed-in user."""
    request = context.get("request")
    return request is not None and can(request.user, Perm(perm), obj)

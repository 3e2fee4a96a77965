"""The portal's own name and address for templates that Django's context does not reach (allauth's e-mails)."""

from __future__ import annotations

from django import template
from django.conf import settings

register = template.Library()


@register.simple_tag
def portal_name() -> str:
    return str(getattr(settings, "PORTAL_NAME", "Tessera"))


@register.simple_tag
def portal_url() -> str:
    return str(settings.SITE_URL).rstrip("/") + "/"

"""A page's one-button actions: run a service, tell the person how it went, never a traceback."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest

from core.errors import ApplicationError


def action_perform(request: HttpRequest, action: Callable[[], object], *, success: str) -> bool:
    """Run `action`; flash `success`, or the service's own message when a rule said no."""
    try:
        action()
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return False
    messages.success(request, success)
    return True

"""Request ids: taken from X-Request-ID or made up, put on the response, the logs and the audit chain."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar

from django.http import HttpRequest, HttpResponse

request_id_var: ContextVar[str] = ContextVar("request_id", default="")
_VALID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def current_request_id() -> str:
    return request_id_var.get()


def set_request_id(value: str) -> None:
    request_id_var.set(value)


def valid_request_id(value: str) -> bool:
    """What a caller may name its request by: short, and safe in a log line and a header."""
    return bool(_VALID.match(value))


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if valid_request_id(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        request.request_id = request_id  # type: ignore[attr-defined]
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request_id
        return response


class RequestIdLogFilter(logging.Filter):
    """Every log line names the request (or task) it belongs to; a line may name another one itself."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", ""):
            record.request_id = current_request_id() or "-"
        return True


def idle_clock_start(sender: object, request: HttpRequest | None = None, **kwargs: object) -> None:
    """At sign-in: the session's last activity is now (so the first pages need no extra session write)."""
    if request is not None and hasattr(request, "session"):
        request.session[PrivilegedIdleTimeoutMiddleware.SESSION_KEY] = int(time.time())


class PrivilegedIdleTimeoutMiddleware:
    """Sessions of privileged users (issuer roles, platform compliance, staff) end after a quiet spell.

    The time of the last request is kept in the session; a request after more than
    PRIVILEGED_IDLE_TIMEOUT_SECONDS signs the user out and sends them to sign in again.
    """

    SESSION_KEY = "tessera_last_activity"

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from django.conf import settings
        from django.contrib import messages
        from django.contrib.auth import logout
        from django.contrib.auth.views import redirect_to_login
        from django.http import JsonResponse

        from core.access import is_privileged

        user = getattr(request, "user", None)
        if user is not None and is_privileged(user):
            now = int(time.time())
            last = request.session.get(self.SESSION_KEY)
            limit = int(settings.PRIVILEGED_IDLE_TIMEOUT_SECONDS)
            if isinstance(last, int) and now - last > limit:
                logout(request)
                minutes = max(limit // 60, 1)
                if request.path.startswith("/api/"):
                    return JsonResponse(
                        {"error": {"code": "session_expired", "message": "Your session ended; sign in again."}},
                        status=401,
                    )
                messages.info(
                    request,
                    f"You were signed out after {minutes} minutes without activity, as every account with an "
                    "issuer, compliance or staff role is. Sign in again to continue.",
                )
                return redirect_to_login(request.get_full_path())
            if not isinstance(last, int) or now - last >= 60:  # a session write at most once a minute
                request.session[self.SESSION_KEY] = now
        return self.get_response(request)


class PrivilegedEnrolmentGuardMiddleware:
    """allauth's own pages that add a second factor refuse privileged accounts that have none.

    A privileged account without a factor is exactly the one whose stolen password must not be enough:
    its factor is enrolled only through an invitation link (`core.invitations`). Investors and accounts
    that already have a factor (adding a security key, say) use allauth's pages as before.
    """

    GUARDED_URL_NAMES = frozenset({"mfa_activate_totp", "mfa_add_webauthn", "mfa_signup_webauthn"})

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view: object, args: object, kwargs: object) -> HttpResponse | None:
        from django.shortcuts import render

        from core.access import has_mfa, is_privileged

        match = request.resolver_match
        if match is None or match.url_name not in self.GUARDED_URL_NAMES:
            return None
        user = getattr(request, "user", None)
        if user is None or not is_privileged(user) or has_mfa(user):
            return None
        return render(request, "core/mfa_required.html", {"refused": True, "hide_mfa_banner": True}, status=403)

"""The Django admin behind the same door as every privileged page: staff with MFA only."""

from __future__ import annotations

from typing import Any

from django.contrib.admin import AdminSite
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from core.access import has_mfa


class TesseraAdminSite(AdminSite):
    site_header = "Tessera administration"
    site_title = "Tessera admin"
    index_title = "Platform data"

    def has_permission(self, request: HttpRequest) -> bool:
        return super().has_permission(request) and has_mfa(request.user)

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        """Sign-in goes through the portal's own login (with its MFA step), never a second form."""
        user = request.user
        if user.is_authenticated and user.is_active and user.is_staff and not has_mfa(user):
            return redirect("mfa_required")
        if user.is_authenticated:
            return redirect("home")
        return redirect_to_login(request.GET.get("next", self.index_url if hasattr(self, "index_url") else "/admin/"))

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.http import HttpRequest

from core.models import AuditEvent, Issuer, IssuerMembership, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "is_staff", "is_active", "date_joined"]
    search_fields = ["email", "full_name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Person", {"fields": ("full_name",)}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


class MembershipInline(admin.TabularInline):
    model = IssuerMembership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Issuer)
class IssuerAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "jurisdiction", "country", "created_at"]
    search_fields = ["name", "legal_name", "slug"]
    inlines = [MembershipInline]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the chain is append-only and changes only through services."""

    list_display = ["id", "occurred_at", "actor_label", "action", "object_type", "object_label"]
    list_filter = ["action", "object_type"]
    search_fields = ["action", "object_label", "actor_label", "request_id"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

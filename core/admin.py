from __future__ import annotations

from typing import Any

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.db import models
from django.http import HttpRequest
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)

from core.audit import audit_object_label, audit_record
from core.errors import ApplicationError
from core.models import AuditEvent, Issuer, IssuerMembership, User
from core.services import platform_compliance_set


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "is_staff", "platform_compliance", "is_active", "date_joined"]
    list_filter = ["is_staff", "platform_compliance", "is_active"]
    search_fields = ["email", "full_name"]
    # Privileged roles are given only through invitations (core.invitations), which enrol a second
    # factor and audit the grant; platform compliance is also taken away by the actions below.
    readonly_fields = ["is_staff", "is_superuser", "platform_compliance"]
    actions = ["grant_platform_compliance", "revoke_platform_compliance"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Person", {"fields": ("full_name",)}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "platform_compliance", "groups")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)

    @admin.action(description="Give the platform compliance role (to accounts that use two-factor)")
    def grant_platform_compliance(self, request: HttpRequest, queryset: Any) -> None:
        for user in queryset:
            try:
                platform_compliance_set(actor=request.user, user=user, granted=True)  # type: ignore[arg-type]
            except ApplicationError as exc:
                self.message_user(request, exc.message, level=messages.ERROR)

    @admin.action(description="Take the platform compliance role away")
    def revoke_platform_compliance(self, request: HttpRequest, queryset: Any) -> None:
        for user in queryset:
            platform_compliance_set(actor=request.user, user=user, granted=False)  # type: ignore[arg-type]


class MembershipInline(admin.TabularInline):
    """Read-only: roles change on the issuer's team page, through invitations that enrol a second factor,
    and the last admin is kept (core.services)."""

    model = IssuerMembership
    extra = 0
    fields = ["user", "role"]
    readonly_fields = ["user", "role"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Issuer)
class IssuerAdmin(admin.ModelAdmin):
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["name", "slug", "jurisdiction", "formation_date", "country", "created_at"]
    search_fields = ["name", "legal_name", "slug"]
    # The issuer's admins set it, and loosening it needs a second admin (core.approvals).
    readonly_fields = ["four_eyes_threshold_minor"]
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


class AuditedAdminMixin:
    """Admin edits are state changes too: each one is written to the audit chain."""

    audit_exclude = frozenset({"password", "data", "secret"})
    # Personal data: the event says the field changed, never what it holds (core.audit keeps no personal data).
    audit_personal = frozenset({"full_name", "first_name", "last_name", "legal_name", "date_of_birth", "phone"})

    def _shown(self, field: str, value: Any) -> str:
        return "(changed)" if field in self.audit_personal else str(value)

    def _snapshot(self, values: dict[str, Any], fields: list[str]) -> dict[str, Any]:
        return {f: self._shown(f, values.get(f)) for f in fields if f not in self.audit_exclude}

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)  # type: ignore[misc]
        changed = list(form.changed_data)
        audit_record(
            actor=request.user,
            action=f"admin.{obj._meta.model_name}.{'changed' if change else 'added'}",
            obj=obj,
            before=self._snapshot(form.initial, changed) if change else None,
            after=self._snapshot(form.cleaned_data, changed),
        )

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        super().save_formset(request, form, formset, change)  # type: ignore[misc]
        for obj in formset.new_objects:
            audit_record(actor=request.user, action=f"admin.{obj._meta.model_name}.added", obj=obj)
        for obj, fields in formset.changed_objects:
            after = {f: self._shown(f, getattr(obj, f, "")) for f in fields if f not in self.audit_exclude}
            audit_record(actor=request.user, action=f"admin.{obj._meta.model_name}.changed", obj=obj, after=after)
        for obj in formset.deleted_objects:
            audit_record(
                actor=request.user,
                action=f"admin.{obj._meta.model_name}.deleted",
                obj=None,
                before={"object": audit_object_label(obj)},
                issuer=getattr(obj, "issuer", None),
            )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        audit_record(actor=request.user, action=f"admin.{obj._meta.model_name}.deleted", obj=obj)
        super().delete_model(request, obj)  # type: ignore[misc]

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for obj in queryset:
            audit_record(actor=request.user, action=f"admin.{obj._meta.model_name}.deleted", obj=obj)
        super().delete_queryset(request, queryset)  # type: ignore[misc]


def _audited(model: type[Any]) -> None:
    current = type(admin.site._registry[model])
    admin.site.unregister(model)
    admin.site.register(model, type(f"Audited{current.__name__}", (AuditedAdminMixin, current), {}))


for _model in (User, Issuer, EmailAddress, Authenticator, PeriodicTask, IntervalSchedule, CrontabSchedule):
    _audited(_model)
# Groups and Django permissions are not how Tessera grants access (core.access is).
admin.site.unregister(Group)
for _model in (ClockedSchedule, SolarSchedule):
    admin.site.unregister(_model)

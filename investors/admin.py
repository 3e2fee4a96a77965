"""Read-only admin views. Changes go through the services (and so the audit chain); list views
show no tax ids, dates of birth or id numbers."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import URLPattern, reverse
from django.utils.html import format_html

from investors.models import (
    AccreditationClaim,
    HolderRecordVersion,
    InvestorProfile,
    IssuerApplication,
    TaxForm,
    Wallet,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Only the list and the detail page; nothing can be added, changed or deleted here."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        return [u for u in super().get_urls() if (u.name or "").endswith(("_changelist", "_change"))]


@admin.register(InvestorProfile)
class InvestorProfileAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "legal_name", "kind", "country", "kyc_status", "screening_status", "registry_state"]
    list_filter = ["kind", "kyc_status", "screening_status", "registry_state"]
    search_fields = ["legal_name", "user__email"]
    exclude = ["tax_id", "date_of_birth"]
    readonly_fields = ["erasure_request"]

    @admin.display(description="Erasure request")
    def erasure_request(self, obj: InvestorProfile) -> str:
        url = reverse("staff_investor_erasure", args=[obj.public_id])
        return format_html('<a href="{}">Act on an erasure request of this investor</a>', url)


@admin.register(AccreditationClaim)
class AccreditationClaimAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "investor", "method", "status", "submitted_at", "expires_at"]
    list_filter = ["method", "status"]


@admin.register(TaxForm)
class TaxFormAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "investor", "kind", "signed_on", "expires_on", "treaty_country", "superseded_at"]
    list_filter = ["kind"]
    exclude = ["foreign_tin"]


@admin.register(Wallet)
class WalletAdmin(ReadOnlyAdmin):
    list_display = ["address", "investor", "kind", "linked_at", "removed_at"]
    list_filter = ["kind"]
    search_fields = ["address"]


@admin.register(IssuerApplication)
class IssuerApplicationAdmin(ReadOnlyAdmin):
    list_display = ["investor", "issuer", "status", "created_at"]
    list_filter = ["issuer", "status"]


@admin.register(HolderRecordVersion)
class HolderRecordVersionAdmin(ReadOnlyAdmin):
    """17Ad-10(f): kept six years after replacement; only the purge task deletes them."""

    list_display = ["investor_id", "holder_type", "country", "cause", "valid_from", "valid_to", "retain_until"]
    list_filter = ["cause", "holder_type"]

"""The registry in the admin. Ledger rows derive from chain events and the control book changes only
through its services (audited, four eyes), so those are read-only here; the 17Ad-11 threshold table is
data platform staff keep current, and each change is audited."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import URLPattern

from core.admin import AuditedAdminMixin
from registry.models import (
    ControlBookEntry,
    DifferenceThreshold,
    IssuerAuthorization,
    LedgerPosting,
    Lot,
    LotMovement,
    Reconciliation,
    RecordDifference,
    RecordDifferenceReport,
    RecordDifferenceReportIssue,
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


@admin.register(LedgerPosting)
class LedgerPostingAdmin(ReadOnlyAdmin):
    list_display = ["offering", "kind", "quantity", "block_number", "log_index", "transaction_hash", "posted_at"]
    list_filter = ["kind", "via_portal"]
    search_fields = ["transaction_hash", "from_wallet", "to_wallet"]
    list_select_related = ["offering"]


@admin.register(Lot)
class LotAdmin(ReadOnlyAdmin):
    list_display = ["pk", "offering", "wallet", "quantity", "issued_at", "acquired_at", "exemption"]
    search_fields = ["wallet", "transaction_hash"]
    list_select_related = ["offering"]


@admin.register(LotMovement)
class LotMovementAdmin(ReadOnlyAdmin):
    list_display = ["lot", "delta", "block_number", "chain_time"]


@admin.register(IssuerAuthorization)
class IssuerAuthorizationAdmin(ReadOnlyAdmin):
    list_display = ["offering", "authorized_quantity", "authorized_on", "effective_at", "recorded_by", "approved_by"]
    search_fields = ["offering__title", "description", "document_sha256"]
    list_select_related = ["offering", "recorded_by", "approved_by"]


@admin.register(ControlBookEntry)
class ControlBookEntryAdmin(ReadOnlyAdmin):
    list_display = ["offering", "kind", "quantity", "transaction_hash", "recorded_at"]
    list_filter = ["kind"]
    search_fields = ["transaction_hash"]
    list_select_related = ["offering"]


@admin.register(RecordDifference)
class RecordDifferenceAdmin(ReadOnlyAdmin):
    list_display = ["offering", "kind", "expected", "actual", "transaction_hash", "arose_at", "resolved_at"]
    list_filter = ["kind"]
    search_fields = ["transaction_hash"]
    list_select_related = ["offering"]


@admin.register(Reconciliation)
class ReconciliationAdmin(ReadOnlyAdmin):
    list_display = ["offering", "ran_at", "authorized", "issued", "on_chain_supply", "ledger_total", "differences_open"]
    list_select_related = ["offering"]


class ReportIssueInline(admin.TabularInline):
    model = RecordDifferenceReportIssue
    extra = 0
    can_delete = False
    fields = ("offering", "capitalization_minor", "aged_units", "aged_value_minor", "report_to_issuer")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(RecordDifferenceReport)
class RecordDifferenceReportAdmin(ReadOnlyAdmin):
    list_display = ["issuer", "month", "due_on", "report_to_issuer", "report_to_regulator", "notified_at"]
    list_filter = ["report_to_issuer", "report_to_regulator"]
    list_select_related = ["issuer"]
    inlines = [ReportIssueInline]


@admin.register(DifferenceThreshold)
class DifferenceThresholdAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """17Ad-11(c) figures: the SEC may change them, so they are data (each edit is audited)."""

    list_display = ["currency", "capitalization_up_to_minor", "issuer_report_over_minor", "regulator_report_over_minor"]

from django.contrib import admin
from django.http import HttpRequest

from registry.models import IssuerAuthorization, LedgerPosting, Lot, Reconciliation, RecordDifference


@admin.register(LedgerPosting)
class LedgerPostingAdmin(admin.ModelAdmin):
    list_display = [
        "offering",
        "kind",
        "quantity",
        "from_wallet",
        "to_wallet",
        "block_number",
        "chain_time",
        "posted_at",
    ]
    list_filter = ["kind"]
    search_fields = ["transaction_hash", "from_wallet", "to_wallet"]

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # the ledger is derived from the chain; nobody edits it


@admin.register(Lot)
class LotAdmin(admin.ModelAdmin):
    list_display = ["offering", "investor", "wallet", "quantity", "acquired_at", "exemption", "lockup_release"]
    search_fields = ["wallet", "transaction_hash"]

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(IssuerAuthorization)
class IssuerAuthorizationAdmin(admin.ModelAdmin):
    list_display = ["offering", "authorized_quantity", "authorized_on", "recorded_by", "recorded_at"]

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # a new authorization supersedes; none is edited


@admin.register(RecordDifference)
class RecordDifferenceAdmin(admin.ModelAdmin):
    list_display = ["offering", "kind", "expected", "actual", "transaction_hash", "arose_at", "resolved_at"]
    list_filter = ["kind"]


@admin.register(Reconciliation)
class ReconciliationAdmin(admin.ModelAdmin):
    list_display = ["offering", "authorized", "issued", "on_chain_supply", "ledger_total", "ledger_block", "ran_at"]

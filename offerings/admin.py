from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import URLPattern

from offerings.models import (
    MintBatch,
    Offering,
    OfferingDocument,
    Payment,
    PaymentEntry,
    Refund,
    Subscription,
    WebhookEvent,
    WireReceipt,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Changes go through services (audited); the admin only lists and shows."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        return [u for u in super().get_urls() if (u.name or "").endswith(("_changelist", "_change"))]


@admin.register(Offering)
class OfferingAdmin(ReadOnlyAdmin):
    list_display = ["title", "issuer", "exemption", "status", "committed_minor", "hard_cap_minor", "closes_at"]
    list_filter = ["status", "exemption"]
    search_fields = ["title", "issuer__name"]


@admin.register(OfferingDocument)
class OfferingDocumentAdmin(ReadOnlyAdmin):
    list_display = ["title", "offering", "version", "material", "sha256", "uploaded_at"]


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "offering", "investor", "amount_minor", "paid_minor", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["wire_reference", "investor__legal_name"]
    list_select_related = ["offering", "investor"]


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ["provider", "external_id", "subscription", "amount_minor", "status", "created_at"]
    list_filter = ["provider", "status"]


@admin.register(PaymentEntry)
class PaymentEntryAdmin(ReadOnlyAdmin):
    list_display = ["subscription", "provider", "kind", "amount_minor", "currency", "external_ref", "recorded_at"]
    list_filter = ["provider", "kind"]


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ["subscription", "provider", "amount_minor", "status", "requested_at"]
    list_filter = ["status", "provider"]


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    list_display = ["provider", "event_type", "event_id", "outcome", "received_at"]


@admin.register(WireReceipt)
class WireReceiptAdmin(ReadOnlyAdmin):
    list_display = ["reference", "issuer", "amount_minor", "currency", "match", "received_on", "resolved_at"]
    list_filter = ["match"]


@admin.register(MintBatch)
class MintBatchAdmin(ReadOnlyAdmin):
    list_display = ["offering", "number", "holders", "quantity", "settled_at"]

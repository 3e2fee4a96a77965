from __future__ import annotations

from django.contrib import admin

from compliance.models import KycCheck, SanctionsList, ScreeningHit
from investors.admin import ReadOnlyAdmin


@admin.register(KycCheck)
class KycCheckAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "investor", "provider", "status", "created_at", "decided_at", "expires_at"]
    list_filter = ["provider", "status"]


@admin.register(SanctionsList)
class SanctionsListAdmin(ReadOnlyAdmin):
    list_display = ["loaded_at", "digest", "entries", "aliases", "addresses", "active", "source"]


@admin.register(ScreeningHit)
class ScreeningHitAdmin(ReadOnlyAdmin):
    list_display = ["subject_name", "matched_name", "ent_num", "program", "score", "status", "created_at"]
    list_filter = ["status", "program"]

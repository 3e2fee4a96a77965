"""API rate limits: DRF's ScopedRateThrottle, counted in the default cache (local memory on one process,
Redis in production and CI, so every web process shares one count)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from rest_framework.throttling import ScopedRateThrottle


class SettingsScopedRateThrottle(ScopedRateThrottle):
    """ScopedRateThrottle that reads the scope's rate from settings at each request: DRF copies the rates
    once when it is imported, so a rate changed afterwards (by an override in a test) would not apply."""

    def get_rate(self) -> str | None:
        config: dict[str, Any] = settings.REST_FRAMEWORK
        rates: dict[str, str] = config.get("DEFAULT_THROTTLE_RATES") or {}
        try:
            return str(rates[str(self.scope)])
        except KeyError as exc:
            raise ImproperlyConfigured(f"No rate is set for the API throttle scope “{self.scope}”.") from exc

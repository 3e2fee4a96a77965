"""Payment providers, one module per provider, chosen by `settings.PAYMENT_PROVIDERS`."""

from __future__ import annotations

from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

from offerings.payments.base import PaymentError, PaymentProvider


@cache
def _load(paths: tuple[str, ...]) -> dict[str, PaymentProvider]:
    providers: dict[str, PaymentProvider] = {}
    for path in paths:
        provider = import_string(path)()
        providers[provider.identifier] = provider
    return providers


def payment_providers() -> dict[str, PaymentProvider]:
    """Every configured provider by identifier, in the settings' order."""
    return _load(tuple(settings.PAYMENT_PROVIDERS))


def payment_provider(identifier: str) -> PaymentProvider:
    provider = payment_providers().get(identifier)
    if provider is None:
        raise PaymentError(f"The payment method “{identifier}” is not available.", code="unknown_provider")
    return provider


__all__ = ["PaymentError", "PaymentProvider", "payment_provider", "payment_providers"]

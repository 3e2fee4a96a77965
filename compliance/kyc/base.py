"""The interface every KYC provider implements, and the settings-chosen registry of them."""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import StrEnum
from functools import cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from compliance.models import KycCheck


class KycProviderError(Exception):
    """The provider could not take the request (network, bad answer); the check shows it."""


class WebhookRejected(Exception):
    """A webhook delivery that must not be believed: bad signature, stale, malformed."""

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class VendorVerdict(StrEnum):
    """What a KYC vendor decided about one check."""

    APPROVED = "approved"
    REJECTED = "rejected"
    REVIEW = "review"


@dataclass(frozen=True)
class VendorResult:
    """A provider's verdict on one check, as the vendor reported it."""

    event_id: str
    reference: str  # the check's public id, sent to the vendor when the check started
    external_ref: str
    result: VendorVerdict
    reason: str
    valid_until: dt.date | None


class KycProvider(ABC):
    identifier: str = ""
    verbose_name: str = ""
    # Manual providers put the check in the review queue; vendors decide and call back.
    decides_by_webhook: bool = False

    @abstractmethod
    def start(self, check: KycCheck) -> str:
        """Hand the check to the provider; returns the provider's reference (may be empty)."""

    def parse_webhook(self, *, body: bytes, headers: dict[str, str]) -> VendorResult:
        raise WebhookRejected("This provider does not receive webhooks.", status=404)


@cache
def _providers(paths: tuple[str, ...]) -> dict[str, KycProvider]:
    found: dict[str, KycProvider] = {}
    for path in paths:
        provider = import_string(path)()
        if not provider.identifier:
            raise ImproperlyConfigured(f"KYC provider {path} has no identifier.")
        found[provider.identifier] = provider
    return found


def kyc_providers() -> dict[str, KycProvider]:
    return _providers(tuple(settings.KYC_PROVIDERS))


def kyc_provider(identifier: str) -> KycProvider | None:
    return kyc_providers().get(identifier)


def default_kyc_provider() -> KycProvider:
    provider = kyc_provider(settings.KYC_PROVIDER)
    if provider is None:
        raise ImproperlyConfigured(f"KYC_PROVIDER “{settings.KYC_PROVIDER}” is not one of KYC_PROVIDERS.")
    return provider

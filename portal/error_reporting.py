"""Errors to Sentry when SENTRY_DSN is set (web and workers), with personal data taken out before anything leaves.

The SDK never adds the user, cookies, headers or request bodies itself (send_default_pii is off), and every
event and transaction passes `scrub` first: values under keys that name personal data are replaced, and
e-mail addresses, wallet addresses and US tax ids are cut out of every string (messages, SQL, local variables).
"""

from __future__ import annotations

import re
from typing import Any

FILTERED = "[Filtered]"
# Keys whose values are personal data or secrets, wherever they appear (request data, local variables, extra).
_SENSITIVE_WORDS = (
    "email|e_mail|emails|password|password1|password2|passwd|secret|token|api_key|apikey|authorization|cookie|"
    "sessionid|session_key|csrftoken|csrfmiddlewaretoken|tax_id|ssn|itin|tin|date_of_birth|dob|birth_date|phone|"
    "mobile|address|address_line|street|city|postal_code|postcode|zip|zip_code|first_name|last_name|full_name|"
    "legal_name|given_name|family_name|iban|account_number|routing_number|swift|bic|wallet|wallets|id_number|"
    "document_number|passport"
)
# A key is sensitive when one of its underscore-separated parts (or runs of parts) is one of those words.
_SENSITIVE_KEY = re.compile(rf"(?:^|_)(?:{_SENSITIVE_WORDS})(?:$|_)")


def _sensitive(key: str) -> bool:
    return bool(_SENSITIVE_KEY.search(key.lower().replace("-", "_")))


_PATTERNS = (
    (re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}"), "[email]"),
    (re.compile(r"\b0x[0-9a-fA-F]{40}\b"), "[wallet]"),
    (re.compile(r"\b\d{3}-\d{2}-\d{4}\b"), "[tax id]"),
)
# Event parts that only describe the code: left as they are.
_KEPT_KEYS = frozenset({"filename", "abs_path", "module", "function", "lineno", "colno", "in_app", "platform"})


def _scrub_text(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def scrub(value: Any, key: str = "") -> Any:
    """A copy of `value` without personal data: sensitive keys filtered, addresses cut out of strings."""
    if key and key not in _KEPT_KEYS and _sensitive(key):
        return FILTERED if value not in (None, "", [], {}) else value
    if isinstance(value, dict):
        return {k: scrub(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        # Sentry sends headers and query strings as [name, value] pairs: the name decides, as for a key.
        if len(value) == 2 and isinstance(value[0], str) and _sensitive(value[0]):
            return [value[0], FILTERED]
        return [scrub(item) for item in value]
    if isinstance(value, str):
        return value if key in _KEPT_KEYS else _scrub_text(value)
    return value


def before_send(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    event = scrub(event)
    event.pop("user", None)  # who it happened to stays in the portal's own audit trail, not in Sentry
    return event


def sentry_init(*, dsn: str, environment: str, release: str = "", traces_sample_rate: float = 0.0) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release or None,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False,
        # The same in the SDK's newer words: no user, no request bodies, no SQL parameters.
        data_collection={"user_info": False, "http_bodies": [], "database_query_data": False},
        max_request_body_size="never",
        include_local_variables=True,
        before_send=before_send,  # type: ignore[arg-type]
        before_send_transaction=before_send,  # type: ignore[arg-type]
        traces_sample_rate=traces_sample_rate,
    )

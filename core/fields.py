"""Model fields whose values are encrypted at rest (tax ids, dates of birth, id numbers), and the
encryption of files at rest (identity documents) with the same keys.

Values are Fernet tokens (AES-128-CBC + HMAC-SHA256) made with the newest key of
`settings.FIELD_ENCRYPTION_KEYS`; older keys still decrypt, so keys rotate by putting a new key
first and running `manage.py pii_reencrypt`. The database only ever sees the tokens, which are
randomised: the columns cannot be searched or compared, only tested for NULL.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django import forms
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

TOKEN_PREFIX = "fernet:"


@lru_cache(maxsize=4)
def _cipher_for(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is empty: set it to one or more Fernet keys, newest first.")
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS holds a value that is not a Fernet key (32 url-safe base64 bytes)."
        ) from exc


def field_cipher() -> MultiFernet:
    return _cipher_for(tuple(k.strip() for k in settings.FIELD_ENCRYPTION_KEYS if k.strip()))


def encrypt_text(value: str) -> str:
    return TOKEN_PREFIX + field_cipher().encrypt(value.encode()).decode()


def decrypt_text(stored: str) -> str:
    if not stored.startswith(TOKEN_PREFIX):
        raise ValueError("the column holds a value that was not written by an encrypted field")
    try:
        return field_cipher().decrypt(stored[len(TOKEN_PREFIX) :].encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "An encrypted value cannot be read with any key in FIELD_ENCRYPTION_KEYS (was a key removed too early?)."
        ) from exc


def token_is_current(stored: str) -> bool:
    """True when `stored` was made with the newest key (nothing to re-encrypt)."""
    if not stored.startswith(TOKEN_PREFIX):
        return False
    primary = Fernet(next(k.strip() for k in settings.FIELD_ENCRYPTION_KEYS if k.strip()).encode())
    try:
        primary.decrypt(stored[len(TOKEN_PREFIX) :].encode())
    except InvalidToken:
        return False
    return True


# Files (identity documents) are stored as this prefix and a Fernet token of their bytes.
FILE_PREFIX = b"tessera-fernet:"


def encrypt_bytes(data: bytes) -> bytes:
    """File content as stored at rest: a Fernet token made with the newest key."""
    return FILE_PREFIX + field_cipher().encrypt(data)


def decrypt_bytes(stored: bytes) -> bytes:
    """The clear content of a file written by `encrypt_bytes` (any key in the list still reads it)."""
    if not stored.startswith(FILE_PREFIX):
        raise ValueError("the file was not written encrypted")
    try:
        return field_cipher().decrypt(stored[len(FILE_PREFIX) :])
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "An encrypted file cannot be read with any key in FIELD_ENCRYPTION_KEYS (was a key removed too early?)."
        ) from exc


def bytes_token_is_current(stored: bytes) -> bool:
    """True when the stored file was encrypted with the newest key (nothing to re-encrypt)."""
    if not stored.startswith(FILE_PREFIX):
        return False
    primary = Fernet(next(k.strip() for k in settings.FIELD_ENCRYPTION_KEYS if k.strip()).encode())
    try:
        primary.decrypt(stored[len(FILE_PREFIX) :])
    except InvalidToken:
        return False
    return True


class EncryptedField(models.Field):
    """A value stored as a Fernet token in a text column. Only `isnull` lookups work on it."""

    description = "Encrypted at rest"

    def get_internal_type(self) -> str:
        return "TextField"

    def to_python(self, value: Any) -> Any:
        return value if value is None or isinstance(value, str) else str(value)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def encode(self, value: Any) -> str:
        return str(value)

    def decode(self, text: str) -> Any:
        return text

    def get_prep_value(self, value: Any) -> Any:
        value = self.to_python(value)
        if value is None or value == "":
            return value
        return encrypt_text(self.encode(value))

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None or value == "":
            return value
        return self.decode(decrypt_text(value))

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name != "isnull":
            return None  # randomised ciphertext: equality or ranges on it would silently match nothing
        return super().get_lookup(lookup_name)


class EncryptedTextField(EncryptedField):
    """A string stored as a Fernet token."""

    description = "Text encrypted at rest"
    _pyi_private_set_type: str | None
    _pyi_private_get_type: str


class EncryptedDateField(EncryptedField):
    """A date stored as an encrypted ISO 8601 string."""

    description = "Date encrypted at rest"
    # Tell django-stubs what the attribute holds (a date, not the stored text).
    _pyi_private_set_type: dt.date | str | None
    _pyi_private_get_type: dt.date | None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("null", True)
        super().__init__(*args, **kwargs)

    def to_python(self, value: Any) -> dt.date | None:
        if value in (None, ""):
            return None
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        return dt.date.fromisoformat(str(value))

    def encode(self, value: Any) -> str:
        return value.isoformat()

    def decode(self, text: str) -> dt.date:
        return dt.date.fromisoformat(text)

    def formfield(self, **kwargs: Any) -> Any:
        return forms.DateField(**{"required": not self.blank, "label": self.verbose_name, **kwargs})


def mask(value: str | None, *, keep: int = 2) -> str:
    """What logs, audit rows and list views may show of a secret value: its last `keep` characters."""
    if not value:
        return ""
    text = str(value)
    return "•" * max(len(text) - keep, 3) + text[-keep:] if len(text) > keep else "•" * 3

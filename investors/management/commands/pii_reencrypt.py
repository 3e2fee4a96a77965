"""Re-encrypt every encrypted column and every identity document file with the newest key of
FIELD_ENCRYPTION_KEYS (key rotation; files stored before encryption at rest are encrypted too)."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import models, transaction
from django.db.models.functions import Cast

from core.fields import EncryptedField, decrypt_text, token_is_current
from investors.services.documents import documents_reencrypt


class Command(BaseCommand):
    help = "Re-encrypt PII columns with the newest key; afterwards older keys can be removed from the list."

    def handle(self, *args: Any, **options: Any) -> None:
        total = 0
        for model in apps.get_models():
            fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedField)]
            manager = model._default_manager
            for field in fields:
                pks = manager.exclude(**{f"{field.name}__isnull": True}).values_list("pk", flat=True)
                for pk in list(pks.iterator(chunk_size=1000)):
                    with transaction.atomic():
                        # The stored token as text (a cast skips the field's decryption on read).
                        stored = (
                            manager.select_for_update()
                            .filter(pk=pk)
                            .annotate(token=Cast(field.name, models.TextField()))
                            .values_list("token", flat=True)
                            .first()
                        )
                        if not stored or token_is_current(stored):
                            continue
                        # Saving the clear value encrypts it again with the newest key.
                        manager.filter(pk=pk).update(**{field.name: field.decode(decrypt_text(stored))})
                        total += 1
        files = documents_reencrypt()
        self.stdout.write(f"Re-encrypted {total} values and {files} document files.")

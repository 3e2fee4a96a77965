"""Files a distribution service stores beside the row that names them (payment runs, the bank's confirmations)."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.db import models

log = logging.getLogger(__name__)


def stored_files_remove(rows: Iterable[models.Model], *fields: str) -> None:
    """Delete the files `rows` stored under `fields` once the transaction that would have kept them rolled back.

    A row's file is stored before the row is written (the row names it); without this a failed transaction
    would leave the file in storage with nothing pointing at it."""
    for row in rows:
        for name in fields:
            stored = getattr(row, name)
            if not stored:
                continue
            try:
                stored.storage.delete(stored.name)
            except OSError:  # the original error matters more; the file is reported for removal by hand
                log.exception("could not remove %s after a rolled-back transaction", stored.name)

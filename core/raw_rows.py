"""Rows of a queryset as the database driver returns them, for reads of millions of rows.

Django runs each value through its field converters (text to datetime, text to UUID) and builds a
tuple per row; an export that prints the values straight back out as text skips that work. The
values are then the driver's: on SQLite timestamps and UUIDs are text, on PostgreSQL they are objects,
so callers that read such columns handle both (or cast them to text in the query).
"""

from __future__ import annotations

from typing import Any

from django.db import connections
from django.db.models import QuerySet


def queryset_rows_raw(rows: QuerySet[Any]) -> list[tuple[Any, ...]]:
    sql, params = rows.query.sql_with_params()
    with connections[rows.db].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()

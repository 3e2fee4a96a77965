"""The API's pagination (its own module: DRF loads it while importing its generic views)."""

from __future__ import annotations

from rest_framework.pagination import CursorPagination, LimitOffsetPagination
from rest_framework.request import Request


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    """DRF's limit and offset, bounded: SQL takes neither a limit nor an offset beyond a 64-bit integer
    (a larger one was a server error), and no list needs more than `max_limit` rows a page."""

    max_limit = 1000
    max_offset = 2**31 - 1  # past the end of any table

    def get_offset(self, request: Request) -> int:
        return min(super().get_offset(request), self.max_offset)


class RegistryCursorPagination(CursorPagination):
    """Cursor pagination for lists a client walks to the end (registers, journals): a row added or removed
    while walking neither repeats nor skips another, which offsets cannot promise. Subclasses name the
    `ordering` (unique, or nearly so, and unchanging)."""

    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000

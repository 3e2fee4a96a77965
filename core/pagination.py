"""The API's pagination (its own module: DRF loads it while importing its generic views)."""

from __future__ import annotations

from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    """DRF's limit and offset, bounded: SQL takes neither a limit nor an offset beyond a 64-bit integer
    (a larger one was a server error), and no list needs more than `max_limit` rows a page."""

    max_limit = 1000
    max_offset = 2**31 - 1  # past the end of any table

    def get_offset(self, request: Request) -> int:
        return min(super().get_offset(request), self.max_offset)

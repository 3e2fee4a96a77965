"""Every CSV file the portal writes: cells a spreadsheet would run as a formula are neutralised.

OWASP's CSV-injection rule: a text cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return
is prefixed with an apostrophe, so Excel and LibreOffice show it as text instead of evaluating it.
Numbers (int, Decimal, float) are written as numbers, a negative one included: pass amounts as
numbers, not as text, to keep them numeric. Rows are written one at a time, so a large export streams.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal

from django.http import StreamingHttpResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

Cell = str | int | float | Decimal | None


_FORMULA_FIRST = frozenset(FORMULA_STARTS)


def csv_cell(value: Cell) -> str | int | float | Decimal:
    """What is written for one value: numbers as they are, text with a leading formula character neutralised."""
    if type(value) is str:  # the common case first: exports write millions of these
        return "'" + value if value and value[0] in _FORMULA_FIRST else value
    if value is None:
        return ""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class _Line:
    """A file-like object that hands back what the csv writer writes, so each row can be yielded."""

    def write(self, value: str) -> str:
        return value


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> Iterator[str]:
    """The header line, then one line per row, each produced only when asked for."""
    writer = csv.writer(_Line())
    yield writer.writerow([csv_cell(name) for name in header])
    for row in rows:
        yield writer.writerow(map(csv_cell, row))


def csv_response(*, filename: str, header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> StreamingHttpResponse:
    """A download that streams the rows as they are read."""
    response = StreamingHttpResponse(csv_lines(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response

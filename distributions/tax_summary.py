"""The investor's yearly tax summary as a PDF: per issuer and token, what they were paid in the calendar
year by kind (dividend, interest, return of capital), gross, withheld and net, and the form on file.

Drawn on a canvas like the registry's PDF writer (same fonts, so names in any script print), portrait
Letter, with the investor, the year and the page number on every page. It summarises; the forms the
issuer files (1099-DIV, 1099-INT, 1042-S) are the official record.
"""

from __future__ import annotations

from typing import IO

from django.utils import timezone

from core.money import Money
from distributions.tax_reporting import YearSummary
from investors.models import InvestorProfile
from registry.exporters.writers import pdf_fonts

WHERE_REPORTED = {
    "dividend": "1099-DIV box 1a (US holders) · 1042-S income code 06 (non-US holders)",
    "interest": "1099-INT box 1 (US holders) · 1042-S income code 01 (non-US holders)",
    "return_of_capital": "1099-DIV box 3: reduces your cost basis; not withheld as a dividend",
}


def money(minor: int, currency: str) -> str:
    return str(Money(int(minor), currency))


def tax_summary_write(*, investor: InvestorProfile, summary: YearSummary, out: IO[bytes]) -> None:
    from reportlab.lib.pagesizes import LETTER
    from reportlab.pdfgen.canvas import Canvas

    regular, bold = pdf_fonts()
    width, height = LETTER
    margin = 48.0
    canvas = Canvas(out, pagesize=LETTER, pageCompression=1)
    title = f"Distributions tax summary {summary.year}"
    canvas.setTitle(f"{title} — {investor.legal_name}")
    canvas.setAuthor("Tessera")
    generated = f"Generated {timezone.now():%Y-%m-%d %H:%M} UTC"
    page = 0
    y = 0.0
    columns = [(margin, "Kind"), (margin + 150, "Gross"), (margin + 250, "Withheld"), (margin + 350, "Net")]
    right = [False, True, True, True]

    def page_start() -> float:
        nonlocal page
        page += 1
        canvas.setFont(bold, 14)
        canvas.drawString(margin, height - margin, title)
        canvas.setFont(regular, 9)
        canvas.drawString(margin, height - margin - 16, f"{investor.legal_name} · holder id {investor.reference}")
        canvas.drawString(margin, height - margin - 28, f"Payments made 1 January to 31 December {summary.year} (UTC)")
        canvas.setFont(regular, 7.5)
        canvas.drawString(margin, margin - 16, generated)
        canvas.drawRightString(width - margin, margin - 16, f"Page {page}")
        return height - margin - 56

    def room(needed: float) -> None:
        nonlocal y
        if y - needed < margin:
            canvas.showPage()
            y = page_start()

    def cells(values: list[str], font: str, size: float = 9) -> None:
        nonlocal y
        canvas.setFont(font, size)
        for (x, _), value, align_right in zip(columns, values, right, strict=True):
            if align_right:
                canvas.drawRightString(x + 90, y, value)
            else:
                canvas.drawString(x, y, value)
        y -= 13

    y = page_start()
    if summary.empty:
        canvas.setFont(regular, 10)
        canvas.drawString(margin, y, f"Nothing was paid to you in {summary.year}.")
    for token in summary.tokens:
        room(40 + 13 * (len(token.kinds) + 3))
        canvas.setFont(bold, 11)
        canvas.drawString(margin, y, f"{token.issuer_name} — {token.offering_title} ({token.token_symbol})")
        y -= 14
        canvas.setFont(regular, 8.5)
        forms = ", ".join(token.forms) if token.forms else "none"
        canvas.drawString(margin, y, f"Amounts in {token.currency} · tax form on file when paid: {forms}")
        y -= 16
        cells([c for _, c in columns], bold, 8.5)
        c = token.currency
        for k in token.kinds_in_order:
            cells([k.label, money(k.gross_minor, c), money(k.withheld_minor, c), money(k.net_minor, c)], regular)
            canvas.setFont(regular, 7)
            canvas.drawString(margin + 8, y + 3, WHERE_REPORTED.get(k.kind, ""))
            y -= 9
            if k.reinvested_units:
                canvas.drawString(margin + 8, y + 3, f"{k.reinvested_units:,} units received by reinvestment")
                y -= 9
        cells(["Total", money(token.gross_minor, c), money(token.withheld_minor, c), money(token.net_minor, c)], bold)
        y -= 10
    if not summary.empty:
        room(60)
        canvas.setFont(bold, 11)
        canvas.drawString(margin, y, f"All tokens, {summary.year}")
        y -= 16
        for currency, (gross, withheld, net) in summary.totals_by_currency().items():
            cells(
                [f"Total ({currency})", money(gross, currency), money(withheld, currency), money(net, currency)], bold
            )
    room(40)
    y -= 12
    canvas.setFont(regular, 7.5)
    canvas.drawString(
        margin, y, "A summary for your records, not tax advice. The forms the issuer files with the IRS are the record."
    )
    canvas.drawString(margin, y - 10, "Withheld tax is credited to you on those forms (1099 box 4, 1042-S box 7a).")
    canvas.showPage()
    canvas.save()

"""The investor's distributions: each line of theirs with its withholding and payment, the yearly summary,
its PDF, and the section on the portfolio (settings.PORTFOLIO_SECTIONS). Only the signed-in investor's own
lines are ever read: the investor is the one of the session, never one named in the URL."""

from __future__ import annotations

import io
from typing import Any

from django.core.paginator import Paginator
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.views.decorators.http import require_GET

from core.access import Perm, access_required, signed_in_user
from distributions.models import DistributionLine
from distributions.tax_reporting import investor_lines, investor_tax_years, investor_year_summary
from distributions.tax_summary import tax_summary_write
from investors.models import InvestorProfile

LINES_PER_PAGE = 50
PORTFOLIO_LINES = 5


def _investor(request: HttpRequest) -> InvestorProfile | None:
    return InvestorProfile.objects.filter(user=signed_in_user(request)).first()


def is_transaction(reference: str) -> bool:
    return reference.startswith("0x") and len(reference) == 66


def line_rows(lines: Any) -> list[dict[str, Any]]:
    """Each line, and whether it was paid on-chain (its reference is then a transaction hash)."""
    rows = []
    for line in lines:
        reference = line.payment_reference
        on_chain = is_transaction(reference)
        rows.append({"line": line, "on_chain": on_chain})
    return rows


def portfolio_section(investor: InvestorProfile) -> tuple[str, dict[str, Any]]:
    lines: list[DistributionLine] = list(investor_lines(investor=investor)[:PORTFOLIO_LINES])
    return "distributions/_portfolio.html", {"rows": line_rows(lines)}


@require_GET
@access_required(Perm.INVESTOR_SELF)
def investor_distributions(request: HttpRequest) -> HttpResponse:
    investor = _investor(request)
    years = investor_tax_years(investor=investor) if investor else []
    chosen = request.GET.get("year", "")
    year = int(chosen) if chosen.isdigit() and int(chosen) in years else (years[0] if years else None)
    page = Paginator(investor_lines(investor=investor) if investor else DistributionLine.objects.none(), LINES_PER_PAGE)
    page_obj = page.get_page(request.GET.get("page"))
    context = {
        "page": page_obj,
        "rows": line_rows(page_obj.object_list),
        "years": years,
        "year": year,
        "summary": investor_year_summary(investor=investor, year=year) if investor and year else None,
        "unknown_year": bool(chosen) and year is not None and chosen != str(year),
    }
    return render(request, "distributions/investor.html", context)


@require_GET
@access_required(Perm.INVESTOR_SELF)
def investor_tax_summary(request: HttpRequest, year: int) -> HttpResponseBase:
    investor = _investor(request)
    if investor is None:
        return render(request, "distributions/investor.html", {"years": [], "rows": [], "page": None}, status=404)
    out = io.BytesIO()
    tax_summary_write(investor=investor, summary=investor_year_summary(investor=investor, year=year), out=out)
    out.seek(0)
    response = FileResponse(out, as_attachment=True, filename=f"tax-summary-{year}.pdf", content_type="application/pdf")
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response

"""The distribution register in the transfer agent's records, and the files of the register and the IRS forms.

Whoever reads the issuer's register (its admins and transfer agents, Perm.REGISTRY_VIEW) sees the token's
approved distributions with their registers, read-only, and downloads them; the issuer's admins also download
a draft's preview register from the distribution's own page. Every download goes through the registry's
exporters and is audited like any export that names holders; the same files can be asked for on the export
jobs queue and through the registry API.
"""

from __future__ import annotations

import tempfile
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from core.access import Perm, access_required, can, signed_in_user
from core.errors import ApplicationError
from core.models import Issuer
from distributions.forms import PayerDetailsForm
from distributions.models import Distribution
from distributions.selectors import distribution_lines
from distributions.services.payer import FIELDS as PAYER_FIELDS
from distributions.services.payer import PayerInput, ein_format, issuer_payer_set
from distributions.tax_reporting import VISIBLE_TO_HOLDERS
from offerings.models import Offering
from registry.exporters import ExportParams
from registry.exporters.base import CONTENT_TYPES, CSV, FORMAT_LABELS, PDF, XLSX
from registry.selectors.master_file import register_offering
from registry.services.exports import export_file_write
from registry.views.transfer_agent import register_page_context

FORMATS = (CSV, XLSX, PDF)
TAX_FORMS = {
    "form_1099_div": "Form 1099-DIV (US holders: dividends, returns of capital)",
    "form_1099_int": "Form 1099-INT (US holders: interest)",
    "form_1042s": "Form 1042-S (non-US holders)",
}
LINES_PER_PAGE = 50
# A file above this size spills from memory to a temporary file while it is written.
SPOOL_BYTES = 8 << 20


def _register_offering(issuer: Issuer, public_id: Any) -> Offering:
    offering = register_offering(issuer=issuer, public_id=public_id)
    if offering is None:
        raise Http404("No published offering of this issuer has that id.")
    return offering


def _visible(request: HttpRequest, issuer: Issuer) -> tuple[str, ...] | None:
    """The distribution states this reader sees: admins every one, the register's other readers the approved."""
    return None if can(request.user, Perm.ISSUER_MANAGE_DISTRIBUTIONS, issuer) else VISIBLE_TO_HOLDERS


def _distributions(request: HttpRequest, issuer: Issuer) -> Any:
    found = Distribution.objects.filter(offering__issuer=issuer).select_related("offering__issuer")
    states = _visible(request, issuer)
    return found if states is None else found.filter(state__in=states)


def tax_years(offering: Offering) -> list[int]:
    """The years the issuer paid distributions in (any token), newest first, up to this one."""
    dates = Distribution.objects.filter(offering__issuer=offering.issuer, state__in=VISIBLE_TO_HOLDERS).values_list(
        "payment_date", flat=True
    )
    this_year = timezone.now().year
    return sorted({d.year for d in dates if d.year <= this_year}, reverse=True)


@require_GET
@access_required(Perm.REGISTRY_VIEW, issuer_kwarg="slug")
def registry_distributions(request: HttpRequest, issuer: Issuer, public_id: Any) -> HttpResponse:
    offering = _register_offering(issuer, public_id)
    page = Paginator(
        _distributions(request, issuer).filter(offering=offering, state__in=VISIBLE_TO_HOLDERS), 25
    ).get_page(request.GET.get("page"))
    years = tax_years(offering)
    context = register_page_context(
        issuer,
        offering,
        "distributions",
        page=page,
        years=years,
        tax_forms=TAX_FORMS.items(),
        formats=[(f, FORMAT_LABELS[f]) for f in FORMATS],
        payer_form=PayerDetailsForm(initial={f: getattr(issuer, f) for f in PAYER_FIELDS})
        if can(request.user, Perm.ISSUER_MANAGE_DISTRIBUTIONS, issuer)
        else None,
        payer_tin=ein_format(issuer.tax_id),
    )
    return render(request, "distributions/records.html", context)


@require_POST
@access_required(Perm.ISSUER_MANAGE_DISTRIBUTIONS, issuer_kwarg="slug")
def registry_payer_details(request: HttpRequest, issuer: Issuer, public_id: Any) -> HttpResponse:
    """An issuer admin gives the EIN and address the information returns name the issuer by."""
    offering = _register_offering(issuer, public_id)
    form = PayerDetailsForm(request.POST)
    back = redirect(reverse("registry_distributions", args=[issuer.slug, offering.public_id]) + "#payer-title")
    if not form.is_valid():
        problems = "; ".join(str(e) for errs in form.errors.values() for e in errs)
        messages.error(request, f"Check the payer's details: {problems}")
        return back
    try:
        issuer_payer_set(issuer=issuer, actor=signed_in_user(request), data=PayerInput(**form.cleaned_data))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, "The payer's EIN and address are saved; the next information return files carry them."
        )
    return back


@require_GET
@access_required(Perm.REGISTRY_VIEW, issuer_kwarg="slug")
def registry_distribution(request: HttpRequest, issuer: Issuer, public_id: Any, distribution_id: Any) -> HttpResponse:
    offering = _register_offering(issuer, public_id)
    distribution = get_object_or_404(
        _distributions(request, issuer).filter(state__in=VISIBLE_TO_HOLDERS),
        offering=offering,
        public_id=distribution_id,
    )
    page = Paginator(distribution_lines(distribution=distribution), LINES_PER_PAGE).get_page(request.GET.get("page"))
    context = register_page_context(
        issuer,
        offering,
        "distributions",
        distribution=distribution,
        page=page,
        formats=[(f, FORMAT_LABELS[f]) for f in FORMATS],
    )
    return render(request, "distributions/records_detail.html", context)


def _file(request: HttpRequest, offering: Offering, exporter_id: str, fmt: str, params: ExportParams) -> FileResponse:
    if fmt not in FORMATS:
        raise Http404("No such format.")
    # The response closes the file once it has been sent.
    out = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
    exporter = export_file_write(
        offering=offering, exporter_id=exporter_id, fmt=fmt, params=params, actor=signed_in_user(request), out=out
    )
    out.seek(0)
    response = FileResponse(
        out, as_attachment=True, filename=exporter.filename(offering, params, fmt), content_type=CONTENT_TYPES[fmt]
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
@access_required(Perm.REGISTRY_VIEW, issuer_kwarg="slug")
def distribution_register_file(
    request: HttpRequest, issuer: Issuer, distribution_id: Any, fmt: str
) -> HttpResponseBase:
    """One distribution's register as CSV, XLSX or PDF (audited as an export of holder data)."""
    distribution = get_object_or_404(_distributions(request, issuer), public_id=distribution_id)
    try:
        return _file(
            request,
            distribution.offering,
            "distribution_register",
            fmt,
            ExportParams(distribution=distribution.public_id),
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        if can(request.user, Perm.ISSUER_MANAGE_DISTRIBUTIONS, issuer):
            return redirect("distribution_detail", slug=issuer.slug, distribution_id=distribution.public_id)
        return redirect("registry_distributions", slug=issuer.slug, public_id=distribution.offering.public_id)


@require_GET
@access_required(Perm.REGISTRY_VIEW, issuer_kwarg="slug")
def tax_form_file(
    request: HttpRequest, issuer: Issuer, public_id: Any, form: str, year: int, fmt: str
) -> HttpResponseBase:
    """The data of Form 1099-DIV, 1099-INT or 1042-S for every token of the issuer in a tax year."""
    offering = get_object_or_404(Offering.objects.select_related("issuer"), issuer=issuer, public_id=public_id)
    if form not in TAX_FORMS:
        raise Http404("No such form.")
    try:
        return _file(request, offering, form, fmt, ExportParams(tax_year=year))
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("registry_distributions", slug=issuer.slug, public_id=offering.public_id)

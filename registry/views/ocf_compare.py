"""Compare an Open Cap Format package with the issuer's register: the package is checked (zip, manifest,
MD5 of each file, the OCF 1.2.0 schemas), replayed to what each stakeholder holds, and set beside the
register's holders. Nothing is written: not the ledger, not the file.

The register's readers (its admins and transfer agents) may compare: a transfer agent's role only reads,
and this post reads too (see `read_only_roles_may_post`).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from core.access import Perm, access_required
from core.models import Issuer
from registry.exporters.ocf import OcfImportError, OcfLimits, ocf_package_read
from registry.forms import OCF_UPLOAD_MAX_BYTES, OcfCompareForm
from registry.selectors.ocf_comparison import ROWS_SHOWN, OcfComparison, ocf_comparison

# An upload unpacks to at most this: a 25 MB package of JSON needs far less; a zip bomb needs far more.
UPLOAD_LIMITS = OcfLimits(max_entries=64, max_total_bytes=512 << 20, max_ratio=200)


@require_http_methods(["GET", "POST"])
# Reading a package beside the register changes nothing: transfer agents, whose role only reads, may post it.
@access_required(Perm.REGISTRY_VIEW, issuer_kwarg="slug", read_only_roles_may_post=True)
def ocf_compare(request: HttpRequest, issuer: Issuer) -> HttpResponse:
    form = OcfCompareForm(request.POST or None, request.FILES or None)
    comparison: OcfComparison | None = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            upload = form.cleaned_data["package"]
            try:
                table = ocf_package_read(upload, limits=UPLOAD_LIMITS)
            except OcfImportError as exc:
                form.add_error("package", exc.message)
            else:
                comparison = ocf_comparison(issuer=issuer, table=table)
        if comparison is None:
            status = 400
    return render(
        request,
        "registry/ocf_compare.html",
        {
            "issuer": issuer,
            "form": form,
            "comparison": comparison,
            "rows_shown": ROWS_SHOWN,
            "max_mb": OCF_UPLOAD_MAX_BYTES >> 20,
        },
        status=status,
    )

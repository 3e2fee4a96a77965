"""Register exports: ask for one, watch it run, download it; the master file also streams as CSV.

Everything here needs Perm.REGISTRY_VIEW at the issuer in the URL (its admins and transfer agents;
compliance officers review applicants and do not take the register). A job is looked up within that
issuer only, so another issuer's job answers 404 whoever asks.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from core.access import Perm, access_required, signed_in_user
from core.csv import csv_text_response
from core.errors import ApplicationError
from core.models import Issuer
from offerings.models import Offering
from registry.exporters import ExportParams
from registry.exporters.base import CONTENT_TYPES
from registry.forms import ExportRequestForm
from registry.models import ExportState
from registry.selectors import exports as export_selectors
from registry.services import exports as export_services


def _offerings(issuer: Issuer) -> Any:
    return Offering.objects.filter(issuer=issuer).order_by("-created_at")


def _page(request: HttpRequest, issuer: Issuer, form: ExportRequestForm, status: int = 200) -> HttpResponse:
    jobs = [export_selectors.job_view(j) for j in export_selectors.export_jobs_of(issuer=issuer)]
    return render(
        request,
        "registry/exports.html",
        {"issuer": issuer, "form": form, "jobs": jobs, "has_offerings": _offerings(issuer).exists()},
        status=status,
    )


@require_GET
@access_required(Perm.REGISTRY_VIEW, issuer_kwarg="slug")
def exports_page(request: HttpRequest, issuer: Issuer) -> HttpResponse:
    return _page(request, issuer, ExportRequestForm(offerings=_offerings(issuer)))


@require_POST
# An export is a read of the register: transfer agents, whose role only reads, may ask for one.
@access_required(Perm.REGISTRY_VIEW, issuer_kwarg="slug", read_only_roles_may_post=True)
def export_create(request: HttpRequest, issuer: Issuer) -> HttpResponse:
    form = ExportRequestForm(request.POST, offerings=_offerings(issuer))
    if form.is_valid():
        try:
            job = export_services.export_job_request(
                offering=form.cleaned_data["offering"],
                exporter_id=form.cleaned_data["exporter"],
                fmt=form.cleaned_data["format"],
                params=form.params(),
                actor=signed_in_user(request),
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Export queued. It appears below and is ready to download when the bar is full.")
            return redirect(reverse("registry_exports", args=[issuer.slug]) + f"#job-{job.public_id}")
    return _page(request, issuer, form, status=400)


@require_GET
@access_required(Perm.REGISTRY_VIEW, issuer_kwarg="slug")
def export_status(request: HttpRequest, issuer: Issuer, job_id: Any) -> HttpResponse:
    job = export_selectors.export_job_get(issuer=issuer, public_id=job_id)
    return JsonResponse(export_selectors.export_job_progress(job=job))


@require_GET
@access_required(Perm.REGISTRY_VIEW, issuer_kwarg="slug")
def export_download(request: HttpRequest, issuer: Issuer, job_id: Any) -> HttpResponseBase:
    job = export_selectors.export_job_get(issuer=issuer, public_id=job_id)
    if job.state != ExportState.DONE or not job.file:
        raise Http404("This export is not ready, or its file has expired.")
    export_services.export_download_record(job=job, actor=signed_in_user(request))
    response = FileResponse(
        job.file.open("rb"), as_attachment=True, filename=job.filename, content_type=CONTENT_TYPES[job.format]
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


def _day(value: str | None, name: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ApplicationError(f"{name} must be a date like 2026-03-31.", code="invalid_date") from None


@require_GET
@access_required(Perm.REGISTRY_VIEW, issuer_kwarg="slug")
def master_file_csv(request: HttpRequest, issuer: Issuer, public_id: Any) -> HttpResponseBase:
    """The master file streamed as CSV while it is read (?as_of=YYYY-MM-DD or ?block=N, ?closed=1)."""
    offering = get_object_or_404(Offering, issuer=issuer, public_id=public_id)
    try:
        block = request.GET.get("block") or None
        if block is not None and not block.isdigit():
            raise ApplicationError("The block must be a whole number.", code="invalid_block")
        params = ExportParams(
            as_of_date=_day(request.GET.get("as_of"), "The as-of date"),
            as_of_block=int(block) if block is not None else None,
            include_closed=request.GET.get("closed") == "1",
        )
        exporter, text = export_services.export_stream_start(
            offering=offering, exporter_id="master_file", params=params, actor=signed_in_user(request)
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("registry_exports", slug=issuer.slug)
    return csv_text_response(filename=exporter.filename(offering, params, "csv"), text=text)

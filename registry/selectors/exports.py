"""Reads of export jobs: an issuer's recent jobs and one job, always within the issuer asked about."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from core.models import Issuer
from registry.exporters import exporters
from registry.exporters.base import FORMAT_LABELS
from registry.models import ExportJob, ExportState

JOBS_LISTED = 50


def export_jobs_of(*, issuer: Issuer) -> QuerySet[ExportJob]:
    """The issuer's latest jobs, newest first, with what the list shows (one query)."""
    return (
        ExportJob.objects.filter(issuer=issuer)
        .select_related("offering", "requested_by")
        .order_by("-created_at", "-id")[:JOBS_LISTED]
    )


def export_job_get(*, issuer: Issuer, public_id: Any) -> ExportJob:
    """One of the issuer's jobs; another issuer's job is as absent as one that never existed."""
    try:
        key = uuid.UUID(str(public_id))
    except ValueError:
        raise Http404("No such export.") from None
    job = ExportJob.objects.filter(issuer=issuer, public_id=key).select_related("offering", "issuer").first()
    if job is None:
        raise Http404("No such export.")
    return job


@dataclass(frozen=True)
class JobView:
    job: ExportJob
    exporter_name: str
    format_label: str
    as_of: str


def job_view(job: ExportJob) -> JobView:
    from registry.exporters import ExportParams

    exporter = exporters().get(job.exporter)
    return JobView(
        job=job,
        exporter_name=exporter.verbose_name if exporter else job.exporter,
        format_label=FORMAT_LABELS.get(job.format, job.format),
        as_of=ExportParams.from_json(job.params).describe(now=job.started_at or job.created_at),
    )


def export_job_progress(*, job: ExportJob) -> dict[str, Any]:
    """What the page's progress bar polls for."""
    return {
        "id": str(job.public_id),
        "state": job.state,
        "state_label": job.get_state_display(),
        "rows_done": job.rows_done,
        "rows_total": job.rows_total,
        "percent": job.percent,
        "error": job.error,
        "finished": job.state in (ExportState.DONE, ExportState.FAILED, ExportState.EXPIRED),
    }

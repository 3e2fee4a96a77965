"""Export jobs: asked for on a page, made by a worker on the `exports` queue, downloaded, then expired.

A request is checked in full before it is queued (the exporter exists and writes that format, the
as-of point or period makes sense, a PDF is not longer than a PDF holds), so a job fails only for
reasons nobody could see coming, and then says why. Running a job twice makes the same file once:
the worker locks the job and leaves a finished one alone. Requests and downloads of files that name
holders are audited (who asked for which holders' data, as of when).
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from typing import IO

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from core.audit import audit_record
from core.errors import ApplicationError
from core.models import User
from core.tasks import task_enqueue_on_commit
from offerings.models import Offering
from registry.exporters import Exporter, ExportError, ExportParams, exporter_get
from registry.exporters.base import PDF, PDF_MAX_ROWS, Progress
from registry.models import ExportJob, ExportState

log = logging.getLogger(__name__)
# Progress is written to the job at most this often (rows), so the bar moves without a write per row.
PROGRESS_WRITE_EVERY = 5000


def _audit_after(job: ExportJob, exporter: Exporter) -> dict[str, object]:
    return {
        "exporter": job.exporter,
        "format": job.format,
        "params": job.params,
        "offering": str(job.offering.public_id),
        "holder_data": exporter.holder_data,
    }


def export_job_request(
    *, offering: Offering, exporter_id: str, fmt: str, params: ExportParams, actor: User
) -> ExportJob:
    """Queue an export. The same request while an identical one is still queued or running returns that one."""
    exporter = exporter_get(exporter_id)
    if fmt not in exporter.formats:
        raise ExportError(f"{exporter.verbose_name} is not available as {fmt.upper()}.", code="format_unsupported")
    exporter.params_check(params)
    exporter.request_check(offering, params)
    if fmt == PDF and exporter.row_count(offering, params) > PDF_MAX_ROWS:
        raise ExportError(
            f"This export has more than {PDF_MAX_ROWS:,} rows, more than a PDF can usefully hold: choose CSV or XLSX.",
            code="pdf_too_long",
        )
    with transaction.atomic():
        Offering.objects.select_for_update().only("pk").get(pk=offering.pk)
        same = (
            ExportJob.objects.filter(
                offering=offering,
                requested_by=actor,
                exporter=exporter.identifier,
                format=fmt,
                params=params.to_json(),
                state__in=[ExportState.QUEUED, ExportState.RUNNING],
            )
            .order_by("-created_at")
            .first()
        )
        if same is not None:
            return same
        job = ExportJob.objects.create(
            issuer=offering.issuer,
            offering=offering,
            requested_by=actor,
            exporter=exporter.identifier,
            format=fmt,
            params=params.to_json(),
        )
        audit_record(
            actor=actor,
            action="registry.export_requested",
            obj=job,
            after=_audit_after(job, exporter),
            issuer=offering.issuer,
        )
        from registry.tasks import export_job_run_task

        task_enqueue_on_commit(export_job_run_task, job.pk)
    return job


def _progress_writer(job_id: int) -> Progress:
    last = [0]

    def progress(done: int) -> None:
        if done - last[0] >= PROGRESS_WRITE_EVERY:
            ExportJob.objects.filter(pk=job_id).update(rows_done=done)
            last[0] = done

    return progress


def export_job_run(*, job_id: int) -> ExportJob:
    """Make the job's file. Safe to call twice: a finished, failed or expired job is left as it is."""
    with transaction.atomic():
        job = ExportJob.objects.select_for_update(of=("self",)).select_related("offering__issuer").get(pk=job_id)
        if job.state not in (ExportState.QUEUED, ExportState.RUNNING):
            return job
        # RUNNING here means a worker died mid-way and the broker handed the task on: start again.
        job.state, job.started_at, job.rows_done, job.error = ExportState.RUNNING, timezone.now(), 0, ""
        job.save(update_fields=["state", "started_at", "rows_done", "error"])
    try:
        exporter = exporter_get(job.exporter)
        params = ExportParams.from_json(job.params)
        offering = job.offering
        total = exporter.row_count(offering, params)
        ExportJob.objects.filter(pk=job.pk).update(rows_total=total)
        progress = _progress_writer(job.pk)
        digest = hashlib.sha256()
        with tempfile.TemporaryFile() as out:
            rows = exporter.write(offering=offering, params=params, fmt=job.format, out=out, progress=progress)
            size = out.tell()
            out.seek(0)
            for block in iter(lambda: out.read(1 << 20), b""):
                digest.update(block)
            out.seek(0)
            filename = exporter.filename(offering, params, job.format)
            with transaction.atomic():
                job = (
                    ExportJob.objects.select_for_update(of=("self",)).select_related("offering__issuer").get(pk=job_id)
                )
                if job.state != ExportState.RUNNING:
                    return job
                job.file.save(filename, File(out, name=filename), save=False)
                job.filename = filename
                job.state = ExportState.DONE
                job.rows_done = rows
                job.rows_total = rows
                job.size = size
                job.sha256 = digest.hexdigest()
                job.finished_at = timezone.now()
                job.expires_at = job.finished_at + timedelta(hours=settings.REGISTRY_EXPORT_RETENTION_HOURS)
                job.save()
                audit_record(
                    actor="exports",
                    action="registry.export_finished",
                    obj=job,
                    after={"rows": rows, "size": size, "sha256": job.sha256},
                    issuer=job.issuer,
                )
        return job
    except Exception as exc:  # every failure is shown on the job, whatever raised it
        log.exception("export job %s failed", job_id)
        message = exc.message if isinstance(exc, ApplicationError) else "The export could not be made; try again."
        return _job_failed(job_id, message, detail=type(exc).__name__)


def _job_failed(job_id: int, message: str, *, detail: str) -> ExportJob:
    with transaction.atomic():
        job = ExportJob.objects.select_for_update().get(pk=job_id)
        job.state, job.error, job.finished_at = ExportState.FAILED, message, timezone.now()
        job.save(update_fields=["state", "error", "finished_at"])
        audit_record(
            actor="exports",
            action="registry.export_failed",
            obj=job,
            after={"error": message, "cause": detail},
            issuer=job.issuer,
        )
    return job


def export_download_record(*, job: ExportJob, actor: User) -> None:
    """Audit one download of a finished export (who took which holders' data, as of when)."""
    if job.state != ExportState.DONE or not job.file:
        raise ApplicationError("This export is not ready to download.", code="export_not_ready")
    exporter = exporter_get(job.exporter)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="registry.export_downloaded",
            obj=job,
            after={**_audit_after(job, exporter), "sha256": job.sha256},
            issuer=job.issuer,
        )


def export_stream_start(
    *, offering: Offering, exporter_id: str, params: ExportParams, actor: User
) -> tuple[Exporter, Iterator[str]]:
    """Check and audit a CSV streamed straight to the browser; returns the exporter and the file's text,
    produced a chunk of lines at a time as it is sent."""
    exporter = exporter_get(exporter_id)
    exporter.params_check(params)
    exporter.request_check(offering, params)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="registry.export_streamed",
            obj=offering,
            after={
                "exporter": exporter.identifier,
                "format": "csv",
                "params": params.to_json(),
                "holder_data": exporter.holder_data,
            },
            issuer=offering.issuer,
        )
    return exporter, (text for _, text in exporter.csv_text(offering, params))


def export_file_write(
    *, offering: Offering, exporter_id: str, fmt: str, params: ExportParams, actor: User, out: IO[bytes]
) -> Exporter:
    """Check, audit and write a small export straight to `out` (a download made while the person waits, such
    as one distribution's register); the same audit as a streamed CSV. Returns the exporter (for the filename)."""
    exporter = exporter_get(exporter_id)
    if fmt not in exporter.formats:
        raise ExportError(f"{exporter.verbose_name} is not available as {fmt.upper()}.", code="format_unsupported")
    exporter.params_check(params)
    exporter.request_check(offering, params)
    if fmt == PDF and exporter.row_count(offering, params) > PDF_MAX_ROWS:
        raise ExportError(
            f"This export has more than {PDF_MAX_ROWS:,} rows, more than a PDF can usefully hold: choose CSV or XLSX.",
            code="pdf_too_long",
        )
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="registry.export_streamed",
            obj=offering,
            after={
                "exporter": exporter.identifier,
                "format": fmt,
                "params": params.to_json(),
                "holder_data": exporter.holder_data,
            },
            issuer=offering.issuer,
        )
    exporter.write(offering=offering, params=params, fmt=fmt, out=out)
    return exporter


def exports_expired_delete() -> int:
    """Delete the files of exports past their expiry (the beat task); returns how many."""
    done = 0
    now = timezone.now()
    for pk in ExportJob.objects.filter(state=ExportState.DONE, expires_at__lte=now).values_list("pk", flat=True):
        with transaction.atomic():
            job = ExportJob.objects.select_for_update().get(pk=pk)
            if job.state != ExportState.DONE:
                continue
            if job.file:
                job.file.delete(save=False)
            job.state = ExportState.EXPIRED
            job.save(update_fields=["state", "file"])
            audit_record(actor="exports", action="registry.export_expired", obj=job, issuer=job.issuer)
            done += 1
    # Jobs that never finished (a worker that vanished past every retry) are shown as failed.
    stale = now - timedelta(hours=settings.REGISTRY_EXPORT_STALE_HOURS)
    for pk in ExportJob.objects.filter(
        state__in=[ExportState.QUEUED, ExportState.RUNNING], created_at__lte=stale
    ).values_list("pk", flat=True):
        _job_failed(pk, "The export did not finish; ask for it again.", detail="stale")
    return done

"""Export jobs: asked for on the page, made by a real worker, downloaded by those the issuer lets see
its register, audited, and deleted when they expire."""

from __future__ import annotations

import csv
import datetime as dt
import io
import time

import pytest
from django.test import Client
from django.utils import timezone

from core.errors import ApplicationError
from core.models import AuditEvent
from registry.exporters import ExportParams
from registry.models import ExportJob, ExportState
from registry.services.exports import export_job_request, export_job_run, exports_expired_delete
from registry.tests.ledger_rows import Register, mints_bulk

ISSUED = timezone.now() - dt.timedelta(days=20)


@pytest.fixture
def offering(cast, registry):
    from investors.tests.support import verified_investor
    from offerings.tests.support import offering_open

    offering = offering_open(cast.issuer, cast.admin)
    alice = verified_investor(name="Alice Adams", wallet=None)
    Register(offering=offering).mint(alice, "0x" + "a1" * 20, 200, at=ISSUED)
    return offering


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _body(response) -> bytes:
    return b"".join(response.streaming_content)


def _request(offering, actor, **kwargs) -> ExportJob:
    return export_job_request(
        offering=offering,
        exporter_id=kwargs.pop("exporter_id", "master_file"),
        fmt=kwargs.pop("fmt", "csv"),
        params=ExportParams(**kwargs),
        actor=actor,
    )


def test_the_agent_asks_on_the_page_and_downloads_the_finished_file(cast, offering, django_capture_on_commit_callbacks):
    agent = _client(cast.agent)
    with django_capture_on_commit_callbacks(execute=False):
        response = agent.post(
            f"/issuers/{cast.issuer.slug}/exports/new/",
            {"offering": offering.pk, "exporter": "master_file", "format": "csv", "as_of_date": ""},
        )
    assert response.status_code == 302
    job = ExportJob.objects.get()
    assert (job.state, job.requested_by, job.issuer) == (ExportState.QUEUED, cast.agent, cast.issuer)
    page = agent.get(f"/issuers/{cast.issuer.slug}/exports/")
    assert "Master securityholder file" in page.content.decode()
    assert f'data-status-url="/issuers/{cast.issuer.slug}/exports/{job.public_id}/status/"' in page.content.decode()

    export_job_run(job_id=job.pk)
    status = agent.get(f"/issuers/{cast.issuer.slug}/exports/{job.public_id}/status/").json()
    assert (status["state"], status["percent"], status["rows_done"], status["rows_total"]) == ("done", 100, 1, 1)

    download = agent.get(f"/issuers/{cast.issuer.slug}/exports/{job.public_id}/download/")
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith('attachment; filename="HSCA-master_file-')
    rows = list(csv.DictReader(io.StringIO(_body(download).decode())))
    assert [(r["Registered name"], r["Quantity"]) for r in rows] == [("Alice Adams", "200")]
    actions = list(AuditEvent.objects.filter(object_id=str(job.pk)).values_list("action", "actor_id"))
    assert ("registry.export_requested", cast.agent.pk) in actions
    assert ("registry.export_downloaded", cast.agent.pk) in actions


def test_another_issuers_admin_and_the_compliance_officer_cannot_download(cast, offering) -> None:
    job = export_job_run(job_id=_request(offering, cast.admin).pk)
    url = f"/issuers/{cast.issuer.slug}/exports/{job.public_id}/download/"
    assert _client(cast.other_admin).get(url).status_code == 403
    assert _client(cast.compliance).get(url).status_code == 403
    # Through the other issuer's own URL the job does not exist.
    other = f"/issuers/{cast.other_issuer.slug}/exports/{job.public_id}/download/"
    assert _client(cast.other_admin).get(other).status_code == 404
    assert _client(cast.agent).get(url).status_code == 200
    assert not AuditEvent.objects.filter(action="registry.export_downloaded", actor_id=cast.other_admin.pk).exists()


def test_asking_twice_while_it_runs_queues_one_job_and_running_twice_makes_one_file(cast, offering) -> None:
    first = _request(offering, cast.admin)
    again = _request(offering, cast.admin)
    assert again.pk == first.pk
    done = export_job_run(job_id=first.pk)
    name = done.file.name
    assert export_job_run(job_id=first.pk).file.name == name
    assert AuditEvent.objects.filter(action="registry.export_finished", object_id=str(first.pk)).count() == 1


def test_the_cap_table_job_makes_an_ocf_package_that_reads_back(cast, offering) -> None:
    from registry.exporters.ocf import ocf_package_read

    job = export_job_run(job_id=_request(offering, cast.agent, exporter_id="cap_table_ocf", fmt="ocf").pk)
    assert job.state == ExportState.DONE, job.error
    assert job.filename.endswith(".ocf.zip")
    response = _client(cast.agent).get(f"/issuers/{cast.issuer.slug}/exports/{job.public_id}/download/")
    assert response["Content-Type"] == "application/zip"
    table = ocf_package_read(io.BytesIO(_body(response)))
    assert list(table.holdings().values()) == [200]
    with pytest.raises(ApplicationError, match="not available as CSV"):
        _request(offering, cast.agent, exporter_id="cap_table_ocf", fmt="csv")


def test_a_pdf_longer_than_a_pdf_holds_is_refused_before_it_is_queued(cast, offering, monkeypatch) -> None:
    from registry.exporters import ExportError

    monkeypatch.setattr("registry.services.exports.PDF_MAX_ROWS", 0)
    with pytest.raises(ExportError, match="choose CSV or XLSX"):
        _request(offering, cast.admin, fmt="pdf")
    assert not ExportJob.objects.exists()


def test_a_bad_request_on_the_page_says_why_and_queues_nothing(cast, offering) -> None:
    future = (timezone.now() + dt.timedelta(days=3)).date().isoformat()
    response = _client(cast.admin).post(
        f"/issuers/{cast.issuer.slug}/exports/new/",
        {"offering": offering.pk, "exporter": "master_file", "format": "csv", "as_of_date": future},
    )
    assert response.status_code == 400
    assert "is in the future" in response.content.decode()
    period = _client(cast.admin).post(
        f"/issuers/{cast.issuer.slug}/exports/new/",
        {"offering": offering.pk, "exporter": "control_book", "format": "csv", "since": "2026-01-01"},
    )
    assert "as of a point, not for a period" in period.content.decode()
    assert not ExportJob.objects.exists()


def test_a_failing_export_shows_failed_with_a_reason(cast, offering, monkeypatch) -> None:
    job = _request(offering, cast.admin, fmt="xlsx")

    def broken(**kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("registry.exporters.writers.xlsx_write", broken)
    failed = export_job_run(job_id=job.pk)
    assert failed.state == ExportState.FAILED
    assert failed.error == "The export could not be made; try again."
    status = _client(cast.admin).get(f"/issuers/{cast.issuer.slug}/exports/{job.public_id}/status/").json()
    assert (status["state"], status["finished"]) == ("failed", True)
    assert _client(cast.admin).get(f"/issuers/{cast.issuer.slug}/exports/{job.public_id}/download/").status_code == 404


def test_expired_files_are_deleted_and_can_no_longer_be_downloaded(cast, offering) -> None:
    job = export_job_run(job_id=_request(offering, cast.admin).pk)
    path = job.file.path
    ExportJob.objects.filter(pk=job.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    assert exports_expired_delete() == 1
    job.refresh_from_db()
    assert job.state == ExportState.EXPIRED
    import os

    assert not os.path.exists(path)
    assert _client(cast.admin).get(f"/issuers/{cast.issuer.slug}/exports/{job.public_id}/download/").status_code == 404


def test_the_master_file_streams_as_csv_as_of_a_date_and_is_audited(cast, offering) -> None:
    url = f"/issuers/{cast.issuer.slug}/offerings/{offering.public_id}/master-file.csv"
    response = _client(cast.agent).get(url, {"as_of": (ISSUED - dt.timedelta(days=1)).date().isoformat()})
    assert response.status_code == 200
    assert response.streaming
    assert list(csv.reader(io.StringIO(_body(response).decode())))[1:] == []
    now = _client(cast.agent).get(url)
    rows = list(csv.DictReader(io.StringIO(_body(now).decode())))
    assert [r["Registered name"] for r in rows] == ["Alice Adams"]
    assert AuditEvent.objects.filter(action="registry.export_streamed", actor_id=cast.agent.pk).count() == 2
    bad = _client(cast.agent).get(url, {"as_of": "yesterday"})
    assert bad.status_code == 302
    assert _client(cast.compliance).get(url).status_code == 403
    assert _client(cast.other_admin).get(url).status_code == 403


@pytest.mark.worker
def test_an_export_job_runs_in_a_real_worker_and_its_progress_reaches_100_percent(
    cast, registry, celery_worker_process
) -> None:
    from investors.tests.support import verified_investor
    from offerings.tests.support import offering_open

    offering = offering_open(cast.issuer, cast.admin)
    alice = verified_investor(name="Alice Adams", wallet=None)
    mints_bulk(offering, [(alice.pk, f"0x{n:040x}", 5) for n in range(1, 8_001)], at=ISSUED)
    worker = celery_worker_process("exports")
    job = _request(offering, cast.agent, fmt="xlsx")
    seen: set[int] = set()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert worker.poll() is None, "the worker process exited"
        job.refresh_from_db()
        seen.add(job.percent)
        if job.state in (ExportState.DONE, ExportState.FAILED):
            break
        time.sleep(0.1)
    assert job.state == ExportState.DONE, job.error
    assert (job.percent, job.rows_done, job.rows_total) == (100, 8_000, 8_000)
    assert job.file.size == job.size
    response = _client(cast.agent).get(f"/issuers/{cast.issuer.slug}/exports/{job.public_id}/download/")
    assert response.status_code == 200

"""Export jobs through the transfer agent's API: a token asks for the master file, follows its status to done
and downloads it (audited); another issuer's agent sees none of it; a bad request says why and queues nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from core.models import AuditEvent, Role
from core.services import api_token_create
from core.tests.factories import MembershipFactory
from registry.models import ExportJob, ExportState
from registry.services.exports import export_job_run
from registry.tests.ledger_rows import Register

pytestmark = pytest.mark.django_db


@pytest.fixture
def offering(cast, registry):
    from investors.tests.support import verified_investor
    from offerings.tests.support import offering_open

    offering = offering_open(cast.issuer, cast.admin)
    alice = verified_investor(name="Alice Adams", wallet=None)
    Register(offering=offering).mint(alice, "0x" + "a1" * 20, 200, at=timezone.now() - dt.timedelta(days=20))
    return offering


def _token_client(user) -> Client:
    _, secret = api_token_create(actor=user, name="exports")
    return Client(HTTP_AUTHORIZATION=f"Token {secret}")


def test_an_agent_token_asks_for_the_master_file_follows_it_and_downloads_it(cast, offering) -> None:
    client = _token_client(cast.agent)
    url = f"/api/v1/registry/tokens/{offering.public_id}/exports/"
    made = client.post(url, {"exporter": "master_file", "format": "csv"}, content_type="application/json")
    assert made.status_code == 201, made.content
    job = made.json()
    assert job["state"] == ExportState.QUEUED and job["download_url"] is None
    assert made["Location"] == job["status_url"]

    export_job_run(job_id=ExportJob.objects.get(public_id=job["id"]).pk)  # what the exports worker does
    status = client.get(job["status_url"]).json()
    assert (status["state"], status["percent"]) == (ExportState.DONE, 100)
    download = client.get(status["download_url"])
    assert download.status_code == 200 and download["X-Export-SHA256"] == status["sha256"]
    content = download.getvalue().decode()
    assert "Alice Adams" in content and ",200," in content
    assert AuditEvent.objects.filter(action="registry.export_downloaded", actor_id=cast.agent.pk).count() == 1
    listed = client.get(url).json()["results"]
    assert [j["id"] for j in listed] == [job["id"]]


def test_another_issuers_agent_sees_no_export_of_this_register(cast, offering) -> None:
    client = _token_client(cast.agent)
    job = client.post(
        f"/api/v1/registry/tokens/{offering.public_id}/exports/",
        {"exporter": "master_file", "format": "csv"},
        content_type="application/json",
    ).json()
    export_job_run(job_id=ExportJob.objects.get(public_id=job["id"]).pk)
    stranger = _token_client(MembershipFactory.create(issuer=cast.other_issuer, role=Role.TRANSFER_AGENT).user)
    assert stranger.get(job["status_url"]).status_code == 403
    assert stranger.get(f"/api/v1/registry/exports/{job['id']}/download/").status_code == 403
    assert stranger.get(f"/api/v1/registry/tokens/{offering.public_id}/exports/").status_code == 403
    refused = stranger.post(
        f"/api/v1/registry/tokens/{offering.public_id}/exports/",
        {"exporter": "master_file", "format": "csv"},
        content_type="application/json",
    )
    assert refused.status_code == 403 and ExportJob.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"exporter": "everything", "format": "csv"}, "no export called"),
        ({"exporter": "master_file", "format": "docx"}, "not a valid choice"),
        ({"exporter": "master_file", "format": "csv", "as_of_block": -1}, "greater than or equal to 0"),
        ({"format": "csv"}, "required"),
    ],
)
def test_a_bad_export_request_says_why_and_queues_nothing(cast, offering, body: dict, message: str) -> None:
    response = _token_client(cast.agent).post(
        f"/api/v1/registry/tokens/{offering.public_id}/exports/", body, content_type="application/json"
    )
    assert response.status_code == 400 and message in str(response.json()["error"])
    assert not ExportJob.objects.exists()


def test_an_unfinished_export_has_no_download(cast, offering) -> None:
    client = _token_client(cast.agent)
    job = client.post(
        f"/api/v1/registry/tokens/{offering.public_id}/exports/",
        {"exporter": "journal", "format": "csv"},
        content_type="application/json",
    ).json()
    response = client.get(f"/api/v1/registry/exports/{job['id']}/download/")
    assert response.status_code == 404 and "not ready" in response.json()["error"]["message"]

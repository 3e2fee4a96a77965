"""The control book's authorized quantity changes only with a written issuer authorization (17Ad-9): a
readable document kept with its SHA-256, a date, a description; raising it needs a second admin of the
issuer. Its page is read by the register's readers and written only by the issuer's admins."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from core.approvals import approval_approve
from core.errors import ApplicationError, NotPermitted
from core.models import ApprovalState, AuditEvent
from core.tests.files import pdf_bytes, png_bytes
from core.tests.support import Cast
from offerings.models import Offering
from offerings.tests.support import offering_draft
from registry.models import IssuerAuthorization
from registry.services.control_book import authorization_propose, authorized_quantity_of
from registry.tests.support import authorized, resolution, second_admin

pytestmark = pytest.mark.django_db


@pytest.fixture
def offering(cast: Cast, settings, tmp_path) -> Offering:
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    return offering_draft(cast.issuer, cast.admin)


def _propose(offering: Offering, actor, quantity: int, **overrides):
    args = {
        "offering": offering,
        "authorized_quantity": quantity,
        "description": "Written consent of the board",
        "document": resolution(),
        "authorized_on": dt.date(2026, 11, 2),
        "actor": actor,
        **overrides,
    }
    return authorization_propose(**args)


def test_raising_the_authorized_quantity_takes_effect_only_when_a_second_admin_approves(
    cast: Cast, offering: Offering
) -> None:
    outcome = _propose(offering, cast.admin, 1_000)
    assert outcome.pending and outcome.request is not None
    assert authorized_quantity_of(offering=offering) is None
    # The proposer cannot approve their own cap-table change.
    with pytest.raises(NotPermitted):
        approval_approve(request=outcome.request, actor=cast.admin)
    assert authorized_quantity_of(offering=offering) is None

    finance = second_admin(cast.issuer)
    approval_approve(request=outcome.request, actor=finance)
    assert authorized_quantity_of(offering=offering) == 1_000
    record = IssuerAuthorization.objects.get()
    assert record.approved_by == finance and record.effective_at is not None
    assert record.document_sha256 == hashlib.sha256(pdf_bytes("Board resolution")).hexdigest()
    assert record.document.read() == pdf_bytes("Board resolution")
    assert AuditEvent.objects.filter(action="registry.authorization_effective", object_id=str(record.pk)).exists()
    # The same approval a second time runs nothing.
    with pytest.raises(ApplicationError):
        approval_approve(request=outcome.request, actor=finance)
    assert IssuerAuthorization.objects.filter(effective_at__isnull=False).count() == 1


def test_lowering_the_authorized_quantity_is_stricter_and_takes_effect_at_once(cast: Cast, offering: Offering) -> None:
    authorized(offering, 1_000, actor=cast.admin)
    outcome = _propose(offering, cast.admin, 800)
    assert not outcome.pending
    assert authorized_quantity_of(offering=offering) == 800


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"document": None}, "Attach the signed authorization"),
        ({"document": SimpleUploadedFile("r.pdf", b"%PDF-1.4 not really", "application/pdf")}, "was refused"),
        ({"document": SimpleUploadedFile("r.txt", b"Resolved: 1000 units", "text/plain")}, "as a PDF"),
        ({"description": "  "}, "Describe the authorization"),
        ({"authorized_on": timezone.localdate() + dt.timedelta(days=1)}, "cannot be in the future"),
        ({"authorized_quantity": -1}, "zero or more"),
        ({"authorized_quantity": 10**16}, "at most"),
    ],
)
def test_an_authorization_without_a_readable_document_or_with_bad_figures_is_refused_and_changes_nothing(
    cast: Cast, offering: Offering, overrides: dict, message: str
) -> None:
    authorized(offering, 500, actor=cast.admin)
    with pytest.raises(ApplicationError) as refused:
        _propose(offering, cast.admin, 1_000, **overrides)
    assert message in refused.value.message
    assert authorized_quantity_of(offering=offering) == 500
    assert IssuerAuthorization.objects.count() == 1


def test_a_scan_is_accepted_as_the_document(cast: Cast, offering: Offering) -> None:
    scan = SimpleUploadedFile("resolution.png", png_bytes(), "image/png")
    record = authorized(offering, 300, actor=cast.admin, approver=second_admin(cast.issuer))
    outcome = _propose(offering, cast.admin, 200, document=scan)
    assert outcome.result.document_content_type == "image/png" and record.document_content_type == "application/pdf"


def _page(client: Client, cast: Cast, offering: Offering, suffix: str = "") -> str:
    return f"/issuers/{cast.issuer.slug}/offerings/{offering.public_id}/control-book/{suffix}"


def test_the_admin_records_an_authorization_on_the_page_and_it_waits_for_the_second_admin(
    cast: Cast, offering: Offering
) -> None:
    client = Client()
    client.force_login(cast.admin)
    response = client.post(
        _page(client, cast, offering, "authorize/"),
        {
            "authorized_quantity": "1000",
            "authorized_on": "2026-11-02",
            "description": "Written consent of the board",
            "document": resolution(),
        },
        follow=True,
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "takes effect when a second admin" in html and "waiting for a second admin" in html
    assert 'id="book-authorized">none yet<' in html
    request = cast.issuer.approval_requests.get()
    assert request.state == ApprovalState.PENDING and "authorize 1,000 units" in request.summary

    # A form without its document says so and records nothing.
    bad = client.post(
        _page(client, cast, offering, "authorize/"),
        {"authorized_quantity": "2000", "authorized_on": "2026-11-02", "description": "No file"},
    )
    assert bad.status_code == 400 and "This field is required" in bad.content.decode()
    assert IssuerAuthorization.objects.count() == 1


def test_a_transfer_agent_reads_the_control_book_and_downloads_the_document_but_cannot_record(
    cast: Cast, offering: Offering
) -> None:
    record = authorized(offering, 1_000, actor=cast.admin)
    agent = Client()
    agent.force_login(cast.agent)
    page = agent.get(_page(agent, cast, offering))
    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="book-authorized">1000<' in html and "in effect" in html
    assert "Record an authorization" not in html and 'enctype="multipart/form-data"' not in html
    document = agent.get(_page(agent, cast, offering, f"authorizations/{record.pk}/document/"))
    body = b"".join(document.streaming_content)  # type: ignore[attr-defined]
    assert document.status_code == 200 and body == pdf_bytes("Board resolution")
    assert document["X-Content-Type-Options"] == "nosniff" and "attachment" in document["Content-Disposition"]

    posted = agent.post(
        _page(agent, cast, offering, "authorize/"),
        {"authorized_quantity": "5", "authorized_on": "2026-11-02", "description": "x", "document": resolution()},
    )
    assert posted.status_code == 403
    assert IssuerAuthorization.objects.count() == 1 and authorized_quantity_of(offering=offering) == 1_000


def test_another_issuers_admin_sees_nothing_of_the_control_book(cast: Cast, offering: Offering) -> None:
    record = authorized(offering, 1_000, actor=cast.admin)
    stranger = Client()
    stranger.force_login(cast.other_admin)
    for path in (
        _page(stranger, cast, offering),
        _page(stranger, cast, offering, f"authorizations/{record.pk}/document/"),
    ):
        assert stranger.get(path).status_code == 403
    # Their own issuer's URL with this offering's id finds nothing either.
    own = f"/issuers/{cast.other_issuer.slug}/offerings/{offering.public_id}/control-book/"
    assert stranger.get(own).status_code == 404
    assert stranger.get(f"{own}authorizations/{record.pk}/document/").status_code == 404
    assert stranger.post(f"{own}authorize/", {"authorized_quantity": "1"}).status_code == 404

"""Uploads: checked by content and size, stored privately, served only to the investor and reviewers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from core.errors import ApplicationError
from core.models import AuditEvent
from core.tests.factories import UserFactory
from core.tests.files import jpeg_bytes, pdf_bytes, png_bytes
from investors.models import InvestorDocument, InvestorProfile
from investors.selectors import document_content
from investors.services.documents import document_upload
from investors.tests.support import investor_started, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def investor() -> InvestorProfile:
    return investor_started()


def _upload(investor, name: str, content: bytes, kind: str = "proof_of_address", **extra):
    return document_upload(investor=investor, actor=investor.user, kind=kind, upload=upload(name, content), **extra)


@pytest.mark.parametrize(
    ("content", "expected"),
    [(pdf_bytes(), "application/pdf"), (png_bytes(), "image/png"), (jpeg_bytes(), "image/jpeg")],
)
def test_each_accepted_type_is_recognised_by_its_bytes_not_its_name(investor, content, expected) -> None:
    document = _upload(investor, "scan.bin", content)
    assert document.content_type == expected
    assert document.file.name.startswith("investor-documents/") and "scan" not in document.file.name
    with document.file.open("rb") as handle:
        stored = handle.read()
    # Encrypted at rest: the stored bytes are not the file; reading it back gives the file.
    assert content not in stored and stored.startswith(b"tessera-fernet:")
    assert document_content(document=document) == content


def test_a_disguised_file_is_refused_and_nothing_is_stored(investor, private_media) -> None:
    executable = b"MZ\x90\x00" + b"\x00" * 200 + b"This program cannot be run in DOS mode"
    with pytest.raises(ApplicationError, match="not a PDF, JPEG, PNG file"):
        _upload(investor, "passport.pdf", executable)
    html = b"<html><script>alert(1)</script></html>"
    with pytest.raises(ApplicationError, match="content says otherwise"):
        _upload(investor, "photo.png", html)
    # A PNG header glued onto something else is no PNG either.
    with pytest.raises(ApplicationError):
        _upload(investor, "photo.png", b"\x89PNG\r\n\x1a\n" + b"<script>" * 20)
    assert not InvestorDocument.objects.exists()
    assert not private_media.exists() or not any(p.is_file() for p in private_media.rglob("*"))


def test_an_oversized_file_is_refused(investor, settings) -> None:
    settings.IDENTITY_UPLOAD_MAX_BYTES = 1024
    big = b"%PDF-1.4\n" + b"0" * 2048 + b"\n%%EOF\n"
    with pytest.raises(ApplicationError, match=r"the limit is 1\.0"):
        _upload(investor, "big.pdf", big)
    assert not InvestorDocument.objects.exists()


def test_photo_ids_need_number_country_and_a_future_expiry(investor) -> None:
    with pytest.raises(ApplicationError, match="number"):
        _upload(investor, "p.png", png_bytes(), kind="passport")
    with pytest.raises(ApplicationError, match="has expired"):
        _upload(
            investor,
            "p.png",
            png_bytes(),
            kind="passport",
            document_number="X1",
            issuing_country="US",
            expires_on=timezone.localdate() - dt.timedelta(days=1),
        )
    with pytest.raises(ApplicationError, match="not a country code"):
        _upload(
            investor,
            "p.png",
            png_bytes(),
            kind="passport",
            document_number="X1234",
            issuing_country="QQ",
            expires_on=timezone.localdate() + dt.timedelta(days=100),
        )
    assert not InvestorDocument.objects.exists()


def test_only_the_investor_can_open_their_file(investor) -> None:
    document = _upload(investor, "bill.pdf", pdf_bytes())
    url = f"/onboarding/documents/{document.public_id}/"
    owner = Client()
    owner.force_login(investor.user)
    response = owner.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Cache-Control"] == "private, no-store"
    assert response.getvalue() == pdf_bytes()
    stranger = Client()
    stranger.force_login(UserFactory.create())
    assert stranger.get(url).status_code == 404
    assert Client().get(url).status_code == 302


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "bill.pdf",
            pdf_bytes()[: len(pdf_bytes()) // 2],
            "“bill.pdf” was refused: the PDF file does not end as one does",
        ),
        ("bill.pdf", b"%PDF-1.4\n" + b"\x00garbage" * 64 + b"\n%%EOF\n", "“bill.pdf” was refused: it cannot be read"),
        ("bill.pdf", b"<html><body>Your bill</body></html>", "“bill.pdf” is not a PDF, JPEG, PNG file"),
        ("scan.png", png_bytes(16, 16)[:-30], "“scan.png” was refused: the PNG file does not end as one does"),
        ("scan.jpg", jpeg_bytes()[:-60] + b"\xff\xd9", "“scan.jpg” was refused: it cannot be read as a JPEG image"),
    ],
    ids=["truncated-pdf", "pdf-header-then-garbage", "html-named-pdf", "truncated-png", "truncated-jpeg"],
)
def test_a_file_that_only_looks_like_an_accepted_type_is_refused_and_nothing_is_stored(
    investor: InvestorProfile, private_media: Path, name: str, content: bytes, message: str
) -> None:
    with pytest.raises(ApplicationError, match=message):
        _upload(investor, name, content)
    assert not InvestorDocument.objects.exists()
    assert not AuditEvent.objects.filter(action="investor.document_uploaded").exists()
    assert not private_media.exists() or not any(p.is_file() for p in private_media.rglob("*"))

"""An upload is a PDF, JPEG or PNG only when the library for that format reads it whole."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfWriter
from pytest_django.fixtures import Settings

from core.filetypes import JPEG, PDF, PNG, UnreadableFile, file_type_read
from core.tests.files import jpeg_bytes, pdf_bytes, png_bytes, png_declaring


def _reportlab_pdf() -> bytes:
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    page.drawString(72, 720, "Statement of account " * 20)
    page.showPage()
    page.save()
    return buffer.getvalue()


def _pdf_with(password: str = "", pages: int = 1) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(612, 792)
    if password:
        writer.encrypt(user_password=password, algorithm="AES-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def test_real_files_are_read_as_what_they_are() -> None:
    assert file_type_read(pdf_bytes()) == PDF
    assert file_type_read(_reportlab_pdf()) == PDF
    assert file_type_read(b"\r\n" + _reportlab_pdf()) == PDF  # a little junk before the header, as readers allow
    assert file_type_read(png_bytes()) == PNG
    assert file_type_read(jpeg_bytes()) == JPEG
    assert file_type_read(jpeg_bytes(), accepted=(PDF,)) is None


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (_reportlab_pdf()[: len(_reportlab_pdf()) // 2], "cut short"),
        (b"%PDF-1.4\n" + bytes(range(256)) * 8, "cut short"),
        # A polyglot: a PDF's first and last lines around something no PDF reader can parse.
        (b"%PDF-1.4\n<html><script>alert(1)</script></html>\n%%EOF\n", "cannot be read as a PDF"),
        (pdf_bytes()[:-6] + b"<script>alert(1)</script>" * 50 + b"%%EOF\n", "cannot be read as a PDF"),
        (_pdf_with(pages=0), "no page"),
        (_pdf_with(password="secret"), "protected by a password"),
        (png_bytes(40, 40)[:60], "cut short"),
        (png_bytes(40, 40) + b"<html></html>" * 10, "cut short or has something appended"),
        (jpeg_bytes()[:-40] + b"\xff\xd9", "cannot be read as a JPEG image"),
        (jpeg_bytes()[:200], "cut short"),
    ],
    ids=[
        "truncated-pdf",
        "pdf-header-then-garbage",
        "pdf-html-polyglot",
        "pdf-with-a-broken-body",
        "pdf-without-pages",
        "pdf-with-a-password",
        "truncated-png",
        "png-with-html-appended",
        "jpeg-missing-its-data",
        "truncated-jpeg",
    ],
)
def test_a_file_its_library_cannot_read_is_refused_with_the_reason(content: bytes, reason: str) -> None:
    with pytest.raises(UnreadableFile, match=reason):
        file_type_read(content)


def test_something_that_claims_no_accepted_type_is_none() -> None:
    assert file_type_read(b"<html><body>invoice</body></html>") is None
    assert file_type_read(b"MZ\x90\x00" + b"\x00" * 200) is None


def test_an_image_with_too_many_pixels_is_refused_before_it_is_decoded(settings: Settings) -> None:
    # A 20000×20000 PNG header on a few bytes: Pillow's decompression-bomb check refuses it unopened.
    with pytest.raises(UnreadableFile, match=r"too many pixels \(at most 50,000,000\)"):
        file_type_read(png_declaring(20_000, 20_000))
    settings.UPLOAD_IMAGE_MAX_PIXELS = 1000  # the portal's own limit, checked before any pixel is decoded
    with pytest.raises(UnreadableFile, match=r"40×40 pixels; at most 1,000 are accepted"):
        file_type_read(png_bytes(40, 40))

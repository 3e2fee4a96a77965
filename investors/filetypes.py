"""What an uploaded file is, judged by its bytes (magic numbers and trailers), never by its name."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FileType:
    content_type: str
    extension: str
    label: str


PDF = FileType("application/pdf", "pdf", "PDF")
JPEG = FileType("image/jpeg", "jpg", "JPEG")
PNG = FileType("image/png", "png", "PNG")
ACCEPTED = (PDF, JPEG, PNG)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_END = b"IEND\xaeB`\x82"
JPEG_START = b"\xff\xd8\xff"
JPEG_END = b"\xff\xd9"
PDF_START = b"%PDF-"
PDF_END = b"%%EOF"
# A PDF's header may follow a little junk, and its %%EOF may be followed by whitespace or a short tail.
PDF_HEADER_WINDOW = 1024
TRAILER_WINDOW = 1024


def sniff(*, head: bytes, tail: bytes) -> FileType | None:
    """The accepted type whose signature opens `head` and whose end marker closes `tail`, if any."""
    if head.startswith(PNG_SIGNATURE) and PNG_END in tail[-64:]:
        return PNG
    if head.startswith(JPEG_START) and JPEG_END in tail[-TRAILER_WINDOW:]:
        return JPEG
    if PDF_START in head[:PDF_HEADER_WINDOW] and PDF_END in tail[-TRAILER_WINDOW:]:
        return PDF
    return None

"""What an uploaded file is: the one type whose library reads it whole, never its name or a magic string alone.

A file is a PDF only if pypdf opens it and finds at least one page, a JPEG or PNG only if Pillow verifies
it and then decodes every pixel. The signature at its start only chooses which library to ask, and the
format's end marker must close it, so a polyglot, a file cut short or a header glued onto something else
is refused.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from django.conf import settings
from PIL import Image
from pypdf import PasswordType, PdfReader


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
_PILLOW_FORMATS = {JPEG: "JPEG", PNG: "PNG"}
# Pillow's own decompression-bomb check (a warning above this, an error above twice this) stays on at our limit.
Image.MAX_IMAGE_PIXELS = settings.UPLOAD_IMAGE_MAX_PIXELS


class UnreadableFile(ValueError):
    """The file claims a type its library cannot read; the message says why, for the person uploading."""


def _claimed_type(content: bytes) -> FileType | None:
    """The type whose signature opens the file, if any: only the library it names decides whether it is one."""
    if content.startswith(PNG_SIGNATURE):
        return PNG
    if content.startswith(JPEG_START):
        return JPEG
    if PDF_START in content[:PDF_HEADER_WINDOW]:
        return PDF
    return None


def _check_end(content: bytes, kind: FileType) -> None:
    """The format's end marker closes the file: what is cut short, or has something glued after it, is refused."""
    tail = content[-TRAILER_WINDOW:]
    ends = {PNG: PNG_END in tail[-64:], JPEG: JPEG_END in tail, PDF: PDF_END in tail}[kind]
    if not ends:
        raise UnreadableFile(
            f"the {kind.label} file does not end as one does: it is cut short or has something appended"
        )


def _check_pdf(content: bytes) -> None:
    try:
        reader = PdfReader(io.BytesIO(content), strict=False)
        if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
            raise UnreadableFile("it is protected by a password; upload a copy that opens without one")
        pages = len(reader.pages)
    except UnreadableFile:
        raise
    except Exception as exc:  # a damaged file can make the parser fail in any way
        raise UnreadableFile("it cannot be read as a PDF: it is damaged, cut short or not a PDF at all") from exc
    if pages < 1:
        raise UnreadableFile("the PDF has no page")


def _check_image(content: bytes, kind: FileType) -> None:
    limit = settings.UPLOAD_IMAGE_MAX_PIXELS
    try:
        with warnings.catch_warnings():
            # Pillow's decompression-bomb check stays on: its warning is treated as the error it announces.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content), formats=[_PILLOW_FORMATS[kind]]) as image:
                width, height = image.size
                if width * height > limit:
                    raise UnreadableFile(f"the image is {width}×{height} pixels; at most {limit:,} are accepted")
                image.verify()
            # verify() leaves the image unusable and does not decode the pixels; decoding them finds a cut-off file.
            with Image.open(io.BytesIO(content), formats=[_PILLOW_FORMATS[kind]]) as image:
                image.load()
    except UnreadableFile:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise UnreadableFile(f"the image has too many pixels (at most {limit:,})") from exc
    except Exception as exc:  # a damaged file can make the decoder fail in any way
        raise UnreadableFile(
            f"it cannot be read as a {kind.label} image: it is damaged, cut short or not a {kind.label} at all"
        ) from exc


def file_type_read(content: bytes, *, accepted: tuple[FileType, ...] = ACCEPTED) -> FileType | None:
    """The accepted type the content is, read whole by its library; None when it claims none of them.

    UnreadableFile when the content claims an accepted type that its library cannot read.
    """
    kind = _claimed_type(content)
    if kind is None or kind not in accepted:
        return None
    _check_end(content, kind)
    if kind == PDF:
        _check_pdf(content)
    else:
        _check_image(content, kind)
    return kind

"""Small, real files for upload tests: each opens in the library that reads its format."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image


def pdf_bytes(text: str = "") -> bytes:
    """A one-page PDF with a correct cross-reference table; `text` (a comment) makes its hash differ."""
    objects = [
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>",
    ]
    out = b"%PDF-1.4\n" + (b"% " + text.encode() + b"\n" if text else b"")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return out


def _png(width: int, height: int, raw: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def png_bytes(width: int = 2, height: int = 2) -> bytes:
    """A real RGB PNG of the given size."""
    return _png(width, height, b"".join(b"\x00" + b"\x2a\x6f\x97" * width for _ in range(height)))


def png_declaring(width: int, height: int) -> bytes:
    """A PNG whose header declares a size its few bytes of pixels never fill: a decompression bomb's shape."""
    return _png(width, height, b"\x00" * 64)


def jpeg_bytes() -> bytes:
    """A real 8×8 JPEG."""
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (42, 111, 151)).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()

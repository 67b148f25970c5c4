"""Shared pieces of the evidence tests: the service staff, files of every kind the app takes or refuses."""
from __future__ import annotations

import io
import struct
import zipfile
import zlib

import pytest

from tests.service.conftest import staff  # noqa: F401 - the service tests' people


def png_bytes(width: int = 4, height: int = 4, rgb=(46, 125, 50)) -> bytes:
    """A real PNG of one colour (made here: no binary files in the repository)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def office_bytes(main_part: str) -> bytes:
    """A ZIP whose [Content_Types].xml names `main_part` (as a .docx or .xlsx does)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", f'<?xml version="1.0"?><Types><Override PartName="/x" '
                                                f'ContentType="{main_part}"/></Types>')
        archive.writestr("word/document.xml", "<document/>")
    return buffer.getvalue()


DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"


@pytest.fixture
def upload(client):
    """POST files to a record: upload("visit", id, ("name", bytes[, claimed mime]), ...)."""
    def _upload(kind: str, parent_id: int, *files):
        data = {"files": [(io.BytesIO(f[1]), f[0], f[2] if len(f) > 2 else "application/octet-stream")
                          for f in files]}
        return client.post(f"/attachments/{kind}/{parent_id}", data=data, content_type="multipart/form-data")
    return _upload

"""Private files through the storage API: with PRIVATE_STORAGE=s3 two processes on different machines (here: with
different local directories) write and read the same file, and nothing lands on a local disk."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from moto.server import ThreadedMotoServer

from core.storage import PrivateFileSystemStorage, private_storage

BUCKET = "tessera-private-test"


@pytest.fixture
def s3_endpoint() -> Iterator[str]:
    """An S3-compatible server on loopback (moto's): Amazon's own cannot be reached from here."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id="k", aws_secret_access_key="s", region_name="us-east-1"
    ).create_bucket(Bucket=BUCKET)
    yield endpoint
    server.stop()


def _process(code: str, *, endpoint: str, var_dir: Path) -> list[str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings.test",
        "TESSERA_VAR_DIR": str(var_dir),
        "PRIVATE_STORAGE": "s3",
        "S3_BUCKET": BUCKET,
        "S3_ENDPOINT_URL": endpoint,
        "S3_REGION": "us-east-1",
        "S3_ACCESS_KEY_ID": "k",
        "S3_SECRET_ACCESS_KEY": "s",
    }
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()\n" + code],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip().splitlines()[-2:]


def test_with_s3_storage_a_file_one_process_writes_is_read_by_another_and_never_touches_a_disk(
    s3_endpoint: str, tmp_path: Path
) -> None:
    writer, reader = tmp_path / "web-1", tmp_path / "worker-2"
    name = _process(
        "from django.core.files.base import ContentFile\n"
        "from investors.models import InvestorDocument\n"
        "storage = InvestorDocument._meta.get_field('file').storage\n"
        "print(type(storage).__name__, storage.save('investor-documents/passport.pdf', ContentFile(b'%PDF-1.7 id')))",
        endpoint=s3_endpoint,
        var_dir=writer,
    )
    backend, saved = name[-1].split()
    assert backend == "PrivateS3Storage" and saved == "investor-documents/passport.pdf"

    read = _process(
        "from registry.models import ExportJob\n"
        "storage = ExportJob._meta.get_field('file').storage\n"
        f"print(storage.open({saved!r}).read().decode(), storage.exists({saved!r}))\n"
        "try:\n"
        f"    storage.url({saved!r})\n"
        "except ValueError as exc:\n"
        "    print('no url:', exc)",
        endpoint=s3_endpoint,
        var_dir=reader,
    )
    assert read[0] == "%PDF-1.7 id True"
    assert read[1].startswith("no url: Private files have no public URL")
    objects = boto3.client(
        "s3", endpoint_url=s3_endpoint, aws_access_key_id="k", aws_secret_access_key="s", region_name="us-east-1"
    ).list_objects_v2(Bucket=BUCKET)["Contents"]
    assert [o["Key"] for o in objects] == ["private/investor-documents/passport.pdf"]
    for var_dir in (writer, reader):  # neither process kept a copy of its own
        assert not list(var_dir.rglob("*.pdf"))


def test_by_default_private_files_stay_in_the_private_directory_without_a_url(settings, tmp_path: Path) -> None:
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    storage = private_storage()
    assert isinstance(storage, PrivateFileSystemStorage)
    name = storage.save("exports/2026/12/register.csv", ContentFile(b"holder,units\n"))
    assert (tmp_path / "private" / name).read_bytes() == b"holder,units\n"
    with pytest.raises(ValueError, match="no public URL"):
        storage.url(name)

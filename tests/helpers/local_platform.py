"""`logsynergy up` for tests: started as a user starts it (a subprocess on free ports with a fixed admin
key), shared by consecutive tests, and the PIDs of its detection replicas from Ray's dashboard."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from helpers.postgres import free_port

ADMIN_KEY = "lsk_e2e-admin-key-0123456789"
DETECT_APP = "detect"


@dataclass
class Platform:
    api: str
    dashboard: str
    detect: str
    process: subprocess.Popen
    log: Path


def wait_http(url: str, process: subprocess.Popen, log: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"`logsynergy up` exited {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} not up after {timeout} s:\n{log.read_text()[-3000:]}")


def start_platform(data_dir: Path, *, serving: bool = True) -> Platform:
    """Start `logsynergy up` as a user would, on free ports, with a fixed admin key."""
    ports = {name: free_port() for name in ("API", "DASHBOARD", "SERVE")}
    env = {
        **os.environ,
        "LOGSYNERGY_DATA_DIR": str(data_dir),
        "LOGSYNERGY_API_PORT": str(ports["API"]),
        "LOGSYNERGY_DASHBOARD_PORT": str(ports["DASHBOARD"]),
        "LOGSYNERGY_SERVE_PORT": str(ports["SERVE"]),
        "LOGSYNERGY_BOOTSTRAP_API_KEY": ADMIN_KEY,
        "OMP_NUM_THREADS": "1",
        "HF_HUB_OFFLINE": "1",
    }
    log = data_dir / "up.log"
    data_dir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "logsynergy_api.cli", "up", "--cpus", "2"]
    if not serving:
        command.append("--no-serving")
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    platform = Platform(
        api=f"http://127.0.0.1:{ports['API']}",
        dashboard=f"http://127.0.0.1:{ports['DASHBOARD']}",
        detect=f"http://127.0.0.1:{ports['SERVE']}",
        process=process,
        log=log,
    )
    wait_http(platform.api + "/healthz", process, log)
    return platform


def stop_platform(platform: Platform) -> None:
    """SIGINT (Ctrl-C), as a user stops it; killed after 60 s."""
    platform.process.send_signal(signal.SIGINT)
    try:
        platform.process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        platform.process.kill()
        platform.process.wait()


class SharedPlatform:
    """One `logsynergy up`, started by the first test that asks for it and stopped (`stop`) when the
    tests that use it are done, so that they share its start and its trained models."""

    def __init__(self) -> None:
        self.running: Platform | None = None

    def get(self, data_dir: Path) -> Platform:
        if self.running is None:
            self.running = start_platform(data_dir)
        elif self.running.process.poll() is not None:
            raise AssertionError(f"`logsynergy up` exited early:\n{self.running.log.read_text()[-3000:]}")
        return self.running

    def stop(self) -> None:
        """Stop it; it must end cleanly (exit status 0)."""
        running, self.running = self.running, None
        if running is not None:
            stop_platform(running)
            assert running.process.returncode == 0, running.log.read_text()[-3000:]


def replica_pids(dashboard: str, deployment: str) -> list[int]:
    """PIDs of the live replicas of one deployment of the detection app, from the dashboard's state API
    (`logsynergy up` runs Ray in its own process, so the GCS is not reachable from here)."""
    response = httpx.get(
        f"{dashboard}/api/v0/actors",
        params={
            "limit": 10000,
            "detail": "true",
            "filter_keys": "state",
            "filter_predicates": "=",
            "filter_values": "ALIVE",
        },
        timeout=30,
    )
    response.raise_for_status()
    actors = response.json()["data"]["result"]["result"]
    name = f"ServeReplica:{DETECT_APP}:{deployment}"
    return sorted(int(a["pid"]) for a in actors if a.get("class_name") == name and a.get("pid"))

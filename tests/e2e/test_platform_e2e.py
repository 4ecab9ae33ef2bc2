"""End to end over HTTP only, as a user runs it: `logsynergy up`, onboard two sources and a target from
../shared/datasets, train through the job queue, find the model version and the job in Ray's dashboard."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from helpers.postgres import free_port

pytestmark = pytest.mark.slow
KEY = "lsk_e2e-admin-key-0123456789"


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
        "LOGSYNERGY_BOOTSTRAP_API_KEY": KEY,
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
    platform.process.send_signal(signal.SIGINT)
    try:
        platform.process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        platform.process.kill()
        platform.process.wait()


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    running = start_platform(tmp_path_factory.mktemp("up"))
    try:
        yield running
    finally:
        stop_platform(running)
    assert running.process.returncode == 0, running.log.read_text()[-3000:]


def test_onboard_train_and_find_the_job_in_ray(platform: Platform, shared_datasets: Path) -> None:
    api = httpx.Client(base_url=platform.api, headers={"Authorization": f"Bearer {KEY}"}, timeout=300)
    interpretations = shared_datasets.parent / "interpretations"
    systems = {
        "hdfs": (
            "hdfs",
            "source",
            "hdfs/loglead_2pct/hdfs_events_2percent.csv.gz",
            "hdfs/loglead_2pct/hdfs_seqs_2percent_labels.csv",
        ),
        "openstack": (
            "openstack",
            "source",
            "openstack/nova_fault_injection/openstack-nova-sample.log",
            next((shared_datasets / "openstack/nova_fault_injection").glob("instance_labels*.csv")),
        ),
        "bgl": ("bgl", "target", "bgl/alert_slice_2005-11-21/BGL_2005-11-21_slice.log", None),
    }
    for name, (fmt, role, log, labels) in systems.items():
        created = api.post(
            "/v1/systems", json={"name": name, "format": fmt, "role": role, "description": name}
        )
        assert created.status_code == 201, created.text
        files = {"file": (Path(log).name, (shared_datasets / log).read_bytes())}
        if labels is not None:
            files["labels"] = ("labels.csv", (shared_datasets / labels).read_bytes())
        uploaded = api.post(f"/v1/systems/{name}/datasets", files=files)
        assert uploaded.status_code == 201, uploaded.text
        assert uploaded.json()["labelled"]
        imported = api.post(
            f"/v1/systems/{name}/interpretations/import",
            content=(interpretations / f"{name}.jsonl").read_bytes(),
        )
        assert imported.status_code == 200 and imported.json()["written"] >= 20, imported.text

    requested = time.monotonic()
    job = api.post("/v1/jobs", json={"target": "bgl", "target_labelled": 5000})
    assert job.status_code == 202, job.text
    assert sorted(job.json()["sources"]) == ["hdfs", "openstack"]  # chosen automatically
    job_id = job.json()["id"]
    stages = set()
    deadline = time.monotonic() + 600
    while (state := api.get(f"/v1/jobs/{job_id}").json())["status"] not in (
        "succeeded",
        "failed",
        "cancelled",
    ):
        stages.add(state["progress"].get("stage"))
        assert time.monotonic() < deadline, state
        time.sleep(1)
    assert state["status"] == "succeeded", state["error"]
    elapsed = time.monotonic() - requested
    print(f"job request to active model: {elapsed:.1f} s, F1 {state['metrics']['f1']:.3f}")
    assert "training" in stages
    assert state["metrics"]["f1"] > 0.9
    models = api.get("/v1/systems/bgl/models").json()
    assert models[0]["version"] == 1 and models[0]["active"]
    assert api.get("/v1/systems/bgl").json()["active_version"] == 1
    ray_jobs = httpx.get(f"{platform.dashboard}/api/jobs/", timeout=30).json()
    assert state["ray_submission_id"] in {j.get("submission_id") for j in ray_jobs}


def served_version(detect: httpx.Client, lines: list[str], expected: str, timeout: float = 30) -> dict:
    """Detection answers from `expected` within the routing table's refresh time (no restart)."""
    deadline = time.monotonic() + timeout
    while True:
        answer = detect.post("/v1/detect/bgl", json={"lines": lines})
        assert answer.status_code == 200, answer.text
        if answer.json()["model_version"] == expected or time.monotonic() > deadline:
            assert answer.json()["model_version"] == expected
            return answer.json()
        time.sleep(0.5)


def test_detection_endpoint_follows_activation(platform: Platform, shared_datasets: Path) -> None:
    """After the previous test: BGL has version 1. Detect through Serve, then a version 2 and a rollback."""
    auth = {"Authorization": f"Bearer {KEY}"}
    api = httpx.Client(base_url=platform.api, headers=auth, timeout=300)
    detect = httpx.Client(base_url=platform.detect, headers=auth, timeout=300)
    log = shared_datasets / "bgl/alert_slice_2005-11-21/BGL_2005-11-21_slice.log"
    lines = log.read_text(errors="replace").splitlines()[-1000:]
    answer = served_version(detect, lines, "1")
    assert answer["system"] == "bgl" and len(answer["windows"]) >= 190
    assert answer["anomalies"] and answer["anomalies"][0]["score"] >= 0
    assert (
        detect.post(
            "/v1/detect/bgl", json={"lines": lines[:5]}, headers={"Authorization": "Bearer x"}
        ).status_code
        == 401
    )
    assert detect.post("/v1/detect/nope", json={"lines": lines[:5]}).status_code == 404
    assert detect.post("/v1/detect/bgl", json={"lines": "not a list"}).status_code == 422
    api.post("/v1/systems", json={"name": "fresh", "format": "bgl"})
    time.sleep(1.5)  # the ingress re-reads the routing table once its copy is a second old
    assert detect.post("/v1/detect/fresh", json={"lines": lines[:5]}).status_code == 409

    job = api.post("/v1/jobs", json={"target": "bgl", "sources": ["openstack"], "options": {"epochs": 2}})
    assert job.status_code == 202, job.text
    deadline = time.monotonic() + 600
    while (state := api.get(f"/v1/jobs/{job.json()['id']}").json())["status"] not in ("succeeded", "failed"):
        assert time.monotonic() < deadline, state
        time.sleep(1)
    assert state["status"] == "succeeded" and state["model_version"] == 2, state["error"]
    served_version(detect, lines, "2")
    assert api.post("/v1/systems/bgl/models/1/activate").status_code == 200
    served_version(detect, lines, "1")

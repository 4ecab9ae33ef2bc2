"""The job queue on a real local Ray cluster: parallel training under a limit, priority, cancellation,
failure with retries, a control-plane restart mid-job, and the jobs in the Ray dashboard's list."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from helpers.api_server import make_settings, running_api
from helpers.postgres import free_port
from ray.job_submission import JobSubmissionClient

from logsynergy.synthetic import write_demo_systems
from logsynergy_api.local import LocalRay
from logsynergy_workers.launcher import RayJobLauncher

pytestmark = pytest.mark.slow
FAST = {"epochs": 2, "source_windows": 600}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    data = tmp_path_factory.mktemp("platform")
    settings = make_settings(data, dashboard_port=free_port())
    ray = LocalRay(settings, num_cpus=2)
    dashboard = ray.start()
    try:
        yield data, dashboard
    finally:
        ray.stop()


def wait_for(client: httpx.Client, job_id: str, statuses: tuple[str, ...], timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in statuses:
            return job
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} still {job['status']} ({job['progress']}) after {timeout} s")


def onboard(client: httpx.Client, logs: Path) -> None:
    for name, role in (
        ("storage", "source"),
        ("compute", "source"),
        ("cloud", "target"),
        ("payments", "target"),
    ):
        client.post("/v1/systems", json={"name": name, "format": "jsonl", "role": role, "description": name})
        response = client.post(
            f"/v1/systems/{name}/datasets", files={"file": ("log", (logs / f"{name}.jsonl").read_bytes())}
        )
        assert response.status_code == 201, response.text


def test_queue_on_ray(cluster: tuple[Path, str], tmp_path: Path) -> None:
    data, dashboard = cluster
    logs = tmp_path / "logs"
    write_demo_systems(logs, n_lines=2500)
    settings = make_settings(
        data, dashboard_port=int(dashboard.rsplit(":", 1)[1]), max_running_jobs=2, max_attempts=2
    )
    launcher = RayJobLauncher(dashboard)
    sources = ["storage", "compute"]
    with running_api(settings, launcher) as api:
        admin = api.client()
        onboard(admin, logs)
        first = admin.post(
            "/v1/jobs", json={"target": "payments", "sources": sources, "priority": 1, "options": FAST}
        )
        second = admin.post(
            "/v1/jobs", json={"target": "cloud", "sources": sources, "priority": 1, "options": FAST}
        )
        third = admin.post("/v1/jobs", json={"target": "cloud", "sources": ["storage"], "options": FAST})
        ids = [r.json()["id"] for r in (first, second, third)]
        wait_for(admin, ids[0], ("running",))
        wait_for(admin, ids[1], ("running",))
        time.sleep(2 * settings.scheduler_interval_s)
        assert admin.get(f"/v1/jobs/{ids[2]}").json()["status"] == "queued"  # two at once, the third waits

        cancelled = admin.post(f"/v1/jobs/{ids[1]}/cancel").json()
        assert cancelled["status"] == "cancelled"
        ray_jobs = JobSubmissionClient(dashboard)
        deadline = time.monotonic() + 60
        while ray_jobs.get_job_status(cancelled["ray_submission_id"]).value != "STOPPED":
            assert time.monotonic() < deadline, "the cancelled job was not stopped in Ray"
            time.sleep(0.5)
        wait_for(admin, ids[2], ("running", "succeeded"))  # the freed slot goes to the waiting job
    # the control plane stops mid-job and comes back: the running jobs are reconciled, not resubmitted
    with running_api(settings, launcher) as api:
        admin = api.client()
        done = wait_for(admin, ids[0], ("succeeded", "failed"))
        assert done["status"] == "succeeded", done["error"]
        assert done["attempts"] == 1 and done["model_version"] == 1
        assert done["metrics"]["f1"] is not None
        models = admin.get("/v1/systems/payments/models").json()
        assert [(m["version"], m["active"]) for m in models] == [(1, True)]
        assert admin.get("/v1/systems/payments/interpretations").json()
        assert "epoch" in admin.get(f"/v1/jobs/{ids[0]}/logs").text
        assert wait_for(admin, ids[2], ("succeeded", "failed"))["status"] == "succeeded"

        # a job whose input vanished fails, is retried once, then fails for good with a clear error
        dataset = admin.get("/v1/systems/storage/datasets").json()[0]
        key = f"tenants/admin/datasets/storage/{dataset['id']}/log"
        api.platform.store.delete(key)
        broken = admin.post("/v1/jobs", json={"target": "payments", "sources": ["storage"], "options": FAST})
        failed = wait_for(admin, broken.json()["id"], ("failed", "succeeded"))
        assert failed["status"] == "failed" and failed["attempts"] == 2
        assert key in failed["error"]

        listed = {job.submission_id: job.status.value for job in JobSubmissionClient(dashboard).list_jobs()}
        assert listed[done["ray_submission_id"]] == "SUCCEEDED"
        assert listed[cancelled["ray_submission_id"]] == "STOPPED"
        assert f"logsynergy-{failed['id']}-2" in listed


def test_activation_and_rollback(cluster: tuple[Path, str]) -> None:
    """Runs after test_queue_on_ray on the same state: a second model, then a rollback to the first."""
    data, dashboard = cluster
    settings = make_settings(data, dashboard_port=int(dashboard.rsplit(":", 1)[1]), max_running_jobs=2)
    with running_api(settings, RayJobLauncher(dashboard)) as api:
        admin = api.client()
        job = admin.post(
            "/v1/jobs", json={"target": "payments", "sources": ["compute"], "options": FAST}
        ).json()
        assert wait_for(admin, job["id"], ("succeeded", "failed"))["status"] == "succeeded"
        versions = admin.get("/v1/systems/payments/models").json()
        assert [(m["version"], m["active"]) for m in versions] == [(2, True), (1, False)]
        admin.post("/v1/systems/payments/models/1/activate")
        assert admin.get("/v1/systems/payments").json()["active_version"] == 1
        routes = api.platform.store.get_json("routing/routes.json")
        assert routes["systems"]["admin/payments"]["active"] == "1"
        assert set(routes["systems"]["admin/payments"]["versions"]) == {"1", "2"}

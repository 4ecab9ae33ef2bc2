"""kill -9 of a training job mid-way on a real local Ray: the Ray Train worker, or the job's driver (the
entrypoint the Ray job supervisor started). The control plane retries the job; it ends succeeded once,
with one model version and one artifact."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import psutil
import pytest
from helpers.api_server import RunningApi, make_settings, running_api
from helpers.postgres import free_port
from ray.job_submission import JobSubmissionClient

from logsynergy.synthetic import write_demo_systems
from logsynergy_api.local import LocalRay
from logsynergy_workers.launcher import RayJobLauncher

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
OPTIONS = {"epochs": 4, "source_windows": 600}  # tiny, with a few epochs to kill the worker in
STAGES = ("submitted", "preparing", "training", "saving", "done")  # an attempt's stages, in order
BOUND_S = 600.0  # waits are bounded so that a stuck job fails the test instead of hanging it


@dataclass
class Platform:
    api: RunningApi
    dashboard: str


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """Local Ray (2 CPUs, dashboard for the Jobs and state APIs) and the API with its scheduler; one job
    at a time, so that the processes found are the test job's."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    data = tmp_path_factory.mktemp("platform")
    logs = tmp_path_factory.mktemp("logs")
    write_demo_systems(logs, n_lines=2500)
    settings = make_settings(data, dashboard_port=free_port(), max_running_jobs=1, max_attempts=3)
    ray = LocalRay(settings, num_cpus=2)
    dashboard = ray.start()
    try:
        with running_api(settings, RayJobLauncher(dashboard)) as api:
            admin = api.client()
            for name, role in (("storage", "source"), ("payments", "target"), ("cloud", "target")):
                body = {"name": name, "format": "jsonl", "role": role, "description": name}
                assert admin.post("/v1/systems", json=body).status_code == 201
                log = (logs / f"{name}.jsonl").read_bytes()
                response = admin.post(f"/v1/systems/{name}/datasets", files={"file": ("log", log)})
                assert response.status_code == 201, response.text
            yield Platform(api, dashboard)
    finally:
        ray.stop()


def wait_job(client: httpx.Client, job_id: str, done: Callable[[dict], bool]) -> dict:
    deadline = time.monotonic() + BOUND_S
    job = client.get(f"/v1/jobs/{job_id}").json()
    while not done(job):
        assert time.monotonic() < deadline, f"job {job_id} stuck: {job['status']} {job['progress']}"
        time.sleep(0.2)
        job = client.get(f"/v1/jobs/{job_id}").json()
    return job


def train_worker_pid() -> int:
    """The process of the one live Ray Train worker actor."""
    from ray.util.state import list_actors

    actors = list_actors(filters=[("class_name", "=", "RayTrainWorker"), ("state", "=", "ALIVE")])
    [actor] = actors
    return int(actor.pid)


def driver_pid(dashboard: str, submission_id: str) -> int:
    """The job's entrypoint process, as the driver registered itself with Ray."""
    info = JobSubmissionClient(dashboard).get_job_info(submission_id)
    assert info.driver_info is not None, "the driver has not connected to Ray yet"
    return int(info.driver_info.pid)


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.mark.parametrize(("victim", "target"), [("worker", "payments"), ("driver", "cloud")])
def test_job_killed_mid_training_is_retried_once(platform: Platform, victim: str, target: str):
    admin = platform.api.client()
    accepted = admin.post("/v1/jobs", json={"target": target, "sources": ["storage"], "options": OPTIONS})
    assert accepted.status_code == 202, accepted.text
    job_id = accepted.json()["id"]
    started = time.monotonic()
    job = wait_job(
        admin,
        job_id,
        lambda j: j["progress"].get("stage") == "training" or j["status"] not in ("queued", "running"),
    )
    assert job["status"] == "running" and job["attempts"] == 1, job
    first = job["ray_submission_id"]
    worker = train_worker_pid()
    pid = worker if victim == "worker" else driver_pid(platform.dashboard, first)
    os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()

    seen: list[tuple[str, int, str]] = []  # (status, attempts, stage) as the API showed them, in order

    def finished(j: dict) -> bool:
        state = (j["status"], j["attempts"], j["progress"].get("stage", ""))
        if not seen or seen[-1] != state:
            seen.append(state)
            if j["error"]:
                print(f"\n{victim}: job {j['status']} after attempt {j['attempts']}: {j['error'][:200]!r}")
        return j["status"] in ("succeeded", "failed", "cancelled")

    done = wait_job(admin, job_id, finished)
    print(
        f"\n{victim}: killed pid {pid} {killed - started:.1f} s after submission (stage training); job "
        f"{done['status']} {time.monotonic() - killed:.1f} s after the kill; states seen: {seen}"
    )
    ray_client = JobSubmissionClient(platform.dashboard)
    attempt1, log1 = ray_client.get_job_info(first), ray_client.get_job_logs(first)
    print(f"attempt 1 in Ray: exit code {attempt1.driver_exit_code}; log ends {log1.strip()[-300:]!r}")
    assert gone(pid) and gone(worker)  # a killed driver takes its Train worker with it: no zombie attempt
    if victim == "worker":  # the driver outlived its worker and failed the attempt itself, clearly
        assert "the training worker stopped without a result" in log1
        assert attempt1.driver_exit_code == 1
    else:
        assert attempt1.driver_exit_code in (-signal.SIGKILL, 128 + signal.SIGKILL)
    assert done["status"] == "succeeded", done["error"]
    assert done["attempts"] == 2 and done["model_version"] == 1
    assert done["ray_submission_id"] == f"logsynergy-{job_id}-2"
    assert all(status in ("running", "queued") for status, _n, _stage in seen[:-1]), seen  # ended once
    for attempt in (1, 2):  # each attempt's progress only moves forward: nothing stale from the other one
        ranks = [STAGES.index(stage) for _s, n, stage in seen if n == attempt and stage in STAGES]
        assert ranks == sorted(ranks), seen

    # Ray ran two attempts: the killed one failed, the retry succeeded, nothing ran a third time
    ray_jobs = {j.submission_id: j.status.value for j in ray_client.list_jobs()}
    ours = {
        sid: status for sid, status in ray_jobs.items() if sid and sid.startswith(f"logsynergy-{job_id}-")
    }
    assert ours == {first: "FAILED", f"logsynergy-{job_id}-2": "SUCCEEDED"}, ours

    # one model version, registered for this job, and one artifact in the store
    models = admin.get(f"/v1/systems/{target}/models").json()
    assert [(m["version"], m["job_id"], m["active"]) for m in models] == [(1, job_id, True)]
    store = platform.api.platform.store
    prefix = f"tenants/admin/models/{target}/"
    keys = store.list_keys(prefix)
    assert all(key.startswith(f"{prefix}{job_id}/") for key in keys), keys  # only this job's artifact
    artifact = {key.removeprefix(f"{prefix}{job_id}/") for key in keys}
    assert {"weights.pt", "model_config.json", "detector.json"} <= artifact
    on_disk = [name for _d, _s, files in os.walk(store.root / prefix) for name in files]
    assert len(on_disk) == len(artifact), on_disk  # no temporaries of the killed attempt left beside it

    # the retry's workers are gone too: nothing of the job keeps running
    from ray.util.state import list_actors

    assert not list_actors(filters=[("class_name", "=", "RayTrainWorker"), ("state", "=", "ALIVE")])

"""Job state transitions (`JobLifecycle`) and the scheduler loop over them, against a real SQLite database
and LocalStore; only the Ray launcher is a fake (the real one is exercised in test_jobs_ray.py)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, func, select

from logsynergy.metrics import TrainingMetrics
from logsynergy_api.context import Platform
from logsynergy_api.errors import Conflict
from logsynergy_api.models import Dataset, Job, ModelVersion, Tenant
from logsynergy_api.scheduler import Scheduler
from logsynergy_api.services import jobs, systems, tenants
from logsynergy_api.services.job_lifecycle import JobLifecycle
from logsynergy_api.services.job_specs import job_keys
from logsynergy_api.settings import Settings
from logsynergy_contracts import (
    ROUTES_KEY,
    JobFailed,
    JobKeys,
    JobStatus,
    JobSucceeded,
    RoutingDocument,
    TrainJobSpec,
)
from logsynergy_workers.launcher import JobLauncher

BACKOFF_S = 10.0
T0 = datetime(2030, 1, 1, tzinfo=UTC)


@dataclass
class FakeLauncher:
    """A cluster that does what it is told: `states` is what Ray would report per submission id."""

    states: dict[str, str | None] = field(default_factory=dict)
    submitted: list[tuple[str, str]] = field(default_factory=list)
    stopped: list[str] = field(default_factory=list)
    unreachable: bool = False

    def _reach(self) -> None:
        if self.unreachable:
            raise ConnectionError("connection refused")

    def submit(self, submission_id: str, spec_key: str, env: dict[str, str], gpus: float = 0) -> None:
        self._reach()
        self.submitted.append((submission_id, spec_key))
        self.states[submission_id] = "PENDING"

    def status(self, submission_id: str) -> str | None:
        self._reach()
        return self.states.get(submission_id)

    def stop(self, submission_id: str) -> None:
        self._reach()
        self.stopped.append(submission_id)
        self.states[submission_id] = "STOPPED"

    def logs(self, submission_id: str) -> str:
        return ""

    def cluster_cpus(self) -> int | None:
        return 2


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now


@dataclass
class World:
    platform: Platform
    launcher: FakeLauncher
    clock: Clock
    lifecycle: JobLifecycle
    session: Session
    tenant: Tenant

    def new_job(self, target: str = "payments", priority: int = 0) -> Job:
        job = jobs.create_job(
            self.session,
            self.platform,
            self.tenant,
            target=target,
            sources=["storage"],
            priority=priority,
            preset="cpu",
            seed=3,
            target_labelled=100,
            options={"epochs": 2, "use_da": True},  # use_da is a default: not stored
        )
        self.session.commit()
        return job

    def keys(self, job: Job) -> JobKeys:
        return job_keys(self.tenant, job)

    def ray_says(self, job: Job, state: str | None) -> None:
        assert job.submission_id
        self.launcher.states[job.submission_id] = state

    def versions(self) -> list[ModelVersion]:
        return list(self.session.exec(select(ModelVersion)))


def metrics(**changes: object) -> TrainingMetrics:
    values: dict[str, object] = {
        "precision": 0.9,
        "recall": 0.8,
        "f1": 0.85,
        "tp": 8.0,
        "fp": 1.0,
        "fn": 2.0,
        "threshold": 0.4,
        "calibration": "target",
        "train_windows": 100,
        "train_unique_windows": 90,
        "target_train_windows": 40,
        "target_labelled": 100,
        "target_labelled_anomalies": 12,
        "target_labels_used": True,
        "test_windows": 60,
        "test_anomalies": 10,
        "train_seconds": 1.5,
        "target": "payments",
        "sources": ["storage"],
        "preset": "cpu",
        "seed": 3,
        "use_lei": True,
        "use_sufe": True,
        "use_da": True,
    }
    return TrainingMetrics.model_validate(values | changes)


@pytest.fixture()
def world(tmp_path: Path) -> Iterator[World]:
    settings = Settings(
        data_dir=tmp_path / "data", retry_backoff_s=BACKOFF_S, max_attempts=4, max_running_jobs=1
    )
    launcher = FakeLauncher()
    platform = Platform.build(settings, launcher)
    with Session(platform.engine, expire_on_commit=False) as session:
        tenant, _key = tenants.create_tenant(session, "acme")
        for name in ("payments", "storage"):
            system = systems.create_system(session, tenant, name, "jsonl", "target", name, True)
            log_key = f"tenants/acme/datasets/{name}/d1/log"
            platform.store.put_bytes(log_key, b'{"message": "hello", "label": 0}\n')
            session.add(
                Dataset(
                    id=f"d-{name}",
                    tenant_id=tenant.id,
                    system_id=system.id,
                    filename="log",
                    log_key=log_key,
                    size_bytes=33,
                    sha256="0" * 64,
                    lines=1,
                    windowing="sliding",
                    windows=1,
                    labelled=True,
                )
            )
        session.commit()
        clock = Clock()
        yield World(platform, launcher, clock, JobLifecycle(platform, now=clock), session, tenant)
    platform.engine.dispose()


def test_the_fake_launcher_is_a_job_launcher() -> None:
    launcher: JobLauncher = FakeLauncher()  # the protocol's methods, checked where the types are
    assert launcher.status("nope") is None


def test_submit_writes_the_typed_spec_marks_running_and_sends(world: World) -> None:
    job = world.new_job()
    assert job.status == JobStatus.QUEUED
    assert job.config == {
        "target": "payments",
        "target_labelled": 100,
        "preset": "cpu",
        "seed": 3,
        "options": {"epochs": 2},
    }
    world.lifecycle.submit(world.session, job)

    assert job.status == JobStatus.RUNNING and job.attempts == 1 and job.started_at == T0
    assert job.submission_id == f"logsynergy-{job.id}-1"
    keys = world.keys(job)
    assert world.launcher.submitted == [(job.submission_id, keys.spec)]
    spec = TrainJobSpec.parse(world.platform.store.get_json(keys.spec))
    assert spec.keys == keys and spec.job_id == job.id and spec.tenant == "acme"
    assert (spec.options.preset, spec.options.seed, spec.options.target_labelled) == ("cpu", 3, 100)
    assert spec.options.epochs == 2 and spec.options.source_windows == 50_000  # the default, declared once
    assert spec.target.name == "payments" and [s.name for s in spec.sources] == ["storage"]
    assert spec.artifact_prefix == f"tenants/acme/models/payments/{job.id}/"


def test_ray_unreachable_on_submit_requeues_without_counting_the_attempt(world: World) -> None:
    job = world.new_job()
    world.launcher.unreachable = True
    world.lifecycle.submit(world.session, job)

    assert job.status == JobStatus.QUEUED and job.attempts == 0 and job.submission_id is None
    assert job.next_attempt_at == T0 + timedelta(seconds=BACKOFF_S)
    assert "Ray unreachable" in job.progress["message"]
    assert world.lifecycle.due(world.session, 5) == []  # waits out the back-off
    world.clock.now = T0 + timedelta(seconds=BACKOFF_S)
    assert world.lifecycle.due(world.session, 5) == [job]
    world.launcher.unreachable = False
    world.lifecycle.submit(world.session, job)
    assert job.status == JobStatus.RUNNING and job.submission_id == f"logsynergy-{job.id}-1"


def test_failed_attempts_are_retried_with_exponential_backoff_up_to_max_attempts(world: World) -> None:
    job = world.new_job()
    delays = []
    for attempt in range(1, 5):
        world.lifecycle.submit(world.session, job)
        assert job.attempts == attempt and job.submission_id == f"logsynergy-{job.id}-{attempt}"
        store_result = JobFailed(error=f"boom {attempt}", attempt="x").model_dump(mode="json")
        world.platform.store.put_json(world.keys(job).result, store_result)
        world.ray_says(job, "FAILED")
        world.lifecycle.follow(world.session, job)
        assert job.error == f"boom {attempt}"
        if job.status == JobStatus.QUEUED:
            assert job.progress["stage"] == "retrying"
            assert job.next_attempt_at is not None
            delays.append((job.next_attempt_at - world.clock.now).total_seconds())
            world.clock.now = job.next_attempt_at
    assert delays == [BACKOFF_S, 2 * BACKOFF_S, 4 * BACKOFF_S]
    assert job.status == JobStatus.FAILED and job.finished_at == world.clock.now
    assert job.progress["stage"] == "failed"
    assert len(world.launcher.submitted) == 4 == job.max_attempts
    assert world.lifecycle.due(world.session, 5) == []


def test_a_ray_job_that_ended_without_a_result_is_a_failed_attempt(world: World) -> None:
    job = world.new_job()
    world.lifecycle.submit(world.session, job)
    world.platform.store.put_json(world.keys(job).result, {"status": "succeeded"})  # malformed
    world.ray_says(job, "SUCCEEDED")
    world.lifecycle.follow(world.session, job)
    assert job.status == JobStatus.QUEUED and "result is malformed" in (job.error or "")
    assert "artifact_prefix" in (job.error or "")
    world.platform.store.delete(world.keys(job).result)
    world.clock.now = job.next_attempt_at or T0
    world.lifecycle.submit(world.session, job)
    world.ray_says(job, "FAILED")
    world.lifecycle.follow(world.session, job)
    assert job.error == "the Ray job ended FAILED without a result"


def test_a_spec_that_cannot_be_written_fails_the_job_for_good(world: World) -> None:
    job = world.new_job()
    for dataset in world.session.exec(select(Dataset)):
        world.session.delete(dataset)
    world.session.commit()
    world.lifecycle.submit(world.session, job)
    assert job.status == JobStatus.FAILED and job.attempts == 0
    assert "no dataset any more" in (job.error or "")
    assert world.launcher.submitted == []


def test_success_registers_one_model_version_even_if_concluded_twice(world: World) -> None:
    job = world.new_job()
    world.lifecycle.submit(world.session, job)
    world.platform.store.put_json(
        world.keys(job).progress, {"stage": "training", "epoch": 1, "epochs": 2, "loss": 0.5, "x": 1}
    )
    world.ray_says(job, "RUNNING")
    world.lifecycle.follow(world.session, job)
    assert job.status == JobStatus.RUNNING
    assert job.progress == {
        "stage": "training",
        "message": "",
        "attempt": 1,
        "epoch": 1,
        "epochs": 2,
        "loss": 0.5,
    }

    # a second control plane loaded the job while it was running
    with Session(world.platform.engine, expire_on_commit=False) as other:
        stale = other.get(Job, job.id)
        assert stale is not None and stale.status == JobStatus.RUNNING

        artifact = f"tenants/acme/models/payments/{job.id}/"
        result = JobSucceeded(artifact_prefix=artifact, metrics=metrics(), attempt="a1")
        world.platform.store.put_json(world.keys(job).result, result.model_dump(mode="json"))
        world.ray_says(job, "SUCCEEDED")
        world.lifecycle.follow(world.session, job)
        assert job.status == JobStatus.SUCCEEDED and job.model_version == 1 and job.finished_at == T0
        assert job.metrics["f1"] == 0.85 and job.progress["stage"] == "done"

        world.lifecycle.conclude(world.session, job, result, "SUCCEEDED")  # concluded again: no-op
        JobLifecycle(world.platform).conclude(other, stale, result, "SUCCEEDED")  # from the stale copy
        assert stale.model_version == 1

    [model] = world.versions()
    assert (model.version, model.job_id, model.artifact_key) == (1, job.id, artifact)
    assert model.threshold == 0.4 and model.sources == ["storage"] and model.metrics["recall"] == 0.8
    document, broken = RoutingDocument.parse(world.platform.store.get_json(ROUTES_KEY))
    assert broken == {}
    route = document.systems["acme/payments"]
    assert route.active == "1" and route.versions == {"1": artifact}


def test_cancel_a_queued_job_at_once_a_running_one_in_ray_a_finished_one_never(world: World) -> None:
    queued = world.new_job()
    world.lifecycle.cancel(world.session, queued)
    assert queued.status == JobStatus.CANCELLED and queued.finished_at == T0 and queued.cancel_requested
    assert world.launcher.stopped == []

    running = world.new_job()
    world.lifecycle.submit(world.session, running)
    world.lifecycle.cancel(world.session, running)
    assert world.launcher.stopped == [running.submission_id]
    assert running.status == JobStatus.CANCELLED and running.progress["stage"] == "cancelled"
    assert world.lifecycle.running(world.session) == []  # Ray's STOPPED is never read as a failure

    with pytest.raises(Conflict, match="already cancelled"):
        world.lifecycle.cancel(world.session, running)
    with pytest.raises(Conflict, match="already cancelled"):
        jobs.cancel_job(world.session, world.platform, world.tenant, queued.id)


def test_reconcile_a_running_job_ray_does_not_know(world: World) -> None:
    job = world.new_job()
    world.lifecycle.submit(world.session, job)
    submission = job.submission_id
    world.ray_says(job, None)  # the cluster lost it, before it wrote a result
    world.lifecycle.follow(world.session, job)
    assert job.status == JobStatus.RUNNING and job.attempts == 1 and job.submission_id == submission
    assert world.launcher.submitted == [(submission, world.keys(job).spec)] * 2

    world.ray_says(job, None)  # lost again, after the worker wrote its result
    artifact = f"tenants/acme/models/payments/{job.id}/"
    result = JobSucceeded(artifact_prefix=artifact, metrics=metrics(), attempt="a1")
    world.platform.store.put_json(world.keys(job).result, result.model_dump(mode="json"))
    world.lifecycle.follow(world.session, job)
    assert job.status == JobStatus.SUCCEEDED and job.model_version == 1
    assert len(world.launcher.submitted) == 2


def test_the_scheduler_runs_the_most_urgent_job_within_capacity(world: World) -> None:
    low = world.new_job(priority=0)
    high = world.new_job(priority=5)
    scheduler = Scheduler(world.platform)
    scheduler.lifecycle = world.lifecycle
    scheduler.tick()
    world.session.refresh(low)
    world.session.refresh(high)
    assert (high.status, low.status) == (JobStatus.RUNNING, JobStatus.QUEUED)  # max_running_jobs=1

    world.launcher.unreachable = True  # following stops for this tick; nothing changes
    scheduler.tick()
    world.session.refresh(high)
    assert high.status == JobStatus.RUNNING
    count = world.session.exec(select(func.count()).select_from(Job)).one()
    assert count == 2


def test_a_retry_does_not_show_the_killed_attempts_progress_or_result(world: World) -> None:
    """A killed attempt leaves its progress.json (and maybe a result); the next attempt starts clean, so
    neither is read as the new attempt's while its driver has not started yet."""
    job = world.new_job()
    world.lifecycle.submit(world.session, job)
    keys = world.keys(job)
    world.platform.store.put_json(keys.progress, {"stage": "training", "epoch": 2, "epochs": 4})
    failed = JobFailed(error="killed", attempt="a1")
    world.platform.store.put_json(keys.result, failed.model_dump(mode="json"))
    world.ray_says(job, "FAILED")
    world.lifecycle.follow(world.session, job)
    assert job.status == JobStatus.QUEUED and job.error == "killed"

    world.clock.now = job.next_attempt_at or T0
    world.lifecycle.submit(world.session, job)
    world.ray_says(job, "PENDING")
    world.lifecycle.follow(world.session, job)
    assert job.attempts == 2 and job.progress["stage"] == "submitted"
    world.ray_says(job, None)  # lost before its driver ran: submitted again, not concluded by the old result
    world.lifecycle.follow(world.session, job)
    assert job.status == JobStatus.RUNNING and job.attempts == 2

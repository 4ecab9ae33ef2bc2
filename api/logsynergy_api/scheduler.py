"""The job scheduler: hands queued jobs to Ray by priority then age, follows them, records their ends.

State lives in the database only, so a restarted control plane picks up where it stopped: running jobs
are reconciled with what Ray reports (none lost, none submitted twice: each attempt has a fixed
submission id, and a job is marked running before it is submitted)."""

from __future__ import annotations

import logging
import os
import threading
from datetime import timedelta
from typing import Any

from sqlmodel import Session, col, select

from logsynergy.errors import LogSynergyError, ObjectNotFound
from logsynergy_api.context import Platform
from logsynergy_api.models import Job, System, Tenant, utcnow
from logsynergy_api.services import interpretations, models
from logsynergy_api.services.job_specs import job_prefix, write_spec
from logsynergy_api.services.routing import publish_routes

log = logging.getLogger(__name__)
ENDED = ("SUCCEEDED", "FAILED", "STOPPED")


class Scheduler:
    def __init__(self, platform: Platform) -> None:
        if platform.launcher is None:
            raise LogSynergyError("the scheduler needs a Ray cluster (LOGSYNERGY_RAY_ADDRESS)")
        self.platform = platform
        self.launcher = platform.launcher
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._capacity: int | None = None

    # -- loop -------------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="logsynergy-scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop scheduling; running Ray jobs go on and are reconciled by the next start."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:
                log.exception("scheduler tick failed; retrying")
            self._stop.wait(self.platform.settings.scheduler_interval_s)

    def tick(self) -> None:
        with Session(self.platform.engine, expire_on_commit=False) as session:
            self.follow_running(session)
            self.dispatch(session)

    def capacity(self) -> int:
        if self.platform.settings.max_running_jobs:
            return self.platform.settings.max_running_jobs
        if self._capacity is None:
            self._capacity = self.launcher.cluster_cpus() or os.cpu_count() or 1
        return self._capacity

    # -- dispatch ---------------------------------------------------------------------------------
    def dispatch(self, session: Session) -> None:
        running = len(list(session.exec(select(Job.id).where(Job.status == "running"))))
        free = self.capacity() - running
        if free <= 0:
            return
        now = utcnow()
        query = (
            select(Job)
            .where(Job.status == "queued")
            .where((col(Job.next_attempt_at).is_(None)) | (col(Job.next_attempt_at) <= now))
            .order_by(col(Job.priority).desc(), col(Job.created_at))
            .limit(free)
        )
        for job in list(session.exec(query)):
            self.submit(session, job)

    def submit(self, session: Session, job: Job) -> None:
        try:
            spec_key = write_spec(session, self.platform.store, job, self.platform.settings.train_use_gpu)
        except LogSynergyError as error:
            self.record_failure(session, job, str(error), retry=False)
            return
        job.attempts += 1
        job.submission_id = f"logsynergy-{job.id}-{job.attempts}"
        job.status, job.started_at, job.error = "running", utcnow(), None
        job.progress = {"stage": "submitted", "attempt": job.attempts}
        session.add(job)
        session.commit()
        self._send(session, job, spec_key)

    def _send(self, session: Session, job: Job, spec_key: str) -> None:
        gpus = 1.0 if self.platform.settings.train_use_gpu else 0.0
        try:
            self.launcher.submit(job.submission_id or "", spec_key, self.platform.settings.worker_env(), gpus)
            log.info("job %s submitted to Ray as %s", job.id, job.submission_id)
        except Exception as error:  # Ray unreachable: back to the queue, the attempt does not count
            log.warning("could not submit job %s: %s", job.id, error)
            job.status, job.attempts = "queued", job.attempts - 1
            job.submission_id, job.progress = (
                None,
                {"stage": "queued", "message": f"Ray unreachable: {error}"},
            )
            job.next_attempt_at = utcnow() + timedelta(seconds=max(self.platform.settings.retry_backoff_s, 1))
            session.add(job)
            session.commit()

    # -- follow -----------------------------------------------------------------------------------
    def follow_running(self, session: Session) -> None:
        for job in list(session.exec(select(Job).where(Job.status == "running"))):
            try:
                state = self.launcher.status(job.submission_id or "")
            except Exception as error:
                log.warning("cannot reach Ray for job %s: %s", job.id, error)
                return
            prefix = self.prefix(session, job)
            self.read_progress(job, prefix)
            result = self.read_result(prefix)
            if state is None:
                if result is not None:
                    ended = "SUCCEEDED" if result.get("status") == "succeeded" else "FAILED"
                    self.conclude(session, job, result, ended)
                else:  # never reached Ray, or the cluster lost it: submit the same attempt again
                    log.info("job %s unknown to Ray; submitting %s again", job.id, job.submission_id)
                    self._send(session, job, self.prefix(session, job) + "spec.json")
                continue
            if state in ENDED:
                self.conclude(session, job, result, state)
            else:
                session.add(job)
                session.commit()

    def prefix(self, session: Session, job: Job) -> str:
        tenant = session.get(Tenant, job.tenant_id)
        assert tenant is not None
        return job_prefix(tenant, job)

    def read_progress(self, job: Job, prefix: str) -> None:
        try:
            progress = self.platform.store.get_json(prefix + "progress.json")
        except ObjectNotFound:
            return
        except LogSynergyError as error:
            log.warning("progress of job %s unreadable: %s", job.id, error)
            return
        if isinstance(progress, dict):
            job.progress = {**progress, "attempt": job.attempts}

    def read_result(self, prefix: str) -> dict[str, Any] | None:
        try:
            result = self.platform.store.get_json(prefix + "result.json")
        except ObjectNotFound:
            return None
        return result if isinstance(result, dict) else None

    def conclude(self, session: Session, job: Job, result: dict[str, Any] | None, state: str) -> None:
        if job.cancel_requested:
            job.status, job.finished_at = "cancelled", utcnow()
        elif state == "SUCCEEDED" and result and result.get("status") == "succeeded":
            self.record_success(session, job, result)
            return
        else:
            error = (result or {}).get("error") or f"the Ray job ended {state} without a result"
            self.record_failure(session, job, str(error), retry=True)
            return
        session.add(job)
        session.commit()

    def record_success(self, session: Session, job: Job, result: dict[str, Any]) -> None:
        system = session.get(System, job.system_id)
        assert system is not None
        model = models.register(session, system, job, result)
        job.status, job.finished_at, job.model_version = "succeeded", utcnow(), model.version
        job.metrics = dict(result.get("metrics") or {})
        job.progress = {**job.progress, "stage": "done"}
        self.import_interpretations(session, system, job)
        session.add(job)
        session.commit()
        publish_routes(session, self.platform.store)
        log.info("job %s succeeded: %s version %s", job.id, system.name, model.version)

    def import_interpretations(self, session: Session, system: System, job: Job) -> None:
        try:
            text = self.platform.store.get_bytes(self.prefix(session, job) + "interpretations.jsonl").decode()
            interpretations.upsert(session, system, interpretations.parse_jsonl(text), keep_reviewed=True)
        except LogSynergyError as error:
            log.warning("job %s: interpretations not imported: %s", job.id, error)

    def record_failure(self, session: Session, job: Job, error: str, *, retry: bool) -> None:
        job.error = error[:4000]
        if retry and job.attempts < job.max_attempts:
            delay = self.platform.settings.retry_backoff_s * 2 ** max(job.attempts - 1, 0)
            job.status, job.next_attempt_at = "queued", utcnow() + timedelta(seconds=delay)
            job.progress = {"stage": "retrying", "attempt": job.attempts, "message": error[:500]}
            log.info("job %s attempt %s failed (%s); retrying in %.0f s", job.id, job.attempts, error, delay)
        else:
            job.status, job.finished_at = "failed", utcnow()
            job.progress = {**job.progress, "stage": "failed"}
            log.info("job %s failed: %s", job.id, error)
        session.add(job)
        session.commit()

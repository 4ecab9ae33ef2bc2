"""Every state change of a training job, in one place:

- queued → running (`submit`): the attempt's spec is written, the job marked running, then sent to Ray;
  Ray unreachable: back to queued, the attempt not counted.
- running → succeeded | failed | queued again (`conclude`, from Ray's final state and the result): a
  failed attempt is retried after 1×, 2×, 4×… `retry_backoff_s` while attempts are left.
- running, unknown to Ray (`reconcile`): concluded by its result if it wrote one, else the same attempt
  is submitted again.
- queued | running → cancelled (`cancel`; a running job is stopped in Ray first).

State lives in the database only, so a restarted control plane picks up where it stopped: none lost,
none submitted twice (each attempt has a fixed submission id, and a job is marked running before it is
submitted). Every transition commits.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session, col, func, select

from logsynergy.errors import ConfigError, LogSynergyError, ObjectNotFound
from logsynergy_api.context import Platform
from logsynergy_api.errors import Conflict, Unavailable
from logsynergy_api.models import Job, System, Tenant, utcnow
from logsynergy_api.services import interpretations, models
from logsynergy_api.services.job_specs import job_keys, write_spec
from logsynergy_api.services.routing import publish_routes
from logsynergy_contracts import (
    JobFailed,
    JobKeys,
    JobProgress,
    JobStatus,
    JobSucceeded,
    Stage,
    json_values,
    parse_result,
)
from logsynergy_workers.launcher import RAY_ENDED_STATES, JobLauncher

log = logging.getLogger(__name__)
MAX_ERROR = 4000  # characters of an error kept on the job


def progress_values(progress: JobProgress) -> dict[str, Any]:
    """A job's progress as its JSON column holds it."""
    return {name: value for name, value in json_values(progress).items() if value is not None}


def progress_of(job: Job) -> JobProgress:
    """A job's stored progress (an unreadable one counts as none)."""
    try:
        return JobProgress.model_validate(job.progress)
    except ValidationError:
        return JobProgress()


class JobLifecycle:
    """The transitions of training jobs over one platform (database, store, launcher, settings)."""

    def __init__(self, platform: Platform, now: Callable[[], datetime] = utcnow) -> None:
        self.platform = platform
        self.now = now

    @property
    def launcher(self) -> JobLauncher:
        if self.platform.launcher is None:
            raise Unavailable("no Ray cluster is configured (LOGSYNERGY_RAY_ADDRESS)")
        return self.platform.launcher

    # -- queries ----------------------------------------------------------------------------------
    def running(self, session: Session) -> list[Job]:
        return list(session.exec(select(Job).where(Job.status == JobStatus.RUNNING)))

    def count_running(self, session: Session) -> int:
        return session.exec(
            select(func.count()).select_from(Job).where(Job.status == JobStatus.RUNNING)
        ).one()

    def due(self, session: Session, limit: int) -> list[Job]:
        """Queued jobs past their back-off, by priority then age."""
        query = (
            select(Job)
            .where(Job.status == JobStatus.QUEUED)
            .where((col(Job.next_attempt_at).is_(None)) | (col(Job.next_attempt_at) <= self.now()))
            .order_by(col(Job.priority).desc(), col(Job.created_at))
            .limit(limit)
        )
        return list(session.exec(query))

    # -- transitions ------------------------------------------------------------------------------
    def submit(self, session: Session, job: Job) -> None:
        """queued → running: write the attempt's spec, remove an earlier attempt's progress and result
        (a killed attempt leaves them; they must not be read as this one's), mark the job running, then
        hand it to Ray. A spec that cannot be written fails the job for good (retrying would not help)."""
        try:
            keys = write_spec(session, self.platform.store, job, self.platform.settings.train_use_gpu)
            for key in (keys.progress, keys.result):
                self.platform.store.delete(key)
        except LogSynergyError as error:
            self._fail(session, job, str(error), retry=False)
            return
        job.attempts += 1
        job.submission_id = f"logsynergy-{job.id}-{job.attempts}"
        job.status, job.started_at, job.error = JobStatus.RUNNING, self.now(), None
        job.progress = progress_values(JobProgress(stage=Stage.SUBMITTED, attempt=job.attempts))
        self._commit(session, job)
        self._send(session, job, keys)

    def follow(self, session: Session, job: Job) -> None:
        """A running job: take in its progress, conclude it when Ray says it ended, reconcile it when
        Ray does not know it. Unavailable when Ray cannot be reached (nothing changes then)."""
        try:
            state = self.launcher.status(job.submission_id or "")
        except Exception as error:
            raise Unavailable(f"cannot reach Ray for job {job.id}: {error}") from error
        keys = self._keys(session, job)
        self._take_progress(job, keys)
        result = self._read_result(job, keys)
        if state is None:
            self.reconcile(session, job, result)
        elif state in RAY_ENDED_STATES:
            self.conclude(session, job, result, state)
        else:
            self._commit(session, job)

    def reconcile(self, session: Session, job: Job, result: JobSucceeded | JobFailed | None) -> None:
        """A running job Ray does not know (it never got there, or the cluster lost it): concluded by
        its result when it wrote one, else the same attempt (same submission id) is submitted again."""
        if result is not None:
            self.conclude(session, job, result, "SUCCEEDED" if isinstance(result, JobSucceeded) else "FAILED")
            return
        log.info("job %s unknown to Ray; submitting %s again", job.id, job.submission_id)
        self._send(session, job, self._keys(session, job))

    def conclude(
        self, session: Session, job: Job, result: JobSucceeded | JobFailed | None, state: str
    ) -> None:
        """running → succeeded, failed (or queued for a retry) or cancelled, from the Ray job's final
        `state` and the attempt's result. A job that is no longer running is left as it is."""
        if job.status != JobStatus.RUNNING:
            log.info("job %s is %s already; not concluded again", job.id, job.status)
            return
        if job.cancel_requested:
            self._cancelled(session, job)
        elif state == "SUCCEEDED" and isinstance(result, JobSucceeded):
            self._succeed(session, job, result)
        elif isinstance(result, JobFailed):
            self._fail(session, job, result.error, retry=True)
        else:
            self._fail(session, job, f"the Ray job ended {state} without a result", retry=True)

    def cancel(self, session: Session, job: Job) -> None:
        """A queued job is cancelled at once; a running one is stopped in Ray first (without a Ray
        cluster to ask, it is marked for cancellation, and its end is recorded as cancelled).
        Conflict when the job has finished already."""
        status = JobStatus(job.status)
        if status.finished:
            raise Conflict(f"job {job.id} already {status}")
        job.cancel_requested = True
        if status == JobStatus.QUEUED:
            self._cancelled(session, job)
            return
        if job.submission_id and self.platform.launcher is not None:
            try:
                self.platform.launcher.stop(job.submission_id)
            except Exception as error:
                raise Unavailable(f"could not stop job {job.id} in Ray: {error}") from error
            self._cancelled(session, job)
            return
        self._set_progress(job, stage=Stage.CANCELLING)
        self._commit(session, job)

    # -- the steps --------------------------------------------------------------------------------
    def _send(self, session: Session, job: Job, keys: JobKeys) -> None:
        gpus = 1.0 if self.platform.settings.train_use_gpu else 0.0
        try:
            self.launcher.submit(
                job.submission_id or "", keys.spec, self.platform.settings.worker_env(), gpus
            )
            log.info("job %s submitted to Ray as %s", job.id, job.submission_id)
        except Exception as error:
            log.warning("could not submit job %s: %s", job.id, error)
            self._requeue(session, job, f"Ray unreachable: {error}")

    def _requeue(self, session: Session, job: Job, reason: str) -> None:
        """running → queued without counting the attempt (it never ran)."""
        job.status, job.attempts, job.submission_id = JobStatus.QUEUED, job.attempts - 1, None
        job.progress = progress_values(JobProgress(stage=Stage.QUEUED, message=reason))
        job.next_attempt_at = self.now() + timedelta(seconds=max(self.platform.settings.retry_backoff_s, 1))
        self._commit(session, job)

    def _succeed(self, session: Session, job: Job, result: JobSucceeded) -> None:
        system = session.get(System, job.system_id)
        assert system is not None
        model = models.register(session, system, job, result)
        job.status, job.finished_at, job.model_version = JobStatus.SUCCEEDED, self.now(), model.version
        job.metrics = json_values(result.metrics)
        self._set_progress(job, stage=Stage.DONE)
        self._import_interpretations(session, system, job)
        self._commit(session, job)
        publish_routes(session, self.platform.store)
        log.info("job %s succeeded: %s version %s", job.id, system.name, model.version)

    def _fail(self, session: Session, job: Job, error: str, *, retry: bool) -> None:
        """A failed attempt: queued again after 1×, 2×, 4×… the back-off while attempts are left."""
        job.error = error[:MAX_ERROR]
        if retry and job.attempts < job.max_attempts:
            delay = self.platform.settings.retry_backoff_s * 2 ** max(job.attempts - 1, 0)
            job.status, job.next_attempt_at = JobStatus.QUEUED, self.now() + timedelta(seconds=delay)
            job.progress = progress_values(
                JobProgress(stage=Stage.RETRYING, attempt=job.attempts, message=error[:500])
            )
            log.info("job %s attempt %s failed (%s); retrying in %.0f s", job.id, job.attempts, error, delay)
        else:
            job.status, job.finished_at = JobStatus.FAILED, self.now()
            self._set_progress(job, stage=Stage.FAILED)
            log.info("job %s failed: %s", job.id, error)
        self._commit(session, job)

    def _cancelled(self, session: Session, job: Job) -> None:
        job.status, job.finished_at = JobStatus.CANCELLED, self.now()
        self._set_progress(job, stage=Stage.CANCELLED)
        self._commit(session, job)

    # -- helpers ----------------------------------------------------------------------------------
    def _keys(self, session: Session, job: Job) -> JobKeys:
        tenant = session.get(Tenant, job.tenant_id)
        assert tenant is not None
        return job_keys(tenant, job)

    def _take_progress(self, job: Job, keys: JobKeys) -> None:
        """The worker's progress.json, with the attempt, as the job's progress (when readable)."""
        try:
            progress = JobProgress.model_validate(self.platform.store.get_json(keys.progress))
        except ObjectNotFound:
            return
        except (LogSynergyError, ValidationError) as error:
            log.warning("progress of job %s unreadable: %s", job.id, error)
            return
        job.progress = progress_values(progress.model_copy(update={"attempt": job.attempts}))

    def _read_result(self, job: Job, keys: JobKeys) -> JobSucceeded | JobFailed | None:
        """The attempt's result.json; a malformed one counts as a failure that says so (a store that
        cannot be read raises: nothing is concluded then)."""
        try:
            return parse_result(self.platform.store.get_json(keys.result))
        except ObjectNotFound:
            return None
        except ConfigError as error:
            return JobFailed(error=f"the job's result is malformed: {error}")

    def _import_interpretations(self, session: Session, system: System, job: Job) -> None:
        try:
            text = self.platform.store.get_bytes(self._keys(session, job).interpretations_out).decode()
            interpretations.upsert(session, system, interpretations.parse_jsonl(text), keep_reviewed=True)
        except LogSynergyError as error:
            log.warning("job %s: interpretations not imported: %s", job.id, error)

    @staticmethod
    def _set_progress(job: Job, **update: Any) -> None:
        job.progress = progress_values(progress_of(job).model_copy(update=update))

    @staticmethod
    def _commit(session: Session, job: Job) -> None:
        session.add(job)
        session.commit()

"""Submits training jobs to a Ray cluster through the Ray Jobs API (so they show in the dashboard)."""

from __future__ import annotations

import shlex
import sys
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ray.job_submission import JobSubmissionClient

ENTRYPOINT_MODULE = "logsynergy_workers.train_job"
# Ray's own job states (not the control plane's JobStatus); these three are final
RAY_ENDED_STATES = frozenset({"SUCCEEDED", "FAILED", "STOPPED"})


class JobLauncher(Protocol):
    """What the control plane needs of a cluster; every method may raise when it cannot be reached."""

    def submit(self, submission_id: str, spec_key: str, env: dict[str, str], gpus: float = 0) -> None: ...

    def status(self, submission_id: str) -> str | None:
        """PENDING, RUNNING, STOPPED, SUCCEEDED or FAILED; None when the cluster does not know the job."""
        ...

    def stop(self, submission_id: str) -> None: ...

    def logs(self, submission_id: str) -> str: ...

    def cluster_cpus(self) -> int | None: ...


class RayJobLauncher:
    """The production launcher: one Ray job per training attempt, with a deterministic submission id."""

    def __init__(self, address: str, python: str | None = None) -> None:
        self.address = address
        self.python = python or sys.executable
        self._client: JobSubmissionClient | None = None

    @property
    def client(self) -> JobSubmissionClient:
        if self._client is None:
            from ray.job_submission import JobSubmissionClient

            self._client = JobSubmissionClient(self.address)
        return self._client

    def submit(self, submission_id: str, spec_key: str, env: dict[str, str], gpus: float = 0) -> None:
        entrypoint = f"{shlex.quote(self.python)} -m {ENTRYPOINT_MODULE} --spec-key {shlex.quote(spec_key)}"
        self.client.submit_job(
            entrypoint=entrypoint,
            submission_id=submission_id,
            runtime_env={"env_vars": env},
            entrypoint_num_cpus=0,
            entrypoint_num_gpus=0,
            metadata={"product": "logsynergy", "spec": spec_key},
        )

    def status(self, submission_id: str) -> str | None:
        from ray.job_submission import JobStatus

        try:
            status = self.client.get_job_status(submission_id)
        except RuntimeError as error:
            text = str(error).lower()
            if "does not exist" in text or "not found" in text:
                return None
            raise
        return status.value if isinstance(status, JobStatus) else str(status)

    def stop(self, submission_id: str) -> None:
        self.client.stop_job(submission_id)

    def logs(self, submission_id: str) -> str:
        return self.client.get_job_logs(submission_id)

    def cluster_cpus(self) -> int | None:
        """CPUs of the cluster, from the dashboard's cluster status; None when it does not say."""
        import ray

        if ray.is_initialized():
            return int(ray.cluster_resources().get("CPU", 0)) or None
        return None

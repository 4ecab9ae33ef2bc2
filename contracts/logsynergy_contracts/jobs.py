"""A training job across the control plane ↔ worker boundary: the spec the control plane writes, the
progress and result the worker writes back, and the job's status in the control plane."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from logsynergy.errors import ConfigError
from logsynergy.metrics import TrainingMetrics
from logsynergy.options import TrainOptions, describe_errors
from logsynergy.systems import FORMATS

Key = Annotated[str, StringConstraints(min_length=1, strip_whitespace=False)]
Windowing = Literal["sliding", "session"]


def utc_now() -> str:
    """The current time as ISO-8601 UTC with a `Z`, to the millisecond."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def json_values(document: BaseModel) -> Any:
    """A document as standard JSON values (a non-finite float becomes null), e.g. for a database's JSON
    column: PostgreSQL refuses NaN."""
    return json.loads(document.model_dump_json())


class JobStatus(StrEnum):
    """A job's state in the control plane (transitions: logsynergy_api.services.job_lifecycle)."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


class Stage(StrEnum):
    """Where a job is, as its progress says: the worker's stages (WORKER_STAGES) and the control
    plane's around them."""

    QUEUED = "queued"
    SUBMITTED = "submitted"
    PREPARING = "preparing"
    TRAINING = "training"
    SAVING = "saving"
    DONE = "done"
    RETRYING = "retrying"
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"
    FAILED = "failed"


WORKER_STAGES = (Stage.PREPARING, Stage.TRAINING, Stage.SAVING, Stage.DONE)


class _Contract(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class JobKeys(_Contract):
    """Where one job's objects live in the store, all under the job's prefix."""

    prefix: Key

    @field_validator("prefix")
    @classmethod
    def _a_directory(cls, value: str) -> str:
        if not value.endswith("/"):
            raise ValueError("a job's prefix ends with '/'")
        return value

    @property
    def spec(self) -> str:
        return self.prefix + "spec.json"

    @property
    def progress(self) -> str:
        return self.prefix + "progress.json"

    @property
    def result(self) -> str:
        return self.prefix + "result.json"

    @property
    def interpretations_out(self) -> str:
        return self.prefix + "interpretations.jsonl"

    def interpretations_in(self, system: str) -> str:
        """Where the control plane puts a system's interpretations for the worker."""
        return f"{self.prefix}inputs/{system}.interpretations.jsonl"

    @classmethod
    def beside(cls, spec_key: str) -> JobKeys | None:
        """The keys of the job whose spec is `spec_key` (None when it is not named spec.json)."""
        suffix = "/spec.json"
        return cls(prefix=spec_key[: -len(suffix) + 1]) if spec_key.endswith(suffix) else None


class DatasetKeys(_Contract):
    log_key: Key
    labels_key: Key | None = None


class SystemInput(_Contract):
    """One system of a job: where its datasets and optional interpretations are in the store."""

    name: Key
    format: str
    description: str = ""
    datasets: list[DatasetKeys] = Field(min_length=1)
    interpretations_key: Key | None = None
    feedback_key: Key | None = None  # JSONL of `anomalies.JudgedWindow`: operators' judgements (target)
    windowing: Windowing | None = None

    @model_validator(mode="after")
    def _known_format(self) -> SystemInput:
        if self.format not in FORMATS:
            known = ", ".join(FORMATS)
            raise ValueError(f"system {self.name!r} has unknown format {self.format!r} (known: {known})")
        return self

    def store_keys(self) -> list[str]:
        """Every store key this system reads."""
        out = [k for d in self.datasets for k in (d.log_key, d.labels_key) if k]
        return out + [k for k in (self.interpretations_key, self.feedback_key) if k]


class TrainJobSpec(_Contract):
    """spec.json: what one attempt of a training job trains, from which inputs, and where it writes."""

    job_id: Key
    tenant: Key
    target: SystemInput
    sources: list[SystemInput] = Field(default_factory=list)
    options: TrainOptions = Field(default_factory=TrainOptions)
    use_gpu: bool = False
    artifact_prefix: Key
    keys: JobKeys

    @model_validator(mode="after")
    def _distinct_systems(self) -> TrainJobSpec:
        names = [s.name for s in (*self.sources, self.target)]
        if len(set(names)) != len(names):
            raise ValueError(f"system names must be distinct (got {', '.join(names)})")
        return self

    @classmethod
    def parse(cls, data: Any) -> TrainJobSpec:
        """Validate spec.json's content; ConfigError naming each bad field otherwise."""
        try:
            return cls.model_validate(data)
        except ValidationError as error:
            raise ConfigError(f"job spec: {describe_errors(error)}") from None

    def input_keys(self) -> list[str]:
        return [k for s in (*self.sources, self.target) for k in s.store_keys()]


class JobProgress(BaseModel):
    """progress.json while a worker runs, and a job's progress in the control plane (which adds the
    attempt). Informative only: unknown fields are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    stage: Stage = Stage.QUEUED
    message: str = ""
    attempt: int | None = None
    epoch: int | None = None
    epochs: int | None = None
    loss: float | None = None
    val_f1: float | None = None
    updated: str | None = None


class JobSucceeded(_Contract):
    """result.json of an attempt that trained and uploaded its detector."""

    status: Literal["succeeded"] = "succeeded"
    artifact_prefix: Key
    metrics: TrainingMetrics
    attempt: str = ""
    job_seconds: float = 0.0
    startup_seconds: float | None = None
    finished: str = Field(default_factory=utc_now)


class JobFailed(_Contract):
    """result.json of an attempt that stopped; `error` says why in one clear message."""

    status: Literal["failed"] = "failed"
    error: str
    attempt: str = ""
    finished: str = Field(default_factory=utc_now)


JobResult = Annotated[JobSucceeded | JobFailed, Field(discriminator="status")]
_RESULT: TypeAdapter[JobSucceeded | JobFailed] = TypeAdapter(JobResult)


def parse_result(data: Any) -> JobSucceeded | JobFailed:
    """Validate result.json's content; ConfigError naming each bad field otherwise."""
    try:
        return _RESULT.validate_python(data)
    except ValidationError as error:
        raise ConfigError(f"job result: {describe_errors(error)}") from None

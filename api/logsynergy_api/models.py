"""Metadata tables (SQLModel), one family per resource. `XBase` declares once the fields the table shares
with the API's bodies (`logsynergy_api.schemas` derives them from it); the table `X` adds its key, owner
and timestamps. Every row below the tenant belongs to exactly one tenant.

In a base, `sa_type=varchar(n)` sizes a column without making the size an API rule (the services check
names and formats themselves); `max_length` is for sizes the API enforces too."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Enum, UniqueConstraint
from sqlmodel import Field, SQLModel
from sqlmodel.sql.sqltypes import AutoString

from logsynergy_contracts import HookFormat, JobStatus, Verdict
from logsynergy_contracts.hook_urls import MAX_URL_LENGTH


def utcnow() -> datetime:
    return datetime.now(UTC)


def varchar(length: int) -> AutoString:
    """A column of at most `length` characters whose size is a storage limit, not a validation rule."""
    return AutoString(length=length)


def value_enum(enum: type[StrEnum]) -> Enum:
    """A StrEnum column stored as its plain values ("queued") in a VARCHAR(16)."""
    return Enum(enum, native_enum=False, length=16, values_callable=lambda e: [s.value for s in e])


class TenantBase(SQLModel):
    name: str = Field(
        index=True, unique=True, sa_type=varchar(64), schema_extra={"examples": ["payments-team"]}
    )


class Tenant(TenantBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    is_admin: bool = False
    created_at: datetime = Field(default_factory=utcnow)


class ApiKey(SQLModel, table=True):
    """Only its digest and a label derived from the digest (`security.key_id`) are stored; the API never
    returns a key after creating it."""

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id", index=True)
    key_hash: str = Field(index=True, unique=True, max_length=64)
    prefix: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow)


class SystemBase(SQLModel):
    name: str = Field(sa_type=varchar(64), schema_extra={"examples": ["checkout"]})
    format: str = Field(
        sa_type=varchar(32), schema_extra={"examples": ["bgl", "hdfs", "openstack", "structured", "jsonl"]}
    )
    role: str = Field(sa_type=varchar(16))
    description: str = Field(default="", max_length=500, description="one line; it goes into the LEI prompt")
    auto_activate: bool = Field(default=True, description="activate each new model version automatically")
    retrain_after_judgements: int | None = Field(
        default=None,
        ge=1,
        le=1_000_000,
        description="queue a training job on the judged windows once this many judgements were made since "
        "the system's last job; null: only when asked",
    )


class System(SystemBase, table=True):
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id", index=True)
    active_version: int | None = None
    created_at: datetime = Field(default_factory=utcnow)


class DatasetBase(SQLModel):
    filename: str = Field(sa_type=varchar(255))
    size_bytes: int
    sha256: str = Field(sa_type=varchar(64))
    lines: int
    malformed: int = 0
    windowing: str = Field(sa_type=varchar(16))
    windows: int
    sessions: int = 0
    labelled: bool = False
    anomalous_windows: int = 0


class Dataset(DatasetBase, table=True):
    id: str = Field(primary_key=True, max_length=32)
    tenant_id: int = Field(foreign_key="tenant.id", index=True)
    system_id: int = Field(foreign_key="system.id", index=True)
    log_key: str
    labels_key: str | None = None
    signature: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class InterpretationBase(SQLModel):
    template_id: str = Field(sa_type=varchar(32))
    template: str
    example: str = ""
    interpretation: str
    provider: str = Field(sa_type=varchar(64))
    reviewed: bool = False


class Interpretation(InterpretationBase, table=True):
    __table_args__ = (UniqueConstraint("system_id", "template_id"),)
    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id", index=True)
    system_id: int = Field(foreign_key="system.id", index=True)
    updated_at: datetime = Field(default_factory=utcnow)


class JobBase(SQLModel):
    # stored as the plain value ("queued"), in the VARCHAR(16) column of the initial schema
    status: JobStatus = Field(
        default=JobStatus.QUEUED,
        index=True,
        sa_type=value_enum(JobStatus),
    )
    sources: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    sources_chosen_automatically: bool = False
    priority: int = 0
    config: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    attempts: int = 0
    max_attempts: int = 3
    progress: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    metrics: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    error: str | None = None
    model_version: int | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None


class Job(JobBase, table=True):
    id: str = Field(primary_key=True, max_length=32)
    tenant_id: int = Field(foreign_key="tenant.id", index=True)
    system_id: int = Field(foreign_key="system.id", index=True)
    kind: str = Field(default="train", max_length=16)
    submission_id: str | None = Field(default=None, max_length=128)
    cancel_requested: bool = False
    next_attempt_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow, index=True)


class ModelVersionBase(SQLModel):
    version: int
    job_id: str = Field(sa_type=varchar(32))
    sources: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    metrics: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    threshold: float | None = None


class ModelVersion(ModelVersionBase, table=True):
    __table_args__ = (UniqueConstraint("system_id", "version"),)
    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id", index=True)
    system_id: int = Field(foreign_key="system.id", index=True)
    artifact_key: str
    created_at: datetime = Field(default_factory=utcnow)


class RoutingState(SQLModel, table=True):
    """One row (id 1): the revision of the published routing table. Publishers lock it while they rebuild
    and write the table, so that publications are ordered, across processes too."""

    id: int = Field(default=1, primary_key=True)
    revision: int = 0


class AlertHookBase(SQLModel):
    url: str = Field(max_length=MAX_URL_LENGTH, schema_extra={"pattern": r"^https?://"})
    format: HookFormat = Field(
        default=HookFormat.LOGSYNERGY,
        sa_type=value_enum(HookFormat),
        description="payload: LogSynergy's report per POST, or Alertmanager's webhook (v4)",
    )


class AlertHook(AlertHookBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id", index=True)
    system_id: int = Field(foreign_key="system.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)


class IncidentStatus(StrEnum):
    """An incident as operators left it: not judged yet, or their verdict."""

    OPEN = "open"
    ANOMALY = "anomaly"
    NOT_ANOMALY = "not_anomaly"


class JudgementFields(SQLModel):
    """An operator's verdict on a window or an incident (none yet: all null)."""

    verdict: Verdict | None = Field(default=None, index=True, sa_type=value_enum(Verdict))
    note: str | None = None
    judged_at: datetime | None = None


class IncidentBase(JudgementFields):
    """The windows of one system with one template pattern (`anomalies.pattern_id`)."""

    pattern: str = Field(sa_type=varchar(64))
    status: IncidentStatus = Field(
        default=IncidentStatus.OPEN, index=True, sa_type=value_enum(IncidentStatus)
    )
    count: int = 0
    first_seen: datetime
    last_seen: datetime
    max_score: float
    templates: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False), description="a sample of its templates"
    )


class Incident(IncidentBase, table=True):
    __table_args__ = (UniqueConstraint("system_id", "pattern"),)
    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id", index=True)
    system_id: int = Field(foreign_key="system.id", index=True)


class AnomalyBase(JudgementFields):
    """One window the detection endpoint flagged (its lines are in the archive object)."""

    version: str = Field(sa_type=varchar(32), description="the model version that flagged it")
    batch_id: str = Field(sa_type=varchar(64))
    window_index: int
    received: datetime = Field(index=True)
    stream_id: str | None = None
    session: str | None = None
    first_line: int
    last_line: int
    score: float
    threshold: float
    pattern: str = Field(sa_type=varchar(64))
    new_templates: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class Anomaly(AnomalyBase, table=True):
    __table_args__ = (UniqueConstraint("batch_id", "window_index"),)
    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id", index=True)
    system_id: int = Field(foreign_key="system.id", index=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    archive_key: str

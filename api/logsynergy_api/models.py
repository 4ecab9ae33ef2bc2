"""Metadata tables (SQLModel). Every row below the tenant belongs to exactly one tenant."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class Tenant(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True, max_length=64)
    is_admin: bool = False
    created_at: datetime = Field(default_factory=utcnow)


class ApiKey(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id", index=True)
    key_hash: str = Field(index=True, unique=True, max_length=64)
    prefix: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow)


class System(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id", index=True)
    name: str = Field(max_length=64)
    format: str = Field(max_length=32)
    role: str = Field(max_length=16)
    description: str = Field(default="", max_length=500)
    auto_activate: bool = True
    active_version: int | None = None
    created_at: datetime = Field(default_factory=utcnow)


class Dataset(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=32)
    tenant_id: int = Field(foreign_key="tenant.id", index=True)
    system_id: int = Field(foreign_key="system.id", index=True)
    filename: str = Field(max_length=255)
    log_key: str
    labels_key: str | None = None
    size_bytes: int
    sha256: str = Field(max_length=64)
    lines: int
    malformed: int = 0
    windowing: str = Field(max_length=16)
    windows: int
    sessions: int = 0
    labelled: bool = False
    anomalous_windows: int = 0
    signature: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class Interpretation(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("system_id", "template_id"),)
    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id", index=True)
    system_id: int = Field(foreign_key="system.id", index=True)
    template_id: str = Field(max_length=32)
    template: str
    example: str = ""
    interpretation: str
    provider: str = Field(max_length=64)
    reviewed: bool = False
    updated_at: datetime = Field(default_factory=utcnow)


class Job(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=32)
    tenant_id: int = Field(foreign_key="tenant.id", index=True)
    system_id: int = Field(foreign_key="system.id", index=True)
    kind: str = Field(default="train", max_length=16)
    status: str = Field(default="queued", index=True, max_length=16)
    priority: int = 0
    config: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    sources: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    sources_chosen_automatically: bool = False
    attempts: int = 0
    max_attempts: int = 3
    submission_id: str | None = Field(default=None, max_length=128)
    progress: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    metrics: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    error: str | None = None
    cancel_requested: bool = False
    model_version: int | None = None
    next_attempt_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow, index=True)
    started_at: datetime | None = None
    finished_at: datetime | None = None


class ModelVersion(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("system_id", "version"),)
    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id", index=True)
    system_id: int = Field(foreign_key="system.id", index=True)
    version: int
    job_id: str = Field(max_length=32)
    artifact_key: str
    sources: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    metrics: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    threshold: float | None = None
    created_at: datetime = Field(default_factory=utcnow)


class AlertHook(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id", index=True)
    system_id: int = Field(foreign_key="system.id", index=True)
    url: str = Field(max_length=2000)
    created_at: datetime = Field(default_factory=utcnow)

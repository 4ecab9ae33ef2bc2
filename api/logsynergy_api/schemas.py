"""Request and response bodies of the REST API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Public(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class TenantCreate(Body):
    name: str = Field(examples=["payments-team"])


class TenantCreated(BaseModel):
    name: str
    api_key: str = Field(description="shown once; store it safely")


class SystemCreate(Body):
    name: str = Field(examples=["checkout"])
    format: str = Field(examples=["bgl", "hdfs", "openstack", "structured", "jsonl"])
    role: Literal["source", "target"] = "target"
    description: str = Field(default="", max_length=500, description="one line; it goes into the LEI prompt")
    auto_activate: bool = Field(default=True, description="activate each new model version automatically")


class SystemPublic(Public):
    name: str
    format: str
    role: str
    description: str
    auto_activate: bool
    active_version: int | None
    created_at: datetime


class DatasetPublic(Public):
    id: str
    filename: str
    size_bytes: int
    sha256: str
    lines: int
    malformed: int
    windowing: str
    windows: int
    sessions: int
    labelled: bool
    anomalous_windows: int
    created_at: datetime


class InterpretationPublic(Public):
    template_id: str
    template: str
    example: str
    interpretation: str
    provider: str
    reviewed: bool
    updated_at: datetime


class InterpretationEdit(Body):
    interpretation: str


class ImportSummary(BaseModel):
    written: int
    kept_reviewed: int


class JobCreate(Body):
    target: str
    sources: list[str] | None = Field(default=None, description="default: chosen by template similarity")
    target_labelled: int = Field(
        default=5000, ge=0, description="labelled target windows to train on; 0: none"
    )
    preset: str = "cpu"
    priority: int = Field(default=0, description="higher runs first")
    seed: int = 0
    options: dict[str, Any] = Field(default_factory=dict, description="advanced TrainOptions, e.g. epochs")


class JobPublic(Public):
    id: str
    status: str
    target: str = ""
    sources: list[str]
    sources_chosen_automatically: bool
    priority: int
    config: dict[str, Any]
    attempts: int
    max_attempts: int
    progress: dict[str, Any]
    metrics: dict[str, Any]
    error: str | None
    model_version: int | None
    ray_submission_id: str | None = None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class JobAccepted(BaseModel):
    id: str
    status: str
    sources: list[str]


class ModelPublic(Public):
    version: int
    job_id: str
    sources: list[str]
    metrics: dict[str, Any]
    threshold: float | None
    active: bool = False
    created_at: datetime


class HookCreate(Body):
    url: str = Field(pattern=r"^https?://", max_length=2000)


class HookPublic(Public):
    id: int
    url: str
    created_at: datetime

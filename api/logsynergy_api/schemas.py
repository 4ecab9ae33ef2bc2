"""Request and response bodies of the REST API. A resource's bodies derive from its family's base in
`logsynergy_api.models`, where the fields they share with the table are declared once."""

from __future__ import annotations

import inspect
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlmodel import SQLModel
from sqlmodel.main import SQLModelConfig

from logsynergy.options import TrainingBasics, TrainingTuning
from logsynergy_api.models import (
    AlertHookBase,
    DatasetBase,
    InterpretationBase,
    JobBase,
    ModelVersionBase,
    SystemBase,
    TenantBase,
)
from logsynergy_contracts import JobStatus

# what a request may send, not what a response reports; a stored row always has every field
REQUEST_KEYWORDS = (
    "default",
    "examples",
    "pattern",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
)


def _inherited_fields_as_stored(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """In a response's schema, each field inherited from the family base is required, described by its
    type without the base's defaults, examples and validation rules (those describe requests)."""
    own = inspect.get_annotations(model)
    properties: dict[str, dict[str, Any]] = schema.get("properties", {})
    required = set(schema.get("required", ()))
    for name, prop in properties.items():
        if name not in own:
            required.add(name)
            for keyword in REQUEST_KEYWORDS:
                prop.pop(keyword, None)
    schema["required"] = [name for name in properties if name in required]


class Body(SQLModel):
    """A request body; unknown fields are refused."""

    model_config = SQLModelConfig(extra="forbid")


class Public(SQLModel):
    """A response body, validated from a row (`model_validate(row)`)."""

    model_config = SQLModelConfig(from_attributes=True, json_schema_extra=_inherited_fields_as_stored)


class TenantCreate(TenantBase, Body):
    pass


class TenantCreated(TenantBase, Public):
    api_key: str = Field(description="shown once; store it safely")


class SystemCreate(SystemBase, Body):
    role: Literal["source", "target"] = "target"


class SystemPublic(SystemBase, Public):
    active_version: int | None
    created_at: datetime


class DatasetPublic(DatasetBase, Public):
    id: str
    created_at: datetime


class InterpretationPublic(InterpretationBase, Public):
    updated_at: datetime


class InterpretationEdit(Body):
    interpretation: str


class ImportSummary(BaseModel):
    written: int
    kept_reviewed: int


class JobCreate(TrainingBasics):
    """A training job: preset, seed and target_labelled at the top level (`TrainingBasics`), the
    advanced options under `options` (`TrainingTuning`); the same models the job spec carries."""

    target: str
    sources: list[str] | None = Field(default=None, description="default: chosen by template similarity")
    priority: int = Field(default=0, description="higher runs first")
    options: TrainingTuning = Field(
        default_factory=TrainingTuning, description="advanced training options, e.g. epochs"
    )


class JobPublic(JobBase, Public):
    id: str
    target: str = ""
    ray_submission_id: str | None = None
    created_at: datetime


class JobAccepted(BaseModel):
    id: str
    status: JobStatus
    sources: list[str]


class ModelPublic(ModelVersionBase, Public):
    active: bool = False
    created_at: datetime


class HookCreate(AlertHookBase, Body):
    pass


class HookPublic(AlertHookBase, Public):
    id: int
    created_at: datetime

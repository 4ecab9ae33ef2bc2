"""Request and response bodies of the REST API. A resource's bodies derive from its family's base in
`logsynergy_api.models`, where the fields they share with the table are declared once."""

from __future__ import annotations

import inspect
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator
from sqlmodel import SQLModel
from sqlmodel.main import SQLModelConfig

from logsynergy.options import TrainingBasics, TrainingTuning, check_model
from logsynergy_api.models import (
    AlertHookBase,
    AnomalyBase,
    DatasetBase,
    IncidentBase,
    IncidentStatus,
    Interpretation,
    InterpretationBase,
    JobBase,
    ModelVersionBase,
    SystemBase,
    TenantBase,
)
from logsynergy_api.services.tenants import NAME
from logsynergy_contracts import JobStatus, RecordedEvent, Verdict

# The rule `services.tenants.check_name` enforces (with its own message), stated in the schema (where a
# pattern matches anywhere unless anchored).
NAME_RULE: dict[str, Any] = {"pattern": f"^{NAME.pattern}$", "minLength": 1, "maxLength": 63}
Name = Annotated[str, Field(json_schema_extra=NAME_RULE)]
# a path's name is documented, not validated: a name that breaks the rule names nothing (404)
NamePath = Annotated[str, Path(json_schema_extra=NAME_RULE)]
MAX_ROW_ID = 2**63 - 1  # the largest integer key any supported database holds
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
MAX_PRIORITY = 10**6

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
    name: Name


class TenantCreated(TenantBase, Public):
    api_key: str = Field(description="shown once; store it safely")


class SystemCreate(SystemBase, Body):
    name: Name
    role: Literal["source", "target"] = "target"


class SystemUpdate(Body):
    """The settings of a system that may change; a field left out stays as it is, a null
    `retrain_after_judgements` turns retraining by judgements off."""

    description: str | None = SystemBase.model_fields["description"]
    auto_activate: bool | None = None
    retrain_after_judgements: int | None = SystemBase.model_fields["retrain_after_judgements"]


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


def _column_length(column: str) -> int:
    length: int = Interpretation.__table__.c[column].type.length  # type: ignore[attr-defined]
    return length


class InterpretationRecord(BaseModel):
    """One line of an interpretations import: the export's shape, bounded as the columns are."""

    model_config = ConfigDict(extra="ignore")  # exports of the core CLI carry more (e.g. "system")

    template: str = Field(min_length=1)
    interpretation: str = Field(min_length=1)
    template_id: str | None = Field(
        default=None, min_length=1, max_length=_column_length("template_id"), description="default: hashed"
    )
    example: str = ""
    provider: str | None = Field(default=None, max_length=_column_length("provider"))
    reviewed: StrictBool = False


class ImportSummary(BaseModel):
    written: int
    kept_reviewed: int


class JobCreate(TrainingBasics):
    """A training job: preset, seed and target_labelled at the top level (`TrainingBasics`), the
    advanced options under `options` (`TrainingTuning`); the same models the job spec carries."""

    target: Name
    sources: list[Name] | None = Field(default=None, description="default: chosen by template similarity")
    priority: int = Field(default=0, ge=-MAX_PRIORITY, le=MAX_PRIORITY, description="higher runs first")
    options: TrainingTuning = Field(
        default_factory=TrainingTuning, description="advanced training options, e.g. epochs"
    )
    use_feedback: bool | None = Field(
        default=None,
        description="train on the target's judged windows too; default: when it has any",
    )

    @model_validator(mode="after")
    def _valid_model(self) -> JobCreate:
        check_model(self.preset, self.options.overrides)
        return self


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


class JudgementCreate(Body):
    verdict: Verdict
    note: str | None = Field(default=None, max_length=2000, pattern=r"^[^\x00]*$")


class IncidentPublic(IncidentBase, Public):
    id: int


class AnomalyPublic(AnomalyBase, Public):
    id: int
    incident_id: int
    status: IncidentStatus = Field(
        default=IncidentStatus.OPEN, description="its own verdict, else its incident's, else open"
    )


class AnomalyReport(AnomalyPublic):
    """An anomaly with its window's lines as the endpoint reported them."""

    events: list[RecordedEvent] = Field(default_factory=list)
    findings: list[str] = Field(
        default_factory=list, description="why the detector's count checks flagged it (zero-label detectors)"
    )

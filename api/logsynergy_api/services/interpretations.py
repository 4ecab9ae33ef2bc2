"""Interpretations (LEI sentences) of a system's templates: review, edit, regenerate, import, export."""

from __future__ import annotations

import json
from collections.abc import Iterable

from pydantic import ValidationError
from sqlmodel import Session, select

from logsynergy.errors import InputError
from logsynergy.interpret import make_interpreter
from logsynergy.templates import SystemContext, Template, template_id
from logsynergy_api.errors import NotFound, describe
from logsynergy_api.models import Interpretation, System, utcnow
from logsynergy_api.schemas import InterpretationRecord
from logsynergy_api.settings import Settings

MAX_SENTENCE = 400


def list_interpretations(session: Session, system: System) -> list[Interpretation]:
    query = select(Interpretation).where(Interpretation.system_id == system.id)
    return list(session.exec(query.order_by(Interpretation.template_id)))


def get_interpretation(session: Session, system: System, template: str) -> Interpretation:
    query = select(Interpretation).where(
        Interpretation.system_id == system.id, Interpretation.template_id == template
    )
    row = session.exec(query).first()
    if row is None:
        raise NotFound(f"system {system.name!r} has no template {template!r}")
    return row


def edit(session: Session, system: System, template: str, text: str) -> Interpretation:
    """An operator's correction: replaces the sentence and marks it reviewed (kept across retraining)."""
    text = " ".join(text.split())
    if not text or len(text) > MAX_SENTENCE:
        raise InputError(f"an interpretation must be 1-{MAX_SENTENCE} characters")
    row = get_interpretation(session, system, template)
    row.interpretation, row.reviewed, row.provider, row.updated_at = text, True, "operator", utcnow()
    session.add(row)
    return row


def regenerate(session: Session, settings: Settings, system: System, template: str) -> Interpretation:
    """Ask the configured interpreter (the LLM, or the offline one) again for one template."""
    row = get_interpretation(session, system, template)
    interpreter = make_interpreter(
        base_url=settings.llm_base_url,
        model=settings.llm_model,
        api_key=settings.llm_api_key.get_secret_value() if settings.llm_api_key else None,
    )
    answer = interpreter.interpret(
        [Template(row.template_id, row.template, row.example)], SystemContext(system.name, system.description)
    )
    row.interpretation = answer[row.template_id]
    row.provider, row.reviewed, row.updated_at = interpreter.name, False, utcnow()
    session.add(row)
    return row


def parse_jsonl(text: str) -> list[InterpretationRecord]:
    """The records of an export-shaped JSONL text; the first bad line is refused, naming it."""
    records = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            records.append(InterpretationRecord.model_validate_json(line))
        except ValidationError as error:
            if error.errors()[0]["type"] == "json_invalid":
                raise InputError(f"line {number} is not JSON: {error.errors()[0]['msg']}") from error
            raise InputError(f"line {number}: {describe(error.errors(), 'the line')}") from error
    if not records:
        raise InputError("the import holds no interpretations")
    return records


def upsert(
    session: Session, system: System, records: Iterable[InterpretationRecord], *, keep_reviewed: bool
) -> tuple[int, int]:
    """Insert or update rows from import records; returns (written, kept because reviewed)."""
    existing = {row.template_id: row for row in list_interpretations(session, system)}
    written = kept = 0
    for record in records:
        tid = record.template_id or template_id(record.template)
        row = existing.get(tid)
        if row is not None and row.reviewed and keep_reviewed:
            kept += 1
            continue
        row = row or Interpretation(
            tenant_id=system.tenant_id, system_id=system.id, template_id=tid, template=""
        )
        row.template = record.template
        row.example = record.example or row.example or ""
        row.interpretation = " ".join(record.interpretation.split())[:MAX_SENTENCE]
        row.provider = record.provider or "imported"
        row.reviewed = record.reviewed
        row.updated_at = utcnow()
        session.add(row)
        existing[tid] = row
        written += 1
    session.flush()
    return written, kept


def export_jsonl(rows: Iterable[Interpretation]) -> str:
    return "".join(
        json.dumps(
            {
                "template_id": r.template_id,
                "template": r.template,
                "example": r.example,
                "interpretation": r.interpretation,
                "provider": r.provider,
                "reviewed": r.reviewed,
            },
            ensure_ascii=False,
        )
        + "\n"
        for r in rows
    )

"""Operators' judgements as training input: windows the detection endpoint flagged and a person judged.

A feedback file is JSONL, one judged window a line: `{"anomaly_id", "lines", "session", "verdict",
"flagged_by"}` (`logsynergy_contracts.anomalies.JudgedWindow`, the control plane's record; the core reads
the same fields itself, as it imports no contract). `lines` are the window's raw lines in log order, in
the system's log format; `verdict` is "anomaly" or "not_anomaly"; `flagged_by` the model version that
flagged it. `prepare_system` parses the lines with the system's own Drain parser, so each judgement
becomes one labelled window of the target's templates (`JudgedWindow.window`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from logsynergy.errors import InputError
from logsynergy.loaders.lines import records_from_lines
from logsynergy.options import describe_errors
from logsynergy.records import LogRecord
from logsynergy.windows import Window

ANOMALY = "anomaly"
NOT_ANOMALY = "not_anomaly"


class Judgement(BaseModel):
    """One line of a feedback file (the fields of the contracts' `JudgedWindow`)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    anomaly_id: int
    lines: list[str] = Field(min_length=1)
    session: str | None = None
    verdict: Literal["anomaly", "not_anomaly"]
    flagged_by: str

    @property
    def label(self) -> int:
        return int(self.verdict == ANOMALY)


@dataclass(frozen=True, slots=True)
class JudgedWindow:
    """A judgement as a target window: its events are the templates of its lines, its label the verdict."""

    window: Window
    anomaly_id: int
    flagged_by: str


def read_judgements(path: str | Path, name: str | None = None) -> list[Judgement]:
    """Every judgement of a feedback file (blank lines skipped); an InputError naming the file (`name`,
    e.g. its store key, else its path) and the first bad line."""
    file = Path(path)
    where = f"feedback file {name or file}"
    if not file.is_file():
        raise InputError(f"{where} not found")
    judgements: list[Judgement] = []
    try:
        with file.open(encoding="utf-8") as fh:
            for number, text in enumerate(fh, 1):
                if text.strip():
                    judgements.append(_judgement(text, f"{where} line {number}"))
    except UnicodeDecodeError:
        raise InputError(f"{where}: not UTF-8 text") from None
    return judgements


def _judgement(text: str, where: str) -> Judgement:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(f"{where}: not JSON ({error.msg})") from None
    if not isinstance(data, dict):
        raise InputError(f"{where}: expected a JSON object")
    try:
        return Judgement.model_validate(data)
    except ValidationError as error:
        raise InputError(f"{where}: {describe_errors(error)}") from None


def judged_records(judgement: Judgement, fmt: str) -> list[LogRecord]:
    """A judgement's lines as records, parsed as the detection endpoint parses a request's lines."""
    return records_from_lines(fmt, judgement.lines)


def judged_windows(judgements: Sequence[Judgement], template_ids: Sequence[str]) -> list[JudgedWindow]:
    """One window per judgement: `template_ids` are those of every judgement's lines, concatenated."""
    windows: list[JudgedWindow] = []
    start = 0
    for judgement in judgements:
        events = tuple(template_ids[start : start + len(judgement.lines)])
        start += len(judgement.lines)
        lines = tuple(range(1, len(events) + 1))
        window = Window(events, judgement.label, lines, judgement.session)
        windows.append(JudgedWindow(window, judgement.anomaly_id, judgement.flagged_by))
    if start != len(template_ids):
        raise ValueError(f"{len(template_ids)} template ids for {start} judged lines")
    return windows

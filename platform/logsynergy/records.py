"""The record types every stage shares: one parsed log line and a loaded log."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Windowing = Literal["sliding", "session"]


@dataclass(slots=True)
class LogRecord:
    """One log line. `message` is the content part (headers stripped) that the parser sees."""

    line_no: int
    message: str
    raw: str
    label: int | None = None
    session: str | None = None
    timestamp: str | None = None


@dataclass(slots=True)
class LoadReport:
    """What a loader saw: usable and malformed records, with a few malformed examples."""

    path: str
    records: int = 0
    malformed: int = 0
    malformed_examples: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add_malformed(self, line_no: int, reason: str) -> None:
        self.malformed += 1
        if len(self.malformed_examples) < 5:
            self.malformed_examples.append(f"line {line_no}: {reason}")


@dataclass(slots=True)
class LoadedLog:
    """A whole loaded log: records in file order, optional per-session labels, its natural windowing."""

    records: list[LogRecord]
    report: LoadReport
    windowing: Windowing = "sliding"
    session_labels: dict[str, int] | None = None

    def label_records_by_session(self, records: list[LogRecord] | None = None) -> None:
        """Give unlabelled records their session's label (for scoring outside session windowing)."""
        if not self.session_labels:
            return
        for record in self.records if records is None else records:
            if record.label is None and record.session in self.session_labels:
                record.label = self.session_labels[record.session]

    @property
    def labelled(self) -> bool:
        if self.session_labels is not None:
            return bool(self.session_labels)
        return any(r.label is not None for r in self.records)

"""Anomaly history across the detection endpoint → control plane boundary.

The endpoint writes every request's flagged windows, before it answers, as one `AnomalyBatch` JSON
object under `ANOMALY_INBOX` (`anomaly_batch_key`); the control plane ingests each batch into its
database (metadata) and the object store (`archive_key`: the lines), then deletes it from the inbox.
Windows are grouped into incidents by `pattern_id`: the set of distinct templates a window holds, so
a noisy pattern is one incident whatever the order or count of its events. A pattern judged
`not_anomaly` reaches the endpoint as `SystemRoute.suppressed` (routing.py).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

ANOMALY_INBOX = "anomalies/inbox/"
MAX_RECORDED_LINE_CHARS = 4096  # a recorded line longer than this is cut (the score saw all of it)


class Verdict(StrEnum):
    """An operator's judgement of a window or an incident."""

    ANOMALY = "anomaly"
    NOT_ANOMALY = "not_anomaly"


def pattern_id(template_ids: Iterable[str]) -> str:
    """The incident pattern of a window: a digest of its distinct template ids (order-free)."""
    joined = "\n".join(sorted(set(template_ids)))
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()[:24]


class RecordedEvent(BaseModel):
    """One line of a flagged window, as the endpoint's report shows it."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    line: int
    raw: str = Field("", max_length=MAX_RECORDED_LINE_CHARS)
    message: str = Field("", max_length=MAX_RECORDED_LINE_CHARS)
    template_id: str
    template: str = ""
    interpretation: str = ""
    new: bool = False


class RecordedWindow(BaseModel):
    """One flagged window: its span in the request, score, pattern and lines."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    first_line: int
    last_line: int
    session: str | None = None
    score: float
    threshold: float
    pattern: str
    events: list[RecordedEvent]
    # why a zero-label detector's count checks flagged it (rare events, broken count invariants)
    findings: list[str] = Field(default_factory=list, max_length=64)

    @property
    def new_templates(self) -> list[str]:
        return sorted({e.template_id for e in self.events if e.new})


class AnomalyBatch(BaseModel):
    """The flagged windows of one detection request."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    batch_id: str
    tenant: str
    system: str
    version: str
    received: datetime
    stream_id: str | None = None
    windows: list[RecordedWindow]


def new_batch_id(received: datetime) -> str:
    """A batch id that sorts by time: `YYYYmmddTHHMMSS.ffffff-<random>`."""
    return f"{received.strftime('%Y%m%dT%H%M%S.%f')}-{uuid.uuid4().hex[:12]}"


def inbox_key(batch_id: str) -> str:
    """Where the endpoint writes the batch `batch_id` for the control plane to ingest."""
    return f"{ANOMALY_INBOX}{batch_id}.json"


def anomaly_batch_key(batch: AnomalyBatch) -> str:
    """Where the endpoint writes a batch for the control plane to ingest."""
    return inbox_key(batch.batch_id)


def archive_key(tenant: str, system: str, batch_id: str) -> str:
    """Where an ingested batch's lines are kept (under the tenant's prefix, with its retention)."""
    return f"tenants/{tenant}/anomalies/{system}/{batch_id}.json"


class JudgedWindow(BaseModel):
    """A judged window as a training job reads it (the job's `feedback_key` JSONL, one per line): its
    raw lines in log order, its session, the operator's verdict, and the version that flagged it."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    anomaly_id: int
    lines: list[str] = Field(min_length=1)
    session: str | None = None
    verdict: Verdict
    flagged_by: str

    @property
    def label(self) -> int:
        return int(self.verdict is Verdict.ANOMALY)

"""A system's anomaly history: listing, the full report of a window, operators' judgements, the patterns
they suppress, and the judged windows a training job learns from.

A window's status is its own verdict, else its incident's, else "open". A pattern is suppressed for its
system (published in the routing table, so the endpoint stops alarming on it) when its incident is judged
`not_anomaly`, or when one of its windows is and the incident is not judged `anomaly`."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from pydantic import ValidationError
from sqlalchemy import ColumnElement, and_, or_
from sqlmodel import Session, col, select

from logsynergy.errors import LogSynergyError, ObjectNotFound
from logsynergy.store import ObjectStore
from logsynergy_api.errors import NotFound
from logsynergy_api.models import Anomaly, Incident, IncidentStatus, System, utcnow
from logsynergy_contracts import AnomalyBatch, JudgedWindow, RecordedWindow, Verdict

log = logging.getLogger(__name__)

IncidentOrder = Literal["last_seen", "max_score", "count"]


@dataclass(frozen=True)
class AnomalyFilter:
    since: datetime | None = None
    until: datetime | None = None
    status: IncidentStatus | None = None
    min_score: float | None = None
    version: int | None = None
    incident: int | None = None


def effective_verdict(anomaly: Anomaly, incident_verdict: Verdict | None) -> Verdict | None:
    return anomaly.verdict or incident_verdict


def status_of(verdict: Verdict | None) -> IncidentStatus:
    return IncidentStatus(verdict.value) if verdict else IncidentStatus.OPEN


def _status_clause(status: IncidentStatus) -> ColumnElement[bool]:
    own, shared = col(Anomaly.verdict), col(Incident.verdict)
    if status is IncidentStatus.OPEN:
        return and_(own.is_(None), shared.is_(None))
    verdict = Verdict(status.value)
    return or_(own == verdict, and_(own.is_(None), shared == verdict))


def list_anomalies(
    session: Session, system: System, where: AnomalyFilter, limit: int, offset: int
) -> list[tuple[Anomaly, Verdict | None]]:
    """A page of the system's anomalies, newest first, each with its incident's verdict."""
    query = (
        select(Anomaly, Incident.verdict)
        .join(Incident, col(Anomaly.incident_id) == col(Incident.id))
        .where(Anomaly.system_id == system.id)
    )
    if where.since is not None:
        query = query.where(col(Anomaly.received) >= as_utc(where.since))
    if where.until is not None:
        query = query.where(col(Anomaly.received) < as_utc(where.until))
    if where.status is not None:
        query = query.where(_status_clause(where.status))
    if where.min_score is not None:
        query = query.where(col(Anomaly.score) >= where.min_score)
    if where.version is not None:
        query = query.where(Anomaly.version == str(where.version))
    if where.incident is not None:
        query = query.where(Anomaly.incident_id == where.incident)
    query = query.order_by(col(Anomaly.id).desc()).offset(offset).limit(limit)
    return [(anomaly, verdict) for anomaly, verdict in session.exec(query)]


def get_anomaly(session: Session, system: System, anomaly_id: int) -> tuple[Anomaly, Incident]:
    anomaly = session.get(Anomaly, anomaly_id)
    incident = session.get(Incident, anomaly.incident_id) if anomaly is not None else None
    if anomaly is None or incident is None or anomaly.system_id != system.id:
        raise NotFound(f"system {system.name!r} has no anomaly {anomaly_id}")
    return anomaly, incident


def list_incidents(
    session: Session,
    system: System,
    status: IncidentStatus | None,
    order: IncidentOrder,
    limit: int,
    offset: int,
) -> list[Incident]:
    """A page of the system's incidents, by `order` (descending) then newest first."""
    query = select(Incident).where(Incident.system_id == system.id)
    if status is not None:
        query = query.where(Incident.status == status)
    key = {"last_seen": Incident.last_seen, "max_score": Incident.max_score, "count": Incident.count}[order]
    query = query.order_by(col(key).desc(), col(Incident.id).desc()).offset(offset).limit(limit)
    return list(session.exec(query))


def get_incident(session: Session, system: System, incident_id: int) -> Incident:
    incident = session.get(Incident, incident_id)
    if incident is None or incident.system_id != system.id:
        raise NotFound(f"system {system.name!r} has no incident {incident_id}")
    return incident


def judge(
    session: Session, item: Anomaly | Incident, verdict: Verdict | None, note: str | None = None
) -> None:
    """Set (replacing any earlier one) or, with None, take back the verdict on a window or an incident."""
    item.verdict = verdict
    item.note = (note or None) if verdict else None
    item.judged_at = utcnow() if verdict else None
    if isinstance(item, Incident):
        item.status = status_of(verdict)
    session.add(item)
    session.flush()


def suppressed_patterns(session: Session) -> dict[int, set[str]]:
    """Each system's suppressed patterns (system id → patterns), as the database has them now."""
    out: defaultdict[int, set[str]] = defaultdict(set)
    judged = select(Incident.system_id, Incident.pattern).where(Incident.verdict == Verdict.NOT_ANOMALY)
    windows = (
        select(Anomaly.system_id, Anomaly.pattern)
        .join(Incident, col(Anomaly.incident_id) == col(Incident.id))
        .where(Anomaly.verdict == Verdict.NOT_ANOMALY)
        .where(or_(col(Incident.verdict).is_(None), Incident.verdict != Verdict.ANOMALY))
    )
    for query in (judged, windows):
        for system_id, pattern in session.exec(query):
            out[system_id].add(pattern)
    return dict(out)


class UnreadableArchive(LogSynergyError):
    """An archived batch that no longer parses as an `AnomalyBatch`."""


def read_batch(store: ObjectStore, key: str) -> AnomalyBatch:
    try:
        return AnomalyBatch.model_validate(store.get_json(key))
    except ValidationError as error:
        raise UnreadableArchive(f"archived batch {key!r}: {error.error_count()} invalid fields") from None


def recorded_window(store: ObjectStore, anomaly: Anomaly) -> RecordedWindow:
    """The archived window of an anomaly (its lines, templates, interpretations)."""
    try:
        batch = read_batch(store, anomaly.archive_key)
    except ObjectNotFound:
        raise NotFound(f"the lines of anomaly {anomaly.id} are no longer in the store") from None
    except UnreadableArchive as error:
        raise NotFound(f"the lines of anomaly {anomaly.id} are unreadable: {error}") from None
    if anomaly.window_index >= len(batch.windows):
        raise NotFound(f"the archived batch of anomaly {anomaly.id} has no window {anomaly.window_index}")
    return batch.windows[anomaly.window_index]


def window_lines(window: RecordedWindow) -> list[str]:
    """A window's raw lines in log order (the message where the raw line was not kept)."""
    return [line for e in sorted(window.events, key=lambda e: e.line) if (line := e.raw or e.message)]


def judged_windows(session: Session, store: ObjectStore, system: System) -> list[JudgedWindow]:
    """The system's windows with a verdict (their own, else their incident's), oldest first, each with its
    lines from the archive. A window whose archive is gone or has no lines is left out (logged)."""
    query = (
        select(Anomaly, Incident.verdict)
        .join(Incident, col(Anomaly.incident_id) == col(Incident.id))
        .where(Anomaly.system_id == system.id)
        .where(or_(col(Anomaly.verdict).is_not(None), col(Incident.verdict).is_not(None)))
        .order_by(col(Anomaly.id))
    )
    batches: dict[str, AnomalyBatch | None] = {}
    out: list[JudgedWindow] = []
    for anomaly, incident_verdict in session.exec(query):
        verdict = effective_verdict(anomaly, incident_verdict)
        if anomaly.archive_key not in batches:
            try:
                batches[anomaly.archive_key] = read_batch(store, anomaly.archive_key)
            except (ObjectNotFound, UnreadableArchive) as error:  # the store failing: raised
                log.warning("judged anomaly %s left out of the feedback: %s", anomaly.id, error)
                batches[anomaly.archive_key] = None
        batch = batches[anomaly.archive_key]
        if batch is None or verdict is None or anomaly.window_index >= len(batch.windows):
            continue
        lines = window_lines(batch.windows[anomaly.window_index])
        if not lines:
            continue
        out.append(
            JudgedWindow(
                anomaly_id=anomaly.id or 0,
                lines=lines,
                session=anomaly.session,
                verdict=verdict,
                flagged_by=anomaly.version,
            )
        )
    return out


def has_judgements(session: Session, system: System) -> bool:
    """Whether any window of the system has a verdict, its own or its incident's."""
    own = select(Anomaly.id).where(Anomaly.system_id == system.id, col(Anomaly.verdict).is_not(None))
    shared = (
        select(Anomaly.id)
        .join(Incident, col(Anomaly.incident_id) == col(Incident.id))
        .where(Anomaly.system_id == system.id, col(Incident.verdict).is_not(None))
    )
    return any(session.exec(query.limit(1)).first() is not None for query in (own, shared))


def feedback_jsonl(windows: Sequence[JudgedWindow]) -> bytes:
    return "".join(w.model_dump_json() + "\n" for w in windows).encode("utf-8")


def as_utc(value: datetime | None) -> datetime | None:
    """A time from a request as UTC (a naive one is UTC; one beyond the calendar's ends, its end)."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        end = datetime.min if value.year == datetime.min.year else datetime.max
        return end.replace(tzinfo=UTC)

"""Ingestion of the anomalies the detection endpoint records, and their retention.

The endpoint writes each request's flagged windows as one `AnomalyBatch` under `ANOMALY_INBOX` before it
answers. `ingest_pending` takes every batch there in turn: it writes the batch's archive copy (the lines,
under the tenant's prefix), then in ONE transaction an `Anomaly` row per window and the upserted
`Incident` of each pattern, and only after the commit deletes the inbox object. A batch ingested before
(a crash between the commit and the deletion, or another API process) has rows already and is only
deleted: each window is one row whatever happens (unique `(batch_id, window_index)`). A malformed batch
is moved to `anomalies/rejected/`; one for an unknown tenant or system is dropped; both are logged.

`purge_expired` removes unjudged anomalies older than ANOMALY_RETENTION_DAYS, their archive objects once
no row of the batch is left, and open incidents left without windows. Windows with their own verdict
stay: they are training labels and may be what suppresses a pattern."""

from __future__ import annotations

import json
import logging
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from pydantic import ValidationError
from sqlalchemy import case, literal
from sqlalchemy.exc import DataError, IntegrityError
from sqlmodel import Session, col, delete, select, update

from logsynergy.errors import ObjectNotFound
from logsynergy.options import describe_errors
from logsynergy_api.context import Platform
from logsynergy_api.models import Anomaly, Incident, IncidentStatus, System, Tenant, utcnow
from logsynergy_api.services.tenants import NAME
from logsynergy_contracts import ANOMALY_INBOX, AnomalyBatch, RecordedWindow, anomaly_batch_key, archive_key

log = logging.getLogger(__name__)

REJECTED_PREFIX = "anomalies/rejected/"
BATCH_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # what `new_batch_id` makes, within its column
SAMPLE_TEMPLATES = 10  # templates an incident shows
MAX_COLUMN_INT = 2**31 - 1  # line numbers and indexes are 32-bit columns
# the counters of `Platform.counts` that /metrics exposes
INGESTED, REJECTED, DROPPED = (
    "anomaly_batches_ingested",
    "anomaly_batches_rejected",
    "anomaly_batches_dropped",
)
PURGED = "anomalies_purged"


class BadBatch(ValueError):
    """An inbox object that is not a batch the control plane can store."""


@dataclass
class IngestReport:
    """What one pass over the inbox did (batches, and the windows of those ingested)."""

    ingested: int = 0
    duplicates: int = 0
    rejected: int = 0
    dropped: int = 0
    windows: int = 0
    left: list[str] = field(default_factory=list)  # keys left for the next pass (a conflict, the database)


def parse_batch(key: str, data: bytes) -> AnomalyBatch:
    """The batch stored at inbox `key`, checked against what the tables hold; BadBatch otherwise."""
    try:
        batch = AnomalyBatch.model_validate(json.loads(data))
    except ValidationError as error:
        raise BadBatch(describe_errors(error)) from None
    except (ValueError, RecursionError) as error:  # not JSON, not UTF-8, nested too deep
        raise BadBatch(f"not JSON: {error}") from None
    if not BATCH_ID.fullmatch(batch.batch_id) or anomaly_batch_key(batch) != key:
        raise BadBatch(f"batch_id {batch.batch_id[:80]!r} is not a batch id or does not match its key")
    if len(batch.version) > 32:
        raise BadBatch("version is longer than 32 characters")
    for index, window in enumerate(batch.windows):
        if not 0 < len(window.pattern) <= 64:
            raise BadBatch(f"windows.{index}.pattern must be 1 to 64 characters")
        if not (math.isfinite(window.score) and math.isfinite(window.threshold)):
            raise BadBatch(f"windows.{index}: score and threshold must be finite")
        if not all(abs(n) <= MAX_COLUMN_INT for n in (window.first_line, window.last_line, index)):
            raise BadBatch(f"windows.{index}: line numbers out of range")
    for name in ("version", "stream_id"):
        if "\x00" in (getattr(batch, name) or ""):
            raise BadBatch(f"{name} contains a NUL character")
    if any("\x00" in (w.session or "") + w.pattern for w in batch.windows):
        raise BadBatch("a window's session or pattern contains a NUL character")
    received = batch.received if batch.received.tzinfo else batch.received.replace(tzinfo=UTC)
    try:
        received = received.astimezone(UTC)
    except OverflowError:
        raise BadBatch(f"received {batch.received.isoformat()} is out of range") from None
    return batch.model_copy(update={"received": received})


def batch_system(session: Session, batch: AnomalyBatch) -> System | None:
    """The system a batch belongs to; None when its tenant or system is unknown (deleted)."""
    tenant = session.exec(select(Tenant).where(Tenant.name == batch.tenant)).first()
    if tenant is None:
        return None
    query = select(System).where(System.tenant_id == tenant.id, System.name == batch.system)
    return session.exec(query).first()


def _templates(windows: list[RecordedWindow]) -> list[str]:
    seen = dict.fromkeys(e.template for w in windows for e in w.events if e.template)
    return list(seen)[:SAMPLE_TEMPLATES]


def _upsert_incident(
    session: Session, system: System, pattern: str, windows: list[RecordedWindow], received: datetime
) -> int:
    """The id of the pattern's incident, created, or updated in one statement (no lost update when
    processes ingest at once; two creating it at once: one meets the unique key, IntegrityError)."""
    query = select(Incident.id).where(Incident.system_id == system.id, Incident.pattern == pattern)
    incident_id = session.exec(query).first()
    top = max(w.score for w in windows)
    if incident_id is None:
        incident = Incident(
            tenant_id=system.tenant_id,
            system_id=system.id,
            pattern=pattern,
            count=len(windows),
            first_seen=received,
            last_seen=received,
            max_score=top,
            templates=_templates(windows),
        )
        session.add(incident)
        session.flush()
        assert incident.id is not None
        return incident.id
    first, last, score = col(Incident.first_seen), col(Incident.last_seen), col(Incident.max_score)
    seen = literal(received, first.type)
    session.exec(
        update(Incident)
        .where(col(Incident.id) == incident_id)
        .values(
            count=col(Incident.count) + len(windows),
            first_seen=case((first > seen, seen), else_=first),
            last_seen=case((last < seen, seen), else_=last),
            max_score=case((score < top, top), else_=score),
        )
    )
    return incident_id


def record_batch(session: Session, system: System, batch: AnomalyBatch, archive: str) -> int:
    """Add a batch's rows to the session (not committed); the number of windows."""
    by_pattern: defaultdict[str, list[tuple[int, RecordedWindow]]] = defaultdict(list)
    for index, window in enumerate(batch.windows):
        by_pattern[window.pattern].append((index, window))
    for pattern in sorted(by_pattern):  # one lock order for every process
        indexed = by_pattern[pattern]
        incident_id = _upsert_incident(session, system, pattern, [w for _i, w in indexed], batch.received)
        for index, window in indexed:
            session.add(
                Anomaly(
                    tenant_id=system.tenant_id,
                    system_id=system.id,
                    incident_id=incident_id,
                    version=batch.version,
                    batch_id=batch.batch_id,
                    window_index=index,
                    received=batch.received,
                    stream_id=batch.stream_id,
                    session=window.session,
                    first_line=window.first_line,
                    last_line=window.last_line,
                    score=window.score,
                    threshold=window.threshold,
                    pattern=pattern,
                    new_templates=window.new_templates,
                    archive_key=archive,
                )
            )
    session.flush()
    return len(batch.windows)


def _reject(platform: Platform, key: str, data: bytes, reason: str, report: IngestReport) -> None:
    aside = REJECTED_PREFIX + key.removeprefix(ANOMALY_INBOX)
    platform.store.put_bytes(aside, data)
    platform.store.delete(key)
    log.warning("anomaly batch %s rejected, moved to %s: %s", key, aside, reason)
    report.rejected += 1
    platform.counts.add(REJECTED)


def ingest_key(platform: Platform, key: str, report: IngestReport) -> None:
    """Ingest the batch at inbox `key` (see the module's docstring); the outcome goes into `report`."""
    store = platform.store
    try:
        data = store.get_bytes(key)
    except ObjectNotFound:
        return  # ingested meanwhile by another process
    try:
        batch = parse_batch(key, data)
    except BadBatch as error:
        _reject(platform, key, data, str(error), report)
        return
    with Session(platform.engine, expire_on_commit=False) as session:
        system = batch_system(session, batch)
        if system is None:
            log.warning(
                "anomaly batch %s dropped: no system %r of tenant %r (deleted?)",
                key,
                batch.system,
                batch.tenant,
            )
            if NAME.fullmatch(batch.tenant) and NAME.fullmatch(batch.system):  # a write cut short
                store.delete(archive_key(batch.tenant, batch.system, batch.batch_id))
            store.delete(key)
            report.dropped += 1
            platform.counts.add(DROPPED)
            return
        if session.exec(select(Anomaly.id).where(Anomaly.batch_id == batch.batch_id)).first() is not None:
            store.delete(key)
            report.duplicates += 1
            return
        archive = archive_key(batch.tenant, batch.system, batch.batch_id)
        store.put_json(archive, batch.model_dump(mode="json"))
        try:
            windows = record_batch(session, system, batch, archive)
            session.commit()
        except IntegrityError:  # another process took this batch or created one of its incidents
            session.rollback()
            log.info("anomaly batch %s met a concurrent write; left for the next pass", key)
            report.left.append(key)
            return
        except DataError as error:  # a value the database refuses: retrying would not help
            session.rollback()
            store.delete(archive)
            _reject(platform, key, data, f"the database refused it: {error.orig}", report)
            return
    store.delete(key)
    report.ingested += 1
    report.windows += windows
    platform.counts.add(INGESTED)


def ingest_pending(platform: Platform, *, limit: int | None = None) -> IngestReport:
    """Ingest the batches in the inbox, oldest first (at most `limit`). A failure of the store or the
    database stops the pass (raised); what was ingested stays ingested, the rest waits in the inbox."""
    report = IngestReport()
    for key in platform.store.list_keys(ANOMALY_INBOX)[:limit]:
        ingest_key(platform, key, report)
    return report


def purge_expired(platform: Platform, now: datetime | None = None, chunk: int = 2000) -> int:
    """Remove unjudged anomalies received more than ANOMALY_RETENTION_DAYS before `now`, then the archive
    objects no row refers to any more and the open incidents without windows; returns the rows removed."""
    cutoff = (now or utcnow()) - timedelta(days=platform.settings.anomaly_retention_days)
    purged = 0
    while True:
        with Session(platform.engine, expire_on_commit=False) as session:
            old = session.exec(
                select(Anomaly.id, Anomaly.archive_key)
                .where(col(Anomaly.received) < cutoff, col(Anomaly.verdict).is_(None))
                .limit(chunk)
            ).all()
            if not old:
                break
            session.exec(delete(Anomaly).where(col(Anomaly.id).in_([i for i, _k in old])))
            keys = {k for _i, k in old}
            kept = set(session.exec(select(Anomaly.archive_key).where(col(Anomaly.archive_key).in_(keys))))
            session.commit()
        for key in sorted(keys - kept):
            platform.store.delete(key)
        purged += len(old)
    with Session(platform.engine) as session:
        windows = select(Anomaly.id).where(Anomaly.incident_id == Incident.id)
        session.exec(
            delete(Incident).where(
                col(Incident.status) == IncidentStatus.OPEN,
                col(Incident.last_seen) < cutoff,
                ~windows.exists(),
            )
        )
        session.commit()
    if purged:
        log.info("retention: purged %d anomalies received before %s", purged, cutoff.isoformat())
        platform.counts.add(PURGED, purged)
    return purged

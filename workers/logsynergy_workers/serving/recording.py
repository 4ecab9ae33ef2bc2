"""Anomaly recording: the flagged windows of one request as an `AnomalyBatch` (the contract the control
plane's ingester reads), written to the object store's inbox before the request is answered.

The batch is assembled from JSON bytes, never from objects: the pool renders its anomaly reports once
(`recorded_windows`; they are the answer's `anomalies` too, so usually the very same bytes), and the
ingress wraps them with the batch's own fields (`batch_json`). A report is a `RecordedWindow` as it is
(its extra "system" is ignored), except that a line longer than `MAX_RECORDED_LINE_CHARS` is cut (the
score saw all of it). `AnomalyRecorder.write` blocks (a store put): the ingress runs it in a thread; any
failure becomes `RecordingUnavailable` (503, retryable), so that a window answered as anomalous is never
lost.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from logsynergy.store import ObjectStore
from logsynergy_contracts import new_batch_id
from logsynergy_contracts.anomalies import MAX_RECORDED_LINE_CHARS, inbox_key
from logsynergy_workers.serving.routes import RecordingUnavailable

log = logging.getLogger(__name__)
CUT_FIELDS = ("raw", "message")


def _too_long(event: dict[str, Any]) -> bool:
    return any(len(event.get(name) or "") > MAX_RECORDED_LINE_CHARS for name in CUT_FIELDS)


def _cut(event: dict[str, Any]) -> dict[str, Any]:
    return {**event, **{n: (event.get(n) or "")[:MAX_RECORDED_LINE_CHARS] for n in CUT_FIELDS}}


def recorded_windows(reports: Sequence[dict[str, Any]], rendered: bytes | None = None) -> bytes:
    """The JSON array of `RecordedWindow`s of `reports` (the endpoint's anomaly reports, with their
    pattern). `rendered`: `reports` already as JSON, returned as it is unless a line must be cut."""
    if not any(_too_long(e) for r in reports for e in r["events"]):
        return rendered if rendered is not None else orjson.dumps(reports)
    return orjson.dumps([{**r, "events": [_cut(e) for e in r["events"]]} for r in reports])


def batch_json(
    tenant: str,
    system: str,
    version: str,
    stream_id: str | None,
    windows: bytes,
    received: datetime | None = None,
) -> tuple[str, bytes]:
    """(batch id, the `AnomalyBatch` JSON) of one request's `recorded_windows` (`received`: now, UTC)."""
    received = received or datetime.now(UTC)
    batch_id = new_batch_id(received)
    head = {
        "batch_id": batch_id,
        "tenant": tenant,
        "system": system,
        "version": version,
        "received": received,
        "stream_id": stream_id,
    }
    return batch_id, orjson.dumps(head)[:-1] + b',"windows":' + windows + b"}"


class AnomalyRecorder:
    """Writes batches to the inbox of `store`, counting what it wrote and what failed."""

    def __init__(self, store: ObjectStore) -> None:
        self._store = store
        self._lock = threading.Lock()  # writes run in threads
        self.stats = {"batches": 0, "windows": 0, "failed": 0}

    def write(
        self, tenant: str, system: str, version: str, stream_id: str | None, windows: bytes, count: int
    ) -> str:
        """Record `windows` (`recorded_windows`, `count` of them) as one batch; returns its key (the
        contract's `anomaly_batch_key`). RecordingUnavailable when it cannot."""
        try:
            batch_id, data = batch_json(tenant, system, version, stream_id, windows)
            key = inbox_key(batch_id)
            self._store.put_bytes(key, data)
        except Exception as exc:  # whatever the store raises: never drop the windows silently
            with self._lock:
                self.stats["failed"] += 1
            log.exception("recording %d anomalous windows of %s/%s failed", count, tenant, system)
            raise RecordingUnavailable(
                f"the anomalous windows of this request could not be recorded ({type(exc).__name__}); "
                "retry later"
            ) from exc
        with self._lock:
            self.stats["batches"] += 1
            self.stats["windows"] += count
        return key

"""Anomaly recording at the endpoint: one request's reports as an `AnomalyBatch` the control plane can
parse, written to the inbox of a real local store; a failed write is a retryable 503, never a silent loss."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from logsynergy.store import LocalStore
from logsynergy_contracts import ANOMALY_INBOX, AnomalyBatch, anomaly_batch_key, pattern_id
from logsynergy_contracts.anomalies import MAX_RECORDED_LINE_CHARS
from logsynergy_workers.serving.recording import AnomalyRecorder, batch_json, recorded_windows
from logsynergy_workers.serving.routes import RecordingUnavailable

LONG = "x" * (MAX_RECORDED_LINE_CHARS + 50)


def report(first: int, template_ids: list[str], raw: str = "line") -> dict:
    """A report as `Detector.report` writes it, with the pattern and system the pool adds."""
    events = [
        {
            "line": first + i,
            "raw": raw,
            "message": raw,
            "template_id": t,
            "template": f"template {t} <*>",
            "interpretation": f"what {t} means",
            "new": t == "t-new",
        }
        for i, t in enumerate(template_ids)
    ]
    last = first + len(template_ids) - 1
    return {
        "system": "payments",
        "first_line": first,
        "last_line": last,
        "session": None,
        "score": 0.93,
        "threshold": 0.5,
        "pattern": pattern_id(template_ids),
        "events": events,
    }


def parse(tenant: str, reports: list[dict], stream_id: str | None = None, **kwargs) -> AnomalyBatch:
    _batch_id, data = batch_json(tenant, "payments", "3", stream_id, recorded_windows(reports), **kwargs)
    return AnomalyBatch.model_validate_json(data)


def test_a_batch_holds_the_reports_with_long_lines_cut_and_parses_with_the_contract() -> None:
    received = datetime(2026, 12, 1, 8, 0, 0, 123456, tzinfo=UTC)
    reports = [report(1, ["t1", "t2"], raw=LONG), report(30, ["t3", "t-new"])]
    batch_id, data = batch_json("acme", "payments", "3", "stream-7", recorded_windows(reports), received)
    parsed = AnomalyBatch.model_validate_json(data)
    assert parsed.batch_id == batch_id and batch_id.startswith("20261201T080000.123456-")
    assert (parsed.tenant, parsed.system, parsed.version, parsed.stream_id) == (
        "acme",
        "payments",
        "3",
        "stream-7",
    )
    assert parsed.received == received
    assert [(w.first_line, w.last_line, w.pattern, w.score) for w in parsed.windows] == [
        (1, 2, pattern_id(["t1", "t2"]), 0.93),
        (30, 31, pattern_id(["t3", "t-new"]), 0.93),
    ]
    first = parsed.windows[0].events[0]
    assert (
        len(first.raw) == len(first.message) == MAX_RECORDED_LINE_CHARS
        and first.raw == LONG[: len(first.raw)]
    )
    assert parsed.windows[1].new_templates == ["t-new"]
    assert parsed.windows[1].events[0].interpretation == "what t3 means"
    assert reports[0]["events"][0]["raw"] == LONG  # the answer's own reports are left whole


def test_the_rendered_reports_are_recorded_as_they_are_unless_a_line_is_too_long() -> None:
    short = [report(1, ["t1"]), report(9, ["t2"])]
    rendered = orjson.dumps(short)
    assert recorded_windows(short, rendered) is rendered  # the answer's bytes, not a second encoding
    long = [report(1, ["t1"], raw=LONG)]
    assert recorded_windows(long, orjson.dumps(long)) != orjson.dumps(long)
    assert parse("acme", [report(4, ["t1"], raw='é "quoted" \\ \u2028')]).windows[0].events[0].raw == (
        'é "quoted" \\ \u2028'
    )
    assert parse('a"b', short).tenant == 'a"b'  # the head is JSON-encoded like the rest


def test_the_recorder_writes_one_inbox_object_per_call(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    recorder = AnomalyRecorder(store)
    key = recorder.write(
        "acme", "payments", "3", None, recorded_windows([report(1, ["t1"]), report(5, ["t2"])]), 2
    )
    assert key.startswith(ANOMALY_INBOX) and store.list_keys(ANOMALY_INBOX) == [key]
    batch = AnomalyBatch.model_validate_json(store.get_bytes(key))
    assert anomaly_batch_key(batch) == key and len(batch.windows) == 2
    assert recorder.stats == {"batches": 1, "windows": 2, "failed": 0}


def test_a_failed_write_is_a_retryable_503(tmp_path: Path) -> None:
    blocker = tmp_path / "store" / "anomalies" / "inbox"
    blocker.parent.mkdir(parents=True)
    blocker.write_text("a file where the inbox directory should be")  # root ignores permissions: use this
    recorder = AnomalyRecorder(LocalStore(tmp_path / "store"))
    with pytest.raises(RecordingUnavailable, match="could not be recorded") as caught:
        recorder.write("acme", "payments", "3", None, recorded_windows([report(1, ["t1"])]), 1)
    assert (caught.value.status, caught.value.code) == (503, "recording_unavailable")
    assert recorder.stats == {"batches": 0, "windows": 0, "failed": 1}

"""What the control plane accepts from the anomaly inbox, and the small conversions of the history."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from logsynergy_api.services.anomalies import as_utc, window_lines
from logsynergy_api.services.anomaly_ingest import BadBatch, parse_batch
from logsynergy_contracts import AnomalyBatch, RecordedEvent, RecordedWindow, anomaly_batch_key, pattern_id


def event(line: int, template: str, raw: str = "", message: str = "") -> RecordedEvent:
    return RecordedEvent(line=line, raw=raw, message=message, template_id=template)


def batch_document(**changes: object) -> dict:
    window = RecordedWindow(
        first_line=1,
        last_line=2,
        score=0.9,
        threshold=0.5,
        pattern=pattern_id(["a", "b"]),
        events=[event(1, "a", "raw 1"), event(2, "b", "raw 2")],
    )
    batch = AnomalyBatch(
        batch_id="20261201T080000.000000-0123456789ab",
        tenant="team-a",
        system="checkout",
        version="3",
        received=datetime(2026, 12, 1, 9, tzinfo=timezone(timedelta(hours=1))),
        windows=[window],
    )
    document = batch.model_dump(mode="json")
    document.update(changes)
    return document


def parse(document: dict, key: str | None = None) -> AnomalyBatch:
    key = key or anomaly_batch_key(AnomalyBatch.model_validate(document))
    return parse_batch(key, json.dumps(document).encode())


def test_a_good_batch_is_parsed_with_its_time_in_utc() -> None:
    batch = parse(batch_document())
    assert batch.received == datetime(2026, 12, 1, 8, tzinfo=UTC) and batch.received.tzinfo is UTC
    naive = parse(batch_document(received="2026-12-01T08:00:00"))
    assert naive.received == datetime(2026, 12, 1, 8, tzinfo=UTC)


def window_with(**changes: object) -> list[dict]:
    return [{**batch_document()["windows"][0], **changes}]


@pytest.mark.parametrize(
    ("document", "needle"),
    [
        (batch_document(windows=window_with(score=float("inf"))), "finite"),
        (batch_document(windows=window_with(pattern="x" * 65)), "pattern"),
        (batch_document(windows=window_with(pattern="")), "pattern"),
        (batch_document(windows=window_with(last_line=2**40)), "out of range"),
        (batch_document(stream_id="s\x00"), "NUL"),
        (batch_document(version="v" * 33), "version"),
        (batch_document(received="0001-01-01T00:00:00+01:00"), "out of range"),
        (batch_document(windows="none"), "windows"),
    ],
    ids=[
        "infinite-score",
        "long-pattern",
        "empty-pattern",
        "huge-line",
        "nul",
        "long-version",
        "year-0",
        "type",
    ],
)
def test_a_batch_the_tables_cannot_hold_is_refused(document: dict, needle: str) -> None:
    key = f"anomalies/inbox/{document['batch_id']}.json"
    with pytest.raises(BadBatch, match=needle):
        parse(document, key)


def test_a_batch_id_must_be_a_plain_name_matching_its_key() -> None:
    document = batch_document()
    with pytest.raises(BadBatch, match="does not match"):
        parse(document, "anomalies/inbox/other.json")
    odd = batch_document(batch_id="sub/dir")
    with pytest.raises(BadBatch, match="not a batch id"):
        parse(odd, "anomalies/inbox/sub/dir.json")
    for data in (b"\xff\xfe", b"[" * 100_000, b"{}"):
        with pytest.raises(BadBatch):
            parse_batch("anomalies/inbox/x.json", data)


def test_times_from_requests_become_utc_even_at_the_calendar_ends() -> None:
    assert as_utc(None) is None
    assert as_utc(datetime(2026, 1, 1, 12)) == datetime(2026, 1, 1, 12, tzinfo=UTC)
    shifted = as_utc(datetime(2026, 1, 1, 12, tzinfo=timezone(timedelta(hours=2))))
    assert shifted == datetime(2026, 1, 1, 10, tzinfo=UTC) and shifted.tzinfo is UTC
    early = as_utc(datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1))))
    late = as_utc(datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5))))
    assert early == datetime.min.replace(tzinfo=UTC) and late == datetime.max.replace(tzinfo=UTC)


def test_a_window_gives_its_raw_lines_in_log_order() -> None:
    window = RecordedWindow(
        first_line=3,
        last_line=9,
        score=1.0,
        threshold=0.5,
        pattern="p",
        events=[event(9, "a", "raw 9"), event(3, "b", "", "message 3"), event(5, "c")],
    )
    assert window_lines(window) == ["message 3", "raw 9"]

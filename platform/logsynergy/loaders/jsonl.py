"""The generic format for users' own systems: one JSON object per line.

`{"message": str, "label": 0|1|true|false|null (optional), "session": str (optional),
"timestamp": any (optional)}`. Windowing is "session" when every record has a session, else "sliding".
"""

from __future__ import annotations

import json
from pathlib import Path

from logsynergy.loaders.base import finish, read_records
from logsynergy.records import LoadedLog, LoadReport, LogRecord

_scan = json.JSONDecoder().scan_once  # what json.loads runs, without its per-call checks


def decode(text: str) -> object:
    """`json.loads(text)`; a `{...}` line (no surrounding space) skips straight to the scanner."""
    if text[:1] == "{" and text[-1:] == "}":
        try:
            obj, end = _scan(text, 0)
        except (StopIteration, ValueError):
            pass  # json.loads raises the same error, with its message
        else:
            if end == len(text):  # otherwise json.loads reports the extra data
                return obj
    return json.loads(text)


def parse_object(text: str) -> LogRecord | str:
    """A record without line_no/raw (filled by the caller), or why the line is malformed."""
    try:
        obj = decode(text)
    except ValueError as e:
        return f"not JSON ({e.msg})"
    if not isinstance(obj, dict):
        return f"a JSON {type(obj).__name__}, not an object"
    message = obj.get("message")
    if not isinstance(message, str):
        return "no string `message`"
    label = obj.get("label")
    if label is not None:
        if isinstance(label, bool):
            label = int(label)
        elif not (isinstance(label, int) and label in (0, 1)):
            return f"label {label!r} is not 0, 1, true or false"
    session = obj.get("session")
    if session is not None:
        if isinstance(session, bool) or not isinstance(session, str | int):
            return f"session {session!r} is not a string"
        session = str(session) or None
    ts = obj.get("timestamp")
    return LogRecord(0, message, "", label=label, session=session, timestamp=None if ts is None else str(ts))


def jsonl_record(line_no: int, text: str) -> LogRecord | str:
    """The record of one JSON line, or why it is malformed."""
    record = parse_object(text)
    if not isinstance(record, str):
        record.line_no, record.raw = line_no, text
    return record


def load_jsonl(path: Path, max_lines: int | None) -> LoadedLog:
    """One record per JSON line; windowing is "session" when every record names a session."""
    report = LoadReport(str(path))
    records = read_records(path, report, max_lines, jsonl_record)
    windowing = "session" if records and all(r.session is not None for r in records) else "sliding"
    return finish(records, report, "jsonl", windowing=windowing)

"""Loghub raw supercomputer logs (BGL, Thunderbird, Spirit): the first token is the alert label."""

from __future__ import annotations

from pathlib import Path

from logsynergy.loaders.base import RecordParser, finish, read_records
from logsynergy.records import LoadedLog, LoadReport, LogRecord

# BGL: Label Timestamp Date Node Time NodeRepeat Type Component Level Content
BGL_HEADER_FIELDS = 9
# Thunderbird / Spirit: Label Timestamp Date User Month Day Time Location Component(PID): Content
TBIRD_HEADER_FIELDS = 8


def _parse_labelled(
    line: str, header_fields: int, system: str, *, drop_component: bool
) -> tuple[str, int, str] | str:
    """(message, label, unix timestamp) of a line that starts with `header_fields` header tokens, the first
    one the alert label ('-' normal, any alert category anomalous), or why the line is malformed."""
    parts = line.split(None, header_fields)
    if len(parts) < header_fields:
        return f"{len(parts)} fields, a {system} line has at least {header_fields}"
    if not parts[1].isdigit():
        return f"second field {parts[1][:30]!r} is not a unix timestamp"
    message = parts[header_fields].strip() if len(parts) > header_fields else ""
    if drop_component:
        head, _, tail = message.partition(" ")
        if head.endswith(":"):
            message = tail.strip()
    return message, 0 if parts[0] == "-" else 1, parts[1]


def parse_bgl(line: str) -> tuple[str, int, str] | str:
    """(message, label, unix timestamp) or the reason the line is malformed."""
    return _parse_labelled(line, BGL_HEADER_FIELDS, "BGL", drop_component=False)


def parse_thunderbird(line: str) -> tuple[str, int, str] | str:
    """(message, label, unix timestamp) or the reason the line is malformed.

    The `Component[PID]:` token is dropped when it ends with ':'; otherwise (e.g. `syslogd 1.4.1: restart.`)
    the whole remainder is kept as the message.
    """
    return _parse_labelled(line, TBIRD_HEADER_FIELDS, "Thunderbird/Spirit", drop_component=True)


def bgl_record(line_no: int, text: str) -> LogRecord | str:
    """The record of a raw BGL line, or why it is malformed."""
    return _labelled_record(line_no, text, parse_bgl(text))


def thunderbird_record(line_no: int, text: str) -> LogRecord | str:
    """The record of a raw Thunderbird/Spirit line, or why it is malformed."""
    return _labelled_record(line_no, text, parse_thunderbird(text))


def _labelled_record(line_no: int, text: str, parsed: tuple[str, int, str] | str) -> LogRecord | str:
    if isinstance(parsed, str):
        return parsed
    message, label, ts = parsed
    return LogRecord(line_no, message, text, label=label, timestamp=ts)


def load_loghub(fmt: str, path: Path, max_lines: int | None) -> LoadedLog:
    """Load a raw BGL (fmt 'bgl') or Thunderbird/Spirit log; labels come from each line."""
    to_record: RecordParser = bgl_record if fmt == "bgl" else thunderbird_record
    report = LoadReport(str(path))
    records = read_records(path, report, max_lines, to_record)
    return finish(records, report, fmt, windowing="sliding")

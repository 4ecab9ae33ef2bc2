"""Loghub raw supercomputer logs (BGL, Thunderbird, Spirit): the first token is the alert label."""

from __future__ import annotations

from pathlib import Path

from logsynergy.loaders.base import finish, iter_lines
from logsynergy.records import LoadedLog, LoadReport, LogRecord

# BGL: Label Timestamp Date Node Time NodeRepeat Type Component Level Content
BGL_HEADER_FIELDS = 9
# Thunderbird / Spirit: Label Timestamp Date User Month Day Time Location Component(PID): Content
TBIRD_HEADER_FIELDS = 8


def _label(token: str) -> int:
    """'-' marks a normal line; anything else is an alert category (anomalous)."""
    return 0 if token == "-" else 1


def parse_bgl(line: str) -> tuple[str, int, str] | str:
    """(message, label, unix timestamp) or the reason the line is malformed."""
    parts = line.split(None, BGL_HEADER_FIELDS)
    if len(parts) < BGL_HEADER_FIELDS:
        return f"{len(parts)} fields, a BGL line has at least {BGL_HEADER_FIELDS}"
    if not parts[1].isdigit():
        return f"second field {parts[1][:30]!r} is not a unix timestamp"
    message = parts[BGL_HEADER_FIELDS].strip() if len(parts) > BGL_HEADER_FIELDS else ""
    return message, _label(parts[0]), parts[1]


def parse_thunderbird(line: str) -> tuple[str, int, str] | str:
    """(message, label, unix timestamp) or the reason the line is malformed.

    The `Component[PID]:` token is dropped when it ends with ':'; otherwise (e.g. `syslogd 1.4.1: restart.`)
    the whole remainder is kept as the message.
    """
    parts = line.split(None, TBIRD_HEADER_FIELDS)
    if len(parts) < TBIRD_HEADER_FIELDS:
        return f"{len(parts)} fields, a Thunderbird/Spirit line has at least {TBIRD_HEADER_FIELDS}"
    if not parts[1].isdigit():
        return f"second field {parts[1][:30]!r} is not a unix timestamp"
    rest = parts[TBIRD_HEADER_FIELDS].strip() if len(parts) > TBIRD_HEADER_FIELDS else ""
    head, _, tail = rest.partition(" ")
    message = tail.strip() if head.endswith(":") else rest
    return message, _label(parts[0]), parts[1]


def load_loghub(fmt: str, path: Path, max_lines: int | None) -> LoadedLog:
    """Load a raw BGL (fmt 'bgl') or Thunderbird/Spirit log; labels come from each line."""
    parse = parse_bgl if fmt == "bgl" else parse_thunderbird
    report = LoadReport(str(path))
    records: list[LogRecord] = []
    for line_no, text in iter_lines(path, report, max_lines):
        parsed = parse(text)
        if isinstance(parsed, str):
            report.add_malformed(line_no, parsed)
            continue
        message, label, ts = parsed
        records.append(LogRecord(line_no, message, text, label=label, timestamp=ts))
    return finish(records, report, fmt, windowing="sliding")

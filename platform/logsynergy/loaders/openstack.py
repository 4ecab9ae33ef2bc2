"""OpenStack nova logs (plain `LEVEL component [req-…] [instance: uuid] msg` or Loghub's prefixed form).

Session = the instance uuid of `[instance: <uuid>]` (lines without one have no session). A line without a
log level (the tail of a multi-line message, e.g. a wrapped deprecation warning) is kept as its own record
with no session, so that line numbers and raw text stay one-to-one with the file.
"""

from __future__ import annotations

import re
from pathlib import Path

from logsynergy.errors import InputError
from logsynergy.loaders.base import iter_lines
from logsynergy.loaders.labels import finish_sessions
from logsynergy.records import LoadedLog, LoadReport, LogRecord

LINE = re.compile(
    r"^\s*(?:\S+\s+(?=\d{4}-\d{2}-\d{2}\s))?"  # Loghub: source file name
    r"(?:(?P<date>\d{4}-\d{2}-\d{2})\s+(?P<time>\d{2}:\d{2}:\d{2}(?:\.\d+)?)\s+)?"
    r"(?:\d+\s+)?"  # pid
    r"(?P<level>TRACE|DEBUG|INFO|AUDIT|WARNING|WARN|ERROR|CRITICAL|FATAL)\s+"
    r"(?P<component>\S+)(?:\s+(?P<rest>.*))?$"
)
REQUEST = re.compile(r"^\[(?:req-[^\]]*|-|None)\]\s*")
INSTANCE = re.compile(
    r"\[instance: (?P<uuid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\]\s*"
)


def parse_line(line: str) -> tuple[str, str | None, str | None] | None:
    """(message, instance uuid, timestamp) of a line with a log level, None for a line without one."""
    m = LINE.match(line)
    if m is None:
        return None
    rest = (m.group("rest") or "").strip()
    rest = REQUEST.sub("", rest, count=1)
    session = None
    inst = INSTANCE.search(rest)
    if inst is not None:
        session = inst.group("uuid")
        if inst.start() == 0:
            rest = rest[inst.end() :]
    ts = f"{m.group('date')} {m.group('time')}" if m.group("date") else None
    return rest.strip(), session, ts


def openstack_record(line_no: int, text: str) -> LogRecord:
    """The record of one line; a line without a log level is kept whole as the message, with no session."""
    return _record(line_no, text, parse_line(text))


def _record(line_no: int, text: str, parsed: tuple[str, str | None, str | None] | None) -> LogRecord:
    if parsed is None:
        return LogRecord(line_no, text.strip(), text)
    message, session, ts = parsed
    return LogRecord(line_no, message, text, session=session, timestamp=ts)


def load_openstack(path: Path, labels: Path | None, max_lines: int | None) -> LoadedLog:
    """Records with session = instance uuid; with a labels file, session_labels of the log's instances."""
    report = LoadReport(str(path))
    records: list[LogRecord] = []
    continuation = 0
    for line_no, text in iter_lines(path, report, max_lines):
        parsed = parse_line(text)
        if parsed is None:
            continuation += 1
        records.append(_record(line_no, text, parsed))
    if records and continuation * 2 > len(records):
        raise InputError(
            f"{path} does not look like an OpenStack log: only {len(records) - continuation} of "
            f"{len(records)} lines start with a log level (INFO, WARNING, ERROR …)"
        )
    if continuation:
        report.notes.append(f"{continuation} lines without a log level kept as records without a session")
    return finish_sessions(records, report, "openstack", labels)

"""Raw lines received one by one (detection requests) turned into records, format by format.

Unlike file loading, nothing is dropped: a line that does not fit its format is kept whole as the message,
so every line a client sends is judged."""

from __future__ import annotations

from collections.abc import Sequence

from logsynergy.loaders.hdfs import parse_raw
from logsynergy.loaders.jsonl import parse_object
from logsynergy.loaders.loghub import parse_bgl, parse_thunderbird
from logsynergy.loaders.openstack import parse_line
from logsynergy.records import LogRecord


def record_from_line(fmt: str | None, line: str, line_no: int) -> LogRecord:
    """One record from one raw line of format `fmt` (None or an unknown format: the line is the message)."""
    text = line.rstrip("\r\n")
    if fmt == "bgl" or fmt in ("thunderbird", "spirit"):
        parsed = (parse_bgl if fmt == "bgl" else parse_thunderbird)(text)
        if not isinstance(parsed, str):
            message, label, ts = parsed
            return LogRecord(line_no, message, text, label=label, timestamp=ts)
    elif fmt == "hdfs":
        parsed_hdfs = parse_raw(text)
        if not isinstance(parsed_hdfs, str):
            message, block, ts = parsed_hdfs
            return LogRecord(line_no, message, text, session=block, timestamp=ts)
    elif fmt == "openstack":
        parsed_os = parse_line(text)
        if parsed_os is not None:
            message, session, ts = parsed_os
            return LogRecord(line_no, message, text, session=session, timestamp=ts)
    elif fmt == "jsonl":
        parsed_json = parse_object(text)
        if not isinstance(parsed_json, str):
            parsed_json.line_no, parsed_json.raw = line_no, text
            return parsed_json
    return LogRecord(line_no, text.strip(), text)


def records_from_lines(fmt: str | None, lines: Sequence[str], start: int = 1) -> list[LogRecord]:
    """Records for consecutive raw lines; line numbers count from `start`."""
    return [record_from_line(fmt, line, i) for i, line in enumerate(lines, start)]

"""Raw lines received one by one (detection requests) turned into records, format by format.

Unlike file loading, nothing is dropped: a line that does not fit its format is kept whole as the message,
so every line a client sends is judged."""

from __future__ import annotations

from collections.abc import Sequence

from logsynergy.loaders.base import RecordParser
from logsynergy.loaders.hdfs import hdfs_record
from logsynergy.loaders.jsonl import jsonl_record
from logsynergy.loaders.loghub import bgl_record, thunderbird_record
from logsynergy.loaders.openstack import openstack_record
from logsynergy.records import LogRecord

RECORD_PARSERS: dict[str | None, RecordParser] = {
    "bgl": bgl_record,
    "thunderbird": thunderbird_record,
    "spirit": thunderbird_record,
    "hdfs": hdfs_record,
    "openstack": openstack_record,
    "jsonl": jsonl_record,
}


def record_from_line(fmt: str | None, line: str, line_no: int) -> LogRecord:
    """One record from one raw line of format `fmt` (None or an unknown format: the line is the message)."""
    text = line.rstrip("\r\n")
    to_record = RECORD_PARSERS.get(fmt)
    if to_record is not None:
        record = to_record(line_no, text)
        if not isinstance(record, str):
            return record
    return LogRecord(line_no, text.strip(), text)


def clip(record: LogRecord, max_chars: int) -> LogRecord:
    """`record` with each of its texts cut to `max_chars` characters: what one line costs downstream
    (masking, template mining, interpretation, reports) is then bounded whatever a client sends."""
    record.message, record.raw = record.message[:max_chars], record.raw[:max_chars]
    if record.session is not None:
        record.session = record.session[:max_chars]
    if record.timestamp is not None:
        record.timestamp = record.timestamp[:max_chars]
    return record


def records_from_lines(
    fmt: str | None, lines: Sequence[str], start: int = 1, max_chars: int | None = None
) -> list[LogRecord]:
    """Records for consecutive raw lines; line numbers count from `start`. With `max_chars`, each
    record is `clip`ped after its line is parsed (a JSON line stays parseable)."""
    records = (record_from_line(fmt, line, i) for i, line in enumerate(lines, start))
    if max_chars is None:
        return list(records)
    return [clip(record, max_chars) for record in records]

"""HDFS logs: Loghub raw lines, the LogLead csv or a Loghub structured csv; session = block id."""

from __future__ import annotations

import re
from pathlib import Path

from logsynergy.errors import InputError
from logsynergy.loaders.base import find_column, first_line, open_csv, read_records
from logsynergy.loaders.labels import finish_sessions
from logsynergy.records import LoadedLog, LoadReport, LogRecord

BLOCK = re.compile(r"blk_-?\d+")
# Loghub raw HDFS: Date Time Pid Level Component: Content
RAW_FIELDS = 5


def block_of(message: str) -> str | None:
    """The first block id a message mentions (a line may name several: the first one is its session)."""
    m = BLOCK.search(message)
    return m.group(0) if m else None


def parse_raw(line: str) -> tuple[str, str | None, str] | str:
    """(message, block, 'yymmdd HHMMSS') of a raw Loghub HDFS line, or why it is malformed."""
    parts = line.split(None, RAW_FIELDS)
    if len(parts) < RAW_FIELDS:
        return f"{len(parts)} fields, an HDFS line has at least {RAW_FIELDS}"
    date, time, pid = parts[0], parts[1], parts[2]
    if not (len(date) == 6 and date.isdigit() and len(time) == 6 and time.isdigit() and pid.isdigit()):
        return "does not start with `yymmdd HHMMSS pid`"
    rest = parts[RAW_FIELDS] if len(parts) > RAW_FIELDS else ""
    # lenient: without a `component:` token keep everything after the level
    message = rest.strip() if parts[4].endswith(":") else f"{parts[4]} {rest}".strip()
    return message, block_of(message), f"{date} {time}"


def _is_csv_header(line: str) -> bool:
    fields = {f.strip().strip('"').lower() for f in line.split(",")}
    return bool(fields & {"m_message", "content"})


def hdfs_record(line_no: int, text: str) -> LogRecord | str:
    """The record of a raw Loghub HDFS line (session = its block), or why it is malformed."""
    parsed = parse_raw(text)
    if isinstance(parsed, str):
        return parsed
    message, block, ts = parsed
    return LogRecord(line_no, message, text, session=block, timestamp=ts)


def _load_csv(path: Path, max_lines: int | None, report: LoadReport) -> list[LogRecord]:
    """LogLead csv (date,time,id,level,component,m_message,seq_id,m_timestamp) or Loghub structured csv."""
    records: list[LogRecord] = []
    with open_csv(path, report, max_lines) as (header, rows):
        msg_col = find_column(header, "m_message", "content", "message")
        if msg_col is None:  # _is_csv_header saw one of them
            raise InputError(f"HDFS csv {path} has no m_message or Content column")
        seq_col = find_column(header, "seq_id", "blockid", "block_id")
        ts_col = find_column(header, "m_timestamp", "timestamp")
        date_col, time_col = find_column(header, "date"), find_column(header, "time")
        for row_no, raw, fields in rows:
            message = fields[msg_col].strip()
            block = fields[seq_col].strip() if seq_col is not None else ""
            if ts_col is not None:
                ts = fields[ts_col].strip() or None
            elif date_col is not None and time_col is not None:
                ts = f"{fields[date_col].strip()} {fields[time_col].strip()}"
            else:
                ts = None
            records.append(LogRecord(row_no, message, raw, session=block or block_of(message), timestamp=ts))
    return records


def load_hdfs(path: Path, labels: Path | None, max_lines: int | None) -> LoadedLog:
    """Records with session = block id; with a labels file, session_labels for the blocks in the log."""
    report = LoadReport(str(path))
    if _is_csv_header(first_line(path)):
        records = _load_csv(path, max_lines, report)
    else:
        records = read_records(path, report, max_lines, hdfs_record)
    without = sum(1 for r in records if r.session is None)
    if without:
        report.notes.append(f"{without} lines name no block and are left out of session windows")
    return finish_sessions(records, report, "hdfs", labels)

"""Loghub `*_structured.csv` files and generic csv logs (`Content` or `message` column, optional `Label`)."""

from __future__ import annotations

from pathlib import Path

from logsynergy.errors import InputError
from logsynergy.loaders.base import find_column, finish, open_csv, parse_label
from logsynergy.records import LoadedLog, LoadReport, LogRecord

MESSAGE_COLUMNS = ("content", "message", "m_message")
LABEL_COLUMNS = ("label", "labels", "is_anomaly", "anomaly")
TIME_COLUMNS = ("timestamp", "time", "datetime", "date")


def load_structured(path: Path, max_lines: int | None) -> LoadedLog:
    """One record per data row: message = Content; label from `Label` ('-' or 0/false/normal → 0, any other
    value such as a Loghub alert category → 1, empty → unknown); timestamp from Timestamp/Time."""
    report = LoadReport(str(path))
    records: list[LogRecord] = []
    with open_csv(path, report, max_lines) as (header, rows):
        msg_col = find_column(header, *MESSAGE_COLUMNS)
        if msg_col is None:
            raise InputError(
                f"structured log {path} has no Content column (header: {','.join(header)[:200]})"
            )
        label_col = find_column(header, *LABEL_COLUMNS)
        time_col = find_column(header, *TIME_COLUMNS)
        for row_no, raw, fields in rows:
            label = (
                parse_label(fields[label_col], category_is_anomaly=True) if label_col is not None else None
            )
            ts = (fields[time_col].strip() or None) if time_col is not None else None
            records.append(LogRecord(row_no, fields[msg_col].strip(), raw, label=label, timestamp=ts))
    return finish(records, report, "structured", windowing="sliding")

"""Per-session label files (HDFS blocks, OpenStack instances) and matching them to a log's sessions."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from logsynergy.errors import InputError
from logsynergy.loaders.base import check_file, find_column, finish, open_csv, parse_label, sessions_in_order
from logsynergy.records import LoadedLog, LoadReport, LogRecord

ID_COLUMNS = (
    "seq_id",
    "blockid",
    "block_id",
    "block",
    "session",
    "session_id",
    "instance",
    "instance_id",
    "instanceid",
    "id",
)


def normalize_session(value: str) -> str:
    """A session id as the loaders write it: `instance: <uuid>` → `<uuid>`, whitespace stripped."""
    s = value.strip()
    if s.lower().startswith("instance:"):
        s = s[len("instance:") :].strip()
    return s


def read_session_labels(path: str | Path) -> tuple[dict[str, int], int]:
    """{session: 0|1} from a csv with an id column and `Label` (Normal/Anomaly, 0/1) or `normal`/`anomaly`
    (true/false) columns; a session listed twice with different labels counts as anomalous.
    Returns the labels and the number of rows that could not be used."""
    p = check_file(path, "labels file")
    report = LoadReport(str(p))
    labels: dict[str, int] = {}
    bad = 0
    with open_csv(p, report, what="labels file") as (header, rows):
        id_col = find_column(header, *ID_COLUMNS)
        label_col = find_column(header, "label", "labels", "is_anomaly")
        anomaly_col = find_column(header, "anomaly", "anomalous", "abnormal")
        normal_col = find_column(header, "normal")
        if label_col is None and anomaly_col is None and normal_col is None:
            raise InputError(
                f"labels file {p} has no label column (expected `Label`, or `normal`/`anomaly`; "
                f"header: {','.join(header)})"
            )
        if id_col is None:
            id_col = 0
        for _, _, fields in rows:
            sid = normalize_session(fields[id_col])
            if label_col is not None:
                value = parse_label(fields[label_col])
            elif anomaly_col is not None:
                value = parse_label(fields[anomaly_col])
            else:
                normal = parse_label(fields[normal_col])  # type: ignore[index]
                value = None if normal is None else 1 - normal
            if not sid or value is None:
                bad += 1
                continue
            labels[sid] = max(labels.get(sid, 0), value)
    if not labels:
        raise InputError(f"labels file {p} holds no usable label rows")
    return labels, bad + report.malformed


def match_session_labels(
    labels_path: str | Path, records: Sequence[LogRecord], report: LoadReport
) -> dict[str, int]:
    """The labels of the sessions present in the log (in log order); InputError when none match."""
    labels, bad = read_session_labels(labels_path)
    sessions = sessions_in_order(records)
    if not sessions:
        raise InputError(
            f"labels file {labels_path} matches no session: log {report.path} has no session ids"
        )
    matched = {s: labels[s] for s in sessions if s in labels}
    if not matched:
        raise InputError(
            f"labels file {labels_path} matches no session of log {report.path} "
            f"(log sessions look like {sessions[0]!r}, labels like {next(iter(labels))!r})"
        )
    if bad:
        report.notes.append(f"{bad} rows of labels file {labels_path} could not be used")
    if len(matched) < len(sessions):
        report.notes.append(f"{len(sessions) - len(matched)} of {len(sessions)} sessions have no label")
    return matched


def finish_sessions(records: list[LogRecord], report: LoadReport, fmt: str, labels: Path | None) -> LoadedLog:
    """`finish` with session windowing; with a labels file, the labels of the log's sessions."""
    log = finish(records, report, fmt, windowing="session")
    if labels is not None:
        log.session_labels = match_session_labels(labels, records, report)
    return log

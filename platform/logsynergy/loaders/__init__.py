"""Log loaders: turn a log file of a known format into a LoadedLog (records, report, natural windowing).

Every loader streams its file line by line (`.gz` is decompressed transparently), counts malformed lines
in the LoadReport and skips them, and raises InputError when the input is unusable.
"""

from __future__ import annotations

from pathlib import Path

from logsynergy.errors import InputError
from logsynergy.loaders.base import check_file, check_max_lines
from logsynergy.loaders.hdfs import load_hdfs
from logsynergy.loaders.jsonl import load_jsonl
from logsynergy.loaders.loghub import load_loghub
from logsynergy.loaders.openstack import load_openstack
from logsynergy.loaders.structured import load_structured
from logsynergy.records import LoadedLog

FORMATS: tuple[str, ...] = ("bgl", "thunderbird", "spirit", "structured", "hdfs", "openstack", "jsonl")
SESSION_LABEL_FORMATS = ("hdfs", "openstack")

__all__ = ["FORMATS", "load_log"]


def load_log(
    fmt: str, path: str | Path, labels: str | Path | None = None, *, max_lines: int | None = None
) -> LoadedLog:
    """Load a log of format `fmt` (one of FORMATS).

    `labels` is a per-session labels file (hdfs, openstack only; the other formats carry line labels).
    `max_lines` bounds the physical lines (data rows for csv) read from the log.
    """
    key = fmt.strip().lower() if isinstance(fmt, str) else fmt
    if key not in FORMATS:
        raise InputError(f"unknown log format {fmt!r} for {path}; known formats: {', '.join(FORMATS)}")
    check_max_lines(max_lines)
    log_path = check_file(path)
    labels_path = None
    if labels is not None:
        if key not in SESSION_LABEL_FORMATS:
            raise InputError(
                f"a labels file ({labels}) is only used with formats {' and '.join(SESSION_LABEL_FORMATS)}; "
                f"{key} logs carry their labels in each line"
            )
        labels_path = check_file(labels, "labels file")
    if key in ("bgl", "thunderbird", "spirit"):
        return load_loghub(key, log_path, max_lines)
    if key == "structured":
        return load_structured(log_path, max_lines)
    if key == "hdfs":
        return load_hdfs(log_path, labels_path, max_lines)
    if key == "openstack":
        return load_openstack(log_path, labels_path, max_lines)
    return load_jsonl(log_path, max_lines)

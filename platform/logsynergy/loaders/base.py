"""Shared plumbing of the loaders: path checks, streaming line/csv reading, label values, final checks."""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, TypeAlias

from logsynergy.errors import InputError
from logsynergy.records import LoadedLog, LoadReport, LogRecord, Windowing

RecordParser: TypeAlias = Callable[[int, str], LogRecord | str]
"""Turns one line (its 1-based number and text) into a record, or returns why the line is malformed."""

SNIFF_BYTES = 8192
_READ_ERRORS = (OSError, EOFError, zlib.error)
NORMAL_WORDS = frozenset({"-", "0", "false", "normal", "no", "n", "f"})
ANOMALY_WORDS = frozenset({"1", "true", "anomaly", "anomalous", "abnormal", "yes", "y", "t"})


def check_file(path: str | Path, what: str = "log file") -> Path:
    """The path as a readable, non-empty regular file, else InputError."""
    p = Path(path).expanduser()
    if not p.exists():
        raise InputError(f"{what} not found: {p}")
    if p.is_dir():
        raise InputError(f"{what} {p} is a directory, not a file")
    if not p.is_file():
        raise InputError(f"{what} {p} is not a regular file")
    if p.stat().st_size == 0:
        raise InputError(f"{what} {p} is empty")
    return p


@contextmanager
def open_binary(path: Path, what: str = "log file") -> Iterator[BinaryIO]:
    """Open a file for binary reading; `.gz` paths are decompressed transparently."""
    try:
        f: BinaryIO = gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")  # noqa: SIM115
    except OSError as e:
        raise InputError(f"{what} {path} cannot be opened: {e.strerror or e}") from e
    try:
        yield f
    except _READ_ERRORS as e:
        raise InputError(f"{what} {path} cannot be read (corrupt or not {_kind(path)}): {e}") from e
    finally:
        f.close()


def _kind(path: Path) -> str:
    return "a valid gzip file" if path.name.endswith(".gz") else "readable"


def sniff(path: Path, what: str = "log file") -> None:
    """Reject files whose first bytes are empty (e.g. an empty .gz) or clearly binary."""
    with open_binary(path, what) as f:
        head = f.read(SNIFF_BYTES)
    if not head.strip():
        raise InputError(f"{what} {path} is empty (no text in it)")
    if b"\x00" in head:
        raise InputError(f"{what} {path} looks like a binary file (it contains NUL bytes), not a text log")
    text = head.decode("utf-8", errors="replace")
    bad = sum(1 for ch in text if ch == "\ufffd" or (ord(ch) < 32 and ch not in "\t\n\r\f\v"))
    if bad > 0.3 * len(text):
        raise InputError(
            f"{what} {path} looks like a binary file ({bad} of {len(text)} characters are not text)"
        )


def iter_lines(path: Path, report: LoadReport, max_lines: int | None = None) -> Iterator[tuple[int, str]]:
    """Yield (1-based physical line number, text without line end) for each non-blank line.

    Lines split on b"\\n" only (CRLF is handled, a lone CR stays inside its line); bytes are decoded as
    UTF-8 with errors="replace". Lines holding NUL bytes are counted as malformed and not yielded.
    `max_lines` bounds the physical lines read.
    """
    sniff(path)
    with open_binary(path) as f:
        for line_no, raw in enumerate(f, start=1):
            if max_lines is not None and line_no > max_lines:
                break
            if b"\x00" in raw:
                report.add_malformed(line_no, "binary data (NUL bytes)")
                continue
            text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            if line_no == 1:
                text = text.lstrip("\ufeff")
            if text.strip():
                yield line_no, text


def read_records(
    path: Path, report: LoadReport, max_lines: int | None, to_record: RecordParser
) -> list[LogRecord]:
    """The records of a log's lines (as `iter_lines` yields them, in one streaming pass).

    Lines for which `to_record` returns a reason are counted as malformed in `report` and skipped.
    """
    records: list[LogRecord] = []
    for line_no, text in iter_lines(path, report, max_lines):
        record = to_record(line_no, text)
        if isinstance(record, str):
            report.add_malformed(line_no, record)
        else:
            records.append(record)
    return records


def first_line(path: Path) -> str:
    """The first non-blank line of a file (decoded, stripped), for format detection."""
    sniff(path)
    with open_binary(path) as f:
        for raw in f:
            text = raw.decode("utf-8", errors="replace").strip().lstrip("\ufeff")
            if text:
                return text
    return ""


@contextmanager
def open_csv(
    path: Path, report: LoadReport, max_rows: int | None = None, what: str = "log file"
) -> Iterator[tuple[list[str], Iterator[tuple[int, str, list[str]]]]]:
    """Header (lower-cased, stripped) and an iterator of (data row number, raw text, fields).

    Streams the file; `raw` is the row's original text. Blank lines are not data rows. Rows whose field
    count differs from the header's are counted as malformed and skipped. `max_rows` bounds data rows.
    """
    sniff(path, what)
    with open_binary(path, what) as f:
        text = io.TextIOWrapper(f, encoding="utf-8", errors="replace", newline="")
        consumed: list[str] = []

        def source() -> Iterator[str]:
            for line in text:
                consumed.append(line)
                yield line

        reader = csv.reader(source())
        try:
            header = next(reader, None)
        except csv.Error as e:
            raise InputError(f"{what} {path} is not a readable csv file: {e}") from e
        if header is None:
            raise InputError(f"{what} {path} is empty")
        header = [h.strip().lstrip("\ufeff").lower() for h in header]
        consumed.clear()

        def rows() -> Iterator[tuple[int, str, list[str]]]:
            row_no = 0
            while max_rows is None or row_no < max_rows:
                try:
                    fields = next(reader)
                except StopIteration:
                    break
                except csv.Error as e:
                    row_no += 1
                    report.add_malformed(row_no, f"bad csv: {e}")
                    consumed.clear()
                    continue
                raw = "".join(consumed).rstrip("\r\n")
                consumed.clear()
                if not "".join(fields).strip():
                    continue  # blank line: not a data row
                row_no += 1
                if "\x00" in raw:
                    report.add_malformed(row_no, "binary data (NUL bytes)")
                elif len(fields) != len(header):
                    report.add_malformed(row_no, f"{len(fields)} fields where the header has {len(header)}")
                else:
                    yield row_no, raw, fields

        yield header, rows()


def find_column(header: list[str], *names: str) -> int | None:
    """Index of the first of `names` (lower case) present in the header."""
    for name in names:
        if name in header:
            return header.index(name)
    return None


def parse_label(value: object, *, category_is_anomaly: bool = False) -> int | None:
    """0/1 from a label value: '-'/0/false/normal → 0, 1/true/anomaly → 1, empty → None.

    With `category_is_anomaly`, any other non-empty word (a Loghub alert category) means 1;
    otherwise it is unrecognised and gives None.
    """
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int) and value in (0, 1):
        return value
    word = str(value).strip().lower()
    if not word:
        return None
    if word in NORMAL_WORDS:
        return 0
    if word in ANOMALY_WORDS:
        return 1
    return 1 if category_is_anomaly else None


def check_max_lines(max_lines: int | None) -> None:
    if max_lines is not None and max_lines < 1:
        raise InputError(f"max_lines must be at least 1, got {max_lines}")


def finish(
    records: list[LogRecord],
    report: LoadReport,
    fmt: str,
    *,
    windowing: Windowing = "sliding",
    session_labels: dict[str, int] | None = None,
) -> LoadedLog:
    """Final checks: at least one usable record and not mostly malformed lines."""
    report.records = len(records)
    example = f" (e.g. {report.malformed_examples[0]})" if report.malformed_examples else ""
    if not records:
        if report.malformed:
            raise InputError(
                f"no usable {fmt} records in {report.path}: "
                f"all {report.malformed} lines are malformed{example}"
            )
        raise InputError(f"log file {report.path} contains no log lines")
    if report.malformed > len(records):
        total = report.malformed + len(records)
        raise InputError(
            f"{report.path} does not look like a {fmt} log: {report.malformed} of {total} lines "
            f"are malformed{example}"
        )
    if report.malformed:
        report.notes.append(f"{report.malformed} malformed lines skipped")
    return LoadedLog(records, report, windowing, session_labels)


def sessions_in_order(records: Iterable[LogRecord]) -> list[str]:
    """Distinct session ids in order of first appearance."""
    return list(dict.fromkeys(r.session for r in records if r.session is not None))

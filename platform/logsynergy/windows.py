"""Windows: the units the detector scores, either sliding windows over lines or one window per session."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from logsynergy.errors import InputError
from logsynergy.records import LoadedLog, LogRecord, Windowing

WINDOWINGS = ("sliding", "session")
WINDOW_SIZE = 10  # lines of a sliding window
WINDOW_STEP = 5  # lines from one sliding window's start to the next one's


@dataclass(frozen=True, slots=True)
class WindowSettings:
    """How a system's log is cut into windows: one per session, or sliding windows of `size` lines
    every `step` lines (a session-trained detector also slides them over lines that carry no session)."""

    kind: Windowing = "sliding"
    size: int = WINDOW_SIZE
    step: int = WINDOW_STEP

    def __post_init__(self) -> None:
        if self.kind not in WINDOWINGS:
            raise ValueError(f"unknown windowing {self.kind!r}; known: {', '.join(WINDOWINGS)}")
        if self.size < 1 or self.step < 1:
            raise ValueError(f"window size and step must be at least 1, not {self.size} and {self.step}")

    @property
    def overlap(self) -> int:
        """How many following windows share lines with a window: sessions none, sliding windows
        ceil(size / step) - 1."""
        return 0 if self.kind == "session" else math.ceil(self.size / self.step) - 1


@dataclass(frozen=True, slots=True)
class Window:
    events: tuple[str, ...]  # template ids, in order
    label: int | None  # 1 anomalous, 0 normal, None unknown
    lines: tuple[int, ...]  # LogRecord.line_no of each event, for reports
    session: str | None = None


def _check_lengths(records: Sequence[LogRecord], template_ids: Sequence[str]) -> None:
    if len(records) != len(template_ids):
        raise ValueError(f"{len(template_ids)} template ids for {len(records)} records")


def line_label(labels: Iterable[int | None]) -> int | None:
    """1 if any label is 1; else 0 if at least one label is 0; None if nothing is labelled."""
    result: int | None = None
    for label in labels:
        if label == 1:
            return 1
        if label == 0:
            result = 0
    return result


def sliding_windows(
    records: Sequence[LogRecord],
    template_ids: Sequence[str],
    size: int = WINDOW_SIZE,
    step: int = WINDOW_STEP,
) -> list[Window]:
    """Windows of `size` lines starting at 0, step, 2·step, …

    The last, shorter window is kept when it holds at least one line the previous window did not, so
    with step ≤ size every line is in some window. (Loghub-style counts such as the dataset README's
    "1,276 windows" count only full windows, i.e. (n - size) // step + 1; this can give one window more.)
    """
    _check_lengths(records, template_ids)
    if size < 1 or step < 1:
        raise ValueError(f"window size and step must be at least 1, got size={size} step={step}")
    n = len(records)
    windows: list[Window] = []
    covered = 0  # end (exclusive) of the previous window
    for start in range(0, n, step):
        end = min(start + size, n)
        if windows and end <= covered:
            break
        chunk = records[start:end]
        windows.append(
            Window(
                tuple(template_ids[start:end]),
                line_label(r.label for r in chunk),
                tuple(r.line_no for r in chunk),
            )
        )
        covered = end
        if end == n:
            break
    return windows


def session_windows(
    records: Sequence[LogRecord], template_ids: Sequence[str], session_labels: Mapping[str, int] | None
) -> list[Window]:
    """One window per session, in order of each session's first line; records without a session are skipped.

    Label: 1 if the session is labelled 1 or any of its lines is; else 0 if the session is labelled 0 or its
    labelled lines are all 0; else None.
    """
    _check_lengths(records, template_ids)
    events: dict[str, list[str]] = {}
    lines: dict[str, list[int]] = {}
    labels: dict[str, int | None] = {}
    for record, tid in zip(records, template_ids, strict=True):
        s = record.session
        if s is None:
            continue
        if s not in events:
            events[s], lines[s], labels[s] = [], [], None
        events[s].append(tid)
        lines[s].append(record.line_no)
        if record.label == 1 or (record.label == 0 and labels[s] is None):
            labels[s] = record.label
    windows = []
    for s, evs in events.items():
        given = session_labels.get(s) if session_labels is not None else None
        label = line_label((given, labels[s]))
        windows.append(Window(tuple(evs), label, tuple(lines[s]), s))
    return windows


def make_windows(
    log: LoadedLog,
    template_ids: Sequence[str],
    *,
    windowing: str | None = None,
    size: int = WINDOW_SIZE,
    step: int = WINDOW_STEP,
) -> list[Window]:
    """Windows of a loaded log in its natural windowing (`log.windowing`) unless `windowing` overrides it."""
    kind = windowing or log.windowing
    if kind == "sliding":
        return sliding_windows(log.records, template_ids, size, step)
    if kind == "session":
        if not any(r.session is not None for r in log.records):
            raise InputError(
                f"session windowing needs session ids, but no line of {log.report.path} has one; "
                "use sliding windows"
            )
        return session_windows(log.records, template_ids, log.session_labels)
    raise InputError(f"unknown windowing {kind!r}; known: {', '.join(WINDOWINGS)}")

"""Streams: consecutive batches of one client stream scored as one continuous log.

Semantics (per model version and per `ModelPool` replica; state expires `ttl_s` after a stream's last batch):

- Line numbers continue across batches: the first line of batch 2 is numbered after the last of batch 1.
- Sliding windowing: the windows are exactly the sliding windows (size, step of the model) of the
  concatenated stream. A batch answers every *full* window that ends in it; the lines from the first
  window not yet complete are kept and prepended to the next batch, so a window that straddles two
  batches is answered (once) with the batch that completes it. `flush` also answers the trailing
  shorter window when it holds a line no answered window held (as a one-off request over the whole
  stream would), and forgets the stream.
- Session windowing (records or formats that carry sessions, on a model trained on sessions): a
  session's lines accumulate across batches (the latest `max_session_lines` are kept); each batch
  answers one window per session that received lines in it, covering the session's lines so far.
  Sessions are never known to end: they live until the stream is flushed or expires.
- A new model version starts fresh windows (the state is keyed by model id); so does a stream whose
  batches reach a different replica (only when several replicas hold the same model).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from logsynergy.detector import Detection, Detector
from logsynergy.records import LogRecord


@dataclass
class StreamState:
    next_line: int = 1
    pending: list[LogRecord] = field(default_factory=list)  # sliding: lines of unanswered windows
    answered_to: int = 0  # sliding: last line of the last window answered
    sessions: OrderedDict[str, list[LogRecord]] = field(default_factory=OrderedDict)
    touched: float = 0.0


class StreamTable:
    """Stream states by key, least recently used first; expired after `ttl_s` without a batch."""

    def __init__(
        self,
        ttl_s: float,
        max_streams: int = 10_000,
        max_sessions: int = 10_000,
        max_session_lines: int = 1_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_s, self.max_streams = ttl_s, max_streams
        self.max_sessions, self.max_session_lines = max_sessions, max_session_lines
        self._clock = clock
        self._states: OrderedDict[str, StreamState] = OrderedDict()

    def __len__(self) -> int:
        return len(self._states)

    def _expire(self, now: float) -> None:
        while self._states:
            key, state = next(iter(self._states.items()))
            if now - state.touched < self.ttl_s and len(self._states) <= self.max_streams:
                break
            del self._states[key]

    def take(self, key: str) -> StreamState:
        """The live state of `key` (a fresh one when unknown or expired), marked as just used."""
        now = self._clock()
        self._expire(now)
        state = self._states.pop(key, None) or StreamState()
        state.touched = now
        self._states[key] = state
        self._expire(now)
        return state

    def drop(self, key: str) -> None:
        self._states.pop(key, None)


def _renumber(records: Sequence[LogRecord], start: int) -> list[LogRecord]:
    for i, record in enumerate(records, start):
        record.line_no = i
    return list(records)


def _keep(detection: Detection, keep: Callable[[int, int], bool]) -> Detection:
    windows = [w for w in detection.windows if keep(w.first_line, w.last_line)]
    reports = [r for r in detection.reports if keep(r["first_line"], r["last_line"])]
    new = sorted({t for w in windows for t in w.new_templates})
    return Detection(windows, reports, detection.lines, detection.cache_hits, detection.model_windows, new)


def score_stream(
    detector: Detector, table: StreamTable, key: str, records: list[LogRecord], flush: bool
) -> tuple[Detection, int]:
    """Score `records` as the next batch of stream `key`; returns the detection and lines kept pending."""
    state = table.take(key)
    records = _renumber(records, state.next_line)
    state.next_line += len(records)
    settings = detector.settings
    session_mode = settings.windowing == "session" and (
        any(r.session for r in records) or (not records and bool(state.sessions))
    )
    if session_mode:
        detection = _score_sessions(detector, table, state, records)
        kept = sum(len(v) for v in state.sessions.values())
    else:
        size, step = settings.window_size, settings.window_step
        detection = _score_sliding(detector, state, records, flush, size, step)
        kept = len(state.pending)
    if flush:
        table.drop(key)
        kept = 0
    detection.lines = len(records)
    return detection, kept


def _score_sliding(
    detector: Detector, state: StreamState, records: list[LogRecord], flush: bool, size: int, step: int
) -> Detection:
    combined = state.pending + records
    if not combined:
        return Detection([], [], 0)
    detection = detector.score_records(combined, windowing="sliding")
    n = len(combined)
    full = (n - size) // step + 1 if n >= size else 0
    first_open = combined[full * step].line_no if full * step < n else combined[-1].line_no + 1
    state.pending = combined[full * step :]
    if flush:  # the trailing window, unless every line of it was in an answered window
        return _keep(detection, lambda _first, last: last > state.answered_to)
    kept = _keep(detection, lambda first, _last: first < first_open)
    if kept.windows:
        state.answered_to = kept.windows[-1].last_line
    return kept


def _score_sessions(
    detector: Detector, table: StreamTable, state: StreamState, records: list[LogRecord]
) -> Detection:
    touched: list[str] = []
    for record in records:
        if not record.session:
            continue
        lines = state.sessions.pop(record.session, None)
        if lines is None:
            lines = []
            touched.append(record.session)
        elif record.session not in touched:
            touched.append(record.session)
        lines.append(record)
        del lines[: -table.max_session_lines]
        state.sessions[record.session] = lines
    while len(state.sessions) > table.max_sessions:
        state.sessions.popitem(last=False)
    window_records = sorted(
        (r for s in touched if s in state.sessions for r in state.sessions[s]), key=lambda r: r.line_no
    )
    if not window_records:
        return Detection([], [], len(records))
    return detector.score_records(window_records, windowing="session")

"""A labelled target log replayed as an unlabelled stream: its windows in time order, cut into chunks, the
records the detection endpoint receives for any of them, and the log streamed so far as a training file.

Windows are the system's own (as training cuts them: sliding windows over lines, or one per session in
order of each session's first line). A session is streamed whole, once (the endpoint's stream mode
answers a growing session on each batch; here each session is answered when its chunk comes).

Labels are withheld by sending records, as the endpoint's `records` requests carry them (message,
session, timestamp: the endpoint records the message as the line), and by writing the streamed log as
JSON lines without a label: a BGL or Thunderbird line cannot say "unknown" (its first token is the label,
and '-' means normal), so the target trains in the generic `jsonl` format on the same messages.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from logsynergy.errors import ConfigError
from logsynergy.loaders import load_log
from logsynergy.records import LogRecord
from logsynergy.systems import SystemSpec
from logsynergy.windows import Window, WindowSettings, make_windows

STREAM_FORMAT = "jsonl"  # the streamed log's format, as training reads it


@dataclass(frozen=True, slots=True)
class Chunks:
    """Window-index boundaries: chunk i is windows [bounds[i], bounds[i + 1])."""

    bounds: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.bounds) - 1

    def window_range(self, i: int) -> range:
        return range(self.bounds[i], self.bounds[i + 1])


def cut_chunks(windows: int, fraction: float, chunks: int) -> Chunks:
    """`chunks` near-equal chunks over the first `fraction` of `windows` windows (each at least one)."""
    end = int(windows * fraction)
    if chunks < 1 or end < chunks:
        raise ConfigError(f"cannot cut {chunks} chunks from {end} windows ({fraction:.0%} of {windows})")
    return Chunks(tuple(round(i * end / chunks) for i in range(chunks + 1)))


@dataclass
class TargetStream:
    """A target's loaded log with its true labels and its windows."""

    spec: SystemSpec
    records: list[LogRecord]
    windows: list[Window]  # events unused (the detector parses); label = the truth
    windowing: WindowSettings

    def __post_init__(self) -> None:
        self._index = {r.line_no: i for i, r in enumerate(self.records)}

    @property
    def gap(self) -> int:
        """Windows left out after a streamed part so that no line of it is in a later window."""
        return self.windowing.overlap

    def label(self, window: int) -> int | None:
        return self.windows[window].label

    def record_indices(self, windows: Sequence[int]) -> list[int]:
        """Indices (into `records`) of every line of the given windows, in log order."""
        return sorted({self._index[n] for w in windows for n in self.windows[w].lines})

    def endpoint_records(self, indices: Sequence[int]) -> list[LogRecord]:
        """The records the endpoint builds from a `records` request for these lines (no label), numbered
        by their line in the whole log."""
        out = []
        for i in indices:
            r = self.records[i]
            out.append(LogRecord(r.line_no, r.message, r.message, session=r.session, timestamp=r.timestamp))
        return out

    def sent_lines(self, window: int) -> list[str]:
        """A window's lines as the endpoint records them (a records request: the messages), in log order."""
        return [self.records[i].message for i in self.record_indices([window])]

    def write_prefix(self, windows: int, path: Path) -> Path:
        """The log as streamed up to window `windows` (exclusive), as unlabelled JSON lines: every line of
        those windows and, for session logs, the lines without a session before the next window."""
        wanted = set(self.record_indices(range(windows)))
        if self.windowing.kind == "session" and windows < len(self.windows):
            first_next = self._index[min(self.windows[windows].lines)]
            wanted.update(i for i in range(first_next) if self.records[i].session is None)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as fh:
            for i in sorted(wanted):
                r = self.records[i]
                item: dict[str, str] = {"message": r.message}
                if r.session is not None:
                    item["session"] = r.session
                if r.timestamp is not None:
                    item["timestamp"] = r.timestamp
                fh.write(json.dumps(item, ensure_ascii=False) + "\n")
        return path

    def stream_spec(self, prefix: Path) -> SystemSpec:
        """The target as training sees it: the streamed prefix, no labels, its windowing declared."""
        s = self.spec
        return SystemSpec(
            name=s.name,
            format=STREAM_FORMAT,
            path=prefix,
            description=s.description,
            interpretations=s.interpretations,
            windowing=self.windowing.kind,
            window_size=self.windowing.size,
            window_step=self.windowing.step,
        )


def load_stream(spec: SystemSpec) -> TargetStream:
    """The target's log with its labels, windowed as its spec declares."""
    log = load_log(spec.format, spec.path, spec.labels)
    windowing = spec.window_settings(log.windowing)
    placeholder = [""] * len(log.records)
    kind, size, step = windowing.kind, windowing.size, windowing.step
    windows = make_windows(log, placeholder, windowing=kind, size=size, step=step)
    return TargetStream(spec, log.records, windows, windowing)

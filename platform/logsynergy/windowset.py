"""Windows as model input: unique template-id sequences as rows into an embedding table, with weights."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from logsynergy.windows import Window

UNLABELLED = -1.0


@dataclass
class WindowSet:
    """Collapsed windows: identical (events, label, system) rows are kept once with a count weight."""

    index: np.ndarray  # [N, L] int64 rows of the embedding table; 0 = padding
    label: np.ndarray  # [N] float32: 1 anomalous, 0 normal, -1 unlabelled
    system: np.ndarray  # [N] int64
    domain: np.ndarray  # [N] int64: 0 source, 1 target
    weight: np.ndarray  # [N] float32: how many windows the row stands for

    def __len__(self) -> int:
        return len(self.label)

    @property
    def windows(self) -> float:
        return float(self.weight.sum())

    @classmethod
    def concat(cls, parts: Sequence[WindowSet]) -> WindowSet:
        parts = [p for p in parts if len(p)]
        if not parts:
            return empty_set(1)
        width = max(p.index.shape[1] for p in parts)
        index = np.concatenate([np.pad(p.index, ((0, 0), (0, width - p.index.shape[1]))) for p in parts])
        return cls(
            index,
            np.concatenate([p.label for p in parts]),
            np.concatenate([p.system for p in parts]),
            np.concatenate([p.domain for p in parts]),
            np.concatenate([p.weight for p in parts]),
        )


def empty_set(width: int) -> WindowSet:
    return WindowSet(
        np.zeros((0, width), np.int64),
        np.zeros(0, np.float32),
        np.zeros(0, np.int64),
        np.zeros(0, np.int64),
        np.zeros(0, np.float32),
    )


def clip_events(events: Sequence[str], max_events: int) -> Sequence[str]:
    """Long sessions keep their first and last events (where starts and failures show)."""
    if len(events) <= max_events:
        return events
    head = max_events // 2
    return tuple(events[:head]) + tuple(events[len(events) - (max_events - head) :])


def collapse(
    windows: Sequence[Window],
    rows: Mapping[str, int],
    *,
    system: int,
    domain: int,
    max_events: int,
    drop_labels: bool = False,
) -> WindowSet:
    """Turn windows into a WindowSet; `rows` maps template id → embedding-table row (≥ 1)."""
    counts: dict[tuple[tuple[int, ...], float], int] = {}
    for window in windows:
        key_rows = tuple(rows[t] for t in clip_events(window.events, max_events))
        label = UNLABELLED if drop_labels or window.label is None else float(window.label)
        key = (key_rows, label)
        counts[key] = counts.get(key, 0) + 1
    if not counts:
        return empty_set(1)
    width = max(len(k[0]) for k in counts)
    index = np.zeros((len(counts), width), np.int64)
    labels = np.empty(len(counts), np.float32)
    weights = np.empty(len(counts), np.float32)
    for i, ((key_rows, label), count) in enumerate(counts.items()):
        index[i, : len(key_rows)] = key_rows
        labels[i], weights[i] = label, count
    n = len(counts)
    return WindowSet(index, labels, np.full(n, system, np.int64), np.full(n, domain, np.int64), weights)

"""A count model: a random forest on a window's event counts, trained on the target's own labels.

It is the simple model a target's labelled part always supports, the candidate the transfer network is
held against (logsynergy.selection). Stored as plain arrays (`count_model.npz`, no pickle) and scored in
numpy, so an artifact loads without trusting code in it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

TREES = 100  # scikit-learn's default forest, as the peers run it
OTHER = "<other>"  # the column counting events the labelled windows never held


@dataclass(frozen=True)
class CountModel:
    """Per tree: children (-1 at a leaf), split feature and threshold, and each node's anomalous share."""

    vocabulary: tuple[str, ...]
    left: np.ndarray  # (trees, nodes) int32, padded with -1
    right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray  # float64
    anomalous: np.ndarray  # float32: the share of anomalous training windows at the node

    def counts(self, patterns: Sequence[tuple[str, ...]]) -> np.ndarray:
        """Event counts per window over the vocabulary, plus the count of events outside it."""
        return event_counts(patterns, self.vocabulary)

    def score(self, patterns: Sequence[tuple[str, ...]]) -> np.ndarray:
        """The forest's anomaly probability of each window (the mean over trees of its leaf's share)."""
        x = self.counts(patterns)
        rows = np.arange(len(x))
        total = np.zeros(len(x), np.float64)
        for t in range(len(self.left)):
            left, right, feature, threshold = self.left[t], self.right[t], self.feature[t], self.threshold[t]
            node = np.zeros(len(x), np.int64)
            inner = left[node] >= 0
            while inner.any():
                goes_left = x[rows, feature[node]] <= threshold[node]
                step = np.where(goes_left, left[node], right[node])
                node = np.where(inner, step, node)
                inner = left[node] >= 0
            total += self.anomalous[t][node]
        return (total / len(self.left)).astype(np.float32)

    def save(self, path: Path) -> None:
        np.savez_compressed(
            path,
            vocabulary=np.array(self.vocabulary, dtype=str),
            left=self.left,
            right=self.right,
            feature=self.feature,
            threshold=self.threshold,
            anomalous=self.anomalous,
        )

    @classmethod
    def load(cls, path: Path) -> CountModel:
        with np.load(path, allow_pickle=False) as data:
            return cls(
                vocabulary=tuple(str(v) for v in data["vocabulary"]),
                left=data["left"],
                right=data["right"],
                feature=data["feature"],
                threshold=data["threshold"],
                anomalous=data["anomalous"],
            )


def event_counts(patterns: Sequence[tuple[str, ...]], vocabulary: Sequence[str]) -> np.ndarray:
    """Per window, each vocabulary event's count, and (last column) how many events are outside it."""
    column = {t: i for i, t in enumerate(vocabulary)}
    other = len(vocabulary)
    matrix = np.zeros((len(patterns), other + 1), np.float32)
    for row, pattern in enumerate(patterns):
        for template_id in pattern:
            matrix[row, column.get(template_id, other)] += 1
    return matrix


def fit_count_model(patterns: Sequence[tuple[str, ...]], labels: Sequence[int], seed: int) -> CountModel:
    """A forest on the windows' event counts; `labels` must hold both classes."""
    from sklearn.ensemble import RandomForestClassifier  # training only: scoring needs numpy alone

    y = np.asarray(labels, np.int64)
    if len(set(y.tolist())) < 2:
        raise ValueError("a count model needs anomalous and normal windows")
    vocabulary = tuple(sorted({t for p in patterns for t in p}))
    x = event_counts(patterns, vocabulary)
    forest = RandomForestClassifier(n_estimators=TREES, random_state=seed, n_jobs=1).fit(x, y)
    anomalous_class = int(np.flatnonzero(forest.classes_ == 1)[0])
    width = max(e.tree_.node_count for e in forest.estimators_)

    def padded(values: list[np.ndarray], dtype: type, fill: float) -> np.ndarray:
        out = np.full((len(values), width), fill, dtype)
        for i, v in enumerate(values):
            out[i, : len(v)] = v
        return out

    trees = [e.tree_ for e in forest.estimators_]
    shares = []
    for tree in trees:
        value = tree.value[:, 0, :]
        shares.append(value[:, anomalous_class] / np.maximum(value.sum(axis=1), 1e-12))
    return CountModel(
        vocabulary=vocabulary,
        left=padded([t.children_left for t in trees], np.int32, -1),
        right=padded([t.children_right for t in trees], np.int32, -1),
        feature=padded([np.maximum(t.feature, 0) for t in trees], np.int32, 0),
        threshold=padded([t.threshold for t in trees], np.float64, 0.0),
        anomalous=padded(shares, np.float32, 0.0),
    )

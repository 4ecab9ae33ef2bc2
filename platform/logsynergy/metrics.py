"""Precision, recall and F1 on the anomalous class, and the threshold that maximises F1."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field


class Scores(BaseModel):
    """Precision, recall and F1 of the anomalous class, with the weighted counts behind them."""

    model_config = ConfigDict(frozen=True)

    precision: float
    recall: float
    f1: float
    tp: float
    fp: float
    fn: float


def prf(labels: np.ndarray, predicted: np.ndarray, weights: np.ndarray | None = None) -> Scores:
    """Weighted counts (a weight is how many identical windows a row stands for)."""
    w = np.ones(len(labels)) if weights is None else np.asarray(weights, dtype=float)
    y, p = np.asarray(labels).astype(bool), np.asarray(predicted).astype(bool)
    tp, fp, fn = float(w[y & p].sum()), float(w[~y & p].sum()), float(w[y & ~p].sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Scores(precision=precision, recall=recall, f1=f1, tp=tp, fp=fp, fn=fn)


def best_threshold(
    scores: np.ndarray, labels: np.ndarray, weights: np.ndarray | None = None
) -> tuple[float, float]:
    """The threshold with the highest F1 (midpoint between neighbouring scores) and that F1.

    Returns (0.5, 0.0) when the labels hold no anomaly: there is nothing to calibrate on."""
    y = np.asarray(labels).astype(bool)
    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=float)
    if not y.any():
        return 0.5, 0.0
    order = np.argsort(-scores, kind="stable")
    s, yy, ww = scores[order], y[order], w[order]
    tp = np.cumsum(ww * yy)
    fp = np.cumsum(ww * ~yy)
    total_pos = tp[-1]
    # only cut between distinct scores
    last_of_run = np.r_[s[1:] != s[:-1], True]
    precision = tp / np.maximum(tp + fp, 1e-12)
    recall = tp / total_pos
    f1 = np.where(precision + recall > 0, 2 * precision * recall / np.maximum(precision + recall, 1e-12), 0)
    f1 = np.where(last_of_run, f1, -1)
    i = int(np.argmax(f1))
    threshold = float((s[i] + s[i + 1]) / 2) if i + 1 < len(s) else float(s[i]) * 0.5
    return threshold, float(f1[i])


class FeedbackMetrics(BaseModel):
    """A detector on its target's judged windows (operators' judgements it trained on): `before`, the
    versions that flagged them (every judged window was flagged: all predicted anomalous); `after`, this
    detector's verdicts, scored as the endpoint scores a window. It learned from these windows, so `after`
    shows what it took from them, not how it generalises (the test scores do)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    judged: int
    anomalies: int
    not_anomalies: int
    train_windows: int  # judged windows trained on
    val_windows: int  # judged windows that chose the epoch and threshold with the target's validation part
    flagged_by: list[str]  # the model versions that flagged them
    before: Scores
    after: Scores


class CountCheckMetrics(BaseModel):
    """What a zero-label fit mined from the target's unlabelled sessions (logsynergy.count_checks) and
    how the served scoring was chosen: `network_flagged_share` above `expected_share` means the sources'
    threshold did not carry over and the checks serve alone; `judged_f1`, when given, chose instead."""

    model_config = ConfigDict(frozen=True)

    sessions: int
    invariants: int
    rare_at_most: float
    flagged_share: float
    network_flagged_share: float
    expected_share: float
    # F1 of each scoring on the judged validation windows, when they hold an anomaly (they chose it)
    judged_f1: dict[str, float] | None = None
    judged_windows: int = 0


class CandidateSelection(BaseModel):
    """How the served candidate was chosen on the target's labelled windows (logsynergy.selection): each
    candidate's F1 on the `windows` compared (`anomalies` of them anomalous), the count model's from
    `folds`-fold cross-fitting, the network's at its served threshold except on the windows that chose
    it, there at thresholds cross-fitted over `network_folds` folds (0: at the served threshold
    everywhere); `f1` is empty where nothing could be compared (`note` says why)."""

    model_config = ConfigDict(frozen=True)

    chosen: str  # "network" or "count-model"
    f1: dict[str, float]
    windows: int
    anomalies: int
    labelled_anomalies: int
    folds: int
    compared_on: str
    note: str
    network_folds: int = 0


class TrainingMetrics(Scores):
    """What `fit` measured: F1 on the target's later windows (never trained on), how the threshold was
    calibrated, the data it trained on and the run's settings. Saved as an artifact's metrics.json and
    carried by a training job's result."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    threshold: float
    calibration: str
    train_windows: int
    train_unique_windows: int
    target_train_windows: int
    target_labelled: int
    target_labelled_anomalies: int
    target_labels_used: bool
    test_windows: int
    test_anomalies: int
    train_seconds: float
    best_epoch: int | None = None
    val_f1: float | None = None
    target: str
    sources: list[str]
    preset: str
    seed: int
    use_lei: bool
    use_sufe: bool
    use_da: bool
    event_novelty: bool = False
    feedback: FeedbackMetrics | None = None  # with operators' judged windows (the target's feedback)
    # with count checks (logsynergy.count_checks): "network+counts" (either alarms) or "counts" (they
    # alone); "count-model": a count model on the target's labels (logsynergy.selection); None: the
    # network alone
    scoring: str | None = None
    count_checks: CountCheckMetrics | None = None
    # with target labels: which candidate serves (the network, or a count model on the target's labels)
    selection: CandidateSelection | None = None
    notes: list[str] = Field(default_factory=list)
    history: list[dict[str, float]] = Field(default_factory=list)
    total_seconds: float | None = None  # the whole run, loading and parsing included

    def summary(self) -> str:
        """One line: precision, recall, F1 and threshold (and F1 on judged windows, when there were some,
        and the candidates' F1 on the labelled part, when they were compared)."""
        line = (
            f"precision {self.precision:.3f}  recall {self.recall:.3f}  F1 {self.f1:.3f}  "
            f"threshold {self.threshold:.3f}"
        )
        if self.feedback is not None:
            before, after = self.feedback.before.f1, self.feedback.after.f1
            line += f"  judged F1 {before:.3f} -> {after:.3f} ({self.feedback.judged} windows)"
        if self.selection is not None and self.selection.f1:
            compared = ", ".join(f"{name} {f1:.3f}" for name, f1 in self.selection.f1.items())
            line += f"  serves {self.selection.chosen} ({compared} on {self.selection.compared_on})"
        return line

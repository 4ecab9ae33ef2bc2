"""The classical supervised detector many users run today: logistic regression on event-count vectors
of the target's own labelled windows (scikit-learn), on the same splits as every other method."""

from __future__ import annotations

import time

import numpy as np
from sklearn.linear_model import LogisticRegression

from logsynergy.baselines.result import BaselineResult
from logsynergy.metrics import best_threshold, prf
from logsynergy.options import TrainOptions
from logsynergy.prepare import PreparedSystem
from logsynergy.training_sets import overlap_gap, split_target
from logsynergy.windows import Window


def count_vectors(windows: list[Window], columns: dict[str, int]) -> np.ndarray:
    """log(1 + count) of each known template per window; unknown templates are ignored."""
    matrix = np.zeros((len(windows), len(columns)), np.float32)
    for i, window in enumerate(windows):
        for event in window.events:
            j = columns.get(event)
            if j is not None:
                matrix[i, j] += 1
    return np.log1p(matrix)


def fit_classical(target: PreparedSystem, options: TrainOptions) -> BaselineResult:
    """Balanced logistic regression; threshold at max F1 on the validation part (0.5 without anomalies)."""
    started = time.perf_counter()
    split = split_target(target.windows, options, overlap_gap(target))
    train = [w for w in split.train if w.label is not None]
    labels = np.array([w.label for w in train])
    columns = {t: i for i, t in enumerate(target.parser.templates)}
    if options.target_labelled == 0 or len(set(labels.tolist())) < 2:
        # no labels, or one class only: a supervised detector can only call everything normal
        test_labels = np.array([w.label or 0 for w in split.test])
        scores = prf(test_labels, np.zeros(len(test_labels), bool))
        return BaselineResult(
            scores.precision,
            scores.recall,
            scores.f1,
            1.0,
            time.perf_counter() - started,
            {"note": "no labelled anomaly in the target's training part"},
        )
    model = LogisticRegression(max_iter=2000, class_weight="balanced", C=10.0, random_state=options.seed)
    model.fit(count_vectors(train, columns), labels)
    threshold = 0.5
    val = [w for w in split.val if w.label is not None]
    if val and any(w.label for w in val):
        val_scores = model.predict_proba(count_vectors(val, columns))[:, 1]
        threshold, _ = best_threshold(val_scores, np.array([w.label for w in val]))
    test = [w for w in split.test if w.label is not None]
    test_scores = model.predict_proba(count_vectors(test, columns))[:, 1]
    measured = prf(np.array([w.label for w in test]), test_scores >= threshold)
    return BaselineResult(
        measured.precision, measured.recall, measured.f1, threshold, time.perf_counter() - started
    )

"""How fit() measures a detector: F1 on the target's later windows, never trained on, and the metrics
it reports with them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from logsynergy.calibration import Threshold
from logsynergy.feedback import JudgedWindow
from logsynergy.metrics import FeedbackMetrics, Scores, TrainingMetrics, prf
from logsynergy.model import ModelConfig
from logsynergy.options import TrainOptions
from logsynergy.prepare import PreparedSystem
from logsynergy.training import TrainResult
from logsynergy.training_sets import TargetSplit, TrainingSets
from logsynergy.windows import Window
from logsynergy.windowset import WindowSet


@dataclass(frozen=True)
class Evaluation:
    """Weighted precision, recall and F1 on the labelled test windows, and how many there were."""

    scores: Scores
    windows: int
    anomalies: int


def evaluate(test: WindowSet, scores: np.ndarray, threshold: float) -> Evaluation:
    """Alarms at scores >= `threshold` against the test windows' labels (unlabelled rows are left out)."""
    labelled = test.label >= 0
    measured = prf(test.label[labelled], scores[labelled] >= threshold, test.weight[labelled])
    return Evaluation(measured, int(test.windows), int(test.weight[test.label > 0].sum()))


def evaluate_windows(
    windows: Sequence[Window], score: Callable[[list[tuple[str, ...]]], np.ndarray], threshold: float
) -> Evaluation:
    """`evaluate` on windows scored one by one (by the detector's `score_patterns`)."""
    labelled = [w for w in windows if w.label is not None and w.label >= 0]
    labels = np.array([w.label for w in labelled], dtype=int)
    scores = score([w.events for w in labelled]) if labelled else np.zeros(0)
    return Evaluation(prf(labels, scores >= threshold), len(windows), int(labels.sum()))


def feedback_metrics(
    judged: Sequence[JudgedWindow], split: TargetSplit, scores: np.ndarray, threshold: float
) -> FeedbackMetrics | None:
    """Scores on the judged windows before (all flagged) and after (`scores` >= `threshold`); None
    without judged windows."""
    if not judged:
        return None
    labels = np.array([j.window.label for j in judged])
    anomalies = int(labels.sum())
    return FeedbackMetrics(
        judged=len(judged),
        anomalies=anomalies,
        not_anomalies=len(judged) - anomalies,
        train_windows=len(split.judged),
        val_windows=split.judged_val,
        flagged_by=sorted({j.flagged_by for j in judged}),
        before=prf(labels, np.ones(len(judged), bool)),
        after=prf(labels, np.asarray(scores) >= threshold),
    )


def training_metrics(
    *,
    target: PreparedSystem,
    sources: Sequence[PreparedSystem],
    options: TrainOptions,
    config: ModelConfig,
    sets: TrainingSets,
    training: TrainResult,
    threshold: Threshold,
    test: Evaluation,
    seconds: float,
    feedback: FeedbackMetrics | None = None,
) -> TrainingMetrics:
    """The metrics of one fit: test scores, calibration, the data trained on and the run's settings."""
    split = sets.split
    return TrainingMetrics(
        **test.scores.model_dump(),
        threshold=threshold.value,
        calibration=threshold.rule,
        train_windows=int(sets.train.windows),
        train_unique_windows=len(sets.train),
        target_train_windows=split.labelled if sets.target_labels_used else len(split.train),
        target_labelled=split.labelled,
        target_labelled_anomalies=sets.target_anomalies,
        target_labels_used=sets.target_labels_used,
        test_windows=test.windows,
        test_anomalies=test.anomalies,
        train_seconds=round(seconds, 2),
        best_epoch=training.best_epoch,
        val_f1=training.val_f1,
        target=target.spec.name,
        sources=[s.spec.name for s in sources],
        preset=options.preset,
        seed=options.seed,
        use_lei=options.use_lei,
        use_sufe=options.use_sufe,
        use_da=config.use_da,
        event_novelty=config.event_novelty,
        feedback=feedback,
        notes=split.notes + target.notes,
        history=training.history,
    )

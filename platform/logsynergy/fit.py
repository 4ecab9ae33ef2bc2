"""Fit a LogSynergy detector for a target system from prepared sources and target.

The steps live in their own modules: the event table (`event_table`), the training sets
(`training_sets`), the threshold's calibration (`calibration`) and the test metrics (`evaluation`)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from logsynergy.calibration import (
    COUNT_CHECKS_RULE,
    ScoreWindows,
    Threshold,
    choose_validation,
    final_threshold,
)
from logsynergy.count_checks import mine_count_checks
from logsynergy.detector import COUNTS, NETWORK_OR_COUNTS, Detector
from logsynergy.embedding import SentenceEmbedder
from logsynergy.evaluation import evaluate, evaluate_windows, feedback_metrics, training_metrics
from logsynergy.event_table import embedding_table
from logsynergy.metrics import CountCheckMetrics, TrainingMetrics
from logsynergy.model import ModelConfig, model_config
from logsynergy.options import DEFAULT_RUNTIME, Runtime, TrainOptions
from logsynergy.prepare import PreparedSystem, Say
from logsynergy.training import ProgressCallback, TrainResult, predict, train_model
from logsynergy.training_sets import TrainingSets, build_training_sets
from logsynergy.windows import Window


@dataclass
class FitResult:
    """The fitted detector, what it measured, the training's record and the target it was fitted for."""

    detector: Detector
    metrics: TrainingMetrics
    training: TrainResult
    target: PreparedSystem


def fit_model_config(
    options: TrainOptions, *, embed_dim: int, n_systems: int, with_sources: bool
) -> ModelConfig:
    """The preset's model with the options' overrides and what follows from the data (`embed_dim`: the
    sentence embedding's width)."""
    return model_config(
        options.preset,
        embed_dim=embed_dim + int(options.event_novelty),
        event_novelty=options.event_novelty,
        novelty_skip=options.event_novelty,
        n_systems=n_systems,
        use_sufe=options.use_sufe,
        use_da=options.use_da and with_sources,
        epochs=options.epochs,
        **options.overrides,
    )


def fit(
    target: PreparedSystem,
    sources: Sequence[PreparedSystem],
    embedder: SentenceEmbedder,
    options: TrainOptions,
    *,
    runtime: Runtime = DEFAULT_RUNTIME,
    say: Say = lambda _m: None,
    progress: ProgressCallback | None = None,
) -> FitResult:
    """Train and evaluate one detector; metrics are measured on the target's later windows."""
    started = time.perf_counter()
    systems = [*sources, target]
    table, rows = embedding_table(systems, embedder, options.use_lei)
    config = fit_model_config(
        options, embed_dim=int(table.shape[1]), n_systems=len(systems), with_sources=bool(sources)
    )
    sets = build_training_sets(target, sources, table, rows, options, max_events=config.max_events, say=say)
    validation = choose_validation(sets.target_val, sets.source_held_out)
    say(
        f"training {options.preset} model on {int(sets.train.windows):,} windows "
        f"({len(sets.train):,} unique) from {len(systems)} systems"
    )
    result = train_model(
        config,
        sets.table,
        sets.train,
        validation.windows if len(validation.windows) else None,
        seed=options.seed,
        device=runtime.device,
        progress=progress,
        show_bars=runtime.show_bars,
    )
    device_table = sets.table.to(next(result.model.parameters()).device)

    def score(windows: Sequence[Window]) -> tuple[np.ndarray, np.ndarray]:
        data = sets.target_set(windows)
        return predict(result.model, device_table, data), data.weight

    threshold = final_threshold(
        Threshold(result.threshold, validation.rule),
        sets.split,
        options,
        trained_on_labels=sets.target_labels_used,
        score=score,
    )
    result.threshold = threshold.value
    detector = Detector.from_training(
        target, result, config, embedder, _trained_vectors(sets.table, rows[-1]), options.use_lei
    )
    checks = zero_label_checks(target, sets, options, detector, score)
    if checks is None:
        test_set = sets.target_set(sets.split.test)
        test = evaluate(test_set, predict(result.model, device_table, test_set), threshold.value)
    else:
        rule = COUNT_CHECKS_RULE if detector.settings.scoring == COUNTS else threshold.rule
        threshold = Threshold(detector.settings.threshold, rule)
        test = evaluate_windows(sets.split.test, detector.score_patterns, threshold.value)
    # the judged windows as the endpoint scores them: the detector's own model path and threshold
    judged_scores = detector.score_patterns([j.window.events for j in target.judged])
    detector.metrics = training_metrics(
        target=target,
        sources=sources,
        options=options,
        config=config,
        sets=sets,
        training=result,
        threshold=threshold,
        test=test,
        seconds=time.perf_counter() - started,
        feedback=feedback_metrics(target.judged, sets.split, judged_scores, detector.settings.threshold),
    )
    if checks is not None:
        detector.metrics = detector.metrics.model_copy(
            update={"scoring": detector.settings.scoring, "count_checks": checks}
        )
    return FitResult(detector, detector.metrics, result, target)


def zero_label_checks(
    target: PreparedSystem,
    sets: TrainingSets,
    options: TrainOptions,
    detector: Detector,
    score: ScoreWindows,
) -> CountCheckMetrics | None:
    """For a session log given no target label (operators' judgements aside: the network learns from
    them, and the endpoint suppresses the patterns judged normal): mine count checks from the target's
    unlabelled sessions and give them to `detector`, alone when the network's threshold flags more than
    `expected_anomaly_share` of those sessions (it did not carry over to the target), else besides it."""
    split = sets.split
    if (
        not options.count_checks
        or target.windowing.kind != "session"
        or split.labelled
        or sets.target_labels_used
        or not split.train
    ):
        return None
    share = options.expected_anomaly_share
    checks = mine_count_checks([w.events for w in split.train], expected_share=share)
    scores, weights = score(split.train)
    network_share = float(weights[scores >= detector.settings.threshold].sum() / weights.sum())
    detector.use_count_checks(checks, COUNTS if network_share > share else NETWORK_OR_COUNTS)
    return CountCheckMetrics(
        sessions=checks.windows,
        invariants=len(checks.invariants),
        rare_at_most=checks.rare_at_most,
        flagged_share=checks.flagged_share,
        network_flagged_share=round(network_share, 6),
        expected_share=share,
    )


def _trained_vectors(table: torch.Tensor, target_rows: dict[str, int]) -> dict[str, np.ndarray]:
    """Per target template, the event vector the network was trained with (novelty included)."""
    vectors = table[list(target_rows.values())].numpy()
    return dict(zip(target_rows, vectors, strict=True))

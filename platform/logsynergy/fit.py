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
    COUNT_MODEL_RULE,
    ScoreWindows,
    Threshold,
    choose_validation,
    final_threshold,
)
from logsynergy.count_checks import CountChecks, mine_count_checks
from logsynergy.detector import COUNTS, NETWORK, NETWORK_OR_COUNTS, Detector
from logsynergy.embedding import SentenceEmbedder
from logsynergy.evaluation import evaluate, evaluate_windows, feedback_metrics, training_metrics
from logsynergy.event_table import embedding_table
from logsynergy.metrics import CandidateSelection, CountCheckMetrics, TrainingMetrics, prf
from logsynergy.model import ModelConfig, model_config
from logsynergy.options import DEFAULT_RUNTIME, Runtime, TrainOptions
from logsynergy.prepare import PreparedSystem, Say
from logsynergy.selection import COUNT_MODEL_CANDIDATE, choose_candidate
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
    selection = select_candidate(sets, options, detector)
    if selection is not None and selection.chosen == COUNT_MODEL_CANDIDATE:
        threshold = Threshold(detector.settings.threshold, COUNT_MODEL_RULE)
        test = evaluate_windows(sets.split.test, detector.score_patterns, threshold.value)
    elif checks is None:
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
    if selection is not None:
        scoring = None if detector.settings.scoring == NETWORK else detector.settings.scoring
        detector.metrics = detector.metrics.model_copy(update={"scoring": scoring, "selection": selection})
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
    `expected_anomaly_share` of those sessions (it did not carry over to the target), else besides it.
    Once the judged windows held out for validation hold an anomaly, they choose instead: the scoring
    (network, network+counts, counts) with the highest F1 on them, the rule's choice on a tie."""
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
    threshold = detector.settings.threshold
    network_share = float(weights[scores >= threshold].sum() / weights.sum())
    scoring = COUNTS if network_share > share else NETWORK_OR_COUNTS
    judged = [w for w in split.val[len(split.val) - split.judged_val :] if w.label is not None]
    judged_f1 = None
    if any(w.label == 1 for w in judged):
        judged_f1 = scoring_f1(judged, checks, detector, threshold)
        scoring = max(judged_f1, key=lambda s: (judged_f1[s], s == scoring))
    if scoring != NETWORK:
        detector.use_count_checks(checks, scoring)
    return CountCheckMetrics(
        sessions=checks.windows,
        invariants=len(checks.invariants),
        rare_at_most=checks.rare_at_most,
        flagged_share=checks.flagged_share,
        network_flagged_share=round(network_share, 6),
        expected_share=share,
        judged_f1=judged_f1,
        judged_windows=len(judged),
    )


def select_candidate(
    sets: TrainingSets, options: TrainOptions, detector: Detector
) -> CandidateSelection | None:
    """With target labels: the network or a count model on them, as logsynergy.selection chooses; the
    detector scores with the count model when it won. None: no labelled part to choose on."""
    split = sets.split
    if not options.count_model or not split.labelled:
        return None
    budget_val = split.val[: len(split.val) - split.judged_val]
    labelled = [w for w in [*split.train, *budget_val] if w.label is not None]
    if not labelled:
        return None
    scores = detector.network_scores([w.events for w in labelled])
    labelled_train = sum(1 for w in split.train if w.label is not None)
    unseen = np.ones(len(labelled), bool)
    if sets.target_labels_used:  # the network trained on the training part: compare on validation
        unseen[:labelled_train] = False
    chose_threshold = np.zeros(len(labelled), bool)  # the validation part chose the epoch and threshold
    chose_threshold[labelled_train:] = True
    threshold = detector.settings.threshold
    choice = choose_candidate(labelled, scores, threshold, unseen, chose_threshold, seed=options.seed)
    if choice.count_model is not None:
        detector.use_count_model(choice.count_model)
    return choice.selection


def scoring_f1(
    windows: Sequence[Window], checks: CountChecks, detector: Detector, threshold: float
) -> dict[str, float]:
    """F1 of each scoring on labelled windows: the network at `threshold`, the checks' flags, either."""
    labels = np.array([w.label for w in windows])
    network = detector.network_scores([w.events for w in windows]) >= threshold
    counts = np.array([checks.flags(w.events) for w in windows])
    predicted = {NETWORK: network, NETWORK_OR_COUNTS: network | counts, COUNTS: counts}
    return {name: round(prf(labels, flags).f1, 4) for name, flags in predicted.items()}


def _trained_vectors(table: torch.Tensor, target_rows: dict[str, int]) -> dict[str, np.ndarray]:
    """Per target template, the event vector the network was trained with (novelty included)."""
    vectors = table[list(target_rows.values())].numpy()
    return dict(zip(target_rows, vectors, strict=True))

"""Which of the five calibration rules sets a detector's threshold."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from logsynergy.calibration import (
    ON_SOURCES,
    ON_TARGET,
    ON_TARGET_AND_SOURCES,
    UNCALIBRATED,
    Threshold,
    choose_validation,
    final_threshold,
    normal_threshold,
)
from logsynergy.options import TrainOptions
from logsynergy.training_sets import TargetSplit
from logsynergy.windows import Window
from logsynergy.windowset import WindowSet, collapse, empty_set


def windowset(labels: Sequence[int], system: int = 0) -> WindowSet:
    windows = [Window((f"e{i}",), label, (i,)) for i, label in enumerate(labels)]
    rows = {f"e{i}": i + 1 for i in range(len(labels))}
    return collapse(windows, rows, system=system, domain=int(system == 1), max_events=8)


def test_target_anomalies_calibrate_on_the_target_alone():
    target_val, held_out = windowset([0, 1, 0], system=1), [windowset([0, 1])]
    validation = choose_validation(target_val, held_out)
    assert validation.rule == ON_TARGET and validation.windows is target_val


def test_without_target_anomalies_the_sources_held_out_windows_join():
    target_val, held_out = windowset([0, 0], system=1), [windowset([0, 1]), windowset([1, 0, 0])]
    validation = choose_validation(target_val, held_out)
    assert validation.rule == ON_TARGET_AND_SOURCES and len(validation.windows) == 2 + 2 + 3
    only_sources = choose_validation(empty_set(1), held_out)
    assert only_sources.rule == ON_SOURCES and len(only_sources.windows) == 5


def test_without_anomalies_or_sources_nothing_calibrates():
    target_val = windowset([0, 0], system=1)
    assert choose_validation(target_val, []).rule == UNCALIBRATED
    assert choose_validation(empty_set(1), []).rule == UNCALIBRATED


def split_with_normals(n: int) -> TargetSplit:
    train = [Window(("a",), 0, (i,)) for i in range(n)]
    return TargetSplit(train=train, val=[Window(("b",), 1, (n,))], test=[], notes=[], labelled=n + 1)


def test_known_normal_target_windows_replace_a_borrowed_threshold():
    options = TrainOptions(normal_quantile=0.5, normal_margin=0.0, min_normal_windows=3)
    seen: list[Sequence[Window]] = []

    def score(windows: Sequence[Window]) -> tuple[np.ndarray, np.ndarray]:
        seen.append(windows)
        return np.linspace(0.1, 0.3, len(windows)).astype(np.float32), np.ones(len(windows), np.float32)

    borrowed = Threshold(0.5, ON_SOURCES)
    result = final_threshold(borrowed, split_with_normals(5), options, trained_on_labels=False, score=score)
    assert result.rule == "target normals (q0.5 of 5)"
    assert result.value == pytest.approx(0.2)
    assert [w.label for w in seen[0]] == [0] * 5, "only known-normal windows are scored"


@pytest.mark.parametrize(
    ("rule", "options", "normals"),
    [
        (ON_TARGET, TrainOptions(min_normal_windows=1), 5),  # calibrated on target anomalies already
        (ON_SOURCES, TrainOptions(min_normal_windows=1, use_target_labels=False), 5),  # nothing known
        (ON_SOURCES, TrainOptions(min_normal_windows=6), 5),  # too few known normals
    ],
)
def test_the_trained_threshold_stays(rule: str, options: TrainOptions, normals: int):
    def score(_windows: Sequence[Window]) -> tuple[np.ndarray, np.ndarray]:
        raise AssertionError("nothing to score")

    trained = Threshold(0.42, rule)
    split = split_with_normals(normals)
    assert final_threshold(trained, split, options, trained_on_labels=False, score=score) is trained


def test_trained_on_labels_only_the_validation_slice_counts_as_known_normal():
    split = TargetSplit(
        train=[Window(("a",), 0, (i,)) for i in range(10)],
        val=[Window(("b",), 0, (10 + i,)) for i in range(2)],
        test=[],
        notes=[],
        labelled=12,
    )
    options = TrainOptions(min_normal_windows=3)

    def score(windows: Sequence[Window]) -> tuple[np.ndarray, np.ndarray]:
        return np.full(len(windows), 0.1, np.float32), np.ones(len(windows), np.float32)

    trained = Threshold(0.5, ON_TARGET_AND_SOURCES)
    assert final_threshold(trained, split, options, trained_on_labels=True, score=score) is trained
    relaxed = final_threshold(trained, split, options, trained_on_labels=False, score=score)
    assert relaxed.rule == "target normals (q0.99 of 12)"
    assert relaxed.value == pytest.approx(normal_threshold(np.array([0.1]), np.ones(1), 0.99, 0.1))

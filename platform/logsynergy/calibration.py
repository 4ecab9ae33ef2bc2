"""Where a detector's alarm threshold comes from: one of five rules, named in its metrics' `calibration`.

Before training, `choose_validation` picks the windows that choose the epoch and the max-F1 threshold:
- "target": the target's validation windows, when they hold an anomaly;
- "target+sources" / "sources": otherwise those with the sources' held-out windows (the target may have
  no validation window at all);
- "none": no anomaly to calibrate on and no source either (the training's default threshold stays).
After training, `final_threshold` replaces a threshold not calibrated on target anomalies by one over the
target's own known-normal windows when there are enough of them: "target normals (q0.99 of N)".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from logsynergy.options import TrainOptions
from logsynergy.training_sets import TargetSplit
from logsynergy.windows import Window
from logsynergy.windowset import WindowSet

ON_TARGET = "target"
ON_TARGET_AND_SOURCES = "target+sources"
ON_SOURCES = "sources"
UNCALIBRATED = "none"
COUNT_CHECKS_RULE = "count checks"  # no threshold to calibrate: the zero-label count checks alone alarm
COUNT_MODEL_RULE = "count model"  # the count model chosen on the target's labels alarms at 0.5

# scores and weights of windows (identical windows collapsed into one weighted row)
ScoreWindows = Callable[[Sequence[Window]], tuple[np.ndarray, np.ndarray]]


def on_target_normals(quantile: float, normals: int) -> str:
    """The rule's name when the threshold comes from `normals` known-normal target windows."""
    return f"target normals (q{quantile:g} of {normals})"


@dataclass(frozen=True)
class Validation:
    """The windows that choose the epoch and the threshold, and the rule that picked them."""

    windows: WindowSet
    rule: str


@dataclass(frozen=True)
class Threshold:
    """An alarm threshold (alarms fire at scores >= it) and the rule it came from."""

    value: float
    rule: str


def choose_validation(target_val: WindowSet, source_held_out: Sequence[WindowSet]) -> Validation:
    """The target's validation windows when they hold an anomaly; else together with the sources'
    held-out windows; without sources, the target's alone, with nothing to calibrate on."""
    if (target_val.label > 0).any():
        return Validation(target_val, ON_TARGET)
    if not source_held_out:
        return Validation(target_val, UNCALIBRATED)
    rule = ON_TARGET_AND_SOURCES if len(target_val) else ON_SOURCES
    return Validation(WindowSet.concat([target_val, *source_held_out]), rule)


def known_normals(split: TargetSplit, *, trained_on_labels: bool) -> list[Window]:
    """Labelled-normal target windows whose scores show the target's normal range: the whole labelled
    part when the target trained unlabelled, else only its validation slice (the rest was fitted)."""
    seen = split.val if trained_on_labels else [*split.train, *split.val]
    return [w for w in seen if w.label == 0]


def normal_threshold(scores: np.ndarray, weights: np.ndarray, quantile: float, margin: float) -> float:
    """A threshold (alarms fire at scores >= it) `margin` above the weighted `quantile` of known-normal
    scores, in logit space. The quantile is often the score of a common normal pattern itself (the
    commonest one, when it carries more than 1 - quantile of the weight): without the margin that pattern
    would alarm, or not, on a float's last bit and at another scoring precision (bfloat16)."""
    order = np.argsort(scores, kind="stable")
    cumulative = np.cumsum(weights[order]) / weights.sum()
    index = int(np.searchsorted(cumulative, quantile, side="left"))
    level = min(max(float(scores[order][min(index, len(scores) - 1)]), 1e-7), 1 - 1e-7)
    return 1.0 / (1.0 + math.exp(-(math.log(level / (1 - level)) + margin)))


def final_threshold(
    trained: Threshold,
    split: TargetSplit,
    options: TrainOptions,
    *,
    trained_on_labels: bool,
    score: ScoreWindows,
) -> Threshold:
    """`trained` (the validation's threshold and rule), unless it was not calibrated on target anomalies
    and the target has at least `min_normal_windows` known-normal windows: then a threshold above the
    `normal_quantile` of their scores. Without target labels nothing is known normal."""
    if trained.rule == ON_TARGET or not options.use_target_labels:
        return trained
    normals = known_normals(split, trained_on_labels=trained_on_labels)
    if len(normals) < options.min_normal_windows:
        return trained
    scores, weights = score(normals)
    value = normal_threshold(scores, weights, options.normal_quantile, options.normal_margin)
    return Threshold(value, on_target_normals(options.normal_quantile, len(normals)))

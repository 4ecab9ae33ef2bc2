import math

import numpy as np
import pytest

from logsynergy.calibration import known_normals, normal_threshold
from logsynergy.event_table import template_sentence
from logsynergy.options import TrainOptions
from logsynergy.training_sets import balance_systems, split_target
from logsynergy.windows import Window
from logsynergy.windowset import WindowSet, clip_events, collapse


def windows(n: int) -> list[Window]:
    return [Window((f"e{i % 3}",), i % 2, (i,)) for i in range(n)]


def test_split_is_chronological_and_capped():
    data = windows(100)
    split = split_target(data, TrainOptions(target_labelled=5000), gap=1)
    assert split.labelled == 50 and split.notes and "capped" in split.notes[0]
    seen = split.train + split.val
    assert max(w.lines[0] for w in seen) < min(w.lines[0] for w in split.test)
    assert split.test[0].lines[0] == 51  # one window of gap: overlapping windows never straddle the cut
    assert len(split.val) == 9 and len(split.train) == 40


def test_zero_label_split_keeps_unlabelled_history_for_adaptation():
    split = split_target(windows(100), TrainOptions(target_labelled=0), gap=0)
    assert split.labelled == 0 and not split.val
    assert len(split.train) == 50 and len(split.test) == 50
    # the unlabelled part carries no label, even where the log has them; the test part keeps its own
    assert all(w.label is None for w in split.train) and all(w.label is not None for w in split.test)
    # a budget set aside (thin labels, `direct`) keeps the labels the user gave
    unused = split_target(windows(100), TrainOptions(target_labelled=40, use_target_labels=False), gap=0)
    assert len(unused.train) == 40 and [w.label for w in unused.train] == [i % 2 for i in range(40)]


def test_collapse_counts_identical_windows():
    data = [Window(("a", "b"), 0, (1, 2)), Window(("a", "b"), 0, (3, 4)), Window(("a", "b"), 1, (5, 6))]
    result = collapse(data, {"a": 1, "b": 2}, system=0, domain=1, max_events=10)
    assert len(result) == 2 and result.windows == 3
    assert sorted(result.weight.tolist()) == [1.0, 2.0]
    unlabelled = collapse(data, {"a": 1, "b": 2}, system=0, domain=1, max_events=10, drop_labels=True)
    assert len(unlabelled) == 1 and unlabelled.label[0] == -1


def test_long_sessions_keep_head_and_tail():
    events = tuple(str(i) for i in range(100))
    clipped = clip_events(events, 10)
    assert clipped == ("0", "1", "2", "3", "4", "95", "96", "97", "98", "99")


def test_balance_gives_target_half_and_each_class_half():
    n_source, n_target = 1000, 100
    label = np.r_[np.zeros(990), np.ones(10), np.zeros(95), np.ones(5)].astype(np.float32)
    system = np.r_[np.zeros(n_source), np.ones(n_target)].astype(np.int64)
    data = WindowSet(np.ones((1100, 2), np.int64), label, system, system.copy(), np.ones(1100, np.float32))
    total = data.weight.sum()
    balance_systems(data, target=1, target_share=0.5)
    assert np.isclose(data.weight.sum(), total)
    target = data.system == 1
    assert np.isclose(data.weight[target].sum(), total / 2)
    assert np.isclose(data.weight[target & (data.label == 1)].sum(), total / 4)
    assert np.isclose(data.weight[~target & (data.label == 1)].sum(), total / 4)


def test_no_lei_text_drops_parameters():
    assert template_sentence("Receiving block <*> src: <*> dest: <*>") == "Receiving block src: dest:"


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def test_normal_threshold_is_a_weighted_quantile_with_a_logit_margin():
    scores = np.array([0.1, 0.2, 0.3, 0.9], np.float32)
    assert _logit(normal_threshold(scores, np.ones(4, np.float32), 0.5, margin=0.1)) == pytest.approx(
        _logit(0.2) + 0.1
    )
    # 97 windows collapsed onto 0.3: the 99th percentile of all 100 windows is 0.3, not the outlier 0.9
    weights = np.array([1, 1, 97, 1], np.float32)
    assert normal_threshold(scores, weights, 0.99, margin=0.0) == pytest.approx(0.3)
    assert normal_threshold(scores, np.ones(4, np.float32), 1.0, margin=0.0) == pytest.approx(0.9)


def test_the_commonest_normal_pattern_at_the_quantile_never_alarms():
    # the known normals' commonest pattern is the quantile itself; bfloat16 scores it a little higher
    scores = np.array([0.05, 0.3, 0.4651, 0.9], np.float32)
    weights = np.array([1, 1, 227, 1], np.float32)
    threshold = normal_threshold(scores, weights, 0.99, TrainOptions().normal_margin)
    assert threshold > 0.4651 + 0.005
    served = np.array([0.4651, 0.4671, 0.5767], np.float32)  # fp32, bf16 (+0.002), the lowest anomaly
    assert (served >= threshold).tolist() == [False, False, True]


def test_known_normals_exclude_windows_the_labels_were_fitted_on():
    windows = [Window((f"t{i}",), i % 5 == 0, (i,)) for i in range(100)]
    options = TrainOptions(target_labelled=40)
    split = split_target(windows, options, gap=0)
    fitted = known_normals(split, trained_on_labels=True)
    assert fitted == [w for w in split.val if w.label == 0] and fitted
    unlabelled = known_normals(split, trained_on_labels=False)
    assert unlabelled == [w for w in windows[:40] if w.label == 0]


def test_model_overrides_cannot_set_what_fit_derives():
    from pydantic import ValidationError

    from logsynergy.errors import ConfigError

    for name in ("event_novelty", "novelty_skip", "use_da", "embed_dim"):
        with pytest.raises(ValidationError, match=f"cannot set {name}"):
            TrainOptions(overrides={name: False})
        with pytest.raises(ConfigError, match=f"cannot set {name}"):
            TrainOptions.parse({"overrides": {name: False}}, "job options")


def test_options_are_bounded_and_typed():
    from logsynergy.errors import ConfigError

    for bad in (
        {"epochs": -5},
        {"epochs": 10**12},
        {"seed": 2**80},
        {"target_labelled": 10**30},
        {"use_lei": "no"},
        {"overrides": {"hidden": "wide"}},
        {"overrides": {"nope": 1}},
        {"preset": "huge"},
        {"unknown_option": 1},
    ):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            TrainOptions.parse(bad)
    parsed = TrainOptions.parse({"epochs": 2, "overrides": {"hidden": 64}, "target_share": None})
    assert (parsed.epochs, parsed.overrides, parsed.target_share) == (2, {"hidden": 64}, None)

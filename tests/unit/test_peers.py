"""LogLead peers in the benchmark: method names, bench configs, and the adapter on synthetic windows
(the adapter's tests skip when the optional `loglead` package is not installed)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from logsynergy.baselines.peers import (
    MODELS,
    PEER_METHODS,
    fit_peer,
    line_features,
    loglead_available,
    parse_method,
    window_frame,
)
from logsynergy.bench.config import METHODS, parse_bench
from logsynergy.bench.methods import RUNNERS
from logsynergy.bench.runner import run_bench
from logsynergy.errors import ConfigError
from logsynergy.interpret import make_interpreter
from logsynergy.options import TrainOptions
from logsynergy.prepare import PreparedSystem, prepare_system
from logsynergy.synthetic import write_demo_systems
from logsynergy.systems import load_systems
from logsynergy.training_sets import overlap_gap, split_target
from logsynergy.windows import Window

needs_loglead = pytest.mark.skipif(not loglead_available(), reason="optional loglead package not installed")

MESSAGES = [
    "Receiving block blk_1 src: /10.0.0.1:50010 dest: /10.0.0.2:50010",
    "Receiving block blk_2 src: /10.0.0.3:50010 dest: /10.0.0.4:50010",
    "PacketResponder 1 for block blk_1 terminating",
    "PacketResponder 2 for block blk_2 terminating",
    "Exception in receiveBlock for block blk_2 java.io.IOException: Connection reset by peer",
]


def test_every_model_on_both_vectors_is_a_runner_but_not_a_default_method():
    assert len(PEER_METHODS) == len(MODELS) * 2 == 22
    assert {"loglead-dt-words", "loglead-lr-events", "loglead-oov-words"} <= set(PEER_METHODS)
    assert set(PEER_METHODS) <= set(RUNNERS)
    assert not set(PEER_METHODS) & set(METHODS)
    assert parse_method("loglead-kmeans-events") == ("kmeans", "events")
    for wrong in ("loglead-dt", "loglead-cnn-words", "loglead-dt-chars", "peer-dt-words"):
        with pytest.raises(ConfigError):
            parse_method(wrong)


def _config(tmp_path: Path, methods: list[str]) -> dict:
    systems = write_demo_systems(tmp_path, n_lines=200, seed=0)
    return {"systems_file": str(systems), "experiments": [{"target": "payments"}], "methods": methods}


def test_bench_config_rejects_an_unknown_peer(tmp_path: Path):
    with pytest.raises(ConfigError, match=r"loglead-cnn-words.*loglead-<model>-<features>"):
        parse_bench(_config(tmp_path, ["classical", "loglead-cnn-words"]), tmp_path)


@needs_loglead
def test_bench_config_accepts_peers(tmp_path: Path):
    config = parse_bench(_config(tmp_path, ["classical", "loglead-dt-words"]), tmp_path)
    assert config.methods == ("classical", "loglead-dt-words")


@needs_loglead
def test_loglead_masks_parses_and_splits_every_line():
    features = line_features(MESSAGES, [10, 11, 12, 13, 14])
    events = features.events
    assert events[0] == events[1] and events[2] == events[3]  # ids and numbers masked away
    assert len({events[0], events[2], events[4]}) == 3
    assert features.words[2] == ["PacketResponder", "1", "for", "block", "blk_1", "terminating"]
    assert features.row == {10: 0, 11: 1, 12: 2, 13: 3, 14: 4}


@needs_loglead
def test_each_log_gets_its_own_drain():
    """LogLead's parse_drain shares one miner per process; ours must not depend on what came before."""
    alone = line_features(MESSAGES, range(5)).events
    line_features(["something else entirely 1", "and another thing"], range(2))
    assert line_features(MESSAGES, range(5)).events == alone


@needs_loglead
def test_window_frame_holds_each_windows_events_words_and_label():
    features = line_features(MESSAGES, [10, 11, 12, 13, 14])
    windows = [Window(("a", "b"), 0, (10, 12)), Window(("a", "b", "c"), 1, (11, 13, 14))]
    frame = window_frame(windows, features)
    assert frame["e_event_drain_id"].to_list() == [
        [features.events[0], features.events[2]],
        [features.events[1], features.events[3], features.events[4]],
    ]
    assert frame["e_event_id_len"].to_list() == [2, 3]
    assert frame["e_words_len"].to_list() == [
        len(MESSAGES[0].split()) + 6,
        sum(len(MESSAGES[i].split()) for i in (1, 3, 4)),
    ]
    assert frame["anomaly"].to_list() == [False, True]
    assert window_frame(windows, features, labelled=False)["anomaly"].to_list() == [False, False]


@pytest.fixture(scope="module")
def payments(tmp_path_factory: pytest.TempPathFactory) -> PreparedSystem:
    specs = load_systems(write_demo_systems(tmp_path_factory.mktemp("peers"), n_lines=3000, seed=2))
    return prepare_system(specs["payments"], make_interpreter("offline"))


def _test_labels(system: PreparedSystem, options: TrainOptions) -> np.ndarray:
    split = split_target(system.windows, options, overlap_gap(system))
    return np.array([w.label for w in split.test if w.label is not None])


@needs_loglead
@pytest.mark.parametrize("name", ["loglead-dt-words", "loglead-lr-events", "loglead-oov-events"])
def test_peer_detects_synthetic_faults_on_the_usual_split(payments: PreparedSystem, name: str):
    options = TrainOptions(target_labelled=300, seed=0)
    model, features = parse_method(name)
    result = fit_peer(payments, options, model, features)
    labels = _test_labels(payments, options)
    assert labels.sum() > 0
    assert result.f1 > 0.5, result
    assert result.extra["train_windows"] <= 300 and result.extra["parse_seconds"] > 0
    assert 0 <= result.precision <= 1 and result.train_seconds > 0


@needs_loglead
def test_seeded_models_repeat_and_the_global_generator_is_left_alone(payments: PreparedSystem):
    options = TrainOptions(target_labelled=300, seed=3)
    np.random.seed(7)
    first = fit_peer(payments, options, "rf", "words")
    after = np.random.random()
    np.random.seed(7)
    again = fit_peer(payments, options, "rf", "words")
    assert np.random.random() == after
    assert (first.precision, first.recall, first.f1) == (again.precision, again.recall, again.f1)


@needs_loglead
def test_a_supervised_peer_without_labelled_anomalies_calls_everything_normal(payments: PreparedSystem):
    options = TrainOptions(target_labelled=0, seed=0)
    result = fit_peer(payments, options, "lr", "events")
    assert (result.recall, result.f1) == (0.0, 0.0)
    assert "one class only" in result.extra["note"]
    unsupervised = fit_peer(payments, options, "if", "events")
    assert unsupervised.extra["train_windows"] > 0 and "note" not in unsupervised.extra


def test_a_config_naming_peers_fails_early_without_loglead(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(sys.modules, "loglead", None)  # as if the `peers` extra were not installed
    with pytest.raises(ConfigError, match=r"loglead-dt-words need.*optional LogLead package.*\[peers\]"):
        parse_bench(_config(tmp_path, ["classical", "loglead-dt-words"]), tmp_path)
    assert parse_bench(_config(tmp_path, ["classical"]), tmp_path).methods == ("classical",)


@needs_loglead
def test_bench_runs_peers_beside_our_methods(tmp_path: Path):
    config = _config(tmp_path, ["classical", "loglead-dt-words", "loglead-oov-events"])
    config["experiments"] = [{"target": "payments", "target_labelled": [100]}]
    config["seeds"] = [0, 1]
    results = run_bench(parse_bench(config, tmp_path), tmp_path / "out", say=lambda _m: None)
    runs = results["runs"]
    assert [(r["method"], r["seed"]) for r in runs] == [
        (m, s) for s in (0, 1) for m in ("classical", "loglead-dt-words", "loglead-oov-events")
    ]
    assert all(0.0 <= r["f1"] <= 1.0 and r["train_seconds"] >= 0 for r in runs)
    assert "| loglead-dt-words |" in (tmp_path / "out" / "results.md").read_text()


@needs_loglead
def test_a_peer_its_library_cannot_fit_calls_everything_normal_and_says_why(payments: PreparedSystem):
    """LOF learns from the normal windows of the budget; with one (BGL 30 % into its log) it cannot fit:
    the run is recorded with a note instead of ending the benchmark."""
    import dataclasses

    labelled = [dataclasses.replace(w, label=int(i > 0)) for i, w in enumerate(payments.windows[:100])]
    mostly_anomalous = dataclasses.replace(payments, windows=[*labelled, *payments.windows[100:]])
    result = fit_peer(mostly_anomalous, TrainOptions(target_labelled=100, seed=0), "lof", "events")
    assert (result.recall, result.f1) == (0.0, 0.0)
    assert "could not be fitted" in result.extra["note"]

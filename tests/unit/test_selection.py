"""The count model (numpy scoring of a scikit-learn forest) and the choice between it and the network on
a target's labelled windows: the count model must win, the network must win, no labelled anomaly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier

from logsynergy.count_model import TREES, CountModel, fit_count_model
from logsynergy.metrics import prf
from logsynergy.selection import COUNT_MODEL_CANDIDATE, NETWORK_CANDIDATE, choose_candidate
from logsynergy.windows import Window


def both(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Every window unseen by the network and among those that chose its threshold."""
    return np.ones(n, bool), np.ones(n, bool)


def patterns(n: int, seed: int = 0) -> list[tuple[str, ...]]:
    rng = np.random.default_rng(seed)
    return [tuple(rng.choice(list("abcdef"), int(rng.integers(2, 12)))) for _ in range(n)]


def retried_twice(pattern: tuple[str, ...]) -> int:
    """The labelling rule of these tests: a window is anomalous when it holds 'a' three times or more."""
    return int(pattern.count("a") >= 3)


def windows(items: list[tuple[str, ...]], labels: list[int]) -> list[Window]:
    return [
        Window(events=p, lines=(i,), label=y, session=None)
        for i, (p, y) in enumerate(zip(items, labels, strict=True))
    ]


def test_numpy_scoring_matches_the_forest_and_survives_a_round_trip(tmp_path: Path):
    train = patterns(300)
    labels = [retried_twice(p) for p in train]
    model = fit_count_model(train, labels, seed=0)
    forest = RandomForestClassifier(n_estimators=TREES, random_state=0, n_jobs=1)
    forest.fit(model.counts(train), labels)
    unseen = [(*p, "new-event") for p in patterns(100, seed=1)]  # events outside the vocabulary
    for batch in (train, unseen):
        expected = forest.predict_proba(model.counts(batch))[:, 1]
        np.testing.assert_allclose(model.score(batch), expected, atol=1e-6)
    model.save(tmp_path / "count_model.npz")
    again = CountModel.load(tmp_path / "count_model.npz")
    np.testing.assert_array_equal(again.score(unseen), model.score(unseen))
    assert again.vocabulary == model.vocabulary == tuple("abcdef")


def test_the_count_model_wins_where_the_network_misses_what_counts_show():
    items = patterns(200)
    labels = [retried_twice(p) for p in items]
    assert 5 <= sum(labels) < 100
    labelled = windows(items, labels)
    network = np.zeros(len(items))  # a transferred network that flags nothing on this target
    choice = choose_candidate(labelled, network, 0.5, *both(len(items)), seed=0)
    selection = choice.selection
    assert selection.chosen == COUNT_MODEL_CANDIDATE and choice.count_model is not None
    # constant scores: the best a threshold chosen on them can do is flag every window
    assert selection.f1[NETWORK_CANDIDATE] < 0.3 and selection.f1[COUNT_MODEL_CANDIDATE] > 0.8
    assert (
        selection.folds == 5 and selection.windows == 200 and selection.compared_on == "every labelled window"
    )
    fresh = patterns(100, seed=2)
    agreed = (choice.count_model.score(fresh) >= 0.5) == np.array([bool(retried_twice(p)) for p in fresh])
    assert agreed.mean() > 0.9


def test_the_network_wins_where_it_sees_what_counts_cannot():
    """Anomalies the event counts cannot tell (same counts, other order): the cross-fitted count model
    cannot find them, a network that does keeps serving."""
    items = [("open", "write", "close")] * 150 + [("close", "write", "open")] * 30
    labels = [0] * 150 + [1] * 30
    assert sum(labels) >= 2
    network = np.array(labels, float)  # the network finds every one
    choice = choose_candidate(windows(items, labels), network, 0.5, *both(len(items)), seed=0)
    assert choice.selection.chosen == NETWORK_CANDIDATE and choice.count_model is None
    assert choice.selection.f1[NETWORK_CANDIDATE] == 1.0
    assert choice.selection.f1[COUNT_MODEL_CANDIDATE] < 1.0


def test_a_tie_keeps_the_network():
    items = patterns(200)
    labels = [retried_twice(p) for p in items]
    perfect = np.array(labels, float)
    choice = choose_candidate(windows(items, labels), perfect, 0.5, *both(200), seed=0)
    assert choice.selection.chosen == NETWORK_CANDIDATE


@pytest.mark.parametrize("anomalies", [0, 1])
def test_without_two_labelled_anomalies_the_network_serves_and_says_why(anomalies: int):
    items = patterns(100)
    labels = [0] * 100
    for i in range(anomalies):
        labels[10 + i] = 1
    choice = choose_candidate(windows(items, labels), np.zeros(100), 0.5, *both(100), seed=0)
    assert choice.selection.chosen == NETWORK_CANDIDATE and choice.count_model is None
    assert choice.selection.f1 == {} and "too few" in choice.selection.note


def test_only_windows_the_network_never_trained_on_are_compared():
    """A network trained on the labelled training part is compared on the validation part only: there
    it misses everything, so the count model wins although the network is perfect in-sample."""
    items = patterns(200)
    labels = [retried_twice(p) for p in items]
    network = np.array(labels, float)
    unseen = np.zeros(200, bool)
    unseen[160:] = True
    network[160:] = 0.0
    assert sum(labels[160:]) > 0
    choice = choose_candidate(windows(items, labels), network, 0.5, unseen, unseen, seed=0)
    selection = choice.selection
    assert selection.chosen == COUNT_MODEL_CANDIDATE and selection.compared_on == "the validation part"
    assert selection.windows == 40 and selection.anomalies == sum(labels[160:])


def test_the_network_is_judged_at_thresholds_chosen_on_other_folds():
    """Two labelled anomalies, scored 0.9 and 0.6 by the network, some normals at 0.55: the threshold
    served (chosen on these windows) separates them, F1 1.0 in hindsight; chosen on the other fold, the
    anomaly at 0.6 falls below the 0.9 fold's cut. The count model, cross-fitted as well, sees the same
    count of retries in both and wins, where the served threshold's hindsight would have kept the network."""
    rng = np.random.default_rng(0)
    normals = [p for p in patterns(300) if not retried_twice(p)][:120]
    items = [*normals, ("a", "a", "a", "b"), ("a", "a", "a", "b")]
    labels = [0] * len(normals) + [1, 1]
    scores = np.r_[np.where(rng.random(len(normals)) < 0.25, 0.55, 0.1), 0.9, 0.6]
    served = 0.575  # the max-F1 threshold on these very windows
    assert prf(np.array(labels), scores >= served).f1 == 1.0
    every = np.ones(len(items), bool)
    choice = choose_candidate(windows(items, labels), scores, served, every, every, seed=0)
    selection = choice.selection
    assert selection.network_folds == 2 and selection.f1[NETWORK_CANDIDATE] < 1.0
    assert selection.chosen == COUNT_MODEL_CANDIDATE and selection.f1[COUNT_MODEL_CANDIDATE] == 1.0
    # windows that did not choose the threshold are judged at it: out of sample, the network keeps it
    kept = choose_candidate(windows(items, labels), scores, served, every, ~every, seed=0).selection
    assert kept.network_folds == 0 and kept.f1[NETWORK_CANDIDATE] == 1.0 and kept.chosen == NETWORK_CANDIDATE


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory):
    from logsynergy.interpret import make_interpreter
    from logsynergy.prepare import prepare_system
    from logsynergy.synthetic import write_demo_systems
    from logsynergy.systems import load_systems

    root = tmp_path_factory.mktemp("selection")
    specs = load_systems(write_demo_systems(root, n_lines=4000, seed=4))
    interpreter = make_interpreter()
    return {name: prepare_system(specs[name], interpreter) for name in ("payments", "storage")}


def labelled_fit(prepared, **changes):
    from logsynergy.embedding import SentenceEmbedder
    from logsynergy.fit import fit
    from logsynergy.options import TrainOptions

    options = TrainOptions(
        target_labelled=300, epochs=2, overrides={"hidden": 64, "ffn": 128, "batch_size": 64}
    ).model_copy(update=changes)
    return fit(prepared["payments"], [prepared["storage"]], SentenceEmbedder(), options)


def test_a_fit_whose_network_learned_nothing_serves_the_count_model(prepared, tmp_path: Path):
    """A network trained at a vanishing learning rate knows nothing: the fit serves the count model, says
    so in its metrics, and its artifact scores with it after a round trip."""
    from logsynergy.detector import COUNT_MODEL, Detector
    from logsynergy.errors import ArtifactError

    result = labelled_fit(prepared, overrides={"hidden": 64, "ffn": 128, "batch_size": 64, "lr": 1e-9})
    metrics, detector = result.metrics, result.detector
    selection = metrics.selection
    assert selection is not None and selection.chosen == COUNT_MODEL_CANDIDATE
    assert selection.f1[COUNT_MODEL_CANDIDATE] > selection.f1[NETWORK_CANDIDATE]
    assert selection.compared_on == "the validation part" and selection.anomalies > 0
    assert metrics.scoring == COUNT_MODEL and metrics.calibration == "count model"
    assert metrics.threshold == 0.5
    assert "serves count-model" in metrics.summary()
    patterns = [w.events for w in prepared["payments"].windows[-300:]]
    loaded = Detector.load(detector.save(tmp_path / "det"))
    assert loaded.settings.scoring == COUNT_MODEL and loaded.metrics.selection == selection
    np.testing.assert_array_equal(loaded.score_patterns(patterns), detector.count_model.score(patterns))
    (tmp_path / "det" / "count_model.npz").unlink()
    with pytest.raises(ArtifactError, match=r"count_model\.npz"):
        Detector.load(tmp_path / "det")


def test_without_the_option_the_network_serves_unexamined(prepared):
    result = labelled_fit(prepared, count_model=False)
    assert result.metrics.selection is None and result.metrics.scoring is None
    assert result.detector.settings.scoring == "network" and result.detector.count_model is None

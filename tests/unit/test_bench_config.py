"""bench.yaml: experiments may run methods of their own (e.g. the label-free ones at 0 labels)."""

from __future__ import annotations

from pathlib import Path

import pytest

from logsynergy.bench.config import load_bench, parse_bench
from logsynergy.errors import ConfigError

SYSTEMS = [{"name": n, "format": "jsonl", "path": f"{n}.jsonl"} for n in ("a", "b")]


def test_an_experiment_may_run_a_subset_of_the_methods(tmp_path: Path):
    config = parse_bench(
        {
            "systems": SYSTEMS,
            "methods": ["logsynergy", "direct", "classical"],
            "experiments": [
                {"target": "a", "target_labelled": [100]},
                {"target": "b", "target_labelled": [0], "methods": ["logsynergy", "direct"]},
            ],
        },
        tmp_path,
    )
    assert config.experiments[0].methods is None
    assert config.experiments[1].methods == ("logsynergy", "direct")


@pytest.mark.parametrize("methods", [["no-such-method"], [], "direct"])
def test_an_experiment_names_only_known_methods(tmp_path: Path, methods):
    data = {
        "systems": SYSTEMS,
        "methods": ["logsynergy", "direct"],
        "experiments": [{"target": "a", "methods": methods}],
    }
    with pytest.raises(ConfigError, match="experiment 1 methods"):
        parse_bench(data, tmp_path)


def test_the_shipped_bench_has_a_zero_label_experiment_per_public_target():
    pytest.importorskip("loglead")
    config = load_bench(Path(__file__).parents[2] / "examples" / "bench.yaml")
    zero = {e.target: e for e in config.experiments if e.target_labelled == (0,)}
    assert set(zero) == {"bgl", "hdfs", "openstack", "thunderbird"}
    for experiment in zero.values():
        assert experiment.methods is not None and "logsynergy" in experiment.methods
        assert not {"target-only", "classical", "loglead-lr-events"} & set(experiment.methods)


def test_the_shipped_bench_is_the_grid_budgets_split_points_and_seeds():
    pytest.importorskip("loglead")
    config = load_bench(Path(__file__).parents[2] / "examples" / "bench.yaml")
    targets = ("bgl", "hdfs", "openstack", "thunderbird")
    labelled = [e for e in config.experiments if e.target_labelled != (0,)]
    for target in targets:
        budgets = {n for e in labelled if (e.target, e.start) == (target, 0.0) for n in e.target_labelled}
        assert {50, 100} < budgets  # a larger budget too
        assert {e.start for e in labelled if e.target == target} == {0.0, 0.3, 0.6}
    assert len({e.name for e in config.experiments}) == len(config.experiments) and len(config.seeds) >= 3
    assert sum(m.startswith("loglead-") for m in config.methods) == 22
    assert not any(m.startswith("logsynergy-") for m in config.methods)  # ablations: their sub-grid


def test_the_ablations_run_on_a_sub_grid_of_the_bench():
    examples = Path(__file__).parents[2] / "examples"
    ablations = load_bench(examples / "bench-ablations.yaml")
    assert {"logsynergy-no-lei", "logsynergy-no-sufe", "logsynergy-no-da"} <= set(ablations.methods)
    grid = load_bench(examples / "bench.yaml") if _has_loglead() else None
    if grid is not None:
        cells = {(e.target, e.start, n) for e in grid.experiments for n in e.target_labelled}
        assert {(e.target, e.start, n) for e in ablations.experiments for n in e.target_labelled} <= cells


def _has_loglead() -> bool:
    import importlib.util

    return importlib.util.find_spec("loglead") is not None


def test_the_small_budget_grid_runs_every_public_target_at_50_and_100():
    pytest.importorskip("loglead")
    config = load_bench(Path(__file__).parents[2] / "examples" / "bench-budgets.yaml")
    assert {e.target: e.target_labelled for e in config.experiments} == {
        target: (50, 100) for target in ("bgl", "hdfs", "openstack", "thunderbird")
    }
    assert len(config.seeds) >= 3 and "logsynergy" in config.methods
    assert sum(m.startswith("loglead-") for m in config.methods) == 22


def test_a_later_split_point_names_its_experiment_and_drops_the_logs_start(tmp_path: Path):
    from logsynergy.bench.runner import starting_at
    from logsynergy.prepare import PreparedSystem
    from logsynergy.windows import Window, WindowSettings

    data = {
        "systems": SYSTEMS,
        "methods": ["logsynergy"],
        "experiments": [{"target": "a", "sources": ["b"]}, {"target": "a", "sources": ["b"], "start": 0.3}],
    }
    first, later = parse_bench(data, tmp_path).experiments
    assert (first.name, first.start) == ("a-from-b", 0.0)
    assert (later.name, later.start) == ("a-from-b-at-30", 0.3)
    windows = [Window(events=(str(i),), label=0, lines=(i,)) for i in range(10)]
    # only the windows matter to a split point
    target = PreparedSystem(None, None, None, windows, WindowSettings(), None)  # type: ignore[arg-type]
    assert starting_at(target, 0.0) is target
    assert [w.lines for w in starting_at(target, 0.3).windows] == [(i,) for i in range(3, 10)]


@pytest.mark.parametrize("start", [1.0, -0.1, "half", True])
def test_a_split_point_outside_the_log_is_refused(tmp_path: Path, start):
    data = {"systems": SYSTEMS, "methods": ["logsynergy"], "experiments": [{"target": "a", "start": start}]}
    with pytest.raises(ConfigError, match="start must be a share"):
        parse_bench(data, tmp_path)


def test_the_split_point_grid_starts_every_public_target_later_in_its_log():
    pytest.importorskip("loglead")
    config = load_bench(Path(__file__).parents[2] / "examples" / "bench-splits.yaml")
    starts = {(e.target, e.start) for e in config.experiments}
    assert starts == {(t, s) for t in ("bgl", "hdfs", "openstack", "thunderbird") for s in (0.3, 0.6)}
    assert len({e.name for e in config.experiments}) == 8 and len(config.seeds) >= 3

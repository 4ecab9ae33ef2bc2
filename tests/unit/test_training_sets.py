"""The training sets fit() builds: the target's split, trusted or untrusted labels, novelty, weights."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
import torch

from logsynergy.errors import InputError
from logsynergy.interpret import InterpretationStore
from logsynergy.options import TrainOptions
from logsynergy.parsing import LogParser
from logsynergy.prepare import PreparedSystem
from logsynergy.records import LoadedLog, LoadReport
from logsynergy.systems import SystemSpec
from logsynergy.training_sets import build_training_sets, overlap_gap, thin_target_labels
from logsynergy.windows import Window, WindowSettings
from logsynergy.windowset import UNLABELLED

EVENTS = ("a", "b", "c")


def system(name: str, labels: Sequence[int], windowing: WindowSettings | None = None) -> PreparedSystem:
    windows = [Window((EVENTS[i % 3], EVENTS[(i + 1) % 3]), label, (i,)) for i, label in enumerate(labels)]
    spec = SystemSpec(name=name, format="jsonl", path=Path(f"{name}.jsonl"))
    log = LoadedLog([], LoadReport(path=str(spec.path)))
    return PreparedSystem(
        spec, log, LogParser(), windows, windowing or WindowSettings(), InterpretationStore()
    )


def every(k: int, n: int) -> list[int]:
    """`n` window labels, every `k`-th anomalous."""
    return [int(i % k == 0) for i in range(n)]


def table_for(systems: Sequence[PreparedSystem]) -> tuple[torch.Tensor, list[dict[str, int]]]:
    rows = [{e: 1 + k * len(EVENTS) + i for i, e in enumerate(EVENTS)} for k in range(len(systems))]
    return torch.ones(1 + len(EVENTS) * len(systems), 4), rows


def build(target: PreparedSystem, sources: Sequence[PreparedSystem], options: TrainOptions, say=None):
    table, rows = table_for([*sources, target])
    return build_training_sets(
        target, sources, table, rows, options, max_events=8, say=say or (lambda _m: None)
    )


def test_overlap_gap_follows_the_declared_windowing():
    labels = [0] * 20
    assert overlap_gap(system("t", labels, WindowSettings("sliding", 10, 5))) == 1
    assert overlap_gap(system("t", labels, WindowSettings("sliding", 10, 3))) == 3
    assert overlap_gap(system("t", labels, WindowSettings("sliding", 5, 10))) == 0
    assert overlap_gap(system("t", labels, WindowSettings("session", 10, 5))) == 0
    assert overlap_gap(system("t", [0], WindowSettings("sliding", 10, 5))) == 0, "one window overlaps nothing"


def test_trusted_target_labels_train_labelled_and_validate():
    target = system("t", every(4, 200))  # 25 anomalous windows in the first 100
    source = system("s", every(3, 300))
    sets = build(target, [source], TrainOptions(target_labelled=100, source_windows=100))
    assert sets.target_labels_used and sets.target_anomalies == sum(w.label for w in sets.split.train)
    target_rows = sets.train.system == 1
    assert (sets.train.label[target_rows] >= 0).all()
    assert len(sets.split.train) == 80 and len(sets.split.val) == 19 and sets.split.test[0].lines == (101,)
    assert len(sets.source_held_out) == 1 and sets.source_held_out[0].windows == 10
    assert sets.table.shape == (1 + 2 * len(EVENTS), 5), "event novelty adds a column"
    # the target carries half of the weight, and anomalies half of each system's
    total = sets.train.weight.sum()
    assert sets.train.weight[target_rows].sum() == pytest.approx(total / 2)


def test_thin_target_labels_train_the_target_unlabelled():
    labels = [int(i in (3, 40)) for i in range(200)]  # 2 labelled anomalies < min_target_anomalies
    said: list[str] = []
    options = TrainOptions(target_labelled=100, source_windows=100, event_novelty=False)
    sets = build(system("t", labels), [system("s", every(3, 300))], options, said.append)
    assert not sets.target_labels_used and sets.target_anomalies == 2
    assert (sets.train.label[sets.train.system == 1] == UNLABELLED).all()
    assert sets.split.labelled == 100, "the labelled split stays: its anomalies still calibrate"
    assert any("only 2 labelled anomalous windows" in m for m in said)
    assert sets.table.shape[1] == 4


def test_thin_labels_without_any_anomaly_resplit_unlabelled():
    options = TrainOptions(target_labelled=100, source_windows=100)
    sets = build(system("t", [0] * 200), [system("s", every(3, 300))], options)
    assert not sets.target_labels_used and sets.split.labelled == 0
    assert not sets.split.val and len(sets.split.train) == 100 and len(sets.target_val) == 0


def test_without_sources_thin_labels_are_still_used():
    options = TrainOptions(target_labelled=100)
    assert not thin_target_labels(2, options, with_sources=False)
    assert thin_target_labels(2, options, with_sources=True)
    assert not thin_target_labels(2, options.model_copy(update={"target_labelled": 0}), with_sources=True)
    sets = build(system("t", [int(i in (3, 40)) for i in range(200)]), [], options)
    assert sets.target_labels_used


def test_a_target_too_short_to_test_or_without_labels_is_refused():
    with pytest.raises(InputError, match="too few windows"):
        build(system("t", [0, 1]), [], TrainOptions(target_labelled=1))
    with pytest.raises(InputError, match="no labelled windows"):
        build(system("t", [0] * 50), [], TrainOptions(target_labelled=0))


def test_source_samples_are_seeded():
    target, source = (
        system("t", every(4, 200)),
        system("s", every(3, 900)),
    )
    options = TrainOptions(target_labelled=100, source_windows=50)
    first, again = build(target, [source], options), build(target, [source], options)
    assert np.array_equal(first.train.weight, again.train.weight)
    assert first.train.windows == 45 + 80 and first.source_held_out[0].windows == 5

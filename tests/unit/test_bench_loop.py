"""bench-loop: the operator loop's pieces and a whole loop on synthetic logs (tiny models, about a second
a training): patterns as the contract computes them, suppression, the operator, the feedback file as
training reads it, labels withheld from training, judged windows never measured, and judgements that
raise F1."""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from logsynergy.bench_loop.incidents import (
    ANOMALY,
    NOT_ANOMALY,
    IncidentBook,
    judge_top,
    pattern_id,
    write_feedback,
)
from logsynergy.bench_loop.loop import Scored, measure, run_target, score_windows, write_systems
from logsynergy.bench_loop.runner import run_bench_loop
from logsynergy.bench_loop.settings import LoopSettings
from logsynergy.bench_loop.stream import TargetStream, cut_chunks, load_stream
from logsynergy.embedding import SentenceEmbedder
from logsynergy.errors import ConfigError
from logsynergy.feedback import read_judgements
from logsynergy.interpret import make_interpreter
from logsynergy.loaders import load_log
from logsynergy.pipeline import train
from logsynergy.prepare import prepare_system
from logsynergy.synthetic import write_demo_systems
from logsynergy.systems import SystemSpec, load_systems
from logsynergy_contracts import pattern_id as contract_pattern_id

TARGET, SOURCES = "payments", ("storage", "compute")
TINY = LoopSettings(
    chunks=3,
    per_round=3,
    epochs=2,
    source_windows=800,
    overrides={"hidden": 32, "ffn": 64, "min_steps": 60},
)


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


@pytest.fixture(scope="module", params=["sliding", "session"])
def systems(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, SystemSpec]:
    """Synthetic labelled systems (JSON lines, a label on each line), sliding or session windows."""
    folder = tmp_path_factory.mktemp(request.param)
    manifest = write_demo_systems(folder, n_lines=2000, seed=1, sessions=request.param == "session")
    return load_systems(manifest)


@pytest.fixture(scope="module")
def sliding(tmp_path_factory: pytest.TempPathFactory) -> dict[str, SystemSpec]:
    return load_systems(write_demo_systems(tmp_path_factory.mktemp("s"), n_lines=2000, seed=1))


@pytest.fixture(scope="module")
def embedder() -> SentenceEmbedder:
    return SentenceEmbedder()


def stream_of(specs: dict[str, SystemSpec]) -> TargetStream:
    return load_stream(specs[TARGET])


# ------------------------------------------------------------------------------------ incidents
def test_pattern_ids_are_the_contracts():
    for ids in [("a",), ("b", "a", "b"), ("t1", "t2", "t3", "t1"), ()]:
        assert pattern_id(ids) == contract_pattern_id(ids)
    assert pattern_id(["x", "y", "x"]) == pattern_id(["y", "x"]) != pattern_id(["x"])


def test_a_not_anomaly_verdict_suppresses_its_pattern_and_stops_recording():
    book = IncidentBook()
    assert book.record(0, "noisy", 0.9, "r0") and book.record(1, "real", 0.8, "r0")
    book.judge("noisy", NOT_ANOMALY, 1)
    book.judge("real", ANOMALY, 1)
    assert book.suppressed == {"noisy"}
    assert not book.record(5, "noisy", 0.99, "r1"), "a suppressed pattern is recorded no more"
    assert book.record(6, "real", 0.7, "r1"), "an anomaly's later windows join its incident"
    assert book.incidents["noisy"].windows == [0] and book.incidents["real"].windows == [1, 6]
    scored = Scored(
        [3, 4, 5], np.array([0.9, 0.9, 0.1]), np.array([True, True, False]), {3: "noisy", 4: "real"}
    )
    assert scored.alarms(book.suppressed).tolist() == [False, True, False]
    assert scored.alarms(frozenset()).tolist() == [True, True, False]


def test_the_operator_judges_the_top_incidents_by_majority():
    book = IncidentBook()
    truth = {0: 1, 1: 0, 2: 0, 3: 1, 4: 0, 5: None, 6: 1}
    for window, pattern, score in [
        (0, "a", 0.6),
        (1, "a", 0.5),
        (2, "b", 0.99),
        (3, "c", 0.9),
        (4, "c", 0.4),
    ]:
        book.record(window, pattern, score, "r0")
    book.record(5, "d", 0.3, "r0")
    book.record(6, "d", 0.3, "r0")
    done = judge_top(book, 2, truth.get, 1)
    assert [(j.pattern, j.verdict) for j in done] == [("b", NOT_ANOMALY), ("c", ANOMALY)], "tie → anomaly"
    assert [i.pattern for i in book.open_incidents()] == ["a", "d"]
    later = judge_top(book, 5, truth.get, 2)
    assert [(j.pattern, j.verdict, j.anomalous) for j in later] == [("a", ANOMALY, 1), ("d", ANOMALY, 1)]
    assert judge_top(book, 5, truth.get, 3) == []


# ------------------------------------------------------------------------------------ the stream
def test_chunks_cover_the_streamed_fraction():
    assert cut_chunks(100, 0.5, 4).bounds == (0, 12, 25, 38, 50)
    assert list(cut_chunks(10, 0.5, 5).window_range(4)) == [4]
    with pytest.raises(ConfigError, match="cannot cut 6 chunks from 5 windows"):
        cut_chunks(10, 0.5, 6)


def test_the_streamed_prefix_withholds_labels(systems, tmp_path: Path):
    stream = stream_of(systems)
    assert any(r.label is not None for r in stream.records), "the synthetic log is labelled"
    prefix = stream.write_prefix(30, tmp_path / "p.jsonl")
    log = load_log("jsonl", prefix)
    assert all(r.label is None for r in log.records) and log.session_labels is None
    assert [r.message for r in log.records] == [
        stream.records[i].message for i in stream.record_indices(range(30))
    ]
    prepared = prepare_system(stream.stream_spec(prefix), make_interpreter("offline"))
    assert len(prepared.windows) == 30 and all(w.label is None for w in prepared.windows)
    streamed = {n for w in range(30) for n in stream.windows[w].lines}
    later = {n for w in range(30 + stream.gap, len(stream.windows)) for n in stream.windows[w].lines}
    assert not streamed & later, "the gap keeps every streamed line out of the measured windows"


def test_feedback_is_read_back_as_the_streamed_windows(systems, tmp_path: Path):
    stream = stream_of(systems)
    book = IncidentBook()
    for window in (7, 2, 11):
        book.record(window, f"p{window}", 0.9, "r0")
        book.judge(f"p{window}", ANOMALY if window == 2 else NOT_ANOMALY, 1)
    book.record(20, "open", 0.9, "r0")
    file = tmp_path / "feedback.jsonl"
    assert write_feedback(book, stream.sent_lines, lambda w: stream.windows[w].session, file) == 3
    judgements = read_judgements(file)
    assert [(j.anomaly_id, j.label, j.flagged_by) for j in judgements] == [
        (2, 1, "r0"),
        (7, 0, "r0"),
        (11, 0, "r0"),
    ]
    prefix = stream.write_prefix(25, tmp_path / "p.jsonl")
    spec = dataclasses.replace(stream.stream_spec(prefix), feedback=file)
    prepared = prepare_system(spec, make_interpreter("offline"))
    assert [j.window.events for j in prepared.judged] == [prepared.windows[w].events for w in (2, 7, 11)]


# ------------------------------------------------------------------------------------ with training
def test_suppression_removes_a_judged_patterns_alarms_at_the_detector(sliding, embedder, tmp_path: Path):
    stream = stream_of(sliding)
    prefix = stream.write_prefix(100, tmp_path / "p.jsonl")
    systems = write_systems(tmp_path / "s.yaml", stream.stream_spec(prefix), [sliding[s] for s in SOURCES])
    detector = train(
        systems, TARGET, options=TINY.train_options(), embedder=embedder, say=lambda _m: None
    ).detector
    scored = score_windows(detector, stream, range(100, len(stream.windows)))
    assert scored.flagged.any(), "the zero-label detector raises alarms"
    noisy = max(set(scored.patterns.values()), key=list(scored.patterns.values()).count)
    alarms = scored.alarms(frozenset({noisy}))
    assert not any(alarms[i] for i, w in enumerate(scored.windows) if scored.patterns.get(w) == noisy)
    others = [i for i, w in enumerate(scored.windows) if scored.flagged[i] and scored.patterns[w] != noisy]
    assert alarms.sum() == len(others) < scored.flagged.sum()


def test_judging_every_anomaly_raises_f1(sliding, embedder, tmp_path: Path):
    stream = stream_of(sliding)
    half = len(stream.windows) // 2
    prefix = stream.write_prefix(half, tmp_path / "p.jsonl")
    systems = write_systems(tmp_path / "s.yaml", stream.stream_spec(prefix), [sliding[s] for s in SOURCES])
    book = IncidentBook()
    for w in range(half):  # the operator judges every streamed window, each its own incident
        book.record(w, f"w{w}", 1.0, "r0")
        book.judge(f"w{w}", ANOMALY if stream.label(w) == 1 else NOT_ANOMALY, 1)
    feedback = tmp_path / "feedback.jsonl"
    write_feedback(book, stream.sent_lines, lambda w: stream.windows[w].session, feedback)
    options = TINY.model_copy(update={"seed": 1}).train_options()
    f1 = []
    for given in (None, feedback):
        result = train(
            systems, TARGET, options=options, feedback=given, embedder=embedder, say=lambda _m: None
        )
        scored = score_windows(result.detector, stream, range(half + stream.gap, len(stream.windows)))
        f1.append(measure(stream, scored, frozenset(), half + stream.gap)["f1"])
    assert f1[1] >= 0.85 and f1[1] >= f1[0] + 0.2, f1


def test_a_whole_loop_never_measures_a_judged_window(systems, embedder, tmp_path: Path):
    stream = stream_of(systems)
    sources = [systems[s] for s in SOURCES]
    result = run_target(
        stream, sources, TINY, tmp_path, embedder=embedder, interpreter=make_interpreter("offline"), say=print
    )
    bounds, rounds = result["chunk_bounds"], result["rounds"]
    assert len(rounds) == TINY.chunks and [r["streamed_windows"] for r in rounds] == bounds[1:]
    judgements = [r["judgements"] for r in rounds]
    assert judgements == sorted(judgements) and judgements[-1] <= TINY.per_round * (TINY.chunks - 1)
    assert judgements[-1] > 0, "the zero-label detector's alarms were judged"
    labelled = [w for w in range(len(stream.windows)) if stream.label(w) is not None]
    for r in rounds:
        start = r["streamed_windows"] + stream.gap
        assert r["rest"]["windows"] == sum(1 for w in labelled if w >= start)
    judged = read_judgements(tmp_path / "feedback.jsonl")
    assert len(judged) == rounds[-1]["judged_windows"]
    for j in judged:  # flagged by round k's detector while streaming chunk k + 1, measured after it
        k = int(j.flagged_by.removeprefix("r"))
        assert bounds[k + 1] <= j.anomaly_id < bounds[k + 2]
        assert j.lines == stream.sent_lines(j.anomaly_id)


def test_bench_loop_writes_curves_table_and_plot(sliding, tmp_path: Path):
    manifest = tmp_path / "systems.yaml"
    write_systems(manifest, sliding[TARGET], [sliding[s] for s in SOURCES])
    settings = TINY.model_copy(update={"chunks": 2})
    result = run_bench_loop(manifest, tmp_path / "out", settings, targets=[TARGET], threads=1, say=print)
    assert [t["target"] for t in result["targets"]] == [TARGET]
    rows = list(csv.DictReader((tmp_path / "out" / "curves.csv").open()))
    assert [(r["target"], r["round"]) for r in rows] == [(TARGET, "0"), (TARGET, "1")]
    assert json.loads((tmp_path / "out" / "curves.json").read_text())["settings"]["chunks"] == 2
    assert "| payments |" in (tmp_path / "out" / "results.md").read_text()
    assert (tmp_path / "out" / "bench-loop.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ConfigError, match="unknown target"):
        run_bench_loop(manifest, tmp_path / "out", settings, targets=["nope"])
    with pytest.raises(ConfigError, match="chunks"):
        LoopSettings.parse(chunks=1)

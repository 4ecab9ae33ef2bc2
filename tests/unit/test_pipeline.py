"""Train on synthetic systems through the public entry points, then detect with the saved artifact."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from logsynergy.detector import Detector
from logsynergy.errors import ConfigError
from logsynergy.interpret import make_interpreter
from logsynergy.interpret_ops import export_interpretations, import_interpretations
from logsynergy.metrics import TrainingMetrics
from logsynergy.options import TrainOptions
from logsynergy.pipeline import PREPARING, TRAINING, train, train_systems
from logsynergy.prepare import prepare_system
from logsynergy.synthetic import generate_system, write_demo_systems
from logsynergy.systems import SystemSpec, load_systems
from logsynergy.windows import WindowSettings

Trained = tuple[Path, TrainingMetrics]  # the artifact and its metrics
SMALL = TrainOptions(epochs=4, target_labelled=400, overrides={"hidden": 64, "ffn": 128, "batch_size": 64})


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    root = tmp_path_factory.mktemp("synthetic")
    systems = write_demo_systems(root, n_lines=5000, seed=3)
    result = train(
        systems,
        "payments",
        sources=["storage", "compute"],
        options=SMALL,
        out=root / "det",
        say=lambda _m: None,
    )
    return root / "det", result.metrics


def test_metrics_are_measured_on_later_windows(trained: Trained):
    artifact, metrics = trained
    on_disk = json.loads((artifact / "metrics.json").read_text())
    # every field, in order (`feedback` only when the target had judged windows, `scoring` and
    # `count_checks` only with count checks)
    optional = {"feedback", "scoring", "count_checks"}
    assert list(on_disk) == [f for f in TrainingMetrics.model_fields if f not in optional]
    assert on_disk == metrics.model_dump(exclude=optional)
    assert metrics.total_seconds >= metrics.train_seconds
    assert on_disk["test_windows"] > 0 and on_disk["test_anomalies"] > 0
    assert metrics.target_labelled == 400
    assert metrics.sources == ["storage", "compute"]
    assert on_disk["event_novelty"] is True
    assert metrics.f1 > 0.7, metrics
    assert 0 < metrics.threshold < 1
    assert Detector.load(artifact).metrics == metrics


def test_artifact_scores_identically_in_a_fresh_process(trained: Trained, tmp_path: Path):
    artifact, _ = trained
    records = generate_system("payments", 600, seed=99)
    lines = [r["message"] for r in records]
    log = tmp_path / "new.txt"
    log.write_text("\n".join(lines) + "\n")
    here = Detector.load(artifact).score_lines(lines)
    code = (
        "import json,sys; from logsynergy.detector import Detector; "
        f"d=Detector.load({str(artifact)!r}).score_lines(open({str(log)!r}).read().splitlines()); "
        "print(json.dumps([w.score for w in d.windows]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    fresh = json.loads(out.stdout)
    assert len(fresh) == len(here.windows)
    assert max(abs(a - w.score) for a, w in zip(fresh, here.windows, strict=True)) < 1e-5


def test_pattern_cache_and_new_templates(trained: Trained):
    artifact, _ = trained
    detector = Detector.load(artifact)
    lines = [r["message"] for r in generate_system("payments", 300, seed=5)]
    first = detector.score_lines(lines)
    assert first.model_windows > 0
    second = detector.score_lines(lines)
    assert second.cache_hits == len(second.windows) and second.model_windows == 0
    assert [w.score for w in first.windows] == [w.score for w in second.windows]
    novel = detector.score_lines([*lines[:9], "FATAL quantum flux capacitor melted in rack"])
    assert novel.new_templates, "an unseen message must be flagged as a new template"
    assert any(novel.new_templates[0] in w.new_templates for w in novel.windows)


def test_event_vectors_end_with_their_novelty(trained: Trained):
    """Each event vector carries how rarely the target's known-normal training windows held it; a
    template first met at serving time is novel (1.0), and the value survives save and load."""
    artifact, _ = trained
    detector = Detector.load(artifact)
    config = detector.model.config
    assert config.event_novelty and config.novelty_skip and config.embed_dim == 385
    novelty = np.array([v[-1] for v in detector.vectors.values()])
    assert all(len(v) == 385 for v in detector.vectors.values())
    assert novelty.min() < 0.1, "routine events occur in dozens of known-normal windows"
    assert (novelty == 1.0).any(), "fault events never occur in known-normal windows"
    assert ((novelty > 0) & (novelty <= 1)).all()
    detection = detector.score_lines(["FATAL quantum flux capacitor melted in rack"])
    (new,) = detection.new_templates
    assert detector.vectors[new].shape == (385,) and detector.vectors[new][-1] == 1.0


def test_reports_explain_anomalous_windows(trained: Trained):
    artifact, _ = trained
    detector = Detector.load(artifact)
    records = generate_system("payments", 2000, seed=11, anomaly_rate=0.05)
    detection = detector.score_lines([r["message"] for r in records])
    assert detection.reports, "faults were injected, some window must be reported"
    report = detection.reports[0]
    assert report["score"] >= report["threshold"]
    assert report["events"] and all(e["interpretation"] for e in report["events"])
    assert {e["line"] for e in report["events"]} <= set(range(report["first_line"], report["last_line"] + 1))


def test_interpretations_export_edit_import(trained: Trained, tmp_path: Path):
    artifact, _ = trained
    exported = tmp_path / "lei.jsonl"
    count = export_interpretations(artifact, exported)
    rows = [json.loads(line) for line in exported.read_text().splitlines()]
    assert count == len(rows) > 5
    rows[0]["interpretation"] = "Operator reviewed: payment gateway timed out; checkout is failing."
    rows[0]["reviewed"] = True
    exported.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    before = Detector.load(artifact).vectors[rows[0]["template_id"]]
    assert import_interpretations(artifact, exported) == 1
    reloaded = Detector.load(artifact)
    assert reloaded.store.get(rows[0]["template_id"]).text.startswith("Operator reviewed")
    after = reloaded.vectors[rows[0]["template_id"]]
    assert after.shape == before.shape and not np.allclose(after[:-1], before[:-1])
    assert after[-1] == before[-1], "re-embedding keeps the template's novelty"


def test_thin_target_labels_are_not_trusted(trained: Trained, tmp_path: Path):
    """Below `min_target_anomalies` labelled anomalous windows, the target trains unlabelled (the sources
    teach the anomaly classifier), on the same test windows."""
    _artifact, labelled = trained
    assert labelled.target_labels_used and labelled.target_labelled_anomalies >= 10
    systems = write_demo_systems(tmp_path, n_lines=5000, seed=3)
    options = SMALL.model_copy(update={"min_target_anomalies": 10**6})
    thin = train(systems, "payments", sources=["storage", "compute"], options=options, say=lambda _m: None)
    assert not thin.metrics.target_labels_used
    assert thin.metrics.target_labelled_anomalies == labelled.target_labelled_anomalies
    assert thin.metrics.test_windows == labelled.test_windows


def test_without_target_anomalies_the_threshold_comes_from_target_normals(tmp_path: Path):
    """A target whose labelled part holds no anomaly: alarms fire above the 99th percentile of its own
    known-normal windows, not at a threshold borrowed from the sources."""
    from logsynergy.embedding import SentenceEmbedder
    from logsynergy.fit import fit
    from logsynergy.interpret import make_interpreter
    from logsynergy.prepare import prepare_system
    from logsynergy.systems import load_systems

    specs = load_systems(write_demo_systems(tmp_path, n_lines=3000, seed=5))
    interpreter = make_interpreter()
    prepared = {name: prepare_system(specs[name], interpreter) for name in ("payments", "storage")}
    target = prepared["payments"]
    n = 200
    calm = [dataclasses.replace(w, label=0) if i < n else w for i, w in enumerate(target.windows)]
    target = dataclasses.replace(target, windows=calm)
    options = SMALL.model_copy(update={"target_labelled": n, "epochs": 2})
    result = fit(target, [prepared["storage"]], SentenceEmbedder(), options)
    metrics = result.metrics
    assert metrics.calibration == f"target normals (q0.99 of {n})"
    scores = result.detector.score_patterns([w.events for w in calm[:n]])
    assert np.mean(scores >= metrics.threshold) == pytest.approx(0.01, abs=0.02)
    assert not metrics.target_labels_used and metrics.target_labelled_anomalies == 0


def test_bfloat16_scoring_agrees_with_float32(trained: Trained):
    """The serving option: bfloat16 matrix work moves scores by about 1e-3, not verdicts."""
    artifact, _ = trained
    detector = Detector.load(artifact)
    assert detector.precision == "float32"
    lines = [r["message"] for r in generate_system("payments", 3000, seed=11)]
    exact = detector.score_lines(lines)
    assert detector.set_precision("bfloat16") == "bfloat16"
    assert detector.cache_size == 0, "scores judged in another precision must not be reused"
    fast = detector.score_lines(lines)
    assert fast.model_windows == exact.model_windows > 50
    scores = np.array([[a.score, b.score] for a, b in zip(exact.windows, fast.windows, strict=True)])
    assert np.abs(scores[:, 0] - scores[:, 1]).max() < 1e-2
    assert np.mean([a.anomaly == b.anomaly for a, b in zip(exact.windows, fast.windows, strict=True)]) > 0.99
    assert detector.set_precision("auto") in ("float32", "bfloat16")
    with pytest.raises(ConfigError, match="precision"):
        detector.set_precision("float8")


def _declare_windowing(systems: Path, name: str, **windowing: int) -> dict[str, SystemSpec]:
    data = yaml.safe_load(systems.read_text())
    for entry in data["systems"]:
        if entry["name"] == name:
            entry.update(windowing)
    systems.write_text(yaml.safe_dump(data))
    return load_systems(systems)


def test_systems_are_windowed_as_declared(tmp_path: Path):
    specs = _declare_windowing(
        write_demo_systems(tmp_path, n_lines=300, seed=3), "payments", window_size=8, window_step=4
    )
    prepared = prepare_system(specs["payments"], make_interpreter("offline"))
    assert prepared.windowing == WindowSettings("sliding", 8, 4)
    assert [w.lines[0] for w in prepared.windows[:3]] == [1, 5, 9]
    assert {len(w.events) for w in prepared.windows[:-2]} == {8}


def test_the_artifact_stores_the_declared_windowing(tmp_path: Path):
    """A session-windowed target: the stored size and step are the declared ones (they shape the sliding
    fallback for lines without a session), never read back from the sessions' lengths."""
    systems = write_demo_systems(tmp_path, n_lines=1500, seed=3, sessions=True)
    specs = _declare_windowing(systems, "payments", window_size=12, window_step=6)
    options = TrainOptions(
        epochs=2,
        target_labelled=100,
        source_windows=200,
        overrides={"hidden": 32, "ffn": 64, "batch_size": 64, "min_steps": 40},
    )
    stages: list[tuple[str, str]] = []
    result = train_systems(
        specs["payments"],
        [specs["storage"]],
        options,
        out=tmp_path / "det",
        say=lambda _m: None,
        stage=lambda stage, message: stages.append((stage, message)),
    )
    assert stages == [
        (PREPARING, "parsing and interpreting storage"),
        (PREPARING, "parsing and interpreting payments"),
        (TRAINING, "training payments from storage"),
    ]
    assert result.target.windowing == WindowSettings("session", 12, 6)
    settings = json.loads((tmp_path / "det" / "detector.json").read_text())
    assert (settings["windowing"], settings["window_size"], settings["window_step"]) == ("session", 12, 6)
    loaded = Detector.load(tmp_path / "det")
    assert (loaded.settings.window_size, loaded.settings.window_step) == (12, 6)
    assert loaded.metrics == result.metrics and result.metrics.total_seconds is not None

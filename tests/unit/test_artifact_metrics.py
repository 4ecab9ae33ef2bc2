"""An artifact's metrics.json: typed on load, the same JSON on save, old artifacts included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from logsynergy.detector import metrics_json, read_metrics
from logsynergy.metrics import TrainingMetrics

# metrics.json as fit() wrote it before metrics were typed (a plain dict, in this key order)
OLD = {
    "precision": 1.0,
    "recall": 0.9555555555555556,
    "f1": 0.9772727272727273,
    "tp": 43.0,
    "fp": 0.0,
    "fn": 2.0,
    "threshold": 0.49929800629615784,
    "calibration": "target normals (q0.99 of 36)",
    "train_windows": 240,
    "train_unique_windows": 238,
    "target_train_windows": 300,
    "target_labelled": 300,
    "target_labelled_anomalies": 27,
    "target_labels_used": True,
    "test_windows": 498,
    "test_anomalies": 45,
    "train_seconds": 3.21,
    "best_epoch": 3,
    "val_f1": 1.0,
    "target": "payments",
    "sources": ["storage"],
    "preset": "cpu",
    "seed": 0,
    "use_lei": True,
    "use_sufe": True,
    "use_da": False,
    "event_novelty": True,
    "notes": ["interpretations imported for 17 of 18 templates"],
    "history": [{"epoch": 1.0, "loss_anomaly": 0.22827454627258703, "val_f1": 1.0}],
}


@pytest.mark.parametrize("total_seconds", [None, 12.5])
def test_old_metrics_load_typed_and_save_unchanged(tmp_path: Path, total_seconds: float | None):
    old = OLD if total_seconds is None else {**OLD, "total_seconds": total_seconds}
    text = json.dumps(old, indent=1, default=str)
    (tmp_path / "metrics.json").write_text(text)
    metrics = read_metrics(tmp_path / "metrics.json")
    assert isinstance(metrics, TrainingMetrics)
    assert metrics.calibration == OLD["calibration"] and metrics.total_seconds == total_seconds
    assert metrics_json(metrics) == text


def test_an_artifact_without_metrics_has_none(tmp_path: Path):
    assert read_metrics(tmp_path / "metrics.json") is None
    (tmp_path / "metrics.json").write_text("{}")  # a detector saved without training metrics
    assert read_metrics(tmp_path / "metrics.json") is None

"""`logsynergy train` and `detect` on the public datasets, as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from logsynergy.demo import real_systems


def test_train_bgl_from_hdfs_and_openstack_then_detect(shared_datasets: Path, tmp_path: Path):
    systems = real_systems(shared_datasets, tmp_path)
    assert systems is not None
    artifact = tmp_path / "bgl-detector"
    train = subprocess.run(
        [
            sys.executable,
            "-m",
            "logsynergy.cli",
            "train",
            "--systems",
            str(systems),
            "--target",
            "bgl",
            "--sources",
            "hdfs,openstack",
            "--target-labelled",
            "500",
            "--out",
            str(artifact),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert train.returncode == 0, train.stderr[-3000:]
    metrics = json.loads((artifact / "metrics.json").read_text())
    assert metrics["sources"] == ["hdfs", "openstack"]
    assert metrics["target_labelled"] == 500
    assert metrics["test_windows"] > 600 and metrics["test_anomalies"] > 300
    assert metrics["f1"] >= 0.9, metrics
    assert "F1" in train.stdout

    log = shared_datasets / "bgl/alert_slice_2005-11-21/BGL_2005-11-21_slice.log"
    detect = subprocess.run(
        [
            sys.executable,
            "-m",
            "logsynergy.cli",
            "detect",
            str(artifact),
            str(log),
            "--json",
            "--max-reports",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert detect.returncode == 0, detect.stderr[-3000:]
    payload = json.loads(detect.stdout)
    assert payload["summary"]["windows"] > 1200
    assert payload["summary"]["f1"] > 0.9
    assert len(payload["reports"]) == 2
    assert all(e["interpretation"] for e in payload["reports"][0]["events"])

"""`logsynergy train` and `detect` on the public datasets, as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml


def write_systems(datasets: Path, out: Path) -> Path:
    interpretations = datasets.parent / "interpretations"
    systems = [
        {
            "name": "hdfs",
            "format": "hdfs",
            "path": str(datasets / "hdfs/loglead_2pct/hdfs_events_2percent.csv.gz"),
            "labels": str(datasets / "hdfs/loglead_2pct/hdfs_seqs_2percent_labels.csv"),
            "description": "Hadoop distributed file system",
            "interpretations": str(interpretations / "hdfs.jsonl"),
        },
        {
            "name": "openstack",
            "format": "openstack",
            "path": str(datasets / "openstack/nova_fault_injection/openstack-nova-sample.log"),
            "labels": str(next((datasets / "openstack/nova_fault_injection").glob("instance_labels*.csv"))),
            "description": "OpenStack nova compute service",
            "interpretations": str(interpretations / "openstack.jsonl"),
        },
        {
            "name": "bgl",
            "format": "bgl",
            "path": str(datasets / "bgl/alert_slice_2005-11-21/BGL_2005-11-21_slice.log"),
            "description": "IBM BlueGene/L supercomputer",
            "interpretations": str(interpretations / "bgl.jsonl"),
        },
    ]
    path = out / "systems.yaml"
    path.write_text(yaml.safe_dump({"systems": systems}))
    return path


def test_train_bgl_from_hdfs_and_openstack_then_detect(shared_datasets: Path, tmp_path: Path):
    systems = write_systems(shared_datasets, tmp_path)
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

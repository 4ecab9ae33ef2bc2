"""A tiny benchmark end to end: every method, output schema, tables and plots."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from logsynergy.bench.config import METHODS, load_bench
from logsynergy.bench.runner import run_bench
from logsynergy.synthetic import write_demo_systems


def test_tiny_bench_writes_every_output(tmp_path: Path):
    systems = write_demo_systems(tmp_path / "data", n_lines=2500, seed=4)
    config = {
        "systems_file": str(systems),
        "experiments": [
            {
                "name": "payments-tiny",
                "target": "payments",
                "sources": ["storage", "compute"],
                "target_labelled": [100, 300],
            }
        ],
        "seeds": [0],
        "epochs": 2,
        "model": {"hidden": 32, "ffn": 64, "min_steps": 20},
        "methods": list(METHODS),
    }
    path = tmp_path / "bench.yaml"
    path.write_text(yaml.safe_dump(config))
    out = tmp_path / "out"
    messages: list[str] = []
    run_bench(load_bench(path), out, say=messages.append)

    results = json.loads((out / "results.json").read_text())
    runs = results["runs"]
    assert len(runs) == 2 * len(METHODS)
    for run in runs:
        assert {
            "experiment",
            "target",
            "sources",
            "method",
            "target_labelled",
            "seed",
            "precision",
            "recall",
            "f1",
            "train_seconds",
        } <= set(run)
        assert 0.0 <= run["f1"] <= 1.0
    assert {r["method"] for r in runs} == set(METHODS)
    assert results["throughput"]["warm_lines_per_s"] > 0
    table = (out / "results.md").read_text()
    assert "payments-tiny" in table and "logtransfer" in table and "F1 @ 300" in table
    for picture in ("payments-tiny-f1.png", "payments-tiny-curve.png"):
        assert (out / picture).read_bytes()[:4] == b"\x89PNG"
    total = 2 * len(METHODS)
    assert any(f"[{total}/{total}," in m for m in messages), "progress counts every run"

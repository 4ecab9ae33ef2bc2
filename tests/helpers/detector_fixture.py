"""A tiny detector trained on synthetic logs, cached on disk so every test reuses one artifact."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from logsynergy.artifact import ArtifactFiles
from logsynergy.options import TrainOptions
from logsynergy.pipeline import train
from logsynergy.synthetic import generate_system, write_demo_systems

TARGET = "payments"
SOURCES = ("storage", "compute")
TINY = TrainOptions(
    epochs=3,
    target_labelled=300,
    source_windows=1500,
    overrides={"hidden": 32, "ffn": 64, "batch_size": 64},
)


def tiny_detector(cache_dir: str | Path) -> Path:
    """Train (once) a small `payments` detector under `cache_dir/detector`; return the artifact directory."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("MKL_NUM_THREADS", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    root = Path(cache_dir)
    artifact = root / "detector"
    if ArtifactFiles(artifact).settings.is_file():  # trained before
        return artifact
    data = root / "data"
    systems = write_demo_systems(data, n_lines=2500, seed=3)
    scratch = root / "detector.tmp"
    shutil.rmtree(scratch, ignore_errors=True)
    train(systems, TARGET, sources=list(SOURCES), options=TINY, out=scratch, say=lambda _m: None)
    scratch.rename(artifact)
    return artifact


def payment_lines(n: int, seed: int = 11) -> list[str]:
    """`n` raw lines of the synthetic payments system, in its training (JSON lines) format."""
    return [json.dumps(r) for r in generate_system(TARGET, n, seed=seed)]

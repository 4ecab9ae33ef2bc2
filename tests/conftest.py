"""Shared fixtures. Real data comes from ../shared/datasets (LOGSYNERGY_DATASETS overrides the path)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def datasets_root() -> Path:
    return Path(os.environ.get("LOGSYNERGY_DATASETS", REPO_ROOT.parent / "shared" / "datasets"))


def interpretations_root() -> Path:
    return datasets_root().parent / "interpretations"


@pytest.fixture(scope="session")
def shared_datasets() -> Path:
    """The public labelled logs; under CI=true their absence fails the test instead of skipping it."""
    root = datasets_root()
    if not (root / "bgl").is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"shared datasets missing at {root} (required under CI=true)")
        pytest.skip(f"shared datasets not found at {root}")
    return root


@pytest.fixture(scope="session")
def shared_interpretations(shared_datasets: Path) -> Path:
    root = shared_datasets.parent / "interpretations"
    if not root.is_dir():
        pytest.fail(f"shared interpretations missing at {root}")
    return root

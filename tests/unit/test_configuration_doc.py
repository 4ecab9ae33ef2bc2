"""docs/configuration.md lists every setting of the control plane and of the detection endpoint."""

from __future__ import annotations

from pathlib import Path

from logsynergy_api.settings import Settings
from logsynergy_workers.serving.args import ServeArgs

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_every_control_plane_setting_is_documented() -> None:
    text = DOC.read_text()
    missing = [name.upper() for name in Settings.model_fields if f"`{name.upper()}`" not in text]
    assert not missing, f"add to docs/configuration.md: {missing}"


def test_every_serving_argument_is_documented() -> None:
    text = DOC.read_text()
    missing = [name for name in ServeArgs.model_fields if f"`{name}`" not in text]
    assert not missing, f"add to docs/configuration.md: {missing}"

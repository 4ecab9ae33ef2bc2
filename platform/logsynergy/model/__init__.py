"""The LogSynergy network (SUFE + DAAN), its losses and presets. Presets import without torch; the
network (torch) loads when first asked for."""

from typing import Any

from logsynergy.model.presets import PRESETS, ModelConfig, model_config

__all__ = ["PRESETS", "LogSynergyNet", "ModelConfig", "NetOutput", "model_config"]


def __getattr__(name: str) -> Any:
    if name in ("LogSynergyNet", "NetOutput"):
        from logsynergy.model import network

        return getattr(network, name)
    raise AttributeError(f"module 'logsynergy.model' has no attribute {name!r}")

"""The LogSynergy network (SUFE + DAAN), its losses and presets."""

from logsynergy.model.network import LogSynergyNet, NetOutput
from logsynergy.model.presets import PRESETS, ModelConfig, model_config

__all__ = ["PRESETS", "LogSynergyNet", "ModelConfig", "NetOutput", "model_config"]

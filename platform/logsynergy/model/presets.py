"""Model sizes and training hyper-parameters: `cpu` trains in minutes on 2 cores, `paper` is ICDE 2025's."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from logsynergy.errors import ConfigError


@dataclass(frozen=True)
class ModelConfig:
    """Network shape and the training schedule that goes with it."""

    embed_dim: int = 384  # of an event vector: the sentence embedding (+1 with event_novelty)
    event_novelty: bool = False  # event vectors end with their novelty (logsynergy.novelty)
    # the window's peak event novelty also feeds the anomaly head, past the encoder (with event_novelty)
    novelty_skip: bool = False
    hidden: int = 128
    layers: int = 2
    heads: int = 4
    ffn: int = 256
    dropout: float = 0.1
    max_events: int = 64
    pooling: str = "mean"  # "mean" over all events, or "cls"
    n_systems: int = 2
    use_sufe: bool = True  # feature split, system classifier and MI term
    use_da: bool = True  # DAAN adversarial domain adaptation
    lambda_system: float = 1.0  # weight of the system classifier's loss on Fs
    lambda_mi: float = 0.01
    lambda_da: float = 0.01
    grl_gamma: float = 10.0
    lr: float = 1e-3
    weight_decay: float = 0.01
    batch_size: int = 64
    epochs: int = 10
    min_steps: int = 300  # optimiser steps at least, however few unique windows there are

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


DEFAULT_PRESET = "cpu"
PRESETS: dict[str, ModelConfig] = {
    DEFAULT_PRESET: ModelConfig(),
    "paper": ModelConfig(
        hidden=768, layers=6, heads=12, ffn=2048, lr=1e-4, batch_size=1024, epochs=10, max_events=128
    ),
}


def model_config(preset: str = DEFAULT_PRESET, **overrides: Any) -> ModelConfig:
    """The named preset with overrides applied; unknown names raise ConfigError."""
    if preset not in PRESETS:
        raise ConfigError(f"unknown preset {preset!r}; choose one of: {', '.join(PRESETS)}")
    config = replace(PRESETS[preset], **{k: v for k, v in overrides.items() if v is not None})
    if config.hidden % 2 or config.hidden % config.heads:
        raise ConfigError(f"hidden={config.hidden} must be even and divisible by heads={config.heads}")
    if config.pooling not in ("mean", "cls"):
        raise ConfigError(f"pooling must be 'mean' or 'cls', not {config.pooling!r}")
    return config

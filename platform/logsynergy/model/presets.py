"""Model sizes and training hyper-parameters: `cpu` trains in minutes on 2 cores, `paper` is ICDE 2025's."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Annotated, Any, Literal

from pydantic import Field

from logsynergy.errors import ConfigError


@dataclass(frozen=True)
class ModelConfig:
    """Network shape and the training schedule that goes with it (the bounds are checked where
    overrides come from users: `TrainOptions.overrides`)."""

    embed_dim: Annotated[int, Field(ge=1, le=65_536)] = 384  # the sentence embedding (+1 with event_novelty)
    event_novelty: bool = False  # event vectors end with their novelty (logsynergy.novelty)
    # the window's peak event novelty also feeds the anomaly head, past the encoder (with event_novelty)
    novelty_skip: bool = False
    hidden: Annotated[int, Field(ge=2, le=8_192)] = 128
    layers: Annotated[int, Field(ge=1, le=64)] = 2
    heads: Annotated[int, Field(ge=1, le=128)] = 4
    ffn: Annotated[int, Field(ge=1, le=32_768)] = 256
    dropout: Annotated[float, Field(ge=0, lt=1)] = 0.1
    max_events: Annotated[int, Field(ge=1, le=4_096)] = 64
    pooling: Literal["mean", "cls"] = "mean"  # "mean" over all events, or "cls"
    n_systems: Annotated[int, Field(ge=1, le=10_000)] = 2
    use_sufe: bool = True  # feature split, system classifier and MI term
    use_da: bool = True  # DAAN adversarial domain adaptation
    lambda_system: Annotated[float, Field(ge=0, le=1_000)] = 1.0  # weight of the system classifier's loss
    lambda_mi: Annotated[float, Field(ge=0, le=1_000)] = 0.01
    lambda_da: Annotated[float, Field(ge=0, le=1_000)] = 0.01
    grl_gamma: Annotated[float, Field(ge=0, le=1_000)] = 10.0
    lr: Annotated[float, Field(gt=0, le=10)] = 1e-3
    weight_decay: Annotated[float, Field(ge=0, le=100)] = 0.01
    batch_size: Annotated[int, Field(ge=1, le=1_048_576)] = 64
    epochs: Annotated[int, Field(ge=1, le=10_000)] = 10
    # optimiser steps at least, however few unique windows there are
    min_steps: Annotated[int, Field(ge=0, le=10_000_000)] = 300

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

"""How `logsynergy bench-loop` runs: every default of the loop, in one place (light to import)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from logsynergy.errors import ConfigError
from logsynergy.options import PresetName, TrainOptions, describe_errors


class LoopSettings(BaseModel):
    """How the loop runs (defaults sized for `make bench-loop` on two CPU cores)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    chunks: int = Field(default=11, ge=2, le=1000, description="chunk 0 onboards, the rest stream")
    stream_fraction: float = Field(default=0.5, gt=0, lt=1, description="of the target's windows")
    per_round: int = Field(default=5, ge=0, le=10_000, description="incidents judged after each chunk")
    test_fraction: float = Field(default=0.5, gt=0, lt=1, description="the fixed test part: the last")
    preset: PresetName = "cpu"
    epochs: int = Field(default=4, ge=1, le=10_000)
    source_windows: int = Field(default=50_000, ge=1)
    seed: int = Field(default=0, ge=0)
    overrides: dict[str, Any] = Field(default_factory=dict, description="model settings")

    def train_options(self) -> TrainOptions:
        return TrainOptions(
            preset=self.preset,
            seed=self.seed,
            target_labelled=0,
            epochs=self.epochs,
            source_windows=self.source_windows,
            overrides=dict(self.overrides),
        )

    @classmethod
    def parse(cls, **values: Any) -> LoopSettings:
        """Validated settings; a ConfigError naming each bad one otherwise."""
        try:
            return cls(**values)
        except ValidationError as error:
            raise ConfigError(f"bench-loop settings: {describe_errors(error)}") from None


DEFAULT_LOOP = LoopSettings()

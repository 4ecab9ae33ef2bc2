"""What to train (`TrainOptions`, the one declaration of every training default and its bounds) and
where to run it (`Runtime`: device and progress bars, never part of a job's definition)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from logsynergy.errors import ConfigError
from logsynergy.model.presets import DEFAULT_PRESET, PRESETS, ModelConfig, model_config

# model settings fit() derives from the data and the options; `overrides` may not set them
DERIVED_MODEL_SETTINGS = frozenset(
    {"embed_dim", "n_systems", "use_sufe", "use_da", "epochs", "event_novelty", "novelty_skip"}
)
MODEL_SETTINGS = frozenset(f.name for f in fields(ModelConfig))
MAX_SEED = 2**32 - 1
PresetName = Literal[tuple(PRESETS)]  # type: ignore[valid-type]
_MODEL_CONFIG = TypeAdapter(ModelConfig)


def check_overrides(overrides: Iterable[str], where: str = "model overrides") -> None:
    """ConfigError when model overrides name an unknown setting or one fit() derives itself."""
    names = set(overrides)
    unknown = sorted(names - MODEL_SETTINGS)
    if unknown:
        raise ConfigError(f"unknown model setting(s) in {where}: {', '.join(unknown)}")
    derived = sorted(DERIVED_MODEL_SETTINGS & names)
    if derived:
        raise ConfigError(
            f"{where} cannot set {', '.join(derived)} "
            "(use the options epochs, use_sufe, use_da, event_novelty; the rest follows from the data)"
        )


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class TrainingBasics(_Options):
    """The three choices every training run states: model preset, seed and target label budget."""

    preset: PresetName = Field(default=DEFAULT_PRESET, description="model preset")
    seed: int = Field(default=0, ge=0, le=MAX_SEED, description="random seed")
    target_labelled: int = Field(
        default=5_000, ge=0, le=100_000_000, description="labelled target windows to train on; 0: none"
    )


class TrainingTuning(_Options):
    """Data budget, ablations and model overrides: the advanced options of a training run."""

    source_windows: int = Field(default=50_000, ge=1, le=10_000_000, description="windows per source")
    max_train_fraction: float = Field(default=0.5, gt=0, le=1)
    val_fraction: float = Field(default=0.2, ge=0, lt=1)
    use_lei: bool = True
    use_sufe: bool = True
    use_da: bool = True
    # False: the target's training part is seen unlabelled ("direct")
    use_target_labels: bool = True
    balance_systems: bool = True
    target_share: float | None = Field(default=0.5, ge=0, le=1)
    # Operators' judged windows (a target's feedback) when the rest of the target's training part is
    # unlabelled: their share of the target's weight, so that a handful of judgements is not drowned by
    # thousands of unlabelled windows in the anomaly loss (with target labels they weigh as labelled ones).
    feedback_share: float = Field(default=0.5, gt=0, lt=1)
    epochs: int | None = Field(default=None, ge=1, le=10_000, description="default: the preset's")
    # Fewer labelled anomalous target windows than this: the target's labels are too thin to teach the
    # anomaly classifier (they mislead it), so it learns from the sources and sees the target unlabelled.
    min_target_anomalies: int = Field(default=10, ge=0, le=10**9)
    # No target anomaly to calibrate on, but known-normal target windows: alarm above this quantile of
    # their scores (a 1% false-alarm budget on the target's own normal traffic) instead of borrowing the
    # sources' threshold, whose score scale does not carry over to the target.
    normal_quantile: float = Field(default=0.99, gt=0, le=1)
    # logit units above that quantile (bfloat16 scores differ by a few 1e-3)
    normal_margin: float = Field(default=0.1, ge=0, le=20)
    min_normal_windows: int = Field(default=20, ge=1, le=10**9)
    # Each event vector carries its novelty: how rarely the system's known-normal windows hold it
    # (logsynergy.novelty). False: the sentence embedding alone, as in the paper.
    event_novelty: bool = True
    # No target labels at all and a session log: count checks mined from the target's unlabelled sessions
    # (logsynergy.count_checks) flag missing or surplus events; they serve alone where the sources'
    # threshold flags more than `expected_anomaly_share` of those sessions (it did not carry over).
    count_checks: bool = True
    # With target labels: a count model on the target's own labelled windows (logsynergy.selection) serves
    # instead of the network where, cross-fitted, it scores a higher F1 on them.
    count_model: bool = True
    # the share of a new system's unlabelled traffic presumed anomalous at most (zero-label calibration)
    expected_anomaly_share: float = Field(default=0.05, gt=0, lt=1)
    overrides: dict[str, Any] = Field(
        default_factory=dict, description="model settings over the preset's (hidden, layers, lr, ...)"
    )

    @field_validator("overrides")
    @classmethod
    def _known_overrides(cls, value: dict[str, Any]) -> dict[str, Any]:
        try:
            check_overrides(value, "overrides")
        except ConfigError as error:
            raise ValueError(str(error)) from None
        try:
            checked = _MODEL_CONFIG.validate_python({**PRESETS[DEFAULT_PRESET].to_dict(), **value})
        except ValidationError as error:
            raise ValueError(describe_errors(error)) from None
        return {name: getattr(checked, name) for name in value}


def check_model(preset: str, overrides: Mapping[str, Any]) -> None:
    """ValueError when the preset with these overrides is no valid network (hidden not divisible by
    heads, say): checked when a run is defined, not when a worker builds it."""
    try:
        model_config(preset, **overrides)
    except ConfigError as error:
        raise ValueError(str(error)) from None


class TrainOptions(TrainingBasics, TrainingTuning):
    """Everything that defines a training run (validated, immutable; `model_copy(update=...)`)."""

    @model_validator(mode="after")
    def _valid_model(self) -> TrainOptions:
        check_model(self.preset, self.overrides)
        return self

    @classmethod
    def parse(cls, data: Any, where: str = "training options") -> TrainOptions:
        """Validate plain data (JSON, YAML); a ConfigError naming each bad field otherwise."""
        try:
            return cls.model_validate(data if isinstance(data, Mapping) else {})
        except ValidationError as error:
            raise ConfigError(f"{where}: {describe_errors(error)}") from None

    @classmethod
    def combine(cls, basics: TrainingBasics, tuning: TrainingTuning) -> TrainOptions:
        return cls(**basics.model_dump(), **tuning.model_dump())

    def basics(self) -> TrainingBasics:
        return TrainingBasics(**{k: getattr(self, k) for k in TrainingBasics.model_fields})

    def tuning(self) -> TrainingTuning:
        return TrainingTuning(**{k: getattr(self, k) for k in TrainingTuning.model_fields})


def describe_problems(
    problems: Sequence[Mapping[str, Any]], *, whole: str = "value", limit: int | None = None, skip: str = ""
) -> str:
    """Pydantic's error items as one line, `field: message; other.field: message`; `whole` names the
    document itself, `skip` a location part to leave out (FastAPI's "body")."""
    parts = []
    for item in problems[:limit]:
        where = ".".join(str(p) for p in item.get("loc", ()) if p != skip) or whole
        parts.append(f"{where}: {str(item.get('msg', 'invalid')).removeprefix('Value error, ')}")
    return "; ".join(parts)


def describe_errors(error: ValidationError) -> str:
    """A ValidationError as one line (`describe_problems`)."""
    return describe_problems(error.errors(include_url=False))


@dataclass(frozen=True)
class Runtime:
    """Where and how a training run executes; never changes what is trained."""

    device: str | None = None  # torch device; default: cuda if present, else cpu
    show_bars: bool = False  # tqdm progress bars on stderr


DEFAULT_RUNTIME = Runtime()
DEFAULT_OPTIONS = TrainOptions()  # for command-line defaults

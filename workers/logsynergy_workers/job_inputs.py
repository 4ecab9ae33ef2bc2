"""A training job's inputs: the spec (validated), its objects checked, downloaded and concatenated
into local files, and the core `SystemSpec`s that point at them."""

from __future__ import annotations

import gzip
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, BinaryIO

from logsynergy.errors import ConfigError, InputError, ObjectNotFound
from logsynergy.model.presets import PRESETS, ModelConfig
from logsynergy.options import TrainOptions, check_overrides
from logsynergy.store import ObjectStore
from logsynergy.systems import FORMATS, SystemSpec

# TrainOptions a spec's optional "options" object may override; preset, seed and target_labelled are
# top-level spec fields, and the device and progress bars are the worker's business.
OPTION_FIELDS = set(TrainOptions.model_fields) - {"preset", "seed", "target_labelled"}
HEADER_FORMATS = ("structured",)  # csv logs: a header line repeated by later datasets is dropped


@dataclass(frozen=True)
class DatasetKeys:
    log_key: str
    labels_key: str | None = None


@dataclass(frozen=True)
class SystemInput:
    """One system of a job spec: where its datasets and optional interpretations are in the store."""

    name: str
    format: str
    description: str
    datasets: tuple[DatasetKeys, ...]
    interpretations_key: str | None = None
    windowing: str | None = None

    def store_keys(self) -> list[str]:
        """Every store key this system reads."""
        out = [k for d in self.datasets for k in (d.log_key, d.labels_key) if k]
        return [*out, self.interpretations_key] if self.interpretations_key else out


@dataclass(frozen=True)
class TrainJobSpec:
    """spec.json, validated (see docs/internals.md, "Training job spec")."""

    job_id: str
    tenant: str
    target: SystemInput
    sources: tuple[SystemInput, ...]
    artifact_prefix: str
    progress_key: str
    result_key: str
    interpretations_out_key: str
    preset: str = "cpu"
    seed: int = 0
    target_labelled: int = 5000
    use_gpu: bool = False
    options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Any) -> TrainJobSpec:
        if not isinstance(data, Mapping):
            raise ConfigError("job spec: expected a JSON object")
        preset = _get(data, "preset", str, "cpu")
        if preset not in PRESETS:
            raise ConfigError(f"job spec: unknown preset {preset!r}; choose one of: {', '.join(PRESETS)}")
        target_labelled = _get(data, "target_labelled", int, 5000)
        if target_labelled < 0:
            raise ConfigError("job spec: 'target_labelled' must be >= 0")
        sources = data.get("sources") or []
        if not isinstance(sources, list):
            raise ConfigError("job spec: 'sources' must be a list")
        spec = cls(
            job_id=_get(data, "job_id", str),
            tenant=_get(data, "tenant", str),
            target=_system(data.get("target"), "target"),
            sources=tuple(_system(s, f"sources[{i}]") for i, s in enumerate(sources)),
            artifact_prefix=_get(data, "artifact_prefix", str),
            progress_key=_get(data, "progress_key", str),
            result_key=_get(data, "result_key", str),
            interpretations_out_key=_get(data, "interpretations_out_key", str),
            preset=preset,
            seed=_get(data, "seed", int, 0),
            target_labelled=target_labelled,
            use_gpu=_get(data, "use_gpu", bool, False),
            options=check_options(data.get("options")),
        )
        names = [s.name for s in (*spec.sources, spec.target)]
        if len(set(names)) != len(names):
            raise ConfigError(f"job spec: system names must be distinct (got {', '.join(names)})")
        return spec

    def train_options(self) -> TrainOptions:
        """TrainOptions from the preset, seed, target_labelled and the `options` overrides."""
        return TrainOptions(
            **self.options, preset=self.preset, seed=self.seed, target_labelled=self.target_labelled
        )

    def input_keys(self) -> list[str]:
        return [k for s in (*self.sources, self.target) for k in s.store_keys()]


def _get(data: Mapping[str, Any], name: str, kind: type, default: Any = ...) -> Any:
    value = data.get(name, default)
    if value is ...:
        raise ConfigError(f"job spec: '{name}' is missing")
    if value is None and default is not ...:
        return default
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(f"job spec: '{name}' must be a {kind.__name__}, not {type(value).__name__}")
    if kind is str and not value.strip():
        raise ConfigError(f"job spec: '{name}' must not be empty")
    return value


def check_options(value: Any) -> dict[str, Any]:
    """Validate the optional TrainOptions overrides of a job (used by the control plane too)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError("job spec: 'options' must be an object")
    unknown = sorted(set(value) - OPTION_FIELDS)
    if unknown:
        raise ConfigError(
            f"job spec: unknown option(s) {', '.join(unknown)}; allowed: {', '.join(sorted(OPTION_FIELDS))}"
        )
    defaults = TrainOptions()
    for name, given in value.items():
        if name != "overrides" and not _option_type_ok(getattr(defaults, name), given, name):
            raise ConfigError(f"job spec: options.{name} has the wrong type ({type(given).__name__})")
    overrides = value.get("overrides") or {}
    if not isinstance(overrides, Mapping):
        raise ConfigError("job spec: 'options.overrides' must be an object of model settings")
    bad = sorted(set(overrides) - {f.name for f in fields(ModelConfig)})
    if bad:
        raise ConfigError(f"job spec: unknown model setting(s) in options.overrides: {', '.join(bad)}")
    check_overrides(overrides, "job spec: options.overrides")
    return dict(value)


def _option_type_ok(default: Any, given: Any, name: str) -> bool:
    if given is None:
        return name in ("epochs", "target_share")
    if isinstance(default, bool) or isinstance(given, bool):
        return isinstance(default, bool) and isinstance(given, bool)
    if name == "epochs" or isinstance(default, int):
        return isinstance(given, int)
    return isinstance(given, int | float)


def _system(value: Any, where: str) -> SystemInput:
    if not isinstance(value, Mapping):
        raise ConfigError(f"job spec: '{where}' must be an object")
    name = _get(value, "name", str)
    fmt = _get(value, "format", str)
    if fmt not in FORMATS:
        known = ", ".join(FORMATS)
        raise ConfigError(f"job spec: system {name!r} has unknown format {fmt!r} (known: {known})")
    datasets = value.get("datasets")
    if not isinstance(datasets, list) or not datasets:
        raise ConfigError(f"job spec: system {name!r} needs a non-empty 'datasets' list")
    keys = []
    for i, d in enumerate(datasets):
        if not isinstance(d, Mapping) or not isinstance(d.get("log_key"), str) or not d["log_key"]:
            raise ConfigError(f"job spec: system {name!r}, dataset {i}: 'log_key' is missing")
        labels = d.get("labels_key")
        if labels is not None and (not isinstance(labels, str) or not labels):
            raise ConfigError(f"job spec: system {name!r}, dataset {i}: 'labels_key' must be a key or null")
        keys.append(DatasetKeys(d["log_key"], labels))
    interpretations = value.get("interpretations_key")
    if interpretations is not None and (not isinstance(interpretations, str) or not interpretations):
        raise ConfigError(f"job spec: system {name!r}: 'interpretations_key' must be a key or null")
    windowing = value.get("windowing")
    if windowing not in (None, "sliding", "session"):
        raise ConfigError(f"job spec: system {name!r}: windowing must be 'sliding' or 'session'")
    description = value.get("description") or ""
    return SystemInput(name, fmt, str(description), tuple(keys), interpretations, windowing)


def check_inputs(store: ObjectStore, spec: TrainJobSpec) -> None:
    """Fail fast, naming every missing key, before any training starts."""
    missing = [key for key in dict.fromkeys(spec.input_keys()) if not store.exists(key)]
    if missing:
        raise InputError(f"input object(s) not found in the store: {', '.join(missing)}")


def download_system(store: ObjectStore, system: SystemInput, directory: Path) -> SystemSpec:
    """Download a system's datasets (concatenated in order) and interpretations into `directory`
    (one directory per system: the caller names it, so that no system name becomes a path)."""
    base = directory
    parts = base / "parts"
    parts.mkdir(parents=True, exist_ok=True)
    logs: list[Path] = []
    labels: list[Path] = []
    for i, dataset in enumerate(system.datasets):
        logs.append(_download(store, dataset.log_key, parts / f"{i}.log"))
        if dataset.labels_key:
            labels.append(_download(store, dataset.labels_key, parts / f"{i}.labels"))
    log_path = concatenate(logs, base / "log", drop_header=system.format in HEADER_FORMATS)
    labels_path = concatenate(labels, base / "labels", drop_header=True) if labels else None
    interpretations = None
    if system.interpretations_key:
        interpretations = _download(store, system.interpretations_key, base / "interpretations.jsonl")
    shutil.rmtree(parts, ignore_errors=True)
    return SystemSpec(
        name=system.name,
        format=system.format,
        path=log_path,
        labels=labels_path,
        description=system.description,
        interpretations=interpretations,
        windowing=system.windowing,
    )


def _download(store: ObjectStore, key: str, path: Path) -> Path:
    try:
        store.download_file(key, path)
    except ObjectNotFound:
        raise InputError(f"input object not found in the store: {key}") from None
    return path


def _open(path: Path) -> BinaryIO:
    """A downloaded part, gunzipped when it is gzip data (whatever its key is called)."""
    with path.open("rb") as fh:
        magic = fh.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else path.open("rb")  # type: ignore[return-value]


def concatenate(parts: list[Path], out: Path, *, drop_header: bool = False) -> Path:
    """Join files in order into `out` (plain text). With `drop_header`, a later part's first line is
    dropped when it equals the first part's first line. A part not ending in a newline gets one."""
    header = b""
    last = b"\n"
    with out.open("wb") as sink:
        for i, part in enumerate(parts):
            with _open(part) as source:
                chunk = source.readline()
                if i == 0:
                    header = chunk.rstrip(b"\r\n")
                elif drop_header and chunk.rstrip(b"\r\n") == header:
                    chunk = b""
                if last != b"\n":
                    sink.write(b"\n")
                    last = b"\n"
                while True:
                    if chunk:
                        sink.write(chunk)
                        last = chunk[-1:]
                    chunk = source.read(1 << 20)
                    if not chunk:
                        break
    return out

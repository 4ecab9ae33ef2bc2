"""`bench.yaml`: the systems, the experiments (target, sources, learning curve), seeds and methods."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from logsynergy.baselines.peers import PEER_METHODS, require_loglead
from logsynergy.errors import ConfigError, InputError
from logsynergy.systems import SystemSpec, load_systems, parse_systems

METHODS = (
    "logsynergy",
    "logsynergy-no-lei",
    "logsynergy-no-sufe",
    "logsynergy-no-da",
    "logsynergy-offline-lei",
    "logsynergy-no-novelty",
    "target-only",
    "direct",
    "logtransfer",
    "classical",
)
# LogLead's models (`loglead-<model>-<features>`): known to configs, never in the default list (they need
# the optional `peers` extra)
KNOWN_METHODS = METHODS + PEER_METHODS


@dataclass(frozen=True)
class Experiment:
    name: str
    target: str
    sources: tuple[str, ...]
    target_labelled: tuple[int, ...]
    methods: tuple[str, ...] | None = None  # this experiment's methods, else the config's
    # the split point: the share of the target's windows left out before its labelled part (the log
    # "starts" there), so that the labelled and test parts are other stretches of the same log
    start: float = 0.0


@dataclass(frozen=True)
class BenchConfig:
    systems: dict[str, SystemSpec]
    experiments: tuple[Experiment, ...]
    seeds: tuple[int, ...]
    methods: tuple[str, ...]
    epochs: int | None = None
    model: dict[str, Any] | None = None


def _ints(value: Any, what: str) -> tuple[int, ...]:
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in values):
        raise ConfigError(f"{what} must be a non-negative integer or a list of them")
    return tuple(values)


def parse_bench(data: Any, base: Path, source: str = "bench config") -> BenchConfig:
    """Validate a bench config; relative paths resolve against `base`."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping with systems, experiments, seeds and methods")
    if "systems_file" in data:
        systems = load_systems(base / str(data["systems_file"]))
    else:
        systems = parse_systems({"systems": data.get("systems")}, base, source)
    methods = tuple(data.get("methods") or METHODS)
    unknown = [m for m in methods if m not in KNOWN_METHODS]
    if unknown:
        raise ConfigError(
            f"{source}: unknown method(s) {', '.join(unknown)}; known: {', '.join(METHODS)} "
            "and loglead-<model>-<features> (model: lr, dt, rf, lsvm, xgb, if, lof, kmeans, ocsvm, oov, "
            "rarity; features: events, words)"
        )
    peers = [m for m in methods if m in PEER_METHODS]
    if peers:
        require_loglead(f"{source}: {', '.join(peers[:2])}{' and the other loglead-*' if peers[2:] else ''}")
    experiments = []
    for i, entry in enumerate(data.get("experiments") or [], 1):
        if isinstance(entry, dict) and entry.get("methods") is not None:
            own = entry["methods"]
            if not isinstance(own, list) or not own or any(m not in KNOWN_METHODS for m in own):
                raise ConfigError(f"{source}: experiment {i} methods must be a non-empty list of known ones")
            if any(m in PEER_METHODS for m in own):
                require_loglead(f"{source}: experiment {i}'s loglead-* methods")
        if not isinstance(entry, dict) or "target" not in entry:
            raise ConfigError(f"{source}: experiment {i} needs at least a 'target'")
        target = str(entry["target"])
        sources = tuple(entry.get("sources") or [n for n in systems if n != target])
        for name in (target, *sources):
            if name not in systems:
                raise ConfigError(f"{source}: experiment {i} names unknown system {name!r}")
        if target in sources:
            raise ConfigError(f"{source}: experiment {i}: {target!r} is both target and source")
        labelled = _ints(entry.get("target_labelled", 5000), f"experiment {i} target_labelled")
        start = entry.get("start", 0.0)
        if isinstance(start, bool) or not isinstance(start, int | float) or not 0 <= start < 1:
            raise ConfigError(f"{source}: experiment {i} start must be a share of the log in [0, 1)")
        at = f"-at-{round(start * 100)}" if start else ""
        experiments.append(
            Experiment(
                str(entry.get("name") or f"{target}-from-{'-'.join(sources)}{at}"),
                target,
                sources,
                labelled,
                tuple(entry["methods"]) if entry.get("methods") is not None else None,
                float(start),
            )
        )
    if not experiments:
        raise ConfigError(f"{source}: no experiments")
    seeds = _ints(data.get("seeds", [0]), "seeds")
    epochs = data.get("epochs")
    if epochs is not None and (not isinstance(epochs, int) or epochs < 1):
        raise ConfigError(f"{source}: epochs must be a positive integer")
    model = data.get("model")
    if model is not None and not isinstance(model, dict):
        raise ConfigError(f"{source}: 'model' must be a mapping of model settings (e.g. hidden: 64)")
    return BenchConfig(systems, tuple(experiments), seeds, methods, epochs, model)


def load_bench(path: str | Path) -> BenchConfig:
    file = Path(path)
    if not file.is_file():
        raise InputError(f"bench config not found: {file}")
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{file}: not valid YAML ({str(exc).splitlines()[0]})") from None
    return parse_bench(data, file.resolve().parent, str(file))

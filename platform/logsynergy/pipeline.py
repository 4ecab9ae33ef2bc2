"""End-to-end entry points of the core library: train from a systems file, detect with an artifact."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from logsynergy.detector import Detection, Detector
from logsynergy.embedding import SentenceEmbedder
from logsynergy.errors import ConfigError
from logsynergy.fit import FitResult, fit
from logsynergy.interpret import Interpreter, make_interpreter
from logsynergy.loaders import load_log
from logsynergy.options import DEFAULT_RUNTIME, Runtime, TrainOptions
from logsynergy.prepare import PreparedSystem, Say, prepare_system
from logsynergy.systems import SystemSpec, load_systems


def choose_systems(
    specs: Mapping[str, SystemSpec], target: str, sources: Sequence[str] | None
) -> tuple[SystemSpec, list[SystemSpec]]:
    """Validate the target and source names; by default every other system is a source."""
    if target not in specs:
        raise ConfigError(f"target {target!r} is not in the systems file (known: {', '.join(specs)})")
    names = list(sources) if sources else [n for n in specs if n != target]
    unknown = [n for n in names if n not in specs]
    if unknown:
        raise ConfigError(f"unknown source system(s): {', '.join(unknown)} (known: {', '.join(specs)})")
    if target in names:
        raise ConfigError(f"the target {target!r} cannot also be a source")
    return specs[target], [specs[n] for n in names]


def train(
    systems_file: str | Path,
    target: str,
    *,
    sources: Sequence[str] | None = None,
    options: TrainOptions | None = None,
    runtime: Runtime = DEFAULT_RUNTIME,
    out: str | Path | None = None,
    interpreter: Interpreter | None = None,
    embedder: SentenceEmbedder | None = None,
    say: Say = print,
    progress: Any = None,
) -> FitResult:
    """Load, parse, interpret and window every system, train the target's detector, save it to `out`."""
    started = time.perf_counter()
    options = options or TrainOptions()
    target_spec, source_specs = choose_systems(load_systems(systems_file), target, sources)
    interpreter = interpreter or make_interpreter()
    embedder = embedder or SentenceEmbedder()
    prepared: list[PreparedSystem] = [
        prepare_system(spec, interpreter, say=say) for spec in [*source_specs, target_spec]
    ]
    result = fit(prepared[-1], prepared[:-1], embedder, options, runtime=runtime, say=say, progress=progress)
    result.metrics["total_seconds"] = round(time.perf_counter() - started, 2)
    if out is not None:
        directory = result.detector.save(out)
        (directory / "metrics.json").write_text(json.dumps(result.metrics, indent=1, default=str))
    return result


def detect_file(
    artifact: str | Path, log_file: str | Path, fmt: str | None = None, labels: str | Path | None = None
) -> Detection:
    """Score a whole log file with a saved detector (its training format unless `fmt` is given)."""
    detector = Detector.load(artifact)
    log = load_log(fmt or detector.settings.format, log_file, labels)
    log.label_records_by_session()
    return detector.score_records(log.records)

"""End-to-end entry points of the core library: train from a systems file, detect with an artifact."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TypedDict, Unpack

from logsynergy.detector import Detection, Detector
from logsynergy.embedding import SentenceEmbedder
from logsynergy.errors import ConfigError
from logsynergy.fit import FitResult, fit
from logsynergy.interpret import Interpreter, make_interpreter
from logsynergy.loaders import load_log
from logsynergy.options import DEFAULT_RUNTIME, Runtime, TrainOptions
from logsynergy.prepare import PreparedSystem, Say, prepare_system
from logsynergy.systems import SystemSpec, load_systems
from logsynergy.training import ProgressCallback


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


Stage = Callable[[str, str], None]  # (stage, message): PREPARING once per system, then TRAINING once
PREPARING = "preparing"
TRAINING = "training"


def train_systems(
    target: SystemSpec,
    sources: Sequence[SystemSpec],
    options: TrainOptions,
    *,
    runtime: Runtime = DEFAULT_RUNTIME,
    interpreter: Interpreter | None = None,
    embedder: SentenceEmbedder | None = None,
    out: str | Path | None = None,
    say: Say = print,
    stage: Stage = lambda _stage, _message: None,
    progress: ProgressCallback | None = None,
) -> FitResult:
    """Load, parse, interpret and window every system, fit the target's detector (its metrics'
    `total_seconds` count all of it) and save it to `out` when given. Judged windows (a spec's
    `feedback`) train the target only: a source's are not read."""
    started = time.perf_counter()
    interpreter = interpreter or make_interpreter()
    prepared: list[PreparedSystem] = []
    for spec in [*(dataclasses.replace(s, feedback=None) for s in sources), target]:
        stage(PREPARING, f"parsing and interpreting {spec.name}")
        prepared.append(prepare_system(spec, interpreter, say=say))
    stage(TRAINING, f"training {target.name} from {', '.join(s.name for s in sources) or 'no sources'}")
    embedder = embedder or SentenceEmbedder()
    result = fit(prepared[-1], prepared[:-1], embedder, options, runtime=runtime, say=say, progress=progress)
    seconds = round(time.perf_counter() - started, 2)
    result.metrics = result.detector.metrics = result.metrics.model_copy(update={"total_seconds": seconds})
    if out is not None:
        result.detector.save(out)
    return result


class RunSettings(TypedDict, total=False):
    """`train_systems`'s keyword settings, which `train` passes through."""

    runtime: Runtime
    interpreter: Interpreter | None
    embedder: SentenceEmbedder | None
    out: str | Path | None
    say: Say
    stage: Stage
    progress: ProgressCallback | None


def train(
    systems_file: str | Path,
    target: str,
    *,
    sources: Sequence[str] | None = None,
    options: TrainOptions | None = None,
    feedback: str | Path | None = None,
    **settings: Unpack[RunSettings],
) -> FitResult:
    """`train_systems` for the systems named in a systems file (by default every other one a source);
    `feedback`: a file of judged target windows, instead of the target's own `feedback:` entry."""
    target_spec, source_specs = choose_systems(load_systems(systems_file), target, sources)
    if feedback is not None:
        target_spec = dataclasses.replace(target_spec, feedback=Path(feedback))
    return train_systems(target_spec, source_specs, options or TrainOptions(), **settings)


def detect_file(
    artifact: str | Path, log_file: str | Path, fmt: str | None = None, labels: str | Path | None = None
) -> Detection:
    """Score a whole log file with a saved detector (its training format unless `fmt` is given)."""
    detector = Detector.load(artifact)
    log = load_log(fmt or detector.settings.format, log_file, labels)
    log.label_records_by_session()
    return detector.score_records(log.records)

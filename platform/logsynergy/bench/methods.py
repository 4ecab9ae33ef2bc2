"""Every method of the benchmark behind one call, on identical splits of the target."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from logsynergy.baselines.classical import fit_classical
from logsynergy.baselines.logtransfer import fit_logtransfer
from logsynergy.baselines.peers import PEER_METHODS, fit_peer, parse_method
from logsynergy.embedding import SentenceEmbedder
from logsynergy.fit import FitResult, fit
from logsynergy.interpret import InterpretationStore, OfflineInterpreter
from logsynergy.model import model_config
from logsynergy.options import Runtime, TrainOptions
from logsynergy.prepare import PreparedSystem

Result = dict[str, Any]


@dataclass(frozen=True)
class Trial:
    """One cell of the benchmark: a target, its sources, the options (budget, seed) and the runtime."""

    target: PreparedSystem
    sources: Sequence[PreparedSystem]
    embedder: SentenceEmbedder
    options: TrainOptions
    runtime: Runtime


Method = Callable[[Trial], Result]


def with_offline_lei(system: PreparedSystem) -> PreparedSystem:
    """The same parsed system with every template interpreted by the offline interpreter instead."""
    store = InterpretationStore()
    store.ensure(list(system.parser.templates.values()), system.context, OfflineInterpreter())
    return dataclasses.replace(system, store=store)


def _fitted(result: FitResult) -> Result:
    return {**result.metrics.model_dump(), "detector": result.detector}


def _logsynergy(**changes: Any) -> Method:
    def run(trial: Trial) -> Result:
        options = trial.options.model_copy(update=changes)
        return _fitted(fit(trial.target, trial.sources, trial.embedder, options, runtime=trial.runtime))

    return run


def _target_only(trial: Trial) -> Result:
    options = trial.options.model_copy(update={"count_model": False})
    return _fitted(fit(trial.target, [], trial.embedder, options, runtime=trial.runtime))


def _offline_lei(trial: Trial) -> Result:
    target, sources = with_offline_lei(trial.target), [with_offline_lei(s) for s in trial.sources]
    options = trial.options.model_copy(update={"count_model": False})
    return _fitted(fit(target, sources, trial.embedder, options, runtime=trial.runtime))


def _logtransfer(trial: Trial) -> Result:
    options = trial.options
    schedule = model_config(options.preset, epochs=options.epochs, **options.overrides)
    result = fit_logtransfer(
        trial.target,
        trial.sources,
        trial.embedder,
        options,
        epochs=schedule.epochs,
        min_steps=schedule.min_steps,
        runtime=trial.runtime,
    )
    return dataclasses.asdict(result)


def _classical(trial: Trial) -> Result:
    return dataclasses.asdict(fit_classical(trial.target, trial.options))


def _peer(name: str) -> Method:
    model, features = parse_method(name)

    def run(trial: Trial) -> Result:
        return dataclasses.asdict(fit_peer(trial.target, trial.options, model, features))

    return run


RUNNERS: dict[str, Method] = {
    "logsynergy": _logsynergy(),
    # the ablations and target-only measure the network: no count model is chosen instead of it
    "logsynergy-no-lei": _logsynergy(use_lei=False, count_model=False),
    "logsynergy-no-sufe": _logsynergy(use_sufe=False, count_model=False),
    "logsynergy-no-da": _logsynergy(use_da=False, count_model=False),
    "logsynergy-offline-lei": _offline_lei,
    "logsynergy-no-novelty": _logsynergy(event_novelty=False, count_model=False),
    "target-only": _target_only,
    "direct": _logsynergy(use_target_labels=False, count_checks=False),
    "logtransfer": _logtransfer,
    "classical": _classical,
    **{name: _peer(name) for name in PEER_METHODS},
}


def run_method(method: str, trial: Trial) -> Result:
    """Train and evaluate one method; the result carries precision, recall, f1 and train_seconds."""
    return RUNNERS[method](trial)

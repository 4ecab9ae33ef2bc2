"""Every method of the benchmark behind one call, on identical splits of the target."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from logsynergy.baselines.classical import fit_classical
from logsynergy.baselines.logtransfer import fit_logtransfer
from logsynergy.embedding import SentenceEmbedder
from logsynergy.fit import fit
from logsynergy.interpret import InterpretationStore, OfflineInterpreter
from logsynergy.options import TrainOptions
from logsynergy.prepare import PreparedSystem

Result = dict[str, Any]


def with_offline_lei(system: PreparedSystem) -> PreparedSystem:
    """The same parsed system with every template interpreted by the offline interpreter instead."""
    store = InterpretationStore()
    store.ensure(list(system.parser.templates.values()), system.context, OfflineInterpreter())
    return dataclasses.replace(system, store=store)


def _logsynergy(**changes: Any) -> Callable[..., Result]:
    def run(
        target: PreparedSystem,
        sources: Sequence[PreparedSystem],
        embedder: SentenceEmbedder,
        options: TrainOptions,
    ) -> Result:
        result = fit(target, sources, embedder, options.model_copy(update=changes))
        return {**result.metrics, "detector": result.detector}

    return run


def _target_only(
    target: PreparedSystem,
    sources: Sequence[PreparedSystem],
    embedder: SentenceEmbedder,
    options: TrainOptions,
) -> Result:
    result = fit(target, [], embedder, options)
    return {**result.metrics, "detector": result.detector}


def _offline_lei(
    target: PreparedSystem,
    sources: Sequence[PreparedSystem],
    embedder: SentenceEmbedder,
    options: TrainOptions,
) -> Result:
    result = fit(with_offline_lei(target), [with_offline_lei(s) for s in sources], embedder, options)
    return {**result.metrics, "detector": result.detector}


def _logtransfer(
    target: PreparedSystem,
    sources: Sequence[PreparedSystem],
    embedder: SentenceEmbedder,
    options: TrainOptions,
) -> Result:
    result = fit_logtransfer(
        target,
        sources,
        embedder,
        options,
        epochs=options.epochs or 10,
        min_steps=int(options.overrides.get("min_steps", 300)),
    )
    return {**dataclasses.asdict(result)}


def _classical(
    target: PreparedSystem,
    sources: Sequence[PreparedSystem],
    embedder: SentenceEmbedder,
    options: TrainOptions,
) -> Result:
    return {**dataclasses.asdict(fit_classical(target, options))}


RUNNERS: dict[str, Callable[..., Result]] = {
    "logsynergy": _logsynergy(),
    "logsynergy-no-lei": _logsynergy(use_lei=False),
    "logsynergy-no-sufe": _logsynergy(use_sufe=False),
    "logsynergy-no-da": _logsynergy(use_da=False),
    "logsynergy-offline-lei": _offline_lei,
    "logsynergy-no-novelty": _logsynergy(event_novelty=False),
    "target-only": _target_only,
    "direct": _logsynergy(use_target_labels=False),
    "logtransfer": _logtransfer,
    "classical": _classical,
}


def run_method(
    method: str,
    target: PreparedSystem,
    sources: Sequence[PreparedSystem],
    embedder: SentenceEmbedder,
    options: TrainOptions,
) -> Result:
    """Train and evaluate one method; the result carries precision, recall, f1 and train_seconds."""
    return RUNNERS[method](target, sources, embedder, options)

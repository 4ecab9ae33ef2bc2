"""Peer detectors run through the LogLead library itself (PyPI `loglead`, the optional `peers` extra):
its masking, its Drain and its event-count and word-count vectors of the *same windows* every other
method sees, its models at their defaults, on the same chronological split.

LogLead is imported lazily, so the core imports (and every other method runs) without it. A method is
named `loglead-<model>-<features>`, e.g. `loglead-dt-words`. Protocol:

- the target's whole log is masked and parsed by LogLead (`EventLogEnhancer.mask`, `parse_drain` with a
  fresh Drain per system, `words` on the raw message), as our own parser sees the whole log too;
- models train on the labelled budget (our split's training and validation parts together: LogLead has
  no threshold to choose) and predict the test part with LogLead's own `predict`, i.e. every threshold
  is LogLead's default and fixed before the test part is seen (0.5 for the supervised models; the
  library's contamination, distance quantile, OOV and rarity cut-offs for the unsupervised ones);
- LOF, the OOV detector and the rarity model train on the budget's normal windows (LogLead's default
  `filter_anos=True`); with no labelled budget every training window counts as normal;
- a supervised model whose budget holds one class only calls every test window normal;
- models that draw random numbers without a seed argument (DT, RF, linear SVM, KMeans, IsolationForest)
  draw from numpy's global generator, seeded with the trial's seed for the call and restored after.
"""

from __future__ import annotations

import importlib.util
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from logsynergy.baselines.result import BaselineResult
from logsynergy.errors import ConfigError
from logsynergy.metrics import prf
from logsynergy.options import TrainOptions
from logsynergy.training_sets import overlap_gap, split_target
from logsynergy.windows import Window

if TYPE_CHECKING:
    import polars as pl

    from logsynergy.prepare import PreparedSystem

# method-name part → AnomalyDetector.train_<name>
MODELS: dict[str, str] = {
    "lr": "LR",
    "dt": "DT",
    "rf": "RF",
    "lsvm": "LSVM",
    "xgb": "XGB",
    "if": "IsolationForest",
    "lof": "LOF",
    "kmeans": "KMeans",
    "ocsvm": "OneClassSVM",
    "oov": "OOVDetector",
    "rarity": "RarityModel",
}
SUPERVISED = frozenset({"lr", "dt", "rf", "lsvm", "xgb"})
# method-name part → LogLead's per-window item column
FEATURES: dict[str, str] = {"events": "e_event_drain_id", "words": "e_words"}
PEER_METHODS: tuple[str, ...] = tuple(f"loglead-{m}-{f}" for m in MODELS for f in FEATURES)
INSTALL_HINT = "pip install -e '.[peers]' (make bench does)"


def loglead_available() -> bool:
    """Whether LogLead can be imported (checked without importing it)."""
    return importlib.util.find_spec("loglead") is not None


def require_loglead(what: str) -> None:
    if not loglead_available():
        raise ConfigError(f"{what} need(s) the optional LogLead package: {INSTALL_HINT}")


def parse_method(name: str) -> tuple[str, str]:
    """`loglead-<model>-<features>` → (model, features)."""
    parts = name.split("-")
    if len(parts) != 3 or parts[0] != "loglead" or parts[1] not in MODELS or parts[2] not in FEATURES:
        raise ConfigError(f"not a LogLead method: {name!r}; known: {', '.join(PEER_METHODS)}")
    return parts[1], parts[2]


@dataclass(frozen=True)
class LineFeatures:
    """LogLead's view of one log, per record: its Drain event id and its words."""

    events: list[str]
    words: list[list[str]]
    row: dict[int, int]  # LogRecord.line_no → index into `events` and `words`
    seconds: float  # masking, parsing and splitting, once per log


def _fresh_drain() -> Any:
    """A Drain template miner configured as LogLead's own (its `drain3_no_masking.ini`), but empty."""
    from drain3 import TemplateMiner
    from drain3.template_miner_config import TemplateMinerConfig
    from loglead.parsers.drain3 import drain

    config = TemplateMinerConfig()
    config.load(os.path.join(os.path.dirname(drain.__file__), "drain3_no_masking.ini"))
    return TemplateMiner(config=config)


@contextmanager
def _own_drain() -> Iterator[None]:
    """LogLead's `parse_drain` uses one module-level miner for every log of the process (capped at 1,024
    clusters): give each log an empty one, so its event ids do not depend on what was parsed before."""
    import loglead.parsers as parsers

    kept = parsers.DrainTemplateMinerNoMasking
    parsers.DrainTemplateMinerNoMasking = _fresh_drain()
    try:
        yield
    finally:
        parsers.DrainTemplateMinerNoMasking = kept


def line_features(messages: Sequence[str], line_numbers: Sequence[int]) -> LineFeatures:
    """Mask, Drain-parse and split every message with LogLead's `EventLogEnhancer` defaults."""
    import polars as pl
    from loglead.enhancers import EventLogEnhancer

    started = time.perf_counter()
    enhancer = EventLogEnhancer(pl.DataFrame({"m_message": list(messages)}, schema={"m_message": pl.Utf8}))
    enhancer.mask()
    with _own_drain():
        enhancer.parse_drain()
    frame = enhancer.words()
    row = {n: i for i, n in enumerate(line_numbers)}
    return LineFeatures(
        frame["e_event_drain_id"].to_list(), frame["e_words"].to_list(), row, time.perf_counter() - started
    )


_CACHE: dict[int, tuple[object, LineFeatures]] = {}


def system_features(system: PreparedSystem) -> LineFeatures:
    """`line_features` of a prepared system's log, computed once per system object."""
    cached = _CACHE.get(id(system))
    if cached is not None and cached[0] is system:
        return cached[1]
    records = system.log.records
    features = line_features([r.message for r in records], [r.line_no for r in records])
    if len(_CACHE) >= 8:
        _CACHE.clear()
    _CACHE[id(system)] = (system, features)
    return features


def window_frame(windows: Sequence[Window], features: LineFeatures, *, labelled: bool = True) -> pl.DataFrame:
    """One row per window as LogLead's `SequenceEnhancer` builds them: the event ids and the words of its
    lines in order, their counts, and `anomaly` (False for every window when `labelled` is off)."""
    import polars as pl

    events, words, anomaly = [], [], []
    for window in windows:
        rows = [features.row[n] for n in window.lines]
        events.append([features.events[i] for i in rows])
        words.append([w for i in rows for w in features.words[i]])
        anomaly.append(labelled and window.label == 1)
    return pl.DataFrame(
        {
            "seq_id": [str(i) for i in range(len(windows))],
            "e_event_drain_id": events,
            "e_words": words,
            "e_event_id_len": [len(e) for e in events],
            "e_words_len": [len(w) for w in words],
            "anomaly": anomaly,
        },
        schema={
            "seq_id": pl.Utf8,
            "e_event_drain_id": pl.List(pl.Utf8),
            "e_words": pl.List(pl.Utf8),
            "e_event_id_len": pl.Int64,
            "e_words_len": pl.Int64,
            "anomaly": pl.Boolean,
        },
    )


@contextmanager
def _seeded(seed: int) -> Iterator[None]:
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def predict_peer(
    train: pl.DataFrame, test: pl.DataFrame, model: str, features: str, seed: int = 0
) -> np.ndarray:
    """Train LogLead's `model` on `train` and return its default 0/1 predictions for `test`."""
    from loglead import AnomalyDetector

    detector = AnomalyDetector(item_list_col=FEATURES[features], print_scores=False)
    detector.train_df, detector.test_df = train, test
    detector.prepare_train_test_data()
    with _seeded(seed):
        getattr(detector, f"train_{MODELS[model]}")()
        predicted = detector.predict()
    return predicted["pred_ano"].to_numpy().astype(bool)


def fit_peer(target: PreparedSystem, options: TrainOptions, model: str, features: str) -> BaselineResult:
    """One LogLead model on one kind of LogLead vector, on the target's usual split (see module doc)."""
    lines = system_features(target)
    started = time.perf_counter()
    split = split_target(target.windows, options, overlap_gap(target))
    budget = options.target_labelled > 0 and options.use_target_labels
    train = [w for w in [*split.train, *split.val] if w.label is not None or not budget]
    test = [w for w in split.test if w.label is not None]
    test_labels = np.array([w.label == 1 for w in test])
    anomalies = sum(1 for w in train if w.label == 1) if budget else 0
    extra: dict[str, Any] = {"parse_seconds": lines.seconds, "train_windows": len(train)}
    if model in SUPERVISED and (anomalies == 0 or anomalies == len(train)):
        predicted = np.zeros(len(test), bool)
        extra["note"] = "one class only in the labelled budget: every window called normal"
    else:
        try:
            predicted = predict_peer(
                window_frame(train, lines, labelled=budget),
                window_frame(test, lines),
                model,
                features,
                options.seed,
            )
        except ValueError as error:  # e.g. LOF given fewer normal windows than it has neighbours
            predicted = np.zeros(len(test), bool)
            extra["note"] = f"the model could not be fitted ({error}): every window called normal"
    measured = prf(test_labels, predicted)
    return BaselineResult(
        measured.precision, measured.recall, measured.f1, float("nan"), time.perf_counter() - started, extra
    )

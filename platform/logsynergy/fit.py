"""Fit a LogSynergy detector for a target system from prepared sources and target."""

from __future__ import annotations

import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from logsynergy.detector import Detector
from logsynergy.embedding import SentenceEmbedder
from logsynergy.errors import InputError
from logsynergy.metrics import prf
from logsynergy.model import model_config
from logsynergy.novelty import normal_counts, with_novelty_column
from logsynergy.options import DEFAULT_RUNTIME, Runtime, TrainOptions
from logsynergy.prepare import PreparedSystem, Say
from logsynergy.training import TrainResult, predict, train_model
from logsynergy.windows import Window
from logsynergy.windowset import WindowSet, collapse


@dataclass
class TargetSplit:
    train: list[Window]
    val: list[Window]
    test: list[Window]
    notes: list[str]
    labelled: int = 0


@dataclass
class FitResult:
    detector: Detector
    metrics: dict[str, Any]
    training: TrainResult


def split_target(windows: Sequence[Window], options: TrainOptions, gap: int) -> TargetSplit:
    """Earliest windows train (labelled), the later rest tests; the train part's last slice validates."""
    notes: list[str] = []
    cap = int(len(windows) * options.max_train_fraction)
    wanted = options.target_labelled
    n_train = min(wanted, cap)
    if wanted > cap:
        notes.append(
            f"target_labelled {wanted} capped to {n_train} "
            f"({options.max_train_fraction:.0%} of the target's {len(windows)} windows)"
        )
    if n_train == 0 or not options.use_target_labels:
        # no target labels: the earliest part is still seen, unlabelled, for domain adaptation; the cut
        # stays where labelled training would put it, so every method is tested on the same windows
        n_unlabelled = n_train or cap
        return TargetSplit(list(windows[:n_unlabelled]), [], list(windows[n_unlabelled + gap :]), notes)
    n_val = max(1, round(n_train * options.val_fraction)) if n_train >= 10 else 0
    train = list(windows[: n_train - n_val])
    val = list(windows[n_train - n_val + gap : n_train]) if n_val else []
    test = list(windows[n_train + gap :])
    return TargetSplit(train, val, test, notes, n_train)


def known_normals(split: TargetSplit, *, trained_on_labels: bool) -> list[Window]:
    """Labelled-normal target windows whose scores show the target's normal range: the whole labelled
    part when the target trained unlabelled, else only its validation slice (the rest was fitted)."""
    seen = split.val if trained_on_labels else [*split.train, *split.val]
    return [w for w in seen if w.label == 0]


def normal_threshold(scores: np.ndarray, weights: np.ndarray, quantile: float, margin: float) -> float:
    """A threshold (alarms fire at scores >= it) `margin` above the weighted `quantile` of known-normal
    scores, in logit space. The quantile is often the score of a common normal pattern itself (the
    commonest one, when it carries more than 1 - quantile of the weight): without the margin that pattern
    would alarm, or not, on a float's last bit and at another scoring precision (bfloat16)."""
    order = np.argsort(scores, kind="stable")
    cumulative = np.cumsum(weights[order]) / weights.sum()
    index = int(np.searchsorted(cumulative, quantile, side="left"))
    level = min(max(float(scores[order][min(index, len(scores) - 1)]), 1e-7), 1 - 1e-7)
    return 1.0 / (1.0 + math.exp(-(math.log(level / (1 - level)) + margin)))


def balance_systems(data: WindowSet, target: int | None = None, target_share: float | None = None) -> None:
    """Rescale weights in place so that every system carries the same total weight in the losses (or the
    target `target_share` of it), and normal and anomalous windows half each within a system: a small
    labelled target is not drowned by large sources, nor rare anomalies by common patterns."""
    systems = np.unique(data.system)
    total = data.weight.sum()
    for k in systems:
        rows = data.system == k
        normal, anomalous = rows & (data.label == 0), rows & (data.label == 1)
        if normal.any() and anomalous.any():
            half = data.weight[normal | anomalous].sum() / 2
            data.weight[normal] *= half / data.weight[normal].sum()
            data.weight[anomalous] *= half / data.weight[anomalous].sum()
        if target_share is not None and len(systems) > 1:
            share = total * (target_share if k == target else (1 - target_share) / (len(systems) - 1))
        else:
            share = total / len(systems)
        data.weight[rows] *= share / data.weight[rows].sum()


def template_sentence(template_text: str) -> str:
    """The template itself as text, parameters dropped (the no-LEI ablation embeds this)."""
    return re.sub(r"\s+", " ", template_text.replace("<*>", " ")).strip() or template_text


def embedding_texts(system: PreparedSystem, use_lei: bool) -> dict[str, str]:
    texts = {}
    for tid, template in system.parser.templates.items():
        entry = system.store.get(tid) if use_lei else None
        texts[tid] = entry.text if entry is not None else template_sentence(template.text)
    return texts


def overlap_gap(system: PreparedSystem) -> int:
    windows = system.windows
    if len(windows) < 2 or windows[0].session is not None:
        return 0
    shared = set(windows[0].lines) & set(windows[1].lines)
    step = len(windows[0].lines) - len(shared)
    return max(0, math.ceil(len(windows[0].lines) / max(1, step)) - 1)


def embedding_table(
    systems: Sequence[PreparedSystem], embedder: SentenceEmbedder, use_lei: bool
) -> tuple[torch.Tensor, list[dict[str, int]]]:
    """One embedding row per (system, template), row 0 = padding; per system: template id → row."""
    texts_by_system = [embedding_texts(s, use_lei) for s in systems]
    vectors = embedder.embed([text for texts in texts_by_system for text in texts.values()])
    table = torch.from_numpy(np.vstack([np.zeros((1, vectors.shape[1]), np.float32), vectors]))
    rows: list[dict[str, int]] = []
    offset = 1
    for texts in texts_by_system:
        rows.append({tid: offset + i for i, tid in enumerate(texts)})
        offset += len(texts)
    return table, rows


def sample_source(
    windows: Sequence[Window], budget: int, rng: np.random.Generator
) -> tuple[list[Window], list[Window]]:
    """At most `budget` windows of a source (seeded), split 90/10 into training and held-out windows."""
    chosen = list(windows)
    if len(chosen) > budget:
        chosen = [chosen[i] for i in np.sort(rng.choice(len(chosen), budget, replace=False))]
    held = set(rng.choice(len(chosen), max(1, len(chosen) // 10), replace=False).tolist())
    return (
        [w for i, w in enumerate(chosen) if i not in held],
        [w for i, w in enumerate(chosen) if i in held],
    )


def fit(
    target: PreparedSystem,
    sources: Sequence[PreparedSystem],
    embedder: SentenceEmbedder,
    options: TrainOptions,
    *,
    runtime: Runtime = DEFAULT_RUNTIME,
    say: Say = lambda _m: None,
    progress: Any = None,
) -> FitResult:
    """Train and evaluate one detector; metrics are measured on the target's later windows."""
    started = time.perf_counter()
    systems = [*sources, target]
    table, rows = embedding_table(systems, embedder, options.use_lei)
    config = model_config(
        options.preset,
        embed_dim=int(table.shape[1]) + int(options.event_novelty),
        event_novelty=options.event_novelty,
        novelty_skip=options.event_novelty,
        n_systems=len(systems),
        use_sufe=options.use_sufe,
        use_da=options.use_da and bool(sources),
        epochs=options.epochs,
        **options.overrides,
    )
    split = split_target(target.windows, options, overlap_gap(target))
    for note in split.notes:
        say(f"{target.spec.name}: {note}")
    if not split.test:
        raise InputError(f"target {target.spec.name!r} has too few windows to keep a test part")
    rng = np.random.default_rng(options.seed)
    parts, val_parts, counts = [], [], []
    for k, source in enumerate(sources):
        train_part, held_part = sample_source(source.windows, options.source_windows, rng)
        counts.append(normal_counts(train_part))
        parts.append(collapse(train_part, rows[k], system=k, domain=0, max_events=config.max_events))
        val_parts.append(collapse(held_part, rows[k], system=k, domain=0, max_events=config.max_events))
    t = len(sources)
    zero_label = options.target_labelled == 0 or not options.use_target_labels
    target_anomalies = sum(1 for w in split.train if w.label == 1)
    if not zero_label and sources and target_anomalies < options.min_target_anomalies:
        zero_label = True
        say(
            f"{target.spec.name}: only {target_anomalies} labelled anomalous windows (< "
            f"{options.min_target_anomalies}): learning anomalies from the sources, the target unlabelled"
        )
        if not any(w.label == 1 for w in [*split.train, *split.val]):  # nothing to calibrate on either
            unlabelled = options.model_copy(update={"use_target_labels": False})
            split = split_target(target.windows, unlabelled, overlap_gap(target))
    target_counts = normal_counts([*split.train, *split.val], labelled=options.use_target_labels)
    if config.event_novelty:
        table = with_novelty_column(table, rows, [*counts, target_counts])
    parts.append(
        collapse(
            split.train, rows[t], system=t, domain=1, max_events=config.max_events, drop_labels=zero_label
        )
    )
    train_set = WindowSet.concat(parts)
    if options.balance_systems:
        balance_systems(train_set, target=t, target_share=options.target_share)
    val_set = collapse(split.val, rows[t], system=t, domain=1, max_events=config.max_events)
    calibration = "target"
    if not (val_set.label > 0).any():
        if not sources:
            calibration = "none"
        else:
            val_set = WindowSet.concat([val_set, *val_parts])
            calibration = "target+sources" if len(split.val) else "sources"
    if not (train_set.label >= 0).any():
        raise InputError("no labelled windows to train on: give target labels or labelled sources")
    say(
        f"training {options.preset} model on {int(train_set.windows):,} windows "
        f"({len(train_set):,} unique) from {len(systems)} systems"
    )
    result = train_model(
        config,
        table,
        train_set,
        val_set if len(val_set) else None,
        seed=options.seed,
        device=runtime.device,
        progress=progress,
        show_bars=runtime.show_bars,
    )
    device_table = table.to(next(result.model.parameters()).device)
    if calibration != "target" and options.use_target_labels:
        normals = known_normals(split, trained_on_labels=not zero_label)
        if len(normals) >= options.min_normal_windows:
            normal_set = collapse(normals, rows[t], system=t, domain=1, max_events=config.max_events)
            result.threshold = normal_threshold(
                predict(result.model, device_table, normal_set),
                normal_set.weight,
                options.normal_quantile,
                options.normal_margin,
            )
            calibration = f"target normals (q{options.normal_quantile:g} of {len(normals)})"
    test_set = collapse(split.test, rows[t], system=t, domain=1, max_events=config.max_events)
    scores = predict(result.model, device_table, test_set)
    labelled = test_set.label >= 0
    measured = prf(test_set.label[labelled], scores[labelled] >= result.threshold, test_set.weight[labelled])
    target_rows = rows[t]
    trained_vectors = table[list(target_rows.values())].numpy()  # the target's rows, novelty included
    vectors = dict(zip(target_rows, trained_vectors, strict=True))
    detector = Detector.from_training(target, result, config, embedder, vectors, options.use_lei)
    metrics: dict[str, Any] = {
        **measured.to_dict(),
        "threshold": result.threshold,
        "calibration": calibration,
        "train_windows": int(train_set.windows),
        "train_unique_windows": len(train_set),
        "target_train_windows": len(split.train) if zero_label else split.labelled,
        "target_labelled": split.labelled,
        "target_labelled_anomalies": target_anomalies,
        "target_labels_used": not zero_label,
        "test_windows": int(test_set.windows),
        "test_anomalies": int(test_set.weight[test_set.label > 0].sum()),
        "train_seconds": round(time.perf_counter() - started, 2),
        "best_epoch": result.best_epoch,
        "val_f1": result.val_f1,
        "target": target.spec.name,
        "sources": [s.spec.name for s in sources],
        "preset": options.preset,
        "seed": options.seed,
        "use_lei": options.use_lei,
        "use_sufe": options.use_sufe,
        "use_da": config.use_da,
        "event_novelty": config.event_novelty,
        "notes": split.notes + target.notes,
        "history": result.history,
    }
    detector.metrics = metrics
    return FitResult(detector, metrics, result)

"""LogTransfer (Chen et al., ISSRE 2020) as a baseline, on the product's own windows and target splits.

The method, as in the paper:
- a template is the mean of the word vectors of its text, parameters (`<*>`) dropped (`template_sentence`);
  GloVe is not available offline, so the word vectors are the packaged encoder's input word-piece
  embeddings (`SentenceEmbedder.token_vectors`): context-free vectors, like GloVe's. The template
  vectors are then standardised per dimension over all templates of the run (without it the tiny,
  largely shared word-piece means left the target fine-tuning stuck on HDFS for some seeds);
- a 2-layer LSTM (α = 128 units) reads a window's template vectors; its output at the last event feeds
  fully connected layers (β = 192 units, ReLU, then one logit);
- phase 1 trains a source LSTM and the fully connected layers on the labelled source windows (with
  several sources, one shared source LSTM on all of them together);
- phase 2 copies the source LSTM as the target LSTM and fine-tunes it on the target's labelled training
  windows, the fully connected layers shared and frozen.

Our choices, identical for every method of the benchmark: the target split is `split_target` (the earliest
windows train, the train part's last slice validates, the later rest tests); each source contributes at
most `options.source_windows` windows (a seeded sample); sessions longer than 64 events keep their first
and last 32 (`clip_events`). Identical windows are collapsed into one row with a count weight, so the cost
follows the unique patterns, and the loss is a weighted BCE-with-logits whose weights are class-balanced:
within every system the normal and the anomalous windows carry half the weight each (`balance_systems`).
Adam, learning rate 1e-3, batches of 64, at least `min_steps` optimiser steps per phase (an epoch repeats
the data when there are few unique patterns). The target phase keeps the epoch with the best validation
F1 (ties: the later one) and its max-F1 threshold; without a validation anomaly, the last epoch and 0.5.
With `options.target_labelled == 0` there is nothing to fine-tune on: the source model is applied to the
target as is, at threshold 0.5 (`extra["mode"] == "source-only"`).
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from logsynergy.baselines.result import BaselineResult
from logsynergy.embedding import SentenceEmbedder
from logsynergy.errors import InputError
from logsynergy.event_table import template_sentence
from logsynergy.metrics import best_threshold, prf
from logsynergy.model import model_config
from logsynergy.options import DEFAULT_RUNTIME, Runtime, TrainOptions
from logsynergy.prepare import PreparedSystem
from logsynergy.training import pick_device, seed_everything
from logsynergy.training_sets import balance_systems, overlap_gap, split_target
from logsynergy.windowset import WindowSet, collapse

MAX_EVENTS = 64
BATCH_SIZE = 64
LR = 1e-3


class LogTransferNet(nn.Module):
    """LSTM over template vectors, fully connected layers on its output at each window's last event."""

    def __init__(self, dim: int, hidden: int = 128, fc: int = 192, layers: int = 2) -> None:
        super().__init__()
        self.lstm = nn.LSTM(dim, hidden, num_layers=layers, batch_first=True)
        self.head = nn.Sequential(nn.Linear(hidden, fc), nn.ReLU(), nn.Linear(fc, 1))

    def forward(self, events: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """events [B, L, E] padded at the end, lengths [B] ≥ 1 → logits [B] (padding never reaches the
        output: the LSTM runs forwards and we read it at the last real event)."""
        out, _ = self.lstm(events)
        last = out[torch.arange(len(lengths), device=out.device), lengths - 1]
        return self.head(last).squeeze(-1)


@dataclass
class PhaseResult:
    threshold: float = 0.5
    best_epoch: int = 0
    val_f1: float = 0.0
    calibrated: bool = False
    history: list[dict[str, float]] = field(default_factory=list)


def _batch(table: torch.Tensor, data: WindowSet, rows: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    index = torch.from_numpy(data.index[rows]).to(table.device)
    lengths = (index != 0).sum(1).clamp(min=1)
    return table[index[:, : int(lengths.max())]], lengths


@torch.inference_mode()
def predict(net: LogTransferNet, table: torch.Tensor, data: WindowSet, batch_size: int = 1024) -> np.ndarray:
    """Anomaly probabilities for every row of a WindowSet."""
    net.eval()
    out = np.empty(len(data), np.float32)
    for start in range(0, len(data), batch_size):
        rows = np.arange(start, min(len(data), start + batch_size))
        out[rows] = torch.sigmoid(net(*_batch(table, data, rows))).cpu().numpy()
    return out


def train_phase(
    net: LogTransferNet,
    parameters: Sequence[nn.Parameter],
    table: torch.Tensor,
    train: WindowSet,
    val: WindowSet | None = None,
    *,
    epochs: int,
    seed: int,
    min_steps: int,
) -> PhaseResult:
    """Adam on `parameters` only (the rest of `net` stays as it is) with weighted BCE-with-logits; with
    `val`, keep the epoch of best validation F1 and its threshold."""
    seed_everything(seed)
    generator = np.random.default_rng(seed)
    optimiser = torch.optim.Adam(parameters, lr=LR)
    label = torch.from_numpy(train.label).to(table.device)
    weight = torch.from_numpy(train.weight).to(table.device)
    steps = max(1, math.ceil(len(train) / BATCH_SIZE), math.ceil(min_steps / epochs))
    passes = math.ceil(steps * BATCH_SIZE / max(1, len(train)))
    result, best_key, best_state = PhaseResult(), (-1.0, -1.0), None
    for epoch in range(1, epochs + 1):
        net.train()
        order = np.concatenate([generator.permutation(len(train)) for _ in range(passes)])
        total = 0.0
        for b in range(steps):
            rows = order[b * BATCH_SIZE : (b + 1) * BATCH_SIZE]
            picked = torch.from_numpy(rows).to(table.device)
            logits = net(*_batch(table, train, rows))
            w = weight[picked]
            loss = (F.binary_cross_entropy_with_logits(logits, label[picked], reduction="none") * w).sum()
            loss = loss / w.sum().clamp(min=1e-12)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            total += float(loss.detach())
        record = {"epoch": float(epoch), "loss": total / steps}
        if val is not None and len(val):
            threshold, f1 = best_threshold(predict(net, table, val), val.label, val.weight)
            calibrated = bool((val.label > 0).any())
            record.update(val_f1=f1, threshold=threshold)
            key = (round(f1, 3) if calibrated else 0.0, float(epoch))
            if key >= best_key:
                best_key, best_state = key, copy.deepcopy(net.state_dict())
                result.threshold, result.val_f1 = (threshold if calibrated else 0.5), f1
                result.best_epoch, result.calibrated = epoch, calibrated
        else:
            result.best_epoch = epoch
        result.history.append(record)
    if best_state is not None:
        net.load_state_dict(best_state)
    net.eval()
    return result


def standardise(vectors: np.ndarray) -> np.ndarray:
    """Zero mean and unit variance per dimension over the templates: word-piece means are small
    (≈0.05 a component) and share a large common part, which leaves an LSTM barely any input signal."""
    return ((vectors - vectors.mean(0)) / (vectors.std(0) + 1e-6)).astype(np.float32)


def _labelled(data: WindowSet) -> WindowSet:
    keep = data.label >= 0
    return WindowSet(
        data.index[keep], data.label[keep], data.system[keep], data.domain[keep], data.weight[keep]
    )


def fit_logtransfer(
    target: PreparedSystem,
    sources: Sequence[PreparedSystem],
    embedder: SentenceEmbedder,
    options: TrainOptions,
    *,
    epochs: int = 10,
    hidden: int = 128,
    fc: int = 192,
    min_steps: int | None = None,
    keep_model: bool = False,
    runtime: Runtime = DEFAULT_RUNTIME,
) -> BaselineResult:
    """Train LogTransfer for `target` from `sources`; metrics on the target's test windows (see the module
    docstring). `min_steps`: by default the options' model's (`model_config`). `keep_model` puts the
    target net and the fully connected layers' weights after the source phase into `extra` (as "model"
    and "source_head"), for inspection."""
    started = time.perf_counter()
    if not sources:
        raise InputError("LogTransfer needs at least one labelled source system")
    seed_everything(options.seed)
    if min_steps is None:
        min_steps = model_config(options.preset, **options.overrides).min_steps
    device = pick_device(runtime.device or "cpu")
    systems = [*sources, target]
    rows: list[dict[str, int]] = []
    texts: list[str] = []
    for system in systems:
        templates = system.parser.templates
        rows.append({tid: len(texts) + 1 + i for i, tid in enumerate(templates)})
        texts.extend(template_sentence(t.text) for t in templates.values())
    vectors = embedder.token_vectors(texts)
    vectors = standardise(vectors)
    table = torch.from_numpy(np.vstack([np.zeros((1, vectors.shape[1]), np.float32), vectors])).to(device)

    split = split_target(target.windows, options, overlap_gap(target))
    if not split.test:
        raise InputError(f"target {target.spec.name!r} has too few windows to keep a test part")
    rng = np.random.default_rng(options.seed)
    parts, source_windows = [], 0
    for k, source in enumerate(sources):
        chosen = source.windows
        if len(chosen) > options.source_windows:
            keep = np.sort(rng.choice(len(chosen), options.source_windows, replace=False))
            chosen = [chosen[i] for i in keep]
        source_windows += len(chosen)
        parts.append(collapse(chosen, rows[k], system=k, domain=0, max_events=MAX_EVENTS))
    source_set = _labelled(WindowSet.concat(parts))
    if not len(source_set):
        raise InputError("the source systems have no labelled windows")
    balance_systems(source_set)

    net = LogTransferNet(int(vectors.shape[1]), hidden, fc).to(device)
    source_phase = train_phase(
        net, list(net.parameters()), table, source_set, epochs=epochs, seed=options.seed, min_steps=min_steps
    )
    source_head = copy.deepcopy(net.head.state_dict())
    t = len(sources)
    train_set = _labelled(collapse(split.train, rows[t], system=t, domain=1, max_events=MAX_EVENTS))
    val_set = _labelled(collapse(split.val, rows[t], system=t, domain=1, max_events=MAX_EVENTS))
    if options.target_labelled == 0 or not len(train_set):
        mode, phase = "source-only", PhaseResult(best_epoch=source_phase.best_epoch)
    else:
        mode = "transfer"
        balance_systems(train_set)
        for p in net.head.parameters():
            p.requires_grad_(False)  # shared and frozen: only the target LSTM is fine-tuned
        phase = train_phase(
            net,
            list(net.lstm.parameters()),
            table,
            train_set,
            val_set,
            epochs=epochs,
            seed=options.seed + 1,
            min_steps=min_steps,
        )

    test_set = _labelled(collapse(split.test, rows[t], system=t, domain=1, max_events=MAX_EVENTS))
    scores = predict(net, table, test_set)
    measured = prf(test_set.label, scores >= phase.threshold, test_set.weight)
    extra = {
        "source_windows": source_windows,
        "target_windows": len(split.train) if mode == "transfer" else 0,
        "target_labelled": split.labelled,
        "unique": {"source": len(source_set), "target": len(train_set) if mode == "transfer" else 0},
        "mode": mode,
        "calibrated": phase.calibrated,
        "best_epoch": phase.best_epoch,
        "val_f1": phase.val_f1,
        "test_windows": int(test_set.windows),
        "test_anomalies": int(test_set.weight[test_set.label > 0].sum()),
        "history": {"source": source_phase.history, "target": phase.history},
        "notes": split.notes,
    }
    if keep_model:
        extra.update(model=net, source_head=source_head)
    return BaselineResult(
        measured.precision,
        measured.recall,
        measured.f1,
        phase.threshold,
        round(time.perf_counter() - started, 2),
        extra,
    )

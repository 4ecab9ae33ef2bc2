"""What a detector trains on: the target's chronological split, a seeded sample of every source, and
whether the target's labels are trusted, as weighted window sets over the event table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from logsynergy.errors import InputError
from logsynergy.novelty import normal_counts, with_novelty_column
from logsynergy.options import TrainOptions
from logsynergy.prepare import PreparedSystem, Say
from logsynergy.windows import Window
from logsynergy.windowset import WindowSet, collapse


@dataclass
class TargetSplit:
    train: list[Window]
    val: list[Window]
    test: list[Window]
    notes: list[str]
    labelled: int = 0


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


def overlap_gap(system: PreparedSystem) -> int:
    """Windows left out between two parts of a split so that no line is in both, from the system's
    declared windowing (a single window overlaps nothing)."""
    return system.windowing.overlap if len(system.windows) > 1 else 0


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


def thin_target_labels(anomalies: int, options: TrainOptions, *, with_sources: bool) -> bool:
    """Whether target labels were asked for but hold fewer than `min_target_anomalies` anomalous
    windows while sources can teach anomalies instead: such labels mislead the classifier."""
    asked = options.target_labelled > 0 and options.use_target_labels
    return asked and with_sources and anomalies < options.min_target_anomalies


def target_windowset(
    windows: Sequence[Window], rows: list[dict[str, int]], max_events: int, *, drop_labels: bool = False
) -> WindowSet:
    """Target windows as rows of the event table (the target is the last system of `rows`)."""
    t = len(rows) - 1
    return collapse(windows, rows[t], system=t, domain=1, max_events=max_events, drop_labels=drop_labels)


@dataclass(frozen=True)
class TrainingSets:
    """The windows fit() trains and validates on, and the event table they index."""

    table: torch.Tensor  # event vectors, row 0 padding; the novelty column when the options ask for it
    rows: list[dict[str, int]]  # per system (the sources, then the target): template id → table row
    split: TargetSplit  # the target's windows
    train: WindowSet  # the sources' samples and the target's training part (unlabelled when untrusted)
    target_val: WindowSet  # the target's validation part
    source_held_out: list[WindowSet]  # per source, its held-out tenth
    target_labels_used: bool
    target_anomalies: int  # labelled anomalous windows in the target's training part
    max_events: int

    def target_set(self, windows: Sequence[Window]) -> WindowSet:
        """Target windows as rows of the table."""
        return target_windowset(windows, self.rows, self.max_events)


def build_training_sets(
    target: PreparedSystem,
    sources: Sequence[PreparedSystem],
    table: torch.Tensor,
    rows: list[dict[str, int]],
    options: TrainOptions,
    *,
    max_events: int,
    say: Say = lambda _m: None,
) -> TrainingSets:
    """Split the target chronologically, sample every source (seeded), decide whether the target's labels
    are trusted, add event novelty to the table and weigh the systems (see `TrainOptions`)."""
    split = split_target(target.windows, options, overlap_gap(target))
    for note in split.notes:
        say(f"{target.spec.name}: {note}")
    if not split.test:
        raise InputError(f"target {target.spec.name!r} has too few windows to keep a test part")
    rng = np.random.default_rng(options.seed)
    parts, held_out, counts = [], [], []
    for k, source in enumerate(sources):
        train_part, held_part = sample_source(source.windows, options.source_windows, rng)
        counts.append(normal_counts(train_part))
        parts.append(collapse(train_part, rows[k], system=k, domain=0, max_events=max_events))
        held_out.append(collapse(held_part, rows[k], system=k, domain=0, max_events=max_events))
    anomalies = sum(1 for w in split.train if w.label == 1)
    labels_used = options.target_labelled > 0 and options.use_target_labels
    if thin_target_labels(anomalies, options, with_sources=bool(sources)):
        labels_used = False
        say(
            f"{target.spec.name}: only {anomalies} labelled anomalous windows (< "
            f"{options.min_target_anomalies}): learning anomalies from the sources, the target unlabelled"
        )
        if not any(w.label == 1 for w in [*split.train, *split.val]):  # nothing to calibrate on either
            unlabelled = options.model_copy(update={"use_target_labels": False})
            split = split_target(target.windows, unlabelled, overlap_gap(target))
    if options.event_novelty:
        target_counts = normal_counts([*split.train, *split.val], labelled=options.use_target_labels)
        table = with_novelty_column(table, rows, [*counts, target_counts])
    target_train = target_windowset(split.train, rows, max_events, drop_labels=not labels_used)
    train = WindowSet.concat([*parts, target_train])
    if options.balance_systems:
        balance_systems(train, target=len(sources), target_share=options.target_share)
    if not (train.label >= 0).any():
        raise InputError("no labelled windows to train on: give target labels or labelled sources")
    target_val = target_windowset(split.val, rows, max_events)
    return TrainingSets(table, rows, split, train, target_val, held_out, labels_used, anomalies, max_events)

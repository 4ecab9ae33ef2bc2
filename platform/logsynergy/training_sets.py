"""What a detector trains on: the target's chronological split, a seeded sample of every source,
whether the target's labels are trusted, and operators' judged target windows, as weighted window sets
over the event table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

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
    """The target's windows: `train` (labelled or not), `val` (labelled) and `test` (later, held out),
    and the judged windows trained on (`judged`; the judged ones that validate are in `val`)."""

    train: list[Window]
    val: list[Window]
    test: list[Window]
    notes: list[str]
    labelled: int = 0
    judged: list[Window] = field(default_factory=list)
    judged_val: int = 0  # of `val`'s windows, the last `judged_val` are judged ones


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
        # (with no budget its labels are dropped, so that nothing downstream reads what nobody gave; a budget
        # only set aside, by `use_target_labels`, keeps its labels for calibration)
        n_unlabelled = n_train or cap
        seen = list(windows[:n_unlabelled])
        unlabelled = [replace(w, label=None) for w in seen] if n_train == 0 else seen
        return TargetSplit(unlabelled, [], list(windows[n_unlabelled + gap :]), notes)
    n_val = max(1, round(n_train * options.val_fraction)) if n_train >= 10 else 0
    train = list(windows[: n_train - n_val])
    val = list(windows[n_train - n_val + gap : n_train]) if n_val else []
    test = list(windows[n_train + gap :])
    return TargetSplit(train, val, test, notes, n_train)


def split_judged(judged: Sequence[Window], options: TrainOptions) -> tuple[list[Window], list[Window]]:
    """Judged windows split as a labelled budget is: with 10 or more, the last `val_fraction` validate."""
    n_val = max(1, round(len(judged) * options.val_fraction)) if len(judged) >= 10 else 0
    cut = len(judged) - n_val
    return list(judged[:cut]), list(judged[cut:])


def with_judged(split: TargetSplit, judged: Sequence[Window], options: TrainOptions) -> TargetSplit:
    """The split with operators' judged windows added to its labelled training and validation parts
    (never to its test part)."""
    train, val = split_judged(judged, options)
    return replace(split, val=[*split.val, *val], judged=train, judged_val=len(val))


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


def weigh_judged(data: WindowSet, judged: int, target: int, share: float) -> None:
    """Rescale weights in place so that the target's judged rows (the last `judged` rows) carry `share`
    of the target's weight when its other training rows are all unlabelled (else they weigh as the
    labelled rows they are)."""
    if not judged:
        return
    rows = data.system == target
    is_judged = np.zeros(len(data), bool)
    is_judged[len(data) - judged :] = True
    others = rows & ~is_judged
    if not others.any() or (data.label[others] >= 0).any():
        return
    total = data.weight[rows].sum()
    data.weight[is_judged] *= total * share / data.weight[is_judged].sum()
    data.weight[others] *= total * (1 - share) / data.weight[others].sum()


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
    are trusted, add the target's judged windows (always labelled), add event novelty to the table and
    weigh the systems (see `TrainOptions`)."""
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
    judged = [j.window for j in target.judged]
    labels_used = options.target_labelled > 0 and options.use_target_labels
    taught = anomalies + sum(1 for w in judged if w.label == 1)
    if thin_target_labels(taught, options, with_sources=bool(sources)):
        labels_used = False
        say(
            f"{target.spec.name}: only {taught} labelled anomalous windows (< "
            f"{options.min_target_anomalies}): learning anomalies from the sources, the target unlabelled"
            + (" but for its judged windows" if judged else "")
        )
        if not any(w.label == 1 for w in [*split.train, *split.val]):  # nothing to calibrate on either
            unlabelled = options.model_copy(update={"use_target_labels": False})
            split = split_target(target.windows, unlabelled, overlap_gap(target))
    if options.event_novelty:
        target_counts = normal_counts([*split.train, *split.val], labelled=options.use_target_labels)
        target_counts.update(normal_counts(judged))  # a window judged not anomalous is known normal
        table = with_novelty_column(table, rows, [*counts, target_counts])
    split = with_judged(split, judged, options)
    target_train = target_windowset(split.train, rows, max_events, drop_labels=not labels_used)
    judged_train = target_windowset(split.judged, rows, max_events)
    train = WindowSet.concat([*parts, target_train, judged_train])
    if options.balance_systems:
        balance_systems(train, target=len(sources), target_share=options.target_share)
    weigh_judged(train, len(judged_train), len(sources), options.feedback_share)
    if not (train.label >= 0).any():
        raise InputError("no labelled windows to train on: give target labels or labelled sources")
    target_val = target_windowset(split.val, rows, max_events)
    return TrainingSets(table, rows, split, train, target_val, held_out, labels_used, anomalies, max_events)

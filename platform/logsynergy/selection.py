"""Choose what serves a target with labels: the transfer network or a count model on its own labels.

Both are judged on the target's labelled windows, each by verdicts reached without the window's label:
the count model cross-fitted (each fold predicted by a forest trained on the other folds); the network on
the windows it never trained on (all of them where the target's labels were too thin to teach it, else
the validation part), at its served threshold, except on the windows whose labels chose that threshold:
there each fold is judged at the max-F1 threshold of the other folds, as the threshold would have been
chosen without it (with two labelled anomalies, any separation of them is F1 1.0 in hindsight). The count
model serves only when its F1 is higher; a tie keeps the network, which also brings what transfer knows
about anomalies the labelled part never showed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import StratifiedKFold

from logsynergy.count_model import CountModel, fit_count_model
from logsynergy.metrics import CandidateSelection, best_threshold, prf
from logsynergy.windows import Window

NETWORK_CANDIDATE = "network"
COUNT_MODEL_CANDIDATE = "count-model"
MAX_FOLDS = 5
MIN_ANOMALIES = 2  # fewer labelled anomalies leave nothing to cross-fit: the network serves


@dataclass(frozen=True)
class Choice:
    """What was chosen, how it was measured, and the count model fitted on every labelled window when it
    won."""

    selection: CandidateSelection
    count_model: CountModel | None


def cross_fitted_scores(
    patterns: Sequence[tuple[str, ...]], labels: np.ndarray, *, seed: int, folds: int
) -> np.ndarray:
    """Each window's count-model probability from a forest trained on the other folds (stratified)."""
    out = np.zeros(len(patterns), np.float32)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for fit_rows, held_rows in splitter.split(np.zeros(len(labels)), labels):
        if len(set(labels[fit_rows].tolist())) < 2:
            continue  # a fold's complement without both classes predicts nothing (0): stays normal
        model = fit_count_model([patterns[i] for i in fit_rows], labels[fit_rows], seed)
        out[held_rows] = model.score([patterns[i] for i in held_rows])
    return out


def network_verdicts(
    scores: np.ndarray, labels: np.ndarray, served_threshold: float, chose_threshold: np.ndarray, *, seed: int
) -> tuple[np.ndarray, int]:
    """The network's verdicts at its served threshold, but on the windows that chose it (`chose_threshold`)
    each fold at the max-F1 threshold of the other folds (stratified); and the number of those folds (0:
    fewer than two anomalies chose it, nothing to cross-fit, every verdict at the served threshold)."""
    out = scores >= served_threshold
    rows = np.flatnonzero(chose_threshold)
    folds = min(MAX_FOLDS, int(labels[rows].sum()))
    if folds < MIN_ANOMALIES or folds > len(rows) - int(labels[rows].sum()):
        return out, 0
    scores, labels = scores[rows], labels[rows]
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for fit_rows, held_rows in splitter.split(np.zeros(len(labels)), labels):
        threshold, _ = best_threshold(scores[fit_rows], labels[fit_rows])
        out[rows[held_rows]] = scores[held_rows] >= threshold
    return out, folds


def choose_candidate(
    labelled: Sequence[Window],
    network_scores: np.ndarray,
    served_threshold: float,
    network_unseen: np.ndarray,
    chose_threshold: np.ndarray,
    *,
    seed: int,
) -> Choice:
    """`labelled`: the target's labelled windows; `network_scores`: the network's scores of them, which
    alarm at `served_threshold`; `network_unseen`: those it did not train on (where the two are compared);
    `chose_threshold`: those whose labels chose the served threshold."""
    labels = np.array([int(w.label == 1) for w in labelled], np.int64)
    anomalies = int(labels.sum())
    compared = network_unseen.astype(bool)
    where = "every labelled window" if compared.all() else "the validation part"

    def chosen(
        candidate: str, note: str, f1: dict[str, float], folds: int, network_folds: int = 0
    ) -> CandidateSelection:
        return CandidateSelection(
            chosen=candidate,
            f1=f1,
            windows=int(compared.sum()),
            anomalies=int(labels[compared].sum()),
            labelled_anomalies=anomalies,
            folds=folds,
            network_folds=network_folds,
            compared_on=where,
            note=note,
        )

    def keep_network(note: str, f1: dict[str, float] | None = None, network_folds: int = 0) -> Choice:
        folds = 0 if f1 is None else min(MAX_FOLDS, anomalies)
        return Choice(chosen(NETWORK_CANDIDATE, note, f1 or {}, folds, network_folds), None)

    if anomalies < MIN_ANOMALIES:
        return keep_network(f"{anomalies} labelled anomalous windows: too few to cross-fit a count model")
    if anomalies == len(labels):
        return keep_network("no normal labelled window to fit a count model on")
    if not labels[compared].any():
        return keep_network(f"no labelled anomaly in {where}, where the candidates are compared")
    patterns = [w.events for w in labelled]
    folds = min(MAX_FOLDS, anomalies)
    count_flags = cross_fitted_scores(patterns, labels, seed=seed, folds=folds) >= 0.5
    verdicts, network_folds = network_verdicts(
        network_scores, labels, served_threshold, chose_threshold.astype(bool) & compared, seed=seed
    )
    f1 = {
        NETWORK_CANDIDATE: round(prf(labels[compared], verdicts[compared]).f1, 4),
        COUNT_MODEL_CANDIDATE: round(prf(labels[compared], count_flags[compared]).f1, 4),
    }
    if f1[COUNT_MODEL_CANDIDATE] <= f1[NETWORK_CANDIDATE]:
        return keep_network("the network scores at least the count model's F1", f1, network_folds)
    gain = f1[COUNT_MODEL_CANDIDATE] - f1[NETWORK_CANDIDATE]
    note = f"the count model's F1 is {gain:.3f} higher"
    selection = chosen(COUNT_MODEL_CANDIDATE, note, f1, folds, network_folds)
    return Choice(selection, fit_count_model(patterns, labels, seed))

"""One line per method over every cell of a benchmark: its mean F1, its worst cell, and how often it
beats, ties or loses to the best other method of a cell.

A cell is one (experiment, labelled size): its F1 for a method is the mean over seeds. Methods run on
different cells (the zero-label experiments run only the methods that need no label) are summarised
over the cells they ran on, and the table says how many.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

TIE = 0.01  # F1 within this of the best other method of a cell is a tie


@dataclass(frozen=True)
class Cell:
    experiment: str
    labelled: int

    def __str__(self) -> str:
        return f"{self.experiment} @ {self.labelled}"


@dataclass(frozen=True)
class MethodSummary:
    method: str
    cells: int
    mean_f1: float
    worst: Cell
    worst_f1: float
    wins: int
    ties: int
    losses: int


@dataclass(frozen=True)
class Shortfall:
    """A cell where a method is more than `TIE` below the best other method."""

    cell: Cell
    f1: float
    best_other: str
    best_other_f1: float


def cell_means(runs: Iterable[Mapping[str, Any]]) -> dict[Cell, dict[str, float]]:
    """Per cell, each method's F1 averaged over seeds."""
    values: dict[Cell, dict[str, list[float]]] = {}
    for run in runs:
        cell = Cell(str(run["experiment"]), int(run["target_labelled"]))
        values.setdefault(cell, {}).setdefault(str(run["method"]), []).append(float(run["f1"]))
    return {cell: {m: statistics.mean(f1) for m, f1 in by.items()} for cell, by in values.items()}


def _best_other(scores: Mapping[str, float], method: str) -> tuple[str, float] | None:
    others = [(m, f1) for m, f1 in scores.items() if m != method]
    return max(others, key=lambda item: item[1]) if others else None


def summarize(runs: Iterable[Mapping[str, Any]]) -> list[MethodSummary]:
    """Every method, highest mean F1 first."""
    cells = cell_means(runs)
    methods = list(dict.fromkeys(m for scores in cells.values() for m in scores))
    summaries = []
    for method in methods:
        mine = {cell: scores[method] for cell, scores in cells.items() if method in scores}
        wins = ties = losses = 0
        for cell, f1 in mine.items():
            other = _best_other(cells[cell], method)
            if other is None:
                continue
            if f1 > other[1] + TIE:
                wins += 1
            elif f1 < other[1] - TIE:
                losses += 1
            else:
                ties += 1
        worst = min(mine, key=lambda cell: mine[cell])
        summaries.append(
            MethodSummary(
                method, len(mine), statistics.mean(mine.values()), worst, mine[worst], wins, ties, losses
            )
        )
    return sorted(summaries, key=lambda s: -s.mean_f1)


def shortfalls(runs: Iterable[Mapping[str, Any]], method: str) -> list[Shortfall]:
    """The cells where `method` is more than `TIE` below the best other method."""
    found = []
    for cell, scores in cell_means(runs).items():
        other = _best_other(scores, method)
        if method in scores and other is not None and scores[method] < other[1] - TIE:
            found.append(Shortfall(cell, scores[method], other[0], other[1]))
    return found


def summary_markdown(runs: list[Mapping[str, Any]], method: str = "logsynergy") -> list[str]:
    """The summary table, then the cells where `method` falls more than `TIE` short."""
    lines = [
        "### Summary",
        "",
        f"Over every cell (experiment @ labelled size; F1 mean over seeds). W/T/L: cells won, tied "
        f"(within {TIE}) and lost against the best other method of the cell.",
        "",
        "| method | cells | mean F1 | worst cell | W/T/L |",
        "|---|---|---|---|---|",
    ]
    for s in summarize(runs):
        lines.append(
            f"| {s.method} | {s.cells} | {s.mean_f1:.3f} | {s.worst} ({s.worst_f1:.3f}) | "
            f"{s.wins}/{s.ties}/{s.losses} |"
        )
    lines.append("")
    short = shortfalls(runs, method)
    if short:
        lines.append(f"Cells where `{method}` is more than {TIE} below the best other method:")
        lines.append("")
        for s in short:
            lines.append(f"- {s.cell}: {s.f1:.3f}, {s.best_other} {s.best_other_f1:.3f}")
        lines.append("")
    return lines


def budget_means(runs: Iterable[Mapping[str, Any]]) -> dict[str, dict[int, float]]:
    """Per method, its mean cell F1 at each labelled size (over the experiments run at that size)."""
    by: dict[str, dict[int, list[float]]] = {}
    for cell, scores in cell_means(runs).items():
        for method, f1 in scores.items():
            by.setdefault(method, {}).setdefault(cell.labelled, []).append(f1)
    return {m: {n: statistics.mean(v) for n, v in sorted(sizes.items())} for m, sizes in by.items()}

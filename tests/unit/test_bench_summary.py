"""The benchmark's summary: mean F1 over cells, the worst cell, and wins/ties/losses per method."""

from __future__ import annotations

from pathlib import Path

import pytest

from logsynergy.bench.plots import plot_budgets
from logsynergy.bench.runner import markdown
from logsynergy.bench.summary import Cell, budget_means, shortfalls, summarize, summary_markdown


def _run(experiment: str, labelled: int, method: str, seed: int, f1: float) -> dict:
    return {
        "experiment": experiment,
        "target_labelled": labelled,
        "method": method,
        "seed": seed,
        "f1": f1,
        "precision": f1,
        "recall": f1,
        "train_seconds": 1.0,
    }


@pytest.fixture
def runs() -> list[dict]:
    cells = {
        # (experiment, labelled): {method: F1 of seeds 0 and 1}
        ("a", 50): {"ours": (0.90, 0.92), "peer": (0.80, 0.80), "grep": (0.10, 0.10)},
        ("a", 100): {"ours": (0.95, 0.95), "peer": (0.955, 0.955), "grep": (0.10, 0.10)},
        ("b", 50): {"ours": (0.60, 0.70), "peer": (0.90, 0.90), "grep": (0.20, 0.20)},
        ("b", 0): {"ours": (0.80, 0.80), "grep": (0.50, 0.50)},  # a zero-label cell: no peer
    }
    return [
        _run(experiment, labelled, method, seed, f1)
        for (experiment, labelled), scores in cells.items()
        for method, f1s in scores.items()
        for seed, f1 in enumerate(f1s)
    ]


def test_summary_counts_each_methods_cells_worst_and_record(runs: list[dict]) -> None:
    by = {s.method: s for s in summarize(runs)}
    ours, peer, grep = by["ours"], by["peer"], by["grep"]
    # highest mean first: the peer's 0.885 is over its three cells, without the zero-label one
    assert [s.method for s in summarize(runs)] == ["peer", "ours", "grep"]
    assert ours.cells == 4 and peer.cells == 3  # the peer did not run at 0 labels
    assert ours.mean_f1 == pytest.approx((0.91 + 0.95 + 0.65 + 0.80) / 4)
    assert (ours.worst, ours.worst_f1) == (Cell("b", 50), pytest.approx(0.65))
    # a@50 won, a@100 tied (0.005 below the peer is within 0.01), b@50 lost, b@0 won against grep
    assert (ours.wins, ours.ties, ours.losses) == (2, 1, 1)
    assert (peer.wins, peer.ties, peer.losses) == (1, 1, 1)
    assert (grep.wins, grep.ties, grep.losses) == (0, 0, 4)


def test_shortfalls_name_the_cells_and_the_method_that_wins_them(runs: list[dict]) -> None:
    (short,) = shortfalls(runs, "ours")
    assert short.cell == Cell("b", 50) and short.best_other == "peer"
    assert (short.f1, short.best_other_f1) == (pytest.approx(0.65), pytest.approx(0.90))
    assert shortfalls(runs, "peer")[0].cell == Cell("a", 50)


def test_results_md_leads_with_the_summary_and_the_budget_plot_is_written(
    runs: list[dict], tmp_path: Path
) -> None:
    text = markdown(runs, {}, "today")
    assert text.index("### Summary") < text.index("### a")
    assert "| ours | 4 | 0.828 | b @ 50 (0.650) | 2/1/1 |" in text
    assert "- b @ 50: 0.650, peer 0.900" in summary_markdown(runs, "ours")
    assert budget_means(runs)["ours"] == {0: 0.80, 50: pytest.approx(0.78), 100: pytest.approx(0.95)}
    path = plot_budgets(runs, tmp_path, "today")
    assert path.name == "summary-budgets.png" and path.stat().st_size > 5_000

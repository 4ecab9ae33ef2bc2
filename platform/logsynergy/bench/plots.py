"""Pictures a person reads at a glance: F1 of every method, and F1 against labelled target windows."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from logsynergy.bench.summary import budget_means


def _mean_std(values: list[float]) -> tuple[float, float]:
    return statistics.mean(values), statistics.pstdev(values) if len(values) > 1 else 0.0


def plot_experiment(runs: list[dict[str, Any]], experiment: str, out: Path, stamp: str) -> list[Path]:
    """Write `<experiment>-f1.png` (bars at the largest labelled size) and `<experiment>-curve.png`."""
    rows = [r for r in runs if r["experiment"] == experiment]
    methods = list(dict.fromkeys(r["method"] for r in rows))
    sizes = sorted({r["target_labelled"] for r in rows})
    largest = max(sizes)
    written = []
    fig, ax = plt.subplots(figsize=(9, 4.2))
    bars = []
    for method in methods:
        values = [r["f1"] for r in rows if r["method"] == method and r["target_labelled"] == largest]
        if not values:
            values = [r["f1"] for r in rows if r["method"] == method]
        bars.append(_mean_std(values))
    colors = ["#1f77b4" if m == "logsynergy" else "#9aa5b1" for m in methods]
    ax.bar(range(len(methods)), [b[0] for b in bars], yerr=[b[1] for b in bars], color=colors, capsize=3)
    for i, (mean, _) in enumerate(bars):
        ax.text(i, mean + 0.02, f"{mean:.2f}", ha="center", fontsize=8)
    ax.set_xticks(range(len(methods)), methods, rotation=30, ha="right", fontsize=8)
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("F1 on later target windows")
    ax.set_title(f"{experiment}: {largest} labelled target windows requested ({stamp})", fontsize=9)
    fig.tight_layout()
    path = out / f"{experiment}-f1.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    written.append(path)
    if len(sizes) > 1:
        fig, ax = plt.subplots(figsize=(7, 4.2))
        for method in methods:
            points = []
            for size in sizes:
                values = [r["f1"] for r in rows if r["method"] == method and r["target_labelled"] == size]
                if values:
                    points.append((size, statistics.mean(values)))
            if len(points) > 1:
                style = "-o" if method == "logsynergy" else "--."
                ax.plot([p[0] for p in points], [p[1] for p in points], style, label=method)
        ax.set_xscale("log")
        ax.set_xlabel("labelled target windows requested")
        ax.set_ylabel("F1")
        ax.set_ylim(0, 1.05)
        ax.set_title(f"{experiment}: F1 vs labelled target windows ({stamp})", fontsize=9)
        ax.legend(fontsize=7)
        fig.tight_layout()
        path = out / f"{experiment}-curve.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written


def plot_budgets(runs: list[dict[str, Any]], out: Path, stamp: str, highlight: str = "logsynergy") -> Path:
    """Write `summary-budgets.png`: each method's mean F1 over the cells run at each labelled size."""
    means = budget_means(runs)
    sizes = sorted({n for by_size in means.values() for n in by_size})
    position = {n: k for k, n in enumerate(sizes)}
    overall = {m: statistics.mean(by_size.values()) for m, by_size in means.items()}
    labelled = sorted(overall, key=lambda m: -overall[m])[:8]  # the legend names the best eight
    fig, ax = plt.subplots(figsize=(8, 4.6))
    for method, by_size in means.items():
        xs = [position[n] for n in by_size]
        ys = list(by_size.values())
        if method == highlight:
            ax.plot(xs, ys, "-o", color="#1f77b4", linewidth=2.4, label=method, zorder=3)
        elif method in labelled:
            ax.plot(xs, ys, "--.", linewidth=1.2, label=method)
        else:
            ax.plot(xs, ys, "-", color="#c8cdd2", linewidth=0.8, zorder=1)
    ax.set_xticks(range(len(sizes)), [str(n) for n in sizes])
    ax.set_xlabel("labelled target windows requested (cells at that size averaged)")
    ax.set_ylabel("mean F1")
    ax.set_ylim(0, 1.05)
    ax.set_title(f"Mean F1 per method against the label budget ({stamp}); grey: the rest", fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    path = out / "summary-budgets.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path

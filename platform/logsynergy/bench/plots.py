"""Pictures a person reads at a glance: F1 of every method, and F1 against labelled target windows."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


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

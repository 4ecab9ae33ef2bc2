"""`logsynergy bench`: every method on identical splits, seeds and learning-curve points, in one run."""

from __future__ import annotations

import dataclasses
import json
import os
import platform as std_platform
import statistics
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from logsynergy.bench.config import BenchConfig
from logsynergy.bench.methods import Trial, run_method
from logsynergy.bench.plots import plot_budgets, plot_experiment
from logsynergy.bench.summary import summary_markdown
from logsynergy.bench.throughput import throughput
from logsynergy.embedding import SentenceEmbedder
from logsynergy.interpret import make_interpreter
from logsynergy.options import Runtime, TrainOptions
from logsynergy.prepare import PreparedSystem, prepare_system

Say = Callable[[str], None]
FIELDS = ("precision", "recall", "f1", "train_seconds")
QUIET = Runtime(show_bars=False)  # the default device; no progress bars among the bench's lines


def run_bench(
    config: BenchConfig, out: Path, *, say: Say = print, runtime: Runtime = QUIET
) -> dict[str, Any]:
    """Run every (experiment, labelled size, seed, method); write results.json, results.md and plots."""
    out.mkdir(parents=True, exist_ok=True)
    interpreter, embedder = make_interpreter(), SentenceEmbedder()
    needed = {n for e in config.experiments for n in (e.target, *e.sources)}
    prepared: dict[str, PreparedSystem] = {}
    for name in config.systems:
        if name in needed:
            prepared[name] = prepare_system(config.systems[name], interpreter, say=say)
    runs: list[dict[str, Any]] = []
    detector = None
    total = sum(len(e.target_labelled) * len(e.methods or config.methods) for e in config.experiments) * len(
        config.seeds
    )
    started = time.perf_counter()
    for experiment in config.experiments:
        target, sources = prepared[experiment.target], [prepared[s] for s in experiment.sources]
        target = starting_at(target, experiment.start)
        for labelled in experiment.target_labelled:
            for seed in config.seeds:
                options = TrainOptions(
                    target_labelled=labelled,
                    seed=seed,
                    epochs=config.epochs,
                    overrides=dict(config.model or {}),
                )
                trial = Trial(target, sources, embedder, options, runtime)
                for method in experiment.methods or config.methods:
                    t = time.perf_counter()
                    result = run_method(method, trial)
                    row = {
                        "experiment": experiment.name,
                        "target": experiment.target,
                        "sources": list(experiment.sources),
                        "method": method,
                        "target_labelled": labelled,
                        "target_labelled_used": result.get("target_labelled"),
                        "seed": seed,
                        **{k: round(float(result[k]), 4) for k in ("precision", "recall", "f1")},
                        "train_seconds": round(float(result["train_seconds"]), 2),
                        "wall_seconds": round(time.perf_counter() - t, 2),
                    }
                    if result.get("selection"):  # what served, and each candidate's F1 on the labels
                        row["selection"] = result["selection"]
                    runs.append(row)
                    if detector is None and method == "logsynergy":
                        detector = result["detector"]
                    say(
                        f"[{len(runs)}/{total}, {time.perf_counter() - started:.0f}s] {experiment.name} "
                        f"n={labelled} seed={seed} {method}: F1 {row['f1']:.3f} ({row['wall_seconds']:.0f}s)"
                        + (f", serves {result['selection']['chosen']}" if result.get("selection") else "")
                    )
    speed: dict[str, Any] = {}
    if detector is not None:
        first = config.experiments[0]
        lines = [r.raw for r in prepared[first.target].log.records]
        speed = {"system": first.target, **throughput(detector, lines)}
    stamp = f"{date.today().isoformat()}, {std_platform.machine()} {_cores()} cores"
    results = {
        "runs": runs,
        "throughput": speed,
        "machine": stamp,
        "seconds": round(time.perf_counter() - started),
    }
    (out / "results.json").write_text(json.dumps(results, indent=1))
    (out / "results.md").write_text(markdown(runs, speed, stamp))
    for experiment in config.experiments:
        plot_experiment(runs, experiment.name, out, stamp)
    plot_budgets(runs, out, stamp)
    return results


def starting_at(target: PreparedSystem, start: float) -> PreparedSystem:
    """The target as if its log began `start` of the way in (its windows from there on)."""
    if not start:
        return target
    return dataclasses.replace(target, windows=target.windows[int(len(target.windows) * start) :])


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def markdown(runs: list[dict[str, Any]], speed: dict[str, Any], stamp: str) -> str:
    """Per experiment, F1 mean ± std over seeds for each method (rows) and labelled size (columns)."""
    lines = [f"Measured {stamp}.", "", *summary_markdown(runs)]
    for experiment in dict.fromkeys(r["experiment"] for r in runs):
        rows = [r for r in runs if r["experiment"] == experiment]
        sizes = sorted({r["target_labelled"] for r in rows})
        lines.append(f"### {experiment}")
        lines.append("")
        lines.append("| method | " + " | ".join(f"F1 @ {s}" for s in sizes) + " | train s |")
        lines.append("|---|" + "---|" * len(sizes) + "---|")
        for method in dict.fromkeys(r["method"] for r in rows):
            cells = []
            for size in sizes:
                f1 = [r["f1"] for r in rows if r["method"] == method and r["target_labelled"] == size]
                std = statistics.pstdev(f1) if len(f1) > 1 else 0.0
                cells.append(f"{statistics.mean(f1):.3f} ± {std:.3f}" if f1 else "–")
            seconds = statistics.mean(r["train_seconds"] for r in rows if r["method"] == method)
            lines.append(f"| {method} | " + " | ".join(cells) + f" | {seconds:.1f} |")
        lines.append("")
    if speed:
        lines.append(
            f"Detection throughput ({speed['system']} detector, in-process, {speed['lines']:,} lines): "
            f"cold {speed['cold_lines_per_s']:,} lines/s, warm cache {speed['warm_lines_per_s']:,} lines/s, "
            f"model alone {speed['model_windows_per_s']:,} windows/s."
        )
    return "\n".join(lines) + "\n"

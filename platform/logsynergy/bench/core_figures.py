"""The core library's headline figures, measured side by side in one run:
F1 and wall time of LogSynergy vs the same network on target labels only, for targets BGL and HDFS
(each from the other two public systems), and detection throughput of a trained detector.

    python -m logsynergy.bench.core_figures --out runs/bench [--seeds 0,1,2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

from logsynergy.demo import DEFAULT_DATASETS, real_systems
from logsynergy.detector import Detector
from logsynergy.embedding import SentenceEmbedder
from logsynergy.errors import InputError
from logsynergy.fit import TrainOptions, fit
from logsynergy.interpret import make_interpreter
from logsynergy.prepare import PreparedSystem, prepare_system
from logsynergy.systems import load_systems

TARGETS = {"bgl": ["hdfs", "openstack"], "hdfs": ["bgl", "openstack"]}


def throughput(detector: Detector, lines: list[str], repeats: int = 3) -> dict[str, float]:
    """Lines/s cold (fresh pattern cache) and warm (every pattern already judged), in-process."""
    detector._pattern_cache.clear()
    detector.parser._cache.clear()
    t = time.perf_counter()
    detector.score_lines(lines)
    cold = len(lines) / (time.perf_counter() - t)
    best = 0.0
    for _ in range(repeats):
        t = time.perf_counter()
        detector.score_lines(lines)
        best = max(best, len(lines) / (time.perf_counter() - t))
    return {"lines": len(lines), "cold_lines_per_s": round(cold), "warm_lines_per_s": round(best)}


def run(out: Path, seeds: list[int], datasets: Path) -> dict[str, Any]:
    systems_file = real_systems(datasets, out)
    if systems_file is None:
        raise InputError(f"the public datasets are needed at {datasets}")
    specs = load_systems(systems_file)
    interpreter, embedder = make_interpreter(), SentenceEmbedder()
    prepared: dict[str, PreparedSystem] = {n: prepare_system(s, interpreter) for n, s in specs.items()}
    runs: list[dict[str, Any]] = []
    detectors: dict[str, Detector] = {}
    for target, sources in TARGETS.items():
        for method, source_names in (("logsynergy", sources), ("target-only", [])):
            for seed in seeds:
                options = TrainOptions(seed=seed, show_bars=False)
                t = time.perf_counter()
                result = fit(prepared[target], [prepared[s] for s in source_names], embedder, options)
                m = result.metrics
                runs.append(
                    {
                        "target": target,
                        "sources": source_names,
                        "method": method,
                        "seed": seed,
                        "precision": m["precision"],
                        "recall": m["recall"],
                        "f1": m["f1"],
                        "train_windows": m["train_windows"],
                        "target_labelled": m["target_labelled"],
                        "test_windows": m["test_windows"],
                        "wall_seconds": round(time.perf_counter() - t, 1),
                    }
                )
                print(json.dumps(runs[-1]), flush=True)
                if method == "logsynergy" and target not in detectors:
                    detectors[target] = result.detector
    bgl_lines = [r.raw for r in prepared["bgl"].log.records]
    speed = throughput(detectors["bgl"], bgl_lines * 10)
    report = {"runs": runs, "throughput_bgl": speed}
    (out / "core_figures.json").write_text(json.dumps(report, indent=1))
    (out / "core_figures.md").write_text(markdown(runs, speed))
    return report


def markdown(runs: list[dict[str, Any]], speed: dict[str, float]) -> str:
    rows = [
        "| target | method | F1 (mean ± std) | precision | recall | train wall s |",
        "|---|---|---|---|---|---|",
    ]
    keys = sorted({(r["target"], r["method"]) for r in runs})
    for target, method in keys:
        group = [r for r in runs if r["target"] == target and r["method"] == method]
        f1 = [r["f1"] for r in group]
        std = statistics.pstdev(f1) if len(f1) > 1 else 0.0
        rows.append(
            f"| {target} | {method} | {statistics.mean(f1):.3f} ± {std:.3f} | "
            f"{statistics.mean(r['precision'] for r in group):.3f} | "
            f"{statistics.mean(r['recall'] for r in group):.3f} | "
            f"{statistics.mean(r['wall_seconds'] for r in group):.0f} |"
        )
    rows.append("")
    rows.append(
        f"Detection (BGL detector, in-process, {speed['lines']:,} lines): "
        f"cold {speed['cold_lines_per_s']:,} lines/s, "
        f"warm cache {speed['warm_lines_per_s']:,} lines/s."
    )
    return "\n".join(rows) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path("runs/bench"))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--datasets", type=Path, default=DEFAULT_DATASETS)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    report = run(args.out, [int(s) for s in args.seeds.split(",")], args.datasets)
    print((args.out / "core_figures.md").read_text())
    del report


if __name__ == "__main__":
    main()

"""What `logsynergy bench-loop` writes: curves.json, curves.csv, results.md and bench-loop.png."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

GOAL = 0.95  # the F1 to reach
BUDGET = 50  # within this many judgements
CSV_FIELDS = (
    "target",
    "round",
    "streamed_windows",
    "judgements",
    "judged_windows",
    "suppressed_patterns",
    "precision",
    "recall",
    "f1",
    "f1_unsuppressed",
    "eval_windows",
    "eval_anomalies",
    "test_f1",
    "threshold",
    "calibration",
    "train_seconds",
)


def csv_rows(targets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (target, round)."""
    rows = []
    for t in targets:
        for r in t["rounds"]:
            rest = r["rest"]
            rows.append(
                {
                    "target": t["target"],
                    **{k: r[k] for k in ("round", "streamed_windows", "judgements", "judged_windows")},
                    "suppressed_patterns": r["suppressed_patterns"],
                    **{k: rest[k] for k in ("precision", "recall", "f1", "f1_unsuppressed")},
                    "eval_windows": rest["windows"],
                    "eval_anomalies": rest["anomalies"],
                    "test_f1": r["test"]["f1"],
                    **{k: r[k] for k in ("threshold", "calibration", "train_seconds")},
                }
            )
    return rows


def reached(target: dict[str, Any], goal: float = GOAL) -> dict[str, Any] | None:
    """The first round whose F1 on the unstreamed windows is at least `goal`, or None."""
    return next((r for r in target["rounds"] if r["rest"]["f1"] >= goal), None)


def summary_line(target: dict[str, Any]) -> dict[str, Any]:
    rounds = target["rounds"]
    hit = reached(target)
    within = [r for r in rounds if r["judgements"] <= BUDGET]
    best = max(within, key=lambda r: r["rest"]["f1"])
    return {
        "target": target["target"],
        "f1_start": rounds[0]["rest"]["f1"],
        "f1_best": best["rest"]["f1"],
        "best_at": best["judgements"],
        "f1_last": rounds[-1]["rest"]["f1"],
        "judgements_last": rounds[-1]["judgements"],
        "test_f1_start": rounds[0]["test"]["f1"],
        "test_f1_last": rounds[-1]["test"]["f1"],
        "reached_at": None if hit is None else hit["judgements"],
    }


def markdown(result: dict[str, Any]) -> str:
    s = result["settings"]
    out = [
        "# Operator loop (`logsynergy bench-loop`)",
        "",
        f"{result['date']}, {result['machine']}; {result['minutes']:.1f} minutes. Preset {s['preset']}, "
        f"{s['epochs']} epochs, seed {s['seed']}; the first {s['stream_fraction']:.0%} of each target's "
        f"windows in {s['chunks']} chunks (chunk 0 onboards), {s['per_round']} incidents judged after "
        "each chunk.",
        "",
        f"F1 on the windows not yet streamed; reached = the judgements after which it is ≥ {GOAL}.",
        "",
        "| target | F1 at 0 | best F1 (≤ 50 judgements) | last F1 (judgements) | reached "
        "| test part F1 0 → last |",
        "|---|---|---|---|---|---|",
    ]
    for t in result["targets"]:
        m = summary_line(t)
        hit = "not reached" if m["reached_at"] is None else f"{m['reached_at']} judgements"
        out.append(
            f"| {m['target']} | {m['f1_start']:.3f} | {m['f1_best']:.3f} ({m['best_at']}) | "
            f"{m['f1_last']:.3f} ({m['judgements_last']}) | {hit} | "
            f"{m['test_f1_start']:.3f} → {m['test_f1_last']:.3f} |"
        )
    for t in result["targets"]:
        out += [
            "",
            f"## {t['target']} (from {', '.join(t['sources'])}; {t['windows']:,} windows, "
            f"{t['anomalous_windows']:,} anomalous, {t['windowing']} windows)",
            "",
            "| round | streamed | judgements | judged windows | suppressed | P | R | F1 | F1 unsuppressed "
            "| test F1 | calibration |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in t["rounds"]:
            e = r["rest"]
            out.append(
                f"| {r['round']} | {r['streamed_windows']} | {r['judgements']} | {r['judged_windows']} | "
                f"{r['suppressed_patterns']} | {e['precision']:.3f} | {e['recall']:.3f} | {e['f1']:.3f} | "
                f"{e['f1_unsuppressed']:.3f} | {r['test']['f1']:.3f} | {r['calibration']} |"
            )
    return "\n".join(out) + "\n"


def plot(result: dict[str, Any], path: Path) -> Path:
    """F1 on the unstreamed windows against judgements, one line per target (dotted: the test part)."""
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for i, t in enumerate(result["targets"]):
        x = [r["judgements"] for r in t["rounds"]]
        color = f"C{i}"
        ax.plot(x, [r["rest"]["f1"] for r in t["rounds"]], "o-", ms=3, color=color, label=t["target"])
        ax.plot(x, [r["test"]["f1"] for r in t["rounds"]], ":", color=color, lw=1)
    ax.axhline(GOAL, color="grey", lw=0.8, ls="--")
    ax.set_xlabel("operator judgements (incidents)")
    ax.set_ylabel("F1 on windows not yet streamed")
    ax.set_ylim(0, 1.02)
    ax.set_title(f"Operator loop, {result['date']} (dotted: fixed test part)", fontsize=9)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def write_outputs(result: dict[str, Any], out: Path) -> list[Path]:
    """curves.json (everything), curves.csv (one row per round), results.md and bench-loop.png."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "curves.json", out / "curves.csv", out / "results.md"]
    paths[0].write_text(json.dumps(result, indent=1))
    with paths[1].open("w", newline="") as fh:
        writer = csv.DictWriter(fh, CSV_FIELDS)
        writer.writeheader()
        writer.writerows(csv_rows(result["targets"]))
    paths[2].write_text(markdown(result))
    paths.append(plot(result, out / "bench-loop.png"))
    return paths

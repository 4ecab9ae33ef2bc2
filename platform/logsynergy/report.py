"""Readable text for detections and anomaly reports."""

from __future__ import annotations

from typing import Any

import numpy as np

from logsynergy.detector import Detection
from logsynergy.metrics import prf


def detection_summary(detection: Detection) -> dict[str, Any]:
    """Counts, and precision/recall/F1 when the windows carry labels."""
    summary: dict[str, Any] = {
        "lines": detection.lines,
        "windows": len(detection.windows),
        "anomalous_windows": sum(w.anomaly for w in detection.windows),
        "new_templates": len(detection.new_templates),
        "cache_hits": detection.cache_hits,
        "model_windows": detection.model_windows,
    }
    labelled = [w for w in detection.windows if w.label is not None]
    if labelled and any(w.label for w in labelled):
        scores = prf(np.array([w.label for w in labelled]), np.array([w.anomaly for w in labelled]))
        summary.update(precision=scores.precision, recall=scores.recall, f1=scores.f1)
    return summary


def render_report(report: dict[str, Any], max_events: int = 10) -> str:
    """One anomaly report as a few lines of text: where, how sure, and what each event means."""
    where = f"lines {report['first_line']}-{report['last_line']}"
    if report.get("session"):
        where += f", session {report['session']}"
    lines = [f"\nANOMALY {where}  score {report['score']:.3f} (threshold {report['threshold']:.3f})"]
    seen: set[str] = set()
    for event in report["events"]:
        if event["template_id"] in seen:
            continue
        seen.add(event["template_id"])
        flag = " [new]" if event["new"] else ""
        lines.append(f"  line {event['line']}: {event['interpretation']}{flag}")
        shown = event["message"] if event["raw"].lstrip().startswith("{") else event["raw"]
        lines.append(f"      {shown[:140]}")
        if len(seen) >= max_events:
            break
    return "\n".join(lines)

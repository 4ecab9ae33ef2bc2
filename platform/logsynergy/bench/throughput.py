"""Detection speed of a trained detector, in-process."""

from __future__ import annotations

import time

from logsynergy.detector import Detector
from logsynergy.loaders.lines import records_from_lines
from logsynergy.windows import sliding_windows


def throughput(detector: Detector, lines: list[str], repeats: int = 3) -> dict[str, float]:
    """Lines/s cold (empty caches, one pass) and warm (the same lines again: every line and pattern seen,
    the steady state of a system whose traffic repeats itself), and windows/s of the model alone."""
    detector.clear_caches()
    t = time.perf_counter()
    first = detector.score_lines(lines)
    cold = len(lines) / (time.perf_counter() - t)
    warm = 0.0
    for _ in range(repeats):
        t = time.perf_counter()
        detector.score_lines(lines)
        warm = max(warm, len(lines) / (time.perf_counter() - t))
    records = records_from_lines(detector.settings.format, lines)
    ids = detector.parser.assign(r.message for r in records).template_ids
    windows = [w.events for w in sliding_windows(records, ids)]
    t = time.perf_counter()
    detector.score_patterns(windows)
    model_rate = len(windows) / (time.perf_counter() - t)
    return {
        "lines": len(lines),
        "cold_lines_per_s": round(cold),
        "warm_lines_per_s": round(warm),
        "unique_patterns": first.model_windows,
        "model_windows_per_s": round(model_rate),
    }

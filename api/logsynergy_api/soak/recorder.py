"""Per-kind request counts, outcomes and latencies of a soak."""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, NamedTuple

OK, PROVOKED, UNEXPECTED = "ok", "provoked", "unexpected"
MAX_EXAMPLES = 40  # unexpected outcomes kept with their detail


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (0.0 for no values)."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


class Sample(NamedTuple):
    at_s: float  # since the phase started
    ms: float  # 0.0: a failed check, not a request
    status: int
    outcome: str


@dataclass
class Recorder:
    """Every request of the run: its kind, phase, time, latency, HTTP status and outcome (`ok`;
    `provoked`, a refusal the driver asked for and got; `unexpected`, anything else: transport errors,
    5xx, a wrong status or a wrong answer)."""

    phase: str = "setup"
    samples: dict[tuple[str, str], list[Sample]] = field(default_factory=lambda: defaultdict(list))
    examples: list[dict[str, Any]] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def record(self, kind: str, ms: float, status: int, outcome: str, detail: str = "") -> None:
        at = time.monotonic() - self.started
        self.samples[(self.phase, kind)].append(Sample(at, ms, status, outcome))
        if outcome == UNEXPECTED and len(self.examples) < MAX_EXAMPLES:
            self.examples.append(
                {
                    "phase": self.phase,
                    "kind": kind,
                    "status": status,
                    "detail": detail[:300],
                    "at_s": round(at, 1),
                }
            )

    def unexpected(self, kind: str, detail: str) -> None:
        """A failed check that is not one request's (e.g. a lost job), counted as an unexpected error."""
        self.record(kind, 0.0, 0, UNEXPECTED, detail)

    def summary(self, phase: str) -> dict[str, dict[str, Any]]:
        """Per kind of `phase`: requests, outcomes, statuses and latency percentiles (ms)."""
        rows: dict[str, dict[str, Any]] = {}
        for (ph, kind), samples in sorted(self.samples.items()):
            if ph != phase:
                continue
            outcomes = Counter(s.outcome for s in samples)
            timed = [s.ms for s in samples if s.ms > 0]
            rows[kind] = {
                "requests": len(samples),
                "ok": outcomes[OK],
                "provoked_4xx": outcomes[PROVOKED],
                "unexpected": outcomes[UNEXPECTED],
                "statuses": {str(k): v for k, v in sorted(Counter(s.status for s in samples).items())},
                "p50_ms": round(percentile(timed, 50), 1),
                "p95_ms": round(percentile(timed, 95), 1),
                "p99_ms": round(percentile(timed, 99), 1),
                "max_ms": round(max(timed, default=0.0), 1),
            }
        return rows

    def timeline(self, phase: str, prefix: str, bucket_s: float = 60.0) -> list[dict[str, Any]]:
        """Per `bucket_s` of `phase`, over the kinds starting with `prefix`: requests, unexpected
        outcomes and latency percentiles (does latency drift over the run?)."""
        buckets: dict[int, list[Sample]] = defaultdict(list)
        for (ph, kind), samples in self.samples.items():
            if ph == phase and kind.startswith(prefix):
                for sample in samples:
                    buckets[int(sample.at_s // bucket_s)].append(sample)
        rows = []
        for index in sorted(buckets):
            ms = [s.ms for s in buckets[index]]
            rows.append(
                {
                    "minute": index + 1,
                    "requests": len(ms),
                    "unexpected": sum(s.outcome == UNEXPECTED for s in buckets[index]),
                    "p50_ms": round(percentile(ms, 50), 1),
                    "p95_ms": round(percentile(ms, 95), 1),
                    "p99_ms": round(percentile(ms, 99), 1),
                }
            )
        return rows

    def slowest(self, phase: str, prefix: str, count: int = 10) -> list[dict[str, Any]]:
        """The slowest requests of `phase` among kinds starting with `prefix`, with when they happened."""
        rows = [
            {"kind": kind, "at_s": round(s.at_s, 1), "ms": round(s.ms, 1), "status": s.status}
            for (ph, kind), samples in self.samples.items()
            if ph == phase and kind.startswith(prefix)
            for s in samples
        ]
        return sorted(rows, key=lambda r: -r["ms"])[:count]

    def totals(self) -> dict[str, dict[str, int]]:
        """Outcome counts per phase over every kind."""
        out: dict[str, Counter[str]] = defaultdict(Counter)
        for (phase, _kind), samples in self.samples.items():
            out[phase].update(s.outcome for s in samples)
        return {phase: {k: counts[k] for k in (OK, PROVOKED, UNEXPECTED)} for phase, counts in out.items()}

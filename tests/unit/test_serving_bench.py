"""`make bench-serve`'s bookkeeping: median runs and the recording off/on section (the measuring runs
against a real Ray Serve in `make bench-serve`, not here)."""

from __future__ import annotations

from typing import Any

from logsynergy_workers.serving.bench import markdown, median_run, recording_markdown


def run(lines_per_s: int, cpu: float = 30.0) -> dict[str, Any]:
    return {
        "requests": lines_per_s // 100,
        "errors": 0,
        "lines_per_s": lines_per_s,
        "p50_ms": 100.0,
        "p99_ms": 300.0,
        "server_cpu_ms_per_1000_lines": cpu,
        "cache_hit_rate": 0.1,
        "flagged_per_request": 23.0,
        "batches_per_request": 1.0,
        "load_generator_cores": 0.1,
    }


def test_median_run_keeps_every_runs_rate() -> None:
    median = median_run([run(50_000), run(40_000), run(60_000)])
    assert median["lines_per_s"] == 50_000 and median["runs_lines_per_s"] == [50_000, 40_000, 60_000]


def recording(ratios: list[float]) -> dict[str, Any]:
    return {
        "systems": 1,
        "off": median_run([run(50_000)]),
        "on": median_run([run(46_000)]),
        "pairs_on_over_off_lines_per_s": ratios,
        "pairs_on_over_off_cpu_per_line": [1.05 for _ in ratios],
        "on_over_off_lines_per_s": sorted(ratios)[len(ratios) // 2],
        "on_over_off_cpu_per_line": 1.05,
        "seconds_per_phase": 10.0,
    }


def test_recording_section_judges_the_median_pair_ratio() -> None:
    result = {"clients": 8}
    met = "\n".join(recording_markdown(recording([0.95, 0.97, 0.85]), result))
    assert "**0.950**" in met and "within 10 %: met" in met and "0.950, 0.970, 0.850" in met
    missed = "\n".join(recording_markdown(recording([0.8, 0.85, 0.95]), result))
    assert "**0.850**" in missed and "missed" in missed
    assert recording_markdown({}, result) == []


def test_a_recording_only_run_renders_without_the_other_rows() -> None:
    result = {
        "machine": {"cpus": 2, "platform": "Linux"},
        "ray": "2",
        "config": {"max_models_per_replica": 256},
        "endpoint": "direct ingress",
        "clients": 8,
        "throughput_1000_lines": {},
        "latency_100_lines_hot": {},
        "recording": recording([0.97]),
        "targets": {"lines_per_s": 50_000, "p99_ms": 50.0},
    }
    text = markdown(result)
    assert "100-line requests" not in text and "Recording on / off" in text

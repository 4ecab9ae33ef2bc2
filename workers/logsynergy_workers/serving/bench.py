"""Serving benchmark: `python -m logsynergy_workers.serving.bench --out DIR`.

Starts a local Ray + Serve with `build_app`, registers 1, 10 and 200 systems that all point at one
detector artifact (distinct model ids, so `ModelPool` multiplexes and evicts them), then measures over
real HTTP: lines/s for 1,000-line requests from concurrent clients spread over the systems, and the
p50/p99 latency of 100-line requests to one hot system, and the server side's CPU per 1,000 lines (all
processes this one started, from /proc). Fresh-lines rows repeat `--repeats` times; the median run is
reported with the range. Writes DIR/serving.json and DIR/serving.md.

The endpoint is the one `logsynergy up` serves: the ingress replica itself on the port (direct ingress,
`serving.endpoint`); the same service is also measured through Serve's proxy, for the ratio of the two
paths in one run (`--proxy-only`: the proxy alone, as on a cluster).
Anomaly recording (`record_anomalies`, on by default) is measured against recording off in the same run:
after the main rows (recording on; `--recording-only` skips them), the app is redeployed in pairs of
phases, off/on then on/off (`--recording-rounds` such blocks), each phase one `--recording-seconds` run
of the first `--systems` row on fresh bodies that its pair's other phase gets too. The ratio reported is
the median of the pairs' on/off ratios: on this shared machine throughput drifts by tens of percent over
minutes, and adjacent phases cancel most of it. Every request whose windows are flagged writes one batch
to the inbox of the bench's local store (fsync'd, as `LocalStore` writes), which no control plane empties
here.
Deployment as a small dedicated serving node would run it: one `ModelPool` replica per CPU, each taking
`POOL_ONGOING` requests at once (so a hot model spills to, and is loaded on, the other replica), and
Ray passing objects up to 1 MiB inline rather than through the object store (a 1,000-line
request and its answer are 100-150 kB, just over Ray's 100 kB default; cluster-wide, so it is set
before Ray starts: `RAY_max_direct_call_object_size`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from logsynergy_workers.ray_env import INLINE_OBJECT_ENV, apply_local_ray_env
from logsynergy_workers.serving.endpoint import APP_NAME, direct_ingress_env, free_port, start_detection

TARGET_LINES_PER_S = 50_000
TARGET_P99_MS = 50.0
KEY, TENANT = "bench-key", "bench"
POOL_ONGOING = 4
PROXY_ROW = "1 (through Serve's proxy)"


def _environment() -> None:
    single_threaded = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    apply_local_ray_env({**single_threaded, "HF_HUB_OFFLINE": "1"})


def train_artifact(directory: Path) -> Path:
    """A small synthetic `payments` detector (trained once, then reused from `directory`)."""
    from logsynergy.artifact import ArtifactFiles
    from logsynergy.options import TrainOptions
    from logsynergy.pipeline import train
    from logsynergy.synthetic import write_demo_systems

    artifact = directory / "artifact"
    if ArtifactFiles(artifact).settings.is_file():  # trained before
        return artifact
    systems = write_demo_systems(directory / "data", n_lines=4000, seed=3)
    options = TrainOptions(epochs=4, target_labelled=500, source_windows=3000)
    train(systems, "payments", sources=["storage", "compute"], options=options, out=artifact, say=print)
    return artifact


def bodies(n_requests: int, lines_per_request: int, seed: int) -> list[bytes]:
    """Distinct JSON request bodies of synthetic payments lines (in the training format)."""
    from logsynergy.synthetic import generate_system

    records = generate_system("payments", n_requests * lines_per_request, seed=seed)
    lines = [json.dumps(r) for r in records]
    return [
        json.dumps({"lines": lines[i : i + lines_per_request]}).encode()
        for i in range(0, len(lines), lines_per_request)
    ]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))] if ordered else 0.0


async def _load(
    url: str, systems: list[str], payloads: list[bytes], size: int, clients: int, seconds: float
) -> dict[str, Any]:
    """`clients` concurrent clients posting `payloads` (`size` lines each) to random `systems`."""
    import httpx

    headers = {"Authorization": f"Bearer {KEY}", "content-type": "application/json"}
    latencies: list[float] = []
    counts = {"ok": 0, "errors": 0, "lines": 0}
    deadline = time.perf_counter() + seconds
    rng = random.Random(7)

    async def client(c: httpx.AsyncClient, worker: int) -> None:
        i = worker
        while time.perf_counter() < deadline:
            system, body = rng.choice(systems), payloads[i % len(payloads)]
            i += clients
            started = time.perf_counter()
            response = await c.post(f"/v1/detect/{system}", content=body, headers=headers)
            latencies.append((time.perf_counter() - started) * 1000)
            if response.status_code == 200:
                counts["ok"] += 1
                counts["lines"] += size
            else:
                counts["errors"] += 1

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as c:
        started, cpu_started = time.perf_counter(), time.process_time()
        await asyncio.gather(*(client(c, w) for w in range(clients)))
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    total = counts["ok"] + counts["errors"]
    return {
        "requests": counts["ok"],
        "errors": counts["errors"],
        "repeated_bodies": round(max(0, total - len(payloads)) / max(1, total), 3),
        "seconds": round(elapsed, 2),
        "lines_per_s": round(counts["lines"] / elapsed),
        "p50_ms": round(percentile(latencies, 50), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
        # CPU of this process (the HTTP clients, and Ray's idle driver threads) per second of the run
        "load_generator_cores": round(cpu / elapsed, 2),
    }


def server_cpu_seconds() -> float:
    """CPU seconds used so far by the processes this one started (Ray's, the Serve replicas among them)
    and their descendants, read from /proc (0.0 where there is none): the server side's cost."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    ours, frontier = set(), {os.getpid()}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - ours
        ours |= frontier
    return sum(times[pid] for pid in ours)


def cache_counts(url: str) -> tuple[int, int, int, int]:
    """(windows, pattern-cache hits, flagged windows, recorded batches) summed over the tenant's models,
    from the ingress stats."""
    import httpx

    stats = httpx.get(f"{url}/v1/detect/-/stats", headers={"Authorization": f"Bearer {KEY}"}).json()
    models = stats["models"].values()
    windows, hits = sum(m["windows"] for m in models), sum(m["cache_hits"] for m in models)
    flagged = sum(m.get("flagged", 0) for m in models)
    return windows, hits, flagged, stats.get("recording", {}).get("batches", 0)


def scenario(url: str, systems: list[str], payloads: list[bytes], size: int, clients: int, seconds: float):
    """One measured run, with the pattern-cache hit rate of its windows, the windows flagged and the
    anomaly batches recorded per request."""
    windows, hits, flagged, batches = cache_counts(url)
    print(f"measuring {len(systems)} systems, {size}-line requests, {clients} clients ...", flush=True)
    cpu = server_cpu_seconds()
    result = asyncio.run(_load(url, systems, payloads, size, clients, seconds))
    lines = max(1, result["requests"] * size)
    # what the server side spent per 1,000 lines answered: steadier than lines/s on a shared machine
    result["server_cpu_ms_per_1000_lines"] = round((server_cpu_seconds() - cpu) * 1e6 / lines, 1)
    windows_after, hits_after, flagged_after, batches_after = cache_counts(url)
    result["cache_hit_rate"] = round((hits_after - hits) / max(1, windows_after - windows), 3)
    requests = max(1, result["requests"])
    result["flagged_per_request"] = round((flagged_after - flagged) / requests, 2)
    result["batches_per_request"] = round((batches_after - batches) / requests, 3)
    print(f"{len(systems)} systems, {size}-line requests, {clients} clients: {result}", flush=True)
    return result


def fresh_lines_row(url: str, systems: list[str], args: argparse.Namespace, seed: int) -> dict[str, Any]:
    """`args.repeats` runs of fresh 1,000-line bodies (seeds `seed`, `seed` + 1, …): the machine is shared,
    so the median run is reported, with every run's lines/s."""
    runs = [
        scenario(url, systems, bodies(args.bodies, 1000, seed=seed + r), 1000, args.clients, args.seconds)
        for r in range(args.repeats)
    ]
    return median_run(runs)


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median lines/s, with every run's lines/s under "runs_lines_per_s"."""
    ordered = sorted(runs, key=lambda r: r["lines_per_s"])
    return {**ordered[(len(ordered) - 1) // 2], "runs_lines_per_s": [r["lines_per_s"] for r in runs]}


def recording_rows(
    config: dict[str, Any], port: int, systems: list[str], args: argparse.Namespace
) -> dict[str, Any]:
    """Recording off and on, redeployed in pairs of phases (off/on, on/off, … `args.recording_rounds`
    blocks of four), each phase one run on fresh bodies shared with its pair: each mode's median run,
    every pair's on/off ratios (lines/s, server CPU per line) and their medians."""
    from ray import serve

    runs: dict[str, list[dict[str, Any]]] = {"off": [], "on": []}
    order = ["off", "on", "on", "off"] * args.recording_rounds
    pairs: list[dict[str, dict[str, Any]]] = []
    for phase, mode in enumerate(order):
        if phase % 2 == 0:
            pairs.append({})
            payloads = bodies(args.bodies, 1000, seed=3000 + phase)
        serve.delete(APP_NAME)  # a redeploy in place is refused with direct ingress: delete, then deploy
        url = start_detection({**config, "record_anomalies": mode == "on"}, "127.0.0.1", port).url
        print(f"recording {mode} (phase {phase + 1} of {len(order)})", flush=True)
        asyncio.run(
            _load(url, systems, bodies(4, 1000, seed=100), 1000, args.clients, max(3.0, len(systems) / 20))
        )
        result = scenario(url, systems, payloads, 1000, args.clients, args.recording_seconds)
        runs[mode].append(result)
        pairs[-1][mode] = result
    lines = [round(p["on"]["lines_per_s"] / max(1, p["off"]["lines_per_s"]), 3) for p in pairs]
    cpu = [
        round(p["on"]["server_cpu_ms_per_1000_lines"] / max(0.1, p["off"]["server_cpu_ms_per_1000_lines"]), 3)
        for p in pairs
    ]
    return {
        "off": median_run(runs["off"]),
        "on": median_run(runs["on"]),
        "pairs_on_over_off_lines_per_s": lines,
        "pairs_on_over_off_cpu_per_line": cpu,
        "on_over_off_lines_per_s": statistics.median(lines),
        "on_over_off_cpu_per_line": statistics.median(cpu),
        "seconds_per_phase": args.recording_seconds,
    }


def other_rows(
    endpoint: Any, args: argparse.Namespace, throughput: dict[str, dict[str, Any]]
) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """The rows after the systems' ones: through Serve's proxy, repeated traffic, and the latency of
    100-line requests to one hot system."""
    url = endpoint.url
    if endpoint.direct:  # the same service through Serve's proxy: one hop more, measured alongside
        throughput[PROXY_ROW] = fresh_lines_row(endpoint.proxy_url, ["sys-000"], args, seed=700)
    repeated = bodies(10, 1000, seed=900)  # the same 10 bodies again and again: pattern cache hot
    asyncio.run(_load(url, ["sys-000"], repeated, 1000, args.clients, 3.0))
    throughput["1 (repeated traffic)"] = scenario(
        url, ["sys-000"], repeated, 1000, args.clients, args.seconds
    )
    small = bodies(4 * args.bodies, 100, seed=202)
    asyncio.run(_load(url, ["sys-000"], bodies(20, 100, seed=201), 100, 1, 3.0))
    return throughput, scenario(url, ["sys-000"], small, 100, 1, args.seconds)


def routes(n_systems: int, prefix: str) -> dict[str, Any]:
    from logsynergy_workers.serving.routes import hash_key

    systems = {f"{TENANT}/sys-{i:03d}": {"active": "1", "versions": {"1": prefix}} for i in range(n_systems)}
    return {"revision": 1, "keys": {hash_key(KEY): TENANT}, "systems": systems}


def run(out: Path, args: argparse.Namespace) -> dict[str, Any]:
    _environment()
    import ray
    from ray import serve

    from logsynergy.store import LocalStore
    from logsynergy_workers.serving.routes import ROUTES_KEY

    artifact = Path(args.artifact) if args.artifact else train_artifact(out / "work")
    work = Path(tempfile.mkdtemp(prefix="lsbench-"))
    store = LocalStore(work / "store")
    prefix = "tenants/bench/models/payments/job-1/"
    store.upload_dir(prefix, artifact)
    store.put_json(ROUTES_KEY, routes(max(args.systems), prefix))
    os.environ["LOGSYNERGY_STORE_URL"] = str(work / "store")
    own_tmp = "RAY_TMPDIR" not in os.environ
    if own_tmp:
        os.environ["RAY_TMPDIR"] = tempfile.mkdtemp(prefix="ray-", dir="/tmp")
    cpus = os.cpu_count() or 2
    pool_replicas, ingress_replicas = args.pool_replicas or cpus, args.ingress_replicas or 1
    config = {
        "max_models_per_replica": args.max_models,
        "pool_autoscaling": {"num_replicas": pool_replicas},
        "ingress_replicas": {"num_replicas": ingress_replicas},
        "ingress_num_cpus": 0.5,
        "pool_num_cpus": round((cpus - 0.5 * ingress_replicas) / pool_replicas, 3),
        "pool_max_ongoing_requests": POOL_ONGOING,
        **dict(args.set),
    }
    port = free_port()
    direct = not args.proxy_only
    if direct:  # as `logsynergy up` runs it: the ingress replica serves the port (read when Ray starts)
        apply_local_ray_env(direct_ingress_env(port))
    ray.init(num_cpus=cpus, include_dashboard=False, _temp_dir=os.environ["RAY_TMPDIR"])
    try:
        endpoint = start_detection(config, "127.0.0.1", port)
        url = endpoint.url
        warm = bodies(4, 1000, seed=100)
        throughput: dict[str, dict[str, Any]] = {}
        latency: dict[str, Any] = {}
        for i, n in enumerate([] if args.recording_only else args.systems):
            names = [f"sys-{k:03d}" for k in range(n)]
            # warm-up: imports, and every system's detector loaded (on both pool replicas, mostly)
            asyncio.run(_load(url, names, warm, 1000, args.clients, max(3.0, n / 20)))
            throughput[str(n)] = fresh_lines_row(url, names, args, seed=1000 + 10 * i)
        if not args.recording_only:
            throughput, latency = other_rows(endpoint, args, throughput)
        recording: dict[str, Any] = {}
        if args.recording_rounds:
            names = [f"sys-{k:03d}" for k in range(args.systems[0])]
            recording = {"systems": len(names), **recording_rows(config, port, names, args)}
    finally:
        serve.shutdown()
        ray.shutdown()
        shutil.rmtree(work, ignore_errors=True)
        if own_tmp:
            shutil.rmtree(os.environ.pop("RAY_TMPDIR"), ignore_errors=True)
    return {
        "machine": {"cpus": cpus, "platform": platform.platform(), "python": platform.python_version()},
        "ray": ray.__version__,
        "config": config,
        "endpoint": "direct ingress" if direct else "Serve's proxy",
        "ray_max_direct_call_object_size": int(os.environ[INLINE_OBJECT_ENV]),
        "clients": args.clients,
        "throughput_1000_lines": throughput,
        "latency_100_lines_hot": latency,
        "recording": recording,
        "targets": {"lines_per_s": TARGET_LINES_PER_S, "p99_ms": TARGET_P99_MS},
    }


def recording_markdown(recording: dict[str, Any], result: dict[str, Any]) -> list[str]:
    """The section comparing anomaly recording off and on (empty when it was not measured)."""
    if not recording:
        return []
    rows = [
        "| recording | lines/s (runs) | p50 ms | p99 ms | server CPU ms / 1k lines "
        "| flagged windows / request | batches / request |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for mode in ("off", "on"):
        r = recording[mode]
        runs = ", ".join(f"{n:,}" for n in r["runs_lines_per_s"])
        cells = [mode, f"{r['lines_per_s']:,} ({runs})", r["p50_ms"], r["p99_ms"]]
        cells += [r["server_cpu_ms_per_1000_lines"], r["flagged_per_request"], r["batches_per_request"]]
        rows.append("| " + " | ".join(map(str, cells)) + " |")
    ratio = recording["on_over_off_lines_per_s"]
    verdict = "within 10 %: met" if ratio >= 0.9 else "more than 10 % slower: missed"
    pairs = ", ".join(f"{r:.3f}" for r in recording["pairs_on_over_off_lines_per_s"])
    cpu = ", ".join(f"{r:.3f}" for r in recording["pairs_on_over_off_cpu_per_line"])
    return [
        f"## Anomaly recording off and on ({recording['systems']} system(s), 1,000-line requests, "
        f"{result['clients']} clients)",
        "",
        "The app redeployed with `record_anomalies` off and on in pairs of phases (off/on, on/off, …), "
        f"one {recording['seconds_per_phase']:g}-s run each, a pair's two phases on the same fresh bodies; "
        "each mode: its median run (every run's lines/s in brackets, in phase order).",
        "",
        *rows,
        "",
        f"Recording on / off, median of the pairs: **{ratio:.3f}** of the lines/s ({verdict}; pairs: "
        f"{pairs}); server CPU per line {recording['on_over_off_cpu_per_line']:.3f} (pairs: {cpu}).",
        "",
    ]


def markdown(result: dict[str, Any]) -> str:
    target_lps, target_p99 = result["targets"]["lines_per_s"], result["targets"]["p99_ms"]
    rows = [
        f"| systems | requests | errors | lines/s | p50 ms | p99 ms | cache hits | server CPU ms / 1k lines "
        f"| load gen. cores | ≥ {target_lps:,}/s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for n, r in result["throughput_1000_lines"].items():
        met = "met" if r["lines_per_s"] >= target_lps else "missed"
        hits = f"{r['cache_hit_rate']:.0%}"
        runs = r.get("runs_lines_per_s", [])
        spread = f" ({min(runs):,}–{max(runs):,})" if len(runs) > 1 else ""
        cells = [
            n,
            r["requests"],
            r["errors"],
            f"{r['lines_per_s']:,}{spread}",
            r["p50_ms"],
            r["p99_ms"],
            hits,
        ]
        cells += [r.get("server_cpu_ms_per_1000_lines", "?"), r.get("load_generator_cores", "?"), met]
        rows.append("| " + " | ".join(map(str, cells)) + " |")
    lat, machine, config = result["latency_100_lines_hot"], result["machine"], result["config"]
    met = "met" if lat and lat["p99_ms"] < target_p99 else "missed"
    latency = (
        [
            "## 100-line requests to one hot system (one client, sequential, fresh lines)",
            "",
            f"p50 {lat['p50_ms']} ms, p99 {lat['p99_ms']} ms over {lat['requests']} requests "
            f"(target p99 < {target_p99:g} ms: {met}).",
            "",
        ]
        if lat
        else []
    )
    return "\n".join(
        [
            "# Serving benchmark",
            "",
            f"Machine: {machine['cpus']} CPUs ({machine['platform']}), Ray {result['ray']}, one node; "
            f"the HTTP clients run on the same machine. Config: `{json.dumps(config)}`; "
            f"`RAY_max_direct_call_object_size={result.get('ray_max_direct_call_object_size')}`. "
            f"Endpoint: {result.get('endpoint', '?')}"
            + (
                f" (the row *{PROXY_ROW}* goes through Serve's proxy instead)."
                if PROXY_ROW in result["throughput_1000_lines"]
                else "."
            ),
            "",
            f"## 1,000-line requests, {result['clients']} concurrent clients",
            "",
            "Fresh-lines rows: the median run (the range of all runs' lines/s in brackets: this machine is",
            "shared). Systems are distinct model ids over one artifact, picked at random per request; each",
            "row uses fresh synthetic lines (no body repeats unless `repeated_bodies` in serving.json says",
            "so), except *repeated traffic*, which cycles 10 bodies so the pattern caches answer most",
            "windows.",
            f"`max_models_per_replica` is {config['max_models_per_replica']} and the warm-up touches every",
            "system, so each row measures its systems loaded; with `--max-models` below the number of",
            "systems, most requests would load their detector first (LRU eviction) with cold caches.",
            "",
            *rows,
            "",
            *latency,
            *recording_markdown(result.get("recording") or {}, result),
        ]
    )


def serving_arg(text: str) -> tuple[str, str]:
    """`--set ARG=VALUE`: one serving arg of `build_app` (checked there)."""
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected ARG=VALUE, got {text!r}")
    return name, value


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--artifact", help="a detector artifact directory (default: train a small one)")
    parser.add_argument("--systems", type=lambda s: [int(x) for x in s.split(",")], default=[1, 10, 200])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument(
        "--max-models",
        type=int,
        default=256,
        help="detectors per pool replica (default: every system loaded)",
    )
    parser.add_argument("--bodies", type=int, default=1000, help="distinct 1,000-line bodies per scenario")
    parser.add_argument("--repeats", type=int, default=3, help="runs per fresh-lines row (median reported)")
    parser.add_argument(
        "--recording-rounds",
        type=int,
        default=3,
        help="blocks of four phases (recording off, on, on, off) after the main rows (0: none)",
    )
    parser.add_argument("--recording-seconds", type=float, default=10.0, help="seconds per recording phase")
    parser.add_argument("--recording-only", action="store_true", help="only the recording off/on comparison")
    parser.add_argument("--pool-replicas", type=int, default=0)
    parser.add_argument("--ingress-replicas", type=int, default=0)
    parser.add_argument(
        "--proxy-only",
        action="store_true",
        help="Serve's proxy in front (a cluster's setup), no direct ingress",
    )
    parser.add_argument(
        "--set", action="append", default=[], type=serving_arg, metavar="ARG=VALUE", help="a serving arg"
    )
    args = parser.parse_args(argv)
    if args.ingress_replicas > 1 and not args.proxy_only:
        parser.error("direct ingress serves the port from one ingress replica: add --proxy-only for several")
    args.out.mkdir(parents=True, exist_ok=True)
    result = run(args.out, args)
    (args.out / "serving.json").write_text(json.dumps(result, indent=1))
    (args.out / "serving.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()

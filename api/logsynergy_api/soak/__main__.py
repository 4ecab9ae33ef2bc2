"""`python -m logsynergy_api.soak --out runs/soak [--minutes 10]`: see the package's docstring."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import secrets
import signal
import time
from dataclasses import asdict, fields
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil

from logsynergy_api.demo import Ports, start_platform, stop_platform
from logsynergy_api.soak import checks
from logsynergy_api.soak.memory import MemorySampler
from logsynergy_api.soak.recorder import Recorder
from logsynergy_api.soak.report import markdown
from logsynergy_api.soak.traffic import Soak, SoakConfig

WARM_S = 60.0  # memory growth is measured from this far into the timed phase (at most a quarter of it)


def session_dir(root_pid: int) -> Path | None:
    """The Ray session directory of the platform (from its raylet's command line)."""
    try:
        processes = psutil.Process(root_pid).children(recursive=True)
    except psutil.Error:
        return None
    for process in processes:
        try:
            for arg in process.cmdline():
                if arg.startswith("--session_dir="):
                    return Path(arg.split("=", 1)[1])
        except psutil.Error:
            continue
    return None


async def drive(
    soak: Soak, sampler: MemorySampler, data_dir: Path, minutes: float, say: Any
) -> dict[str, Any]:
    started = time.monotonic()
    soak.prepare_pools()
    say(f"setup: sources, {soak.cfg.seed_systems} systems trained through the API before the clock starts")
    await soak.setup()
    setup_s = time.monotonic() - started
    served = sum(s.served for s in soak.systems.values())
    say(f"setup done in {setup_s:.0f} s ({served} systems with a model); {minutes:g} min of traffic")
    soak.recorder.phase = "soak"
    soak.recorder.started = time.monotonic()
    soak_start = sampler.now()
    await soak.run(minutes * 60)
    soak_end = sampler.now()
    served_end = sum(s.served for s in soak.systems.values())
    say(
        f"traffic over ({served_end} systems with a model); following {len(soak.in_flight)} jobs to their end"
    )
    soak.recorder.phase = "drain"
    drained = await soak.drain()
    soak.recorder.phase = "checks"
    store = data_dir / "store"
    result = {
        "setup_s": round(setup_s, 1),
        "drained": drained,
        "systems": {
            "goal": soak.cfg.systems,
            "with_a_model_at_start": served,
            "with_a_model_at_end": served_end,
            "with_a_model_after_drain": sum(s.served for s in soak.systems.values()),
            "created": len(soak.systems),
            "with_several_versions": sum(len(s.versions) >= 2 for s in soak.systems.values()),
        },
        "uploads": await checks.check_uploads(soak, store),
        "jobs": await checks.check_jobs(soak),
        "endpoint": await checks.check_endpoint(soak),
        "anomaly_history": await checks.check_anomaly_history(soak, store),
        "metrics": await checks.check_metrics(soak),
        "activations": activation_summary(soak),
        "detection": dict(soak.detection),
        "detection_first_answer_of_a_version_ms": sorted(round(ms, 1) for ms in soak.first_answer_ms),
        "events": soak.events,
    }
    warm = soak_start + min(WARM_S, (soak_end - soak_start) / 4)
    result["memory_window"] = (soak_start, warm, soak_end)
    return result


def activation_summary(soak: Soak) -> dict[str, Any]:
    by_reason: dict[str, dict[str, Any]] = {}
    for activation in soak.activations:
        row = by_reason.setdefault(activation.reason, {"count": 0, "reflected": 0, "delays_s": []})
        row["count"] += 1
        row["reflected"] += activation.reflected
        if activation.delay_s is not None:
            row["delays_s"].append(activation.delay_s)
    for row in by_reason.values():
        delays = sorted(row.pop("delays_s"))
        row["median_delay_s"] = delays[len(delays) // 2] if delays else None
        row["max_delay_s"] = delays[-1] if delays else None
    return by_reason


def run(args: argparse.Namespace) -> Path:
    config = SoakConfig(
        **{f.name: getattr(args, f.name) for f in fields(SoakConfig) if hasattr(args, f.name)}
    )
    out = args.out / datetime.now().strftime("%Y%m%d-%H%M%S")
    data_dir = out / "platform"
    data_dir.mkdir(parents=True)
    key = "lsk_soak_" + secrets.token_urlsafe(24)
    say = lambda m: print(m, flush=True)  # noqa: E731
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    began = time.monotonic()
    process, ports = start_platform(data_dir, key, say)
    say(f"platform up in {time.monotonic() - began:.0f} s (pid {process.pid})")
    sampler = MemorySampler(process.pid, f"http://127.0.0.1:{ports.dashboard}", every_s=args.sample_every)
    sampler.start()
    recorder = Recorder()
    soak = Soak(config, f"http://127.0.0.1:{ports.api}", f"http://127.0.0.1:{ports.serve}", key, recorder)
    result: dict[str, Any] = {}
    try:
        result = asyncio.run(_drive_and_close(soak, sampler, data_dir, args.minutes, say))
        ray_logs = checks.ray_session_logs(session_dir(process.pid))
        result["logs"] = {
            "platform": checks.log_errors([data_dir / "platform.log"]),
            "ray_session": checks.log_errors(ray_logs),
        }
    finally:
        sampler.sample()
        sampler.stop()
        stop_platform(process)
        result["leftover_processes"] = stop_leftovers(sampler)
    start_s, warm_s, end_s = result.pop("memory_window", (0.0, 0.0, sampler.now()))
    result |= {
        "when": datetime.now().isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        },
        "config": {**asdict(config), "minutes": args.minutes, "sample_every_s": args.sample_every},
        "ports": asdict(ports) if isinstance(ports, Ports) else None,
        "wall_s": round(time.monotonic() - began, 1),
        "requests": recorder.summary("soak"),
        "detection_by_minute": recorder.timeline("soak", "detect"),
        "slowest_detection": recorder.slowest("soak", "detect"),
        "requests_setup": recorder.summary("setup"),
        "requests_drain_and_checks": {**recorder.summary("drain"), **recorder.summary("checks")},
        "outcomes": recorder.totals(),
        "unexpected_examples": recorder.examples,
        "memory": sampler.report(start_s, warm_s, end_s),
    }
    (out / "results.json").write_text(json.dumps(result, indent=1, default=str))
    (out / "results.md").write_text(markdown(result))
    return out


async def _drive_and_close(
    soak: Soak, sampler: MemorySampler, data_dir: Path, minutes: float, say: Any
) -> dict[str, Any]:
    try:
        return await drive(soak, sampler, data_dir, minutes, say)
    finally:
        await soak.close()


def stop_leftovers(sampler: MemorySampler) -> list[dict[str, Any]]:
    """Processes of the platform still alive after its shutdown: listed, then killed (by pid)."""
    time.sleep(2)
    left = sampler.alive_after_stop()
    for proc in left:
        with contextlib.suppress(OSError):
            os.kill(proc.pid, signal.SIGKILL)
    return [{"pid": p.pid, "process": p.label} for p in left]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/soak"))
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the timed traffic")
    parser.add_argument("--systems", type=int, default=50, help="systems to onboard (each trains its model)")
    parser.add_argument(
        "--seed-systems",
        type=int,
        default=40,
        help="systems trained before the clock starts (the others are onboarded during the traffic)",
    )
    parser.add_argument("--clients", type=int, default=16, help="concurrent detection clients")
    parser.add_argument("--detect-rps", type=float, default=20.0, help="detection requests/s, all clients")
    parser.add_argument("--jobs-in-flight", type=int, default=3, help="training jobs queued or running")
    parser.add_argument("--retrain-every", type=int, default=4, help="every n-th job retrains a system")
    parser.add_argument("--cancel-fraction", type=float, default=0.15, help="retraining jobs cancelled")
    parser.add_argument("--sample-every", type=float, default=5.0, help="seconds between memory samples")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    out = run(args)
    print((out / "results.md").read_text())
    print(f"written: {out}/results.json, results.md")


if __name__ == "__main__":
    main()

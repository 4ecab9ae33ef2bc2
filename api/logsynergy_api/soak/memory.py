"""Memory (RSS) of every process of the platform over time: the `logsynergy up` process and its whole
tree (Ray's GCS, raylet, dashboard and agents, Serve's controller, proxy and replicas, job supervisors,
job drivers, Ray Train workers), labelled by Ray's actor list (pid → class) where a process is an actor."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import psutil

MB = 1 << 20
ACTORS_EVERY_S = 20.0
# process roles told by their command line, first match wins (actors are labelled by Ray's actor list)
COMMAND_LABELS = (
    ("logsynergy_workers.train_job", "job driver (train_job)"),
    ("default_worker.py", "ray worker (starting)"),
    ("dashboard/agent.py", "ray dashboard agent"),
    ("runtime_env/agent", "ray runtime_env agent"),
    ("dashboard.py", "ray dashboard"),
    ("log_monitor", "ray log_monitor"),
    ("monitor.py", "ray monitor"),
    ("ray::IDLE", "ray idle worker"),
    ("multiprocessing.forkserver", "ray dashboard forkserver"),
    ("multiprocessing.resource_tracker", "multiprocessing resource_tracker"),
)


def command_label(cmdline: list[str], name: str) -> str:
    if name in ("raylet", "gcs_server"):
        return f"ray {name}"
    if name in ("sh", "bash", "sleep"):  # wrappers of Ray's job entrypoints
        return name
    text = " ".join(cmdline)
    for needle, label in COMMAND_LABELS:
        if needle in text:
            return label
    if text.startswith("ray::"):  # Ray's process title: ray::Class.method (an actor) or ray::SomeAgent
        title = text.split()[0].removeprefix("ray::").split(".")[0]
        return f"ray::{title}" if title.endswith("Agent") else f"actor {title}"
    return name or "?"


@dataclass
class Proc:
    pid: int
    label: str
    created: float
    first_s: float
    last_s: float
    command: str = ""
    rss: list[tuple[float, int]] = field(default_factory=list)  # (seconds since start, bytes)


@dataclass
class MemorySampler:
    """Samples the RSS of `root_pid` and all its descendants every `every_s` in a thread."""

    root_pid: int
    dashboard_url: str
    every_s: float = 5.0
    procs: dict[tuple[int, float], Proc] = field(default_factory=dict)
    totals: list[tuple[float, int]] = field(default_factory=list)
    cpu: list[tuple[float, float]] = field(default_factory=list)  # the whole machine's CPU %, shared
    actors: dict[int, str] = field(default_factory=dict)
    t0: float = field(default_factory=time.monotonic)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _actors_at: float = float("-inf")

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="soak-memory", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)

    def now(self) -> float:
        return time.monotonic() - self.t0

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.every_s)

    def _refresh_actors(self) -> None:
        """pid → "actor <class>" from Ray's state API (the dashboard); kept as it was on failure."""
        try:
            response = httpx.get(
                f"{self.dashboard_url}/api/v0/actors", params={"limit": 10000, "detail": "true"}, timeout=20
            )
            rows = response.json()["data"]["result"]["result"]
        except (httpx.HTTPError, ValueError, KeyError, TypeError):
            return
        for row in rows:
            pid = row.get("pid")
            if pid and row.get("state") == "ALIVE":
                self.actors[int(pid)] = f"actor {row.get('class_name') or row.get('name') or '?'}"

    def _tree(self) -> list[psutil.Process]:
        try:
            root = psutil.Process(self.root_pid)
            return [root, *root.children(recursive=True)]
        except psutil.Error:
            return []

    def sample(self) -> None:
        now = self.now()
        if now - self._actors_at >= ACTORS_EVERY_S:
            self._actors_at = now
            self._refresh_actors()
        total = 0
        for process in self._tree():
            try:
                with process.oneshot():
                    rss = process.memory_info().rss
                    created = process.create_time()
                    key = (process.pid, created)
                    if key not in self.procs:
                        cmdline = process.cmdline()
                        label = command_label(cmdline, process.name())
                        if process.pid == self.root_pid:
                            label = "logsynergy up (API, scheduler, Ray driver)"
                        command = " ".join(cmdline)[:200]
                        self.procs[key] = Proc(process.pid, label, created, now, now, command)
            except psutil.Error:
                continue
            proc = self.procs[key]
            if process.pid in self.actors:
                proc.label = self.actors[process.pid]
            proc.last_s = now
            proc.rss.append((round(now, 1), rss))
            total += rss
        self.totals.append((round(now, 1), total))
        self.cpu.append((round(now, 1), psutil.cpu_percent(interval=None)))

    def alive_after_stop(self) -> list[Proc]:
        """The processes seen during the run that still exist (same pid and start time)."""
        left = []
        for (pid, created), proc in self.procs.items():
            try:
                if psutil.Process(pid).create_time() == created:
                    left.append(proc)
            except psutil.Error:
                continue
        return left

    def report(self, start_s: float, warm_s: float, end_s: float) -> dict[str, Any]:
        """Per process alive from `warm_s` to the last sample: RSS at `warm_s` and `end_s` (seconds since
        the sampler started), growth (also over the second half alone) and peak; per role of the
        shorter-lived ones: count and peak; the tree's total; the machine's CPU use during the traffic."""
        last = self.totals[-1][0] if self.totals else end_s

        def at(series: list[tuple[float, int]], t: float) -> int:
            before = [rss for s, rss in series if s <= t]
            return before[-1] if before else series[0][1]

        persistent, transient = [], {}
        for proc in self.procs.values():
            if proc.first_s <= warm_s and proc.last_s >= last - 2 * self.every_s:
                start, mid, end = (
                    at(proc.rss, warm_s),
                    at(proc.rss, (warm_s + end_s) / 2),
                    at(proc.rss, end_s),
                )
                persistent.append(
                    {
                        "pid": proc.pid,
                        "process": proc.label,
                        "command": proc.command,
                        "rss_warm_mb": round(start / MB, 1),
                        "rss_end_mb": round(end / MB, 1),
                        "growth_mb": round((end - start) / MB, 1),
                        "growth_pct": round(100 * (end - start) / start, 1) if start else 0.0,
                        # a leak keeps growing; caches filling up (detectors, patterns) level off
                        "growth_second_half_mb": round((end - mid) / MB, 1),
                        "peak_mb": round(max(r for _, r in proc.rss) / MB, 1),
                    }
                )
            else:
                row = transient.setdefault(proc.label, {"processes": 0, "peak_mb": 0.0})
                row["processes"] += 1
                row["peak_mb"] = max(row["peak_mb"], round(max(r for _, r in proc.rss) / MB, 1))
        persistent.sort(key=lambda r: -r["rss_end_mb"])
        total_warm, total_end = at(self.totals, warm_s), at(self.totals, end_s)
        cpu = [c for t, c in self.cpu if start_s <= t <= end_s]
        return {
            "warm_s": round(warm_s, 1),
            "end_s": round(end_s, 1),
            "persistent": persistent,
            "transient": dict(sorted(transient.items())),
            "total_warm_mb": round(total_warm / MB, 1),
            "total_end_mb": round(total_end / MB, 1),
            "total_peak_mb": round(max((r for _, r in self.totals), default=0) / MB, 1),
            "persistent_warm_mb": round(sum(p["rss_warm_mb"] for p in persistent), 1),
            "persistent_end_mb": round(sum(p["rss_end_mb"] for p in persistent), 1),
            "machine_cpu_pct_mean": round(sum(cpu) / len(cpu), 1) if cpu else None,
            "total_series_mb": [(t, round(r / MB, 1)) for t, r in self.totals],
            "machine_cpu_series_pct": self.cpu,
        }

"""`make demo`: the whole product on one machine, over its public interfaces.

Starts `logsynergy up`, onboards two mature systems and one new system through the REST API, trains the
new system's detector through the job queue, sends the new system's unseen lines to the detection
endpoint, and prints F1 on the known labels, a few anomaly reports and the URLs of the running parts."""

from __future__ import annotations

import contextlib
import gzip
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from logsynergy.demo import demo_systems
from logsynergy.errors import LogSynergyError
from logsynergy.loaders.lines import records_from_lines
from logsynergy.metrics import prf
from logsynergy.prepare import Say
from logsynergy.report import render_report
from logsynergy.systems import SystemSpec
from logsynergy_api.client import PlatformClient

CHUNK_LINES = 1000


@dataclass
class Ports:
    api: int
    dashboard: int
    serve: int


def port_or_free(preferred: int) -> int:
    """The usual port when it is free, else any free one (the demo must not fail on a busy port)."""
    for candidate in (preferred, 0):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", candidate))
                return s.getsockname()[1]
            except OSError:
                continue
    raise LogSynergyError("no free TCP port on 127.0.0.1")


def start_platform(data_dir: Path, key: str, say: Say) -> tuple[subprocess.Popen, Ports]:
    ports = Ports(port_or_free(8080), port_or_free(8265), port_or_free(8000))
    env = {
        **os.environ,
        "LOGSYNERGY_DATA_DIR": str(data_dir),
        "LOGSYNERGY_API_PORT": str(ports.api),
        "LOGSYNERGY_DASHBOARD_PORT": str(ports.dashboard),
        "LOGSYNERGY_SERVE_PORT": str(ports.serve),
        "LOGSYNERGY_BOOTSTRAP_API_KEY": key,
        "HF_HUB_OFFLINE": "1",
    }
    log = data_dir / "platform.log"
    say(f"Starting the local platform (Ray, detection service, API); its log: {log}")
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "logsynergy_api.cli", "up"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + 300
    while True:
        if process.poll() is not None:
            raise LogSynergyError(f"the platform exited at start:\n{log.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{ports.api}/healthz", timeout=2).status_code == 200:
                return process, ports
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            stop_platform(process)
            raise LogSynergyError(f"the platform did not come up in 300 s:\n{log.read_text()[-2000:]}")
        time.sleep(0.5)


def stop_platform(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def read_lines(path: Path) -> list[str]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as f:  # type: ignore[operator]
        return f.read().splitlines()


def onboard(client: PlatformClient, spec: SystemSpec, role: str, log: Path, say: Say) -> None:
    client.create_system(spec.name, spec.format, role, spec.description)
    dataset = client.upload(spec.name, log, spec.labels)
    say(
        f"  {spec.name:10} {role:6}  {dataset['lines']:>8,} lines  {dataset['windows']:>7,} windows  "
        f"{dataset['anomalous_windows']:>6,} anomalous"
    )
    if spec.interpretations is not None:
        body = spec.interpretations.read_bytes()
        imported = client.request("POST", f"/v1/systems/{spec.name}/interpretations/import", content=body)
        say(f"  {'':10} {'':6}  {imported['written']} LLM interpretations imported")


def follow(client: PlatformClient, job_id: str, say: Say) -> dict[str, Any]:
    shown = [""]

    def progress(job: dict[str, Any]) -> None:
        p = job.get("progress") or {}
        line = f"  job {job_id}: {job['status']}, {p.get('stage', '')}"
        if p.get("epoch"):
            line += f", epoch {p['epoch']}/{p.get('epochs', '?')}"
        if p.get("val_f1") is not None:
            line += f", validation F1 {p['val_f1']:.3f}"
        if line != shown[0]:
            say(line)
            shown[0] = line

    return client.wait_job(job_id, timeout=1800, poll=1.0, on_progress=progress)


def detect(detect_url: str, key: str, system: str, fmt: str, lines: list[str]) -> dict[str, Any]:
    """Send the lines as one stream in chunks; F1 against the labels the lines carry."""
    http = httpx.Client(base_url=detect_url, headers={"Authorization": f"Bearer {key}"}, timeout=300)
    windows: list[dict[str, Any]] = []
    reports: list[dict[str, Any]] = []
    version = None
    started = time.perf_counter()
    for start in range(0, len(lines), CHUNK_LINES):
        last = start + CHUNK_LINES >= len(lines)
        body = {"lines": lines[start : start + CHUNK_LINES], "stream_id": "demo", "flush": last}
        response = http.post(f"/v1/detect/{system}", json=body)
        if response.status_code != 200:
            raise LogSynergyError(f"detection failed: HTTP {response.status_code} {response.text[:500]}")
        answer = response.json()
        version = answer["model_version"]
        windows += answer["windows"]
        reports += answer["anomalies"]
    seconds = time.perf_counter() - started
    labels = [r.label for r in records_from_lines(fmt, lines)]
    truth, predicted = [], []
    for window in windows:
        known = [
            labels[n - 1]
            for n in range(window["first_line"], window["last_line"] + 1)
            if labels[n - 1] is not None
        ]
        if known:
            truth.append(int(max(known)))
            predicted.append(int(window["anomaly"]))
    result: dict[str, Any] = {
        "version": version,
        "windows": len(windows),
        "reports": reports,
        "seconds": seconds,
    }
    if truth:
        scores = prf(np.array(truth), np.array(predicted))
        result |= {"precision": scores.precision, "recall": scores.recall, "f1": scores.f1}
    return result


def run_platform_demo(
    work_dir: Path,
    *,
    datasets: Path | None = None,
    force_synthetic: bool = False,
    keep: bool = False,
    say: Say = print,
) -> dict[str, Any]:
    started = time.perf_counter()
    specs, target_name, source_names = demo_systems(work_dir, datasets, force_synthetic, say)
    target = specs[target_name]
    lines = read_lines(target.path)
    cut = len(lines) // 2
    onboarding_part = work_dir / f"{target_name}-onboarding{target.path.suffix}"
    onboarding_part.write_text("\n".join(lines[:cut]) + "\n", encoding="utf-8")
    unseen = lines[cut:]

    data_dir = work_dir / "platform"
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    key = "lsk_demo_" + secrets.token_urlsafe(16)
    process, ports = start_platform(data_dir, key, say)
    try:
        api_url = f"http://127.0.0.1:{ports.api}"
        client = PlatformClient(api_url, key)
        say(f"\nOnboarding two mature systems and the new one ({target_name}, first half of its log):")
        for name in source_names:
            onboard(client, specs[name], "source", specs[name].path, say)
        onboard(client, target, "target", onboarding_part, say)
        requested = time.monotonic()
        job = client.create_job(target_name, sources=source_names)
        say(
            f"\nTraining job {job['id']} queued (sources {', '.join(job['sources'])}); "
            "it shows in Ray's dashboard too."
        )
        job = follow(client, job["id"], say)
        if job["status"] != "succeeded":
            raise LogSynergyError(f"training job {job['id']} {job['status']}: {job.get('error')}")
        m = job["metrics"]
        say(
            f"Model version {job['model_version']} active {time.monotonic() - requested:.0f} s "
            "after the request; "
            f"held-out F1 {m['f1']:.3f} (precision {m['precision']:.3f}, recall {m['recall']:.3f})."
        )
        selection = m.get("selection") or {}
        if selection.get("f1"):
            compared = ", ".join(f"{name} {f1:.3f}" for name, f1 in selection["f1"].items())
            say(f"It serves the {selection['chosen']} (F1 {compared} on {selection['compared_on']}).")
        detect_url = f"http://127.0.0.1:{ports.serve}"
        result = detect(detect_url, key, target_name, target.format, unseen)
        say(
            f"\nDetection endpoint judged {len(unseen):,} unseen lines of {target_name} "
            f"in {result['windows']:,} windows ({result['seconds']:.1f} s, "
            f"model version {result['version']}): "
            f"{len(result['reports'])} anomalous"
            + (
                f"; F1 {result['f1']:.3f} (precision {result['precision']:.3f}, "
                f"recall {result['recall']:.3f}) on the known labels"
                if "f1" in result
                else ""
            )
        )
        for report in result["reports"][:3]:
            say(render_report(report, max_events=4))
        say(
            f"\nAPI docs            {api_url}/docs   (admin key {key})\n"
            f"Ray dashboard       http://127.0.0.1:{ports.dashboard}\n"
            f"Detection endpoint  {detect_url}/v1/detect/{target_name}\n"
            f"Done in {time.perf_counter() - started:.0f} s."
        )
        if keep:
            say("The platform stays up (--keep); press Ctrl-C to stop it.")
            with contextlib.suppress(KeyboardInterrupt):
                process.wait()
        return {k: v for k, v in result.items() if k != "reports"} | {"job": job}
    finally:
        stop_platform(process)

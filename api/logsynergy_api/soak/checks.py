""" "Nothing lost": the soak's final checks, over the API, the endpoint and the platform's store."""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

from logsynergy_api.soak.traffic import FINAL, ROUTES_GRACE_S, Flagged, Soak

TRACEBACK = "Traceback (most recent call last)"
HISTORY_PAGE = 1000  # the anomalies API's largest page
HISTORY_SETTLE_S = 120.0  # how long the control plane may take to ingest the last recorded batches


def stored_file(store: Path, system: str, dataset_id: str) -> Path | None:
    """The dataset's log as the platform's local store holds it (any tenant)."""
    found = list(store.glob(f"tenants/*/datasets/{system}/{dataset_id}/log"))
    return found[0] if len(found) == 1 else None


def spec_datasets(store: Path, job_id: str) -> set[str] | None:
    """Dataset ids of the target's inputs in the job's spec.json (None: no spec was written)."""
    import json

    found = list(store.glob(f"tenants/*/jobs/{job_id}/spec.json"))
    if not found:
        return None
    spec = json.loads(found[0].read_text())
    return {d["log_key"].rstrip("/").split("/")[-2] for d in spec["target"]["datasets"]}


async def check_uploads(soak: Soak, store: Path) -> dict[str, Any]:
    """Every accepted upload is listed with what was sent, stored byte for byte, and in the spec of the
    target's every later job (uploaded before the job was requested)."""
    listed: dict[str, dict[str, Any]] = {}
    for name in soak.systems:
        response = await soak.call("final_list_datasets", soak.api, "GET", f"/v1/systems/{name}/datasets")
        if response is not None:
            listed |= {row["id"]: row for row in response.json()}
    counts = Counter[str]()
    used: set[str] = set()
    problems: list[str] = []
    for job in soak.jobs.values():
        in_spec = spec_datasets(store, job.id)
        if in_spec is None:
            if job.final not in ("cancelled",):
                problems.append(f"job {job.id} ({job.final}) has no spec")
            continue
        missing = set(job.uploads_before) - in_spec
        if missing:
            problems.append(f"job {job.id} left out uploads {sorted(missing)}")
        used |= in_spec
    for upload in soak.uploads.values():
        counts["accepted"] += 1
        row = listed.get(upload.dataset_id)
        if row is None or row["sha256"] != upload.sha256 or row["size_bytes"] != upload.size:
            problems.append(f"upload {upload.dataset_id} of {upload.system} not listed as sent")
        else:
            counts["listed"] += 1
        path = stored_file(store, upload.system, upload.dataset_id)
        if path is not None and hashlib.sha256(path.read_bytes()).hexdigest() == upload.sha256:
            counts["stored_intact"] += 1
        else:
            problems.append(f"upload {upload.dataset_id} of {upload.system} not stored intact")
        counts["used_by_a_job"] += upload.dataset_id in used
    counts["listed_not_uploaded_by_us"] = len(set(listed) - set(soak.uploads))
    for problem in problems:
        soak.recorder.unexpected("lost_upload", problem)
    return {**counts, "problems": problems}


async def check_jobs(soak: Soak) -> dict[str, Any]:
    """Every submitted job is listed once, final, in the state the driver saw first; a succeeded job
    registered exactly one model version, and no other job any."""
    problems: list[str] = []
    response = await soak.call("final_list_jobs", soak.api, "GET", "/v1/jobs")
    rows = response.json() if response is not None else []
    seen = Counter(row["id"] for row in rows)
    by_id = {row["id"]: row for row in rows}
    models: dict[str, list[dict[str, Any]]] = {}
    for name in soak.systems:
        listed = await soak.call("final_list_models", soak.api, "GET", f"/v1/systems/{name}/models")
        models[name] = listed.json() if listed is not None else []
    registered = Counter(m["job_id"] for rows_ in models.values() for m in rows_)
    outcome = Counter[str]()
    for job in soak.jobs.values():
        row = by_id.get(job.id)
        if seen[job.id] != 1 or row is None:
            problems.append(f"job {job.id} listed {seen[job.id]} times")
            continue
        if row["status"] not in FINAL or row["status"] != job.final:
            problems.append(f"job {job.id} is {row['status']}, the driver saw it {job.final}")
        outcome[row["status"]] += 1
        want = 1 if row["status"] == "succeeded" else 0
        if registered[job.id] != want:
            problems.append(f"job {job.id} ({row['status']}) registered {registered[job.id]} model versions")
    for problem in problems:
        soak.recorder.unexpected("lost_job", problem)
    attempts = Counter(job.attempts for job in soak.jobs.values())
    durations = sorted(
        round(job.final_s - job.submitted_s, 1)
        for job in soak.jobs.values()
        if job.final == "succeeded" and job.final_s is not None
    )
    return {
        "submitted": len(soak.jobs),
        "final": dict(outcome),
        "by_purpose": dict(Counter(job.purpose for job in soak.jobs.values())),
        "cancel_requested": sum(job.cancel_requested for job in soak.jobs.values()),
        "attempts": {str(k): v for k, v in sorted(attempts.items())},
        "model_versions": sum(len(rows_) for rows_ in models.values()),
        "request_to_final_s": durations,
        "problems": problems,
    }


async def check_endpoint(soak: Soak) -> dict[str, Any]:
    """Once everything settled: each system with a model answers with its expected active version."""
    await asyncio.sleep(ROUTES_GRACE_S)
    served = [s for s in soak.systems.values() if s.served]
    agree, problems = 0, []
    for state in served:
        lines = soak.lines_for(state.dialect, 20, soak.rng)
        response = await soak.call(
            "final_detect", soak.detect, "POST", f"/v1/detect/{state.name}", json={"lines": lines}
        )
        got = response.json().get("model_version") if response is not None else None
        if got == state.expected:
            agree += 1
        else:
            problems.append(f"{state.name}: answered version {got!r}, active {state.expected!r}")
    for problem in problems:
        soak.recorder.unexpected("final_version", problem)
    return {"systems_with_a_model": len(served), "answering_the_active_version": agree, "problems": problems}


async def check_metrics(soak: Soak) -> dict[str, Any]:
    """The control plane's /metrics job counts against the driver's."""
    response = await soak.call("final_metrics", soak.api, "GET", "/metrics")
    text = response.text if response is not None else ""
    reported = {
        m.group(1): int(float(m.group(2)))
        for m in re.finditer(r'logsynergy_jobs\{status="(\w+)"\} (\S+)', text)
    }
    driver = Counter(job.final or "in flight" for job in soak.jobs.values())
    agree = all(reported.get(status, 0) == driver.get(status, 0) for status in FINAL)
    if not agree:
        soak.recorder.unexpected("final_metrics", f"/metrics jobs {reported}, driver {dict(driver)}")
    scheduler_up = re.search(r"^logsynergy_scheduler_up (\S+)", text, re.M)
    return {
        "jobs_reported": reported,
        "jobs_agree": agree,
        "scheduler_up": float(scheduler_up.group(1)) if scheduler_up else None,
    }


async def anomaly_history(soak: Soak) -> Counter[Flagged] | None:
    """Every system's anomaly history over the API, as the driver keys flagged windows (None: a page
    failed). Newest first with offsets: rows ingested meanwhile shift pages, so rows are kept by id."""
    rows: dict[int, Flagged] = {}
    for name in soak.systems:
        offset = 0
        while True:
            params = {"limit": HISTORY_PAGE, "offset": offset}
            url = f"/v1/systems/{name}/anomalies"
            response = await soak.call("final_list_anomalies", soak.api, "GET", url, params=params)
            if response is None:
                return None
            page = response.json()
            for a in page:
                rows[a["id"]] = (
                    name,
                    a["version"],
                    a["stream_id"],
                    a["first_line"],
                    a["last_line"],
                    a["pattern"],
                )
            if len(page) < HISTORY_PAGE:
                break
            offset += HISTORY_PAGE
    return Counter(rows.values())


def inbox_left(store: Path) -> tuple[int, int]:
    """(batches still in the anomaly inbox, batches the control plane rejected) in the local store."""
    inbox = list((store / "anomalies/inbox").glob("*.json"))
    rejected = [p for p in (store / "anomalies/rejected").rglob("*") if p.is_file()]
    return len(inbox), len(rejected)


async def check_anomaly_history(soak: Soak, store: Path) -> dict[str, Any]:
    """Every window a detection answer flagged is in its system's anomaly history (same version, stream,
    lines and pattern), once the control plane has emptied the inbox (HISTORY_SETTLE_S at most); and the
    history holds as many windows as the endpoint says it recorded."""
    deadline = time.monotonic() + HISTORY_SETTLE_S
    started = time.monotonic()
    while True:
        history = await anomaly_history(soak)
        inbox, rejected = inbox_left(store)
        missing = soak.flagged - history if history is not None else soak.flagged
        if (history is not None and not missing and inbox == 0) or time.monotonic() > deadline:
            break
        await asyncio.sleep(2.0)
    settled_s = round(time.monotonic() - started, 1)
    history = history or Counter()
    stats = await soak.call("final_detect_stats", soak.detect, "GET", "/v1/detect/-/stats")
    recording = stats.json().get("recording", {}) if stats is not None else {}
    metrics = await soak.call("final_metrics_anomalies", soak.api, "GET", "/metrics")
    batches = {
        m.group(1): int(float(m.group(2)))
        for m in re.finditer(
            r'logsynergy_anomaly_batches_total\{outcome="(\w+)"\} (\S+)', metrics.text if metrics else ""
        )
    }
    answered, recorded = sum(soak.flagged.values()), sum(history.values())
    problems = [
        f"{n} window(s) of {key[0]} v{key[1]} lines {key[3]}-{key[4]} (stream {key[2]}) answered anomalous, "
        "not in the history"
        for key, n in sorted(missing.items(), key=str)[:20]
    ]
    if len(missing) > 20:
        problems.append(f"… and {len(missing) - 20} more missing (system, version, lines, pattern)")
    if inbox:
        problems.append(f"{inbox} batches still in the inbox after {settled_s} s")
    if rejected or batches.get("rejected") or batches.get("dropped"):
        problems.append(f"batches rejected or dropped: {rejected} in the store, /metrics {batches}")
    if recording.get("failed"):
        problems.append(f"the endpoint failed to record {recording['failed']} batches (answered 503)")
    if recording.get("windows") is not None and recording["windows"] != recorded:
        problems.append(f"the endpoint recorded {recording['windows']} windows, the history holds {recorded}")
    for problem in problems:
        soak.recorder.unexpected("lost_anomaly", problem)
    return {
        "answered_anomalous": answered,
        "in_history": recorded,
        "answered_missing": sum(missing.values()),
        "systems_with_anomalies": len({key[0] for key in history}),
        "incidents_patterns": len({(key[0], key[5]) for key in history}),
        "endpoint_recording": recording,
        "batches_by_outcome": batches,
        "inbox_left": inbox,
        "settled_s": settled_s,
        "problems": problems,
    }


def log_errors(paths: list[Path], keep: int = 3) -> dict[str, Any]:
    """Tracebacks and ERROR lines in the given log files: counts, the first few ERROR lines and the
    first `keep` tracebacks (their last lines, where the exception is)."""
    tracebacks, errors, samples, excerpts = 0, 0, [], []
    for path in paths:
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        lines = text.splitlines()
        for i, line in enumerate(lines):
            if TRACEBACK in line:
                tracebacks += 1
                if len(excerpts) < keep:
                    block = lines[i + 1 : i + 40]
                    end = next((j for j, b in enumerate(block) if b and not b.startswith((" ", "\t"))), 0)
                    excerpts.append(
                        f"{path.name}: " + " | ".join(x.strip() for x in block[max(0, end - 3) : end + 1])
                    )
            elif " ERROR " in line or line.startswith("ERROR"):
                errors += 1
                if len(samples) < 8:
                    samples.append(f"{path.name}: {line[:240]}")
    return {
        "files": len(paths),
        "tracebacks": tracebacks,
        "error_lines": errors,
        "samples": samples,
        "traceback_excerpts": excerpts,
    }


def ray_session_logs(session_dir: Path | None) -> list[Path]:
    if session_dir is None or not session_dir.is_dir():
        return []
    return [
        p for p in (session_dir / "logs").rglob("*") if p.is_file() and p.suffix in (".log", ".err", ".out")
    ]

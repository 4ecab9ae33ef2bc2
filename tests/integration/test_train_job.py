"""The Ray training job entrypoint end to end: a real local Ray, a LocalStore, synthetic systems."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from logsynergy.detector import Detector
from logsynergy.store import LocalStore
from logsynergy.synthetic import write_demo_systems
from logsynergy_contracts import JobFailed, JobKeys, JobProgress, JobSucceeded, TrainJobSpec, parse_result

JOB = "tenants/acme/jobs/job-1"
KEYS = JobKeys(prefix=f"{JOB}/")
REVIEWED = "An operator-reviewed sentence that must survive retraining."


@pytest.fixture()
def ray_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """Environment of a job process: the store, a private short RAY_TMPDIR, one thread, offline."""
    ray_tmp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_", "LOGSYNERGY_"))}
    env.update(
        LOGSYNERGY_STORE_URL=f"file://{tmp_path / 'store'}",
        RAY_TMPDIR=ray_tmp,
        RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0",
        RAY_AUTH_MODE="disabled",
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        HF_HUB_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
    )
    yield env
    shutil.rmtree(ray_tmp, ignore_errors=True)


def system(name: str, fmt: str, log_keys: list[str], interpretations: str | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "format": fmt,
        "description": f"the {name} system",
        "datasets": [{"log_key": k, "labels_key": None} for k in log_keys],
        "interpretations_key": interpretations,
    }


def job_spec(target: dict[str, Any], sources: list[dict[str, Any]], **options: Any) -> dict[str, Any]:
    """spec.json as the control plane writes it: a TrainJobSpec's JSON values."""
    spec = TrainJobSpec.parse(
        {
            "job_id": "job-1",
            "tenant": "acme",
            "target": target,
            "sources": sources,
            "options": {"preset": "cpu", "seed": 0, "target_labelled": 200, **options},
            "artifact_prefix": "tenants/acme/models/cloud/job-1/",
            "keys": {"prefix": KEYS.prefix},
        }
    )
    return spec.model_dump(mode="json")


def run_job(env: dict[str, str], spec_key: str) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "logsynergy_workers.train_job", "--spec-key", spec_key],
        env=env,
        capture_output=True,
        text=True,
        timeout=480,
    )
    return done, time.perf_counter() - started


@pytest.mark.slow
def test_train_job_trains_uploads_and_reports(tmp_path: Path, ray_env: dict[str, str]) -> None:
    write_demo_systems(tmp_path / "data", n_lines=3000, seed=1)
    store = LocalStore(tmp_path / "store")
    data = "tenants/acme/datasets"
    for name in ("storage", "compute"):
        store.upload_file(f"{data}/{name}/d1/log", tmp_path / "data" / f"{name}.jsonl")
    # the target arrives as two datasets, concatenated in order by the job
    lines = (tmp_path / "data" / "cloud.jsonl").read_text().splitlines(keepends=True)
    half = len(lines) // 2
    store.put_bytes(f"{data}/cloud/d1/log", "".join(lines[:half]).encode())
    store.put_bytes(f"{data}/cloud/d2/log", "".join(lines[half:]).encode())
    # a reviewed interpretation for the template of the first line must override the interpreter
    reviewed = {"template": "reviewed", "example": json.loads(lines[0])["message"]}
    reviewed |= {"interpretation": REVIEWED, "reviewed": True}
    store.put_bytes(f"{data}/cloud/reviewed.jsonl", (json.dumps(reviewed) + "\n").encode())
    target = system(
        "cloud", "jsonl", [f"{data}/cloud/d1/log", f"{data}/cloud/d2/log"], f"{data}/cloud/reviewed.jsonl"
    )
    sources = [system(n, "jsonl", [f"{data}/{n}/d1/log"]) for n in ("storage", "compute")]
    overrides = {"hidden": 64, "ffn": 128, "min_steps": 60}
    store.put_json(KEYS.spec, job_spec(target, sources, epochs=2, overrides=overrides))

    done, seconds = run_job(ray_env, KEYS.spec)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    result = parse_result(store.get_json(KEYS.result))
    assert isinstance(result, JobSucceeded), result
    assert result.metrics.sources == ["storage", "compute"]
    assert result.artifact_prefix == "tenants/acme/models/cloud/job-1/"
    assert 0.0 <= result.metrics.threshold <= 1.0
    assert result.metrics.target_labelled == 200
    assert len(result.metrics.history) == 2  # options.epochs reached the training loop
    print(
        f"job wall {seconds:.1f}s; worker started after {result.startup_seconds:.1f}s; "
        f"fit {result.metrics.train_seconds:.1f}s; job {result.job_seconds:.1f}s"
    )

    progress = JobProgress.model_validate(store.get_json(KEYS.progress))
    assert progress.stage == "done" and progress.epochs == 2 and (progress.updated or "").endswith("Z")

    artifact = store.download_dir(result.artifact_prefix, tmp_path / "artifact")
    detector = Detector.load(artifact)
    assert detector.settings.system == "cloud"
    detection = detector.score_lines([line.rstrip("\n") for line in lines[-300:]])
    assert detection.windows and all(0.0 <= w.score <= 1.0 for w in detection.windows)

    exported = [json.loads(x) for x in store.get_bytes(KEYS.interpretations_out).splitlines()]
    assert len(exported) >= 5
    assert any(e["interpretation"] == REVIEWED and e["reviewed"] for e in exported)
    assert "epoch 2/2" in done.stdout


def test_train_job_fails_fast_on_a_missing_dataset(tmp_path: Path, ray_env: dict[str, str]) -> None:
    store = LocalStore(tmp_path / "store")
    store.put_bytes("tenants/acme/datasets/storage/d1/log", b'{"message": "hello"}\n')
    missing = "tenants/acme/datasets/cloud/nope/log"
    spec = job_spec(
        system("cloud", "jsonl", [missing]),
        [system("storage", "jsonl", ["tenants/acme/datasets/storage/d1/log"])],
    )
    store.put_json(KEYS.spec, spec)
    store.put_json(KEYS.result, {"status": "succeeded", "stale": True})  # an earlier attempt's

    done, seconds = run_job(ray_env, KEYS.spec)
    assert done.returncode == 1, done.stdout + done.stderr
    result = parse_result(store.get_json(KEYS.result))
    assert isinstance(result, JobFailed) and missing in result.error
    assert "Traceback" not in done.stdout + done.stderr
    assert "ray started" not in done.stdout and not any(Path(ray_env["RAY_TMPDIR"]).iterdir())
    assert seconds < 60


def test_train_job_reports_an_unreadable_spec(tmp_path: Path, ray_env: dict[str, str]) -> None:
    store = LocalStore(tmp_path / "store")
    store.put_json(KEYS.spec, {"job_id": "job-1", "options": {"epochs": 0}})
    done, _ = run_job(ray_env, KEYS.spec)
    assert done.returncode == 1
    result = parse_result(store.get_json(KEYS.result))  # beside spec.json
    assert isinstance(result, JobFailed) and result.error.startswith("job spec: ")
    assert "tenant: Field required" in result.error and "options.epochs: " in result.error


@pytest.mark.slow
def test_train_job_reports_a_worker_side_failure(tmp_path: Path, ray_env: dict[str, str]) -> None:
    store = LocalStore(tmp_path / "store")
    tiny = "".join(json.dumps({"message": f"request {i} served", "label": 0}) + "\n" for i in range(4))
    store.put_bytes("tenants/acme/datasets/cloud/d1/log", tiny.encode())
    store.put_json(KEYS.spec, job_spec(system("cloud", "jsonl", ["tenants/acme/datasets/cloud/d1/log"]), []))

    done, _ = run_job(ray_env, KEYS.spec)
    assert done.returncode == 1, done.stdout[-3000:]
    # a domain error is one clear line, not a traceback (Ray's own threads may still log theirs)
    assert "logsynergy.errors.InputError" not in done.stdout + done.stderr
    result = parse_result(store.get_json(KEYS.result))
    assert isinstance(result, JobFailed) and "no labelled windows to train on" in result.error, result
    assert "Traceback" not in result.error and "Ray" not in result.error
    assert store.get_json(KEYS.progress)["message"].startswith("failed: ")


def test_concatenate_drops_a_repeated_header_and_unzips(tmp_path: Path) -> None:
    import gzip

    from logsynergy_workers.job_inputs import concatenate

    first, second, third = tmp_path / "1", tmp_path / "2", tmp_path / "3"
    first.write_bytes(b"BlockId,Label\nblk_1,Normal")  # no final newline
    second.write_bytes(gzip.compress(b"BlockId,Label\nblk_2,Anomaly\n"))
    third.write_bytes(b"blk_3,Normal\n")
    out = concatenate([first, second, third], tmp_path / "out", drop_header=True)
    assert out.read_text() == "BlockId,Label\nblk_1,Normal\nblk_2,Anomaly\nblk_3,Normal\n"
    kept = concatenate([first, first], tmp_path / "kept").read_text()
    assert kept.count("BlockId,Label") == 2


@pytest.mark.slow
def test_train_job_learns_from_the_targets_feedback(tmp_path: Path, ray_env: dict[str, str]) -> None:
    """The target's `feedback_key` (judged windows, as the control plane writes them) is read from the
    store, and the result's metrics report F1 on those windows before and after."""
    from logsynergy_contracts.anomalies import JudgedWindow, Verdict

    write_demo_systems(tmp_path / "data", n_lines=2000, seed=2)
    store = LocalStore(tmp_path / "store")
    data = "tenants/acme/datasets"
    for name in ("storage", "cloud"):
        store.upload_file(f"{data}/{name}/d1/log", tmp_path / "data" / f"{name}.jsonl")
    lines = (tmp_path / "data" / "cloud.jsonl").read_text().splitlines()
    judged = []
    for start in range(0, len(lines) - 10, 5):
        chunk = lines[start : start + 10]
        anomalous = any(json.loads(x)["label"] == 1 for x in chunk)
        if len([j for j in judged if (j.verdict is Verdict.ANOMALY) == anomalous]) < 6:
            verdict = Verdict.ANOMALY if anomalous else Verdict.NOT_ANOMALY
            judged.append(JudgedWindow(anomaly_id=start, lines=chunk, verdict=verdict, flagged_by="3"))
    feedback_key = KEYS.prefix + "inputs/cloud.feedback.jsonl"
    store.put_bytes(feedback_key, "".join(j.model_dump_json() + "\n" for j in judged).encode())
    target = {**system("cloud", "jsonl", [f"{data}/cloud/d1/log"]), "feedback_key": feedback_key}
    overrides = {"hidden": 32, "ffn": 64, "min_steps": 60}
    spec = job_spec(target, [system("storage", "jsonl", [f"{data}/storage/d1/log"])], epochs=2)
    spec["options"] |= {"target_labelled": 0, "overrides": overrides}
    store.put_json(KEYS.spec, spec)

    done, _ = run_job(ray_env, KEYS.spec)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = parse_result(store.get_json(KEYS.result))
    assert isinstance(result, JobSucceeded), result
    feedback = result.metrics.feedback
    assert feedback is not None and (feedback.judged, feedback.anomalies) == (12, 6)
    assert feedback.flagged_by == ["3"] and feedback.before.precision == 0.5
    assert "12 judged windows from operators (6 anomalous)" in " ".join(result.metrics.notes)
    assert "judged F1" in done.stdout

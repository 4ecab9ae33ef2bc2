"""Training job entrypoint: `python -m logsynergy_workers.train_job --spec-key KEY`.

The driver (this process, the Ray job's entrypoint) reads spec.json from the store configured by the
LOGSYNERGY_STORE_* variables, checks that every input object exists, then runs one Ray Train
`TorchTrainer` with a single worker. The worker downloads the inputs, prepares the systems, fits the
detector, uploads the artifact and the target's interpretations, and writes progress.json and
result.json itself (the store is its only channel: Ray Train keeps metrics only with checkpoints, and a
worker may run on another node). The driver writes result.json only when no worker got that far.
Workers inherit the store settings from their environment (the Ray job's runtime env, or this process
when it starts a local Ray). Exit code 0 on success, 1 on failure.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import traceback
import uuid
from pathlib import Path
from typing import Any

from logsynergy.errors import ConfigError, LogSynergyError, ObjectNotFound
from logsynergy.store import ObjectStore, dir_prefix, make_store, store_from_env
from logsynergy_workers.job_inputs import TrainJobSpec, check_inputs, download_system
from logsynergy_workers.job_progress import (
    ProgressWriter,
    error_message,
    failed,
    succeeded,
    write_result,
)

LOCAL_CPUS_ENV = "LOGSYNERGY_RAY_NUM_CPUS"  # CPUs of a local Ray started by a direct run (default 2)
STORAGE_ENV = "LOGSYNERGY_TRAIN_STORAGE_PATH"  # Ray Train's run storage (default: a temp dir, removed)


class TrainingWorkerError(LogSynergyError):
    """The Ray Train worker ended without writing a result (killed, out of memory, not scheduled)."""


def say(message: str) -> None:
    """One human-readable progress line on stdout (the Ray job log)."""
    print(f"[train_job {time.strftime('%H:%M:%S')}] {message}", flush=True)


# --------------------------------------------------------------------------------------------- worker
def train_loop(config: dict[str, Any]) -> None:
    """Ray Train's per-worker function: the whole training job, reported through the store. A domain
    error (LogSynergyError) ends it quietly after writing the failed result; anything else is re-raised."""
    began = time.time()
    spec = TrainJobSpec.from_dict(config["spec"])
    attempt = str(config["attempt"])
    say(f"worker started {began - float(config['started']):.1f}s after the job (attempt {attempt})")
    store = make_store(store_from_env())
    progress = ProgressWriter(store, spec.progress_key, say=say)
    try:
        result = _train(spec, store, progress)
        total = time.time() - float(config["started"])
        outcome = succeeded(spec.artifact_prefix, result, attempt=attempt, job_seconds=total)
        outcome["startup_seconds"] = round(began - float(config["started"]), 2)
        progress.stage("done", "detector trained and uploaded")
        write_result(store, spec.result_key, outcome)
        m = result  # the metrics
        say(
            f"done: F1 {m['f1']:.3f} (precision {m['precision']:.3f}, recall {m['recall']:.3f}) "
            f"threshold {m['threshold']:.3f}; artifact at {spec.artifact_prefix}"
        )
    except BaseException as exc:
        message = error_message(exc)
        say(f"failed: {message}")
        progress.fail(message)
        write_result(store, spec.result_key, failed(message, attempt=attempt))
        if not isinstance(exc, LogSynergyError):
            raise  # Ray Train logs the traceback and marks the run failed; a domain error needs neither


def _train(spec: TrainJobSpec, store: ObjectStore, progress: ProgressWriter) -> dict[str, Any]:
    import torch

    from logsynergy.embedding import SentenceEmbedder
    from logsynergy.fit import fit
    from logsynergy.interpret import make_interpreter
    from logsynergy.model import model_config
    from logsynergy.options import Runtime
    from logsynergy.prepare import prepare_system

    if spec.use_gpu:
        import ray.train.torch

        device = str(ray.train.torch.get_device())
    else:
        torch.set_num_threads(1)
        device = "cpu"
    options = spec.train_options()
    epochs = model_config(options.preset, epochs=options.epochs, **options.overrides).epochs
    with tempfile.TemporaryDirectory(prefix="logsynergy-job-") as tmp:
        work = Path(tmp)
        systems = [*spec.sources, spec.target]
        progress.stage("preparing", f"downloading {len(systems)} systems")
        specs = [download_system(store, s, work / "inputs" / str(i)) for i, s in enumerate(systems)]
        interpreter = make_interpreter()
        prepared = []
        for system in specs:
            progress.stage("preparing", f"parsing and interpreting {system.name}")
            prepared.append(prepare_system(system, interpreter, say=say))
        progress.stage("training", f"training on {device}", epoch=0, epochs=epochs)
        say(f"training {spec.target.name} from {', '.join(s.name for s in spec.sources) or 'no sources'}")

        def on_epoch(record: dict[str, float]) -> None:
            progress.epoch(record, epochs)
            extra = f" val_f1={record['val_f1']:.3f}" if "val_f1" in record else ""
            say(f"epoch {int(record['epoch'])}/{epochs}: loss={progress.state['loss']:.4f}{extra}")

        embedder = SentenceEmbedder(device=device)
        result = fit(
            prepared[-1],
            prepared[:-1],
            embedder,
            options,
            runtime=Runtime(device=device),
            say=say,
            progress=on_epoch,
        )
        progress.stage("saving", "uploading the detector")
        artifact = result.detector.save(work / "artifact")
        store.delete_prefix(dir_prefix(spec.artifact_prefix))  # a retry must not mix in older files
        store.upload_dir(spec.artifact_prefix, artifact)
        interpretations = result.detector.store.export_jsonl(work / "interpretations.jsonl")
        store.upload_file(spec.interpretations_out_key, interpretations)
    return result.metrics


# --------------------------------------------------------------------------------------------- driver
def _fallback_result_key(spec_key: str) -> str | None:
    """Where result.json goes when the spec is unreadable: beside spec.json (the key layout)."""
    return spec_key[: -len("spec.json")] + "result.json" if spec_key.endswith("/spec.json") else None


def _start_ray() -> bool:
    """Connect to the Ray job's cluster, or start a local Ray; True when we started it."""
    import ray

    if ray.is_initialized():
        return False
    if os.environ.get("RAY_ADDRESS"):
        ray.init()
        return False
    ray.init(address="local", num_cpus=int(os.environ.get(LOCAL_CPUS_ENV, "2")), include_dashboard=False)
    return True


def _run_trainer(spec: TrainJobSpec, raw: dict[str, Any], attempt: str, started: float) -> Exception | None:
    """Run the TorchTrainer; the exception it ended with, if any (the worker reports the details)."""
    import ray
    from ray.train import RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    t = time.perf_counter()
    ours = _start_ray()
    say(f"ray {'started locally' if ours else 'connected'} in {time.perf_counter() - t:.1f}s")
    shared = os.environ.get(STORAGE_ENV, "").strip()
    storage = shared or tempfile.mkdtemp(prefix="logsynergy-train-", dir=os.environ.get("RAY_TMPDIR"))
    try:
        trainer = TorchTrainer(
            train_loop,
            train_loop_config={"spec": raw, "attempt": attempt, "started": started},
            scaling_config=ScalingConfig(
                num_workers=1, use_gpu=spec.use_gpu, resources_per_worker={"CPU": 1}
            ),
            run_config=RunConfig(name=f"logsynergy-{spec.job_id}-{attempt}", storage_path=storage),
        )
        t = time.perf_counter()
        trainer.fit()
        say(f"trainer finished in {time.perf_counter() - t:.1f}s")
        return None
    except Exception as exc:  # the Ray error; result.json normally already says what happened
        return exc
    finally:
        if not shared:
            shutil.rmtree(storage, ignore_errors=True)
        if ours:
            ray.shutdown()


def run(spec_key: str) -> int:
    """The whole job as the driver sees it; returns the process exit code."""
    started = time.time()
    attempt = uuid.uuid4().hex[:12]
    say(f"training job {spec_key} (attempt {attempt})")
    store: ObjectStore | None = None
    result_key = _fallback_result_key(spec_key)
    progress: ProgressWriter | None = None
    try:
        store = make_store(store_from_env())
        try:
            raw = store.get_json(spec_key)
        except ObjectNotFound:
            raise ConfigError(f"job spec not found in the store: {spec_key}") from None
        if isinstance(raw, dict) and isinstance(raw.get("result_key"), str):
            result_key = raw["result_key"]
        spec = TrainJobSpec.from_dict(raw)
        store.delete(spec.result_key)  # a stale result of an earlier attempt must not be read as ours
        progress = ProgressWriter(store, spec.progress_key, say=say)
        progress.stage("preparing", "checking inputs")
        check_inputs(store, spec)
        error = _run_trainer(spec, raw, attempt, started)
        outcome = store.get_json(spec.result_key) if store.exists(spec.result_key) else None
        if isinstance(outcome, dict) and outcome.get("attempt") == attempt:
            ok = outcome.get("status") == "succeeded"
            say(f"job {'succeeded' if ok else 'failed: ' + str(outcome.get('error'))}")
            return 0 if ok else 1
        detail = error_message(error).splitlines()[0] if error else "no result was written"
        raise TrainingWorkerError(f"the training worker stopped without a result ({detail})")
    except Exception as exc:
        message = error_message(exc)
        if not isinstance(exc, LogSynergyError):
            traceback.print_exc(file=sys.stdout)
        say(f"failed: {message}")
        if store is not None and result_key:
            try:
                if progress is not None:
                    progress.fail(message)
                write_result(store, result_key, failed(message, attempt=attempt))
            except Exception as write_error:
                say(f"could not write the failure to {result_key}: {error_message(write_error)}")
        return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m logsynergy_workers.train_job", description=__doc__)
    parser.add_argument("--spec-key", required=True, help="store key of the job's spec.json")
    args = parser.parse_args(argv)
    return run(args.spec_key)


if __name__ == "__main__":
    # run the importable module's main, so that Ray pickles `train_loop` by reference, not from __main__
    from logsynergy_workers.train_job import main as _main

    sys.exit(_main())

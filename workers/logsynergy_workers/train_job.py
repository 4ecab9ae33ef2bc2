"""Training job entrypoint: `python -m logsynergy_workers.train_job --spec-key KEY`.

The driver (this process, the Ray job's entrypoint) reads spec.json from the store configured by the
LOGSYNERGY_STORE_* variables, parses it (`logsynergy_contracts.TrainJobSpec`), checks that every input
object exists, then runs one Ray Train `TorchTrainer` with a single worker, handing it the parsed spec.
The worker downloads the inputs, prepares the systems, fits the detector, uploads the artifact and the
target's interpretations, and writes progress.json and result.json itself (the store is its only
channel: Ray Train keeps metrics only with checkpoints, and a worker may run on another node). The
driver writes result.json only when no worker got that far. Workers inherit the store settings from
their environment (the Ray job's runtime env, or this process when it starts a local Ray). Exit code 0
on success, 1 on failure.
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
from logsynergy.metrics import TrainingMetrics
from logsynergy.store import ObjectStore, dir_prefix, make_store, store_from_env
from logsynergy_contracts import JobFailed, JobKeys, JobProgress, JobSucceeded, TrainJobSpec, parse_result
from logsynergy_workers.job_inputs import check_inputs, download_system
from logsynergy_workers.job_progress import ProgressWriter, error_message, write_result

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
    error (LogSynergyError) ends it quietly after writing the failed result; anything else is re-raised.

    `config` holds the driver's parsed spec as its JSON values (Ray pickles the config), the attempt
    and the job's start time."""
    began = time.time()
    spec = TrainJobSpec.parse(config["spec"])
    attempt = str(config["attempt"])
    started = float(config["started"])
    say(f"worker started {began - started:.1f}s after the job (attempt {attempt})")
    store = make_store(store_from_env())
    progress = ProgressWriter(store, spec.keys.progress, say=say)
    try:
        metrics = TrainingMetrics.model_validate(_train(spec, store, progress))
        outcome = JobSucceeded(
            artifact_prefix=spec.artifact_prefix,
            metrics=metrics,
            attempt=attempt,
            job_seconds=round(time.time() - started, 2),
            startup_seconds=round(began - started, 2),
        )
        progress.stage("done", "detector trained and uploaded")
        write_result(store, spec.keys.result, outcome)
        say(f"done: {metrics.summary()}; artifact at {spec.artifact_prefix}")
    except BaseException as exc:
        message = error_message(exc)
        say(f"failed: {message}")
        progress.fail(message)
        write_result(store, spec.keys.result, JobFailed(error=message, attempt=attempt))
        if not isinstance(exc, LogSynergyError):
            raise  # Ray Train logs the traceback and marks the run failed; a domain error needs neither


def _train(spec: TrainJobSpec, store: ObjectStore, progress: ProgressWriter) -> TrainingMetrics:
    import torch

    from logsynergy.embedding import SentenceEmbedder
    from logsynergy.model import model_config
    from logsynergy.options import Runtime
    from logsynergy.pipeline import TRAINING, train_systems

    if spec.use_gpu:
        import ray.train.torch

        device = str(ray.train.torch.get_device())
    else:
        torch.set_num_threads(1)
        device = "cpu"
    options = spec.options
    epochs = model_config(options.preset, epochs=options.epochs, **options.overrides).epochs

    def on_stage(stage: str, message: str) -> None:
        if stage == TRAINING:
            progress.stage(stage, f"training on {device}", epoch=0, epochs=epochs)
            say(message)
        else:
            progress.stage(stage, message)

    def on_epoch(record: dict[str, float]) -> None:
        progress.epoch(record, epochs)
        extra = f" val_f1={record['val_f1']:.3f}" if "val_f1" in record else ""
        say(f"epoch {int(record['epoch'])}/{epochs}: loss={progress.state.loss or 0.0:.4f}{extra}")

    with tempfile.TemporaryDirectory(prefix="logsynergy-job-") as tmp:
        work = Path(tmp)
        systems = [*spec.sources, spec.target]
        progress.stage("preparing", f"downloading {len(systems)} systems")
        specs = [download_system(store, s, work / "inputs" / str(i)) for i, s in enumerate(systems)]
        result = train_systems(
            specs[-1],
            specs[:-1],
            options,
            runtime=Runtime(device=device),
            embedder=SentenceEmbedder(device=device),
            say=say,
            stage=on_stage,
            progress=on_epoch,
        )
        progress.stage("saving", "uploading the detector")
        artifact = result.detector.save(work / "artifact")
        store.delete_prefix(dir_prefix(spec.artifact_prefix))  # a retry must not mix in older files
        store.upload_dir(spec.artifact_prefix, artifact)
        interpretations = result.detector.store.export_jsonl(work / "interpretations.jsonl")
        store.upload_file(spec.keys.interpretations_out, interpretations)
    return result.metrics


# --------------------------------------------------------------------------------------------- driver
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


def _run_trainer(spec: TrainJobSpec, attempt: str, started: float) -> Exception | None:
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
            train_loop_config={"spec": spec.model_dump(mode="json"), "attempt": attempt, "started": started},
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
    keys = JobKeys.beside(spec_key)  # where the failure goes while the spec is unread
    progress: ProgressWriter | None = None
    try:
        store = make_store(store_from_env())
        try:
            spec = TrainJobSpec.parse(store.get_json(spec_key))
        except ObjectNotFound:
            raise ConfigError(f"job spec not found in the store: {spec_key}") from None
        keys = spec.keys
        store.delete(keys.result)  # a stale result of an earlier attempt must not be read as ours
        progress = ProgressWriter(store, keys.progress, say=say)
        progress.stage("preparing", "checking inputs")
        check_inputs(store, spec)
        error = _run_trainer(spec, attempt, started)
        progress.state = _read_progress(store, keys.progress) or progress.state  # the worker's, if it wrote
        outcome = _read_result(store, keys.result)
        if outcome is not None and outcome.attempt == attempt:
            ok = isinstance(outcome, JobSucceeded)
            say("job succeeded" if ok else f"job failed: {outcome.error}")
            return 0 if ok else 1
        detail = error_message(error).splitlines()[0] if error else "no result was written"
        raise TrainingWorkerError(f"the training worker stopped without a result ({detail})")
    except Exception as exc:
        message = error_message(exc)
        if not isinstance(exc, LogSynergyError):
            traceback.print_exc(file=sys.stdout)
        say(f"failed: {message}")
        if store is not None and keys is not None:
            try:
                if progress is not None:
                    progress.fail(message)
                write_result(store, keys.result, JobFailed(error=message, attempt=attempt))
            except Exception as write_error:
                say(f"could not write the failure to {keys.result}: {error_message(write_error)}")
        return 1


def _read_progress(store: ObjectStore, key: str) -> JobProgress | None:
    """The progress.json at `key` (the stage a killed worker reached); None when unreadable."""
    try:
        return JobProgress.model_validate(store.get_json(key))
    except (LogSynergyError, ValueError):
        return None


def _read_result(store: ObjectStore, key: str) -> JobSucceeded | JobFailed | None:
    """The result.json at `key`; None when there is none or it is unreadable."""
    try:
        return parse_result(store.get_json(key))
    except ObjectNotFound:
        return None
    except LogSynergyError as error:
        say(f"warning: unreadable result {key}: {error}")
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m logsynergy_workers.train_job", description=__doc__)
    parser.add_argument("--spec-key", required=True, help="store key of the job's spec.json")
    args = parser.parse_args(argv)
    return run(args.spec_key)


if __name__ == "__main__":
    # run the importable module's main, so that Ray pickles `train_loop` by reference, not from __main__
    from logsynergy_workers.train_job import main as _main

    sys.exit(_main())

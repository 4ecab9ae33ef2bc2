"""What a training job writes back to the store while it runs: progress.json (`JobProgress`) and
result.json (`JobSucceeded` or `JobFailed`), as `logsynergy_contracts` defines them."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from logsynergy.errors import LogSynergyError, StoreError
from logsynergy.store import ObjectStore
from logsynergy_contracts import WORKER_STAGES, JobFailed, JobProgress, JobSucceeded, Stage, utc_now


def epoch_loss(record: dict[str, float]) -> float:
    """The total training loss of an epoch record (the sum of its `loss_*` parts)."""
    return float(sum(v for k, v in record.items() if k.startswith("loss_")))


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


class ProgressWriter:
    """Rewrites progress.json: always at a stage change, per epoch at most once every `interval` s.

    The state is cumulative, so a throttled epoch shows up with the next write. Store failures are
    reported through `say` and never stop the job: progress is informative only."""

    def __init__(
        self,
        store: ObjectStore,
        key: str,
        *,
        interval: float = 1.0,
        say: Callable[[str], None] = print,
    ) -> None:
        self.store, self.key, self.interval, self.say = store, key, interval, say
        self.state = JobProgress(stage=Stage.PREPARING)
        self._last_write = -math.inf

    def stage(self, stage: str, message: str = "", **fields: Any) -> None:
        """Enter a stage (one of WORKER_STAGES) and write at once; `fields` are JobProgress fields."""
        if stage not in WORKER_STAGES:
            raise ValueError(f"unknown stage {stage!r}")
        self.state = JobProgress.model_validate(
            {**self.state.model_dump(), **fields, "stage": stage, "message": message}
        )
        self.flush()

    def epoch(self, record: dict[str, float], epochs: int | None = None) -> None:
        """Record one epoch of the core's `progress` callback; written when the interval allows."""
        epoch = int(record.get("epoch", 0))
        update: dict[str, Any] = {"epoch": epoch, "loss": _finite(round(epoch_loss(record), 6))}
        if epochs is not None:
            update["epochs"] = epochs
        if "val_f1" in record:
            update["val_f1"] = _finite(round(float(record["val_f1"]), 6))
        update["message"] = f"epoch {epoch}" + (f" of {epochs}" if epochs else "")
        self.state = self.state.model_copy(update=update)
        if time.monotonic() - self._last_write >= self.interval:
            self.flush()

    def fail(self, error: str) -> None:
        """Keep the last stage, say why the job stopped."""
        self.state = self.state.model_copy(update={"message": f"failed: {error}"})
        self.flush()

    def flush(self) -> None:
        self.state = self.state.model_copy(update={"updated": utc_now()})
        try:
            self.store.put_json(self.key, self.state.model_dump(mode="json", exclude_none=True))
        except LogSynergyError as exc:
            self.say(f"warning: could not write progress to {self.key}: {exc}")
        self._last_write = time.monotonic()


def error_message(exc: BaseException) -> str:
    """A domain error's message as is; any other exception as `Type: message`."""
    if isinstance(exc, LogSynergyError):
        return str(exc)
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def write_result(store: ObjectStore, key: str, result: JobSucceeded | JobFailed) -> None:
    """Write result.json; a store failure here is fatal (the control plane would never learn the end)."""
    try:
        store.put_json(key, result.model_dump(mode="json"))
    except LogSynergyError:
        raise
    except Exception as exc:  # a store bug must still surface as a clear error
        raise StoreError(f"could not write the job result to {key}: {error_message(exc)}") from exc

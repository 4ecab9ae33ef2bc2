"""What a training job writes back to the store while it runs: progress.json and result.json."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from logsynergy.errors import LogSynergyError, StoreError
from logsynergy.store import ObjectStore

STAGES = ("preparing", "training", "saving", "done")


def utc_now() -> str:
    """The current time as ISO-8601 UTC with a `Z`, to the millisecond."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def json_safe(value: Any) -> Any:
    """Plain JSON values: numpy scalars and arrays become numbers and lists, NaN/inf become null."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [json_safe(v) for v in value]
    if hasattr(value, "tolist") and callable(value.tolist):  # numpy scalars and arrays
        return json_safe(value.tolist())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)


def epoch_loss(record: dict[str, float]) -> float:
    """The total training loss of an epoch record (the sum of its `loss_*` parts)."""
    return float(sum(v for k, v in record.items() if k.startswith("loss_")))


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
        self.state: dict[str, Any] = {"stage": "preparing", "message": ""}
        self._last_write = -math.inf
        self._pending = False

    def stage(self, stage: str, message: str = "", **fields: Any) -> None:
        """Enter a stage (one of STAGES) and write at once."""
        if stage not in STAGES:
            raise ValueError(f"unknown stage {stage!r}")
        self.state.update(stage=stage, message=message, **fields)
        self.flush()

    def epoch(self, record: dict[str, float], epochs: int | None = None) -> None:
        """Record one epoch of the core's `progress` callback; written when the interval allows."""
        epoch = int(record.get("epoch", 0))
        self.state.update(epoch=epoch, loss=round(epoch_loss(record), 6))
        if epochs is not None:
            self.state["epochs"] = epochs
        if "val_f1" in record:
            self.state["val_f1"] = round(float(record["val_f1"]), 6)
        self.state["message"] = f"epoch {epoch}" + (f" of {epochs}" if epochs else "")
        self._pending = True
        if time.monotonic() - self._last_write >= self.interval:
            self.flush()

    def fail(self, error: str) -> None:
        """Keep the last stage, say why the job stopped."""
        self.state["message"] = f"failed: {error}"
        self.flush()

    def flush(self) -> None:
        self.state["updated"] = utc_now()
        try:
            self.store.put_json(self.key, json_safe(self.state))
        except LogSynergyError as exc:
            self.say(f"warning: could not write progress to {self.key}: {exc}")
        self._last_write = time.monotonic()
        self._pending = False


def succeeded(
    artifact_prefix: str, metrics: dict[str, Any], *, attempt: str = "", job_seconds: float = 0.0
) -> dict[str, Any]:
    """The result.json of a successful job (metrics as `fit` measured them)."""
    return json_safe(
        {
            "status": "succeeded",
            "artifact_prefix": artifact_prefix,
            "metrics": metrics,
            "threshold": metrics.get("threshold"),
            "sources": metrics.get("sources", []),
            "train_seconds": metrics.get("train_seconds"),
            "job_seconds": round(job_seconds, 2),
            "attempt": attempt,
            "finished": utc_now(),
        }
    )


def failed(error: str, *, attempt: str = "") -> dict[str, Any]:
    """The result.json of a failed job."""
    return {"status": "failed", "error": error, "attempt": attempt, "finished": utc_now()}


def error_message(exc: BaseException) -> str:
    """A domain error's message as is; any other exception as `Type: message`."""
    if isinstance(exc, LogSynergyError):
        return str(exc)
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def write_result(store: ObjectStore, key: str, result: dict[str, Any]) -> None:
    """Write result.json; a store failure here is fatal (the control plane would never learn the end)."""
    try:
        store.put_json(key, result)
    except LogSynergyError:
        raise
    except Exception as exc:  # a store bug must still surface as a clear error
        raise StoreError(f"could not write the job result to {key}: {error_message(exc)}") from exc

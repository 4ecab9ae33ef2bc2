"""What crosses a process boundary, typed once and imported by writer and reader alike: the training
job's spec, progress and result (control plane ↔ training worker) and the serving routing table
(control plane → detection endpoint). Shapes are documented in docs/internals.md."""

from logsynergy_contracts.jobs import (
    WORKER_STAGES,
    DatasetKeys,
    JobFailed,
    JobKeys,
    JobProgress,
    JobResult,
    JobStatus,
    JobSucceeded,
    Stage,
    SystemInput,
    TrainJobSpec,
    json_values,
    parse_result,
    utc_now,
)
from logsynergy_contracts.routing import ROUTES_KEY, RoutingDocument, SystemRoute, hash_key, system_key

__all__ = [
    "ROUTES_KEY",
    "WORKER_STAGES",
    "DatasetKeys",
    "JobFailed",
    "JobKeys",
    "JobProgress",
    "JobResult",
    "JobStatus",
    "JobSucceeded",
    "RoutingDocument",
    "Stage",
    "SystemInput",
    "SystemRoute",
    "TrainJobSpec",
    "hash_key",
    "json_values",
    "parse_result",
    "system_key",
    "utc_now",
]

"""What crosses a process boundary, typed once and imported by writer and reader alike: the training
job's spec, progress and result (control plane ↔ training worker) and the serving routing table
(control plane → detection endpoint). Shapes are documented in docs/internals.md."""

from logsynergy_contracts.jobs import (
    DatasetKeys,
    JobFailed,
    JobKeys,
    JobProgress,
    JobResult,
    JobStatus,
    JobSucceeded,
    SystemInput,
    TrainJobSpec,
    parse_result,
)
from logsynergy_contracts.routing import ROUTES_KEY, RoutingDocument, SystemRoute, hash_key, system_key

__all__ = [
    "ROUTES_KEY",
    "DatasetKeys",
    "JobFailed",
    "JobKeys",
    "JobProgress",
    "JobResult",
    "JobStatus",
    "JobSucceeded",
    "RoutingDocument",
    "SystemInput",
    "SystemRoute",
    "TrainJobSpec",
    "hash_key",
    "parse_result",
    "system_key",
]

"""What crosses a process boundary, typed once and imported by writer and reader alike: the training
job's spec, progress and result (control plane ↔ training worker) and the serving routing table
(control plane → detection endpoint). Shapes are documented in docs/internals.md."""

from logsynergy_contracts.hook_urls import ALLOW_PRIVATE_ENV, AllowList, HookUrlError, check_hook_url
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
    "ALLOW_PRIVATE_ENV",
    "ROUTES_KEY",
    "WORKER_STAGES",
    "AllowList",
    "DatasetKeys",
    "HookUrlError",
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
    "check_hook_url",
    "hash_key",
    "json_values",
    "parse_result",
    "system_key",
    "utc_now",
]

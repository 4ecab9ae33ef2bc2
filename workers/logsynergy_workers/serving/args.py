"""`ServeArgs`: the arguments of the detection application (`app.build_app`), each declared once here.

Ray Serve validates a config's `args` (the Helm chart's `serveConfigV2`) and `serve run … key=value`
strings into this model before calling the builder. A replica setting (`ingress_replicas`,
`pool_autoscaling`) is `{"num_replicas": n}`, Ray Serve autoscaling keys (`min_replicas`, …), a bare
replica count, or either mapping as a JSON string. A hot model's requests spill to another `ModelPool`
replica (which loads it too) only when the replicas holding it are full, so a low
`pool_max_ongoing_requests` spreads one busy model over the replicas. The defaults reserve little so
that a local Ray shared with training jobs keeps CPUs for them; a dedicated serving cluster should raise
`pool_num_cpus` and `pool_autoscaling`. The object store comes from `LOGSYNERGY_STORE_*` in the
replicas' environment.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from logsynergy.errors import ConfigError


def _replicas(value: Any) -> Any:
    """A replica count or a JSON object (as `serve run` passes it) as a mapping; others as given."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise ValueError(f"must be a JSON object, got {value!r}") from None
    if isinstance(value, int) and not isinstance(value, bool):
        return {"num_replicas": value}
    return value


Replicas = Annotated[dict[str, Any], BeforeValidator(_replicas)]


class ServeArgs(BaseModel):
    """The detection application's arguments (all optional; strings are converted)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    routes_ttl_s: float = Field(1.0, ge=0, description="re-read routing/routes.json when the copy is older")
    max_models_per_replica: int = Field(
        64, ge=1, description="detectors per ModelPool replica (LRU, ~3 MB each)"
    )
    max_batch_size: int = Field(16, ge=1, description="requests of one model scored per batch hop")
    batch_wait_timeout_s: float = Field(0.002, ge=0, description="how long a batch waits to fill")
    ingress_replicas: Replicas = Field(
        default_factory=lambda: {"num_replicas": 1}, description="DetectIngress replicas or autoscaling"
    )
    pool_autoscaling: Replicas = Field(
        default_factory=lambda: {"min_replicas": 1, "max_replicas": 2, "target_ongoing_requests": 16},
        description="ModelPool replicas or autoscaling",
    )
    ingress_num_cpus: float = Field(0.25, ge=0, description="CPUs reserved per DetectIngress replica")
    pool_num_cpus: float = Field(0.5, ge=0, description="CPUs per ModelPool replica (torch threads: >= 1)")
    pool_max_ongoing_requests: int = Field(
        0, ge=0, description="requests per ModelPool replica at once (0: max(64, 4 batches))"
    )
    score_precision: str = Field("auto", description="float32, bfloat16, or auto (bfloat16 where native)")
    hook_timeout_s: float = Field(5.0, ge=0.001, description="alert hook request timeout")
    hook_retries: int = Field(3, ge=0, description="alert hook delivery retries")
    hook_dedup_s: float = Field(300.0, ge=0, description="an identical alert is not re-sent within this")
    stream_ttl_s: float = Field(300.0, ge=0, description="stream state lifetime after its last batch")
    record_anomalies: bool = Field(
        True, description="write each request's flagged windows to the anomaly inbox before answering"
    )
    max_body_bytes: int = Field(
        32 << 20, ge=1024, description="request body limit, also once gunzipped (413 beyond)"
    )
    max_lines: int = Field(200_000, ge=1, description="lines per request (413 beyond)")
    max_line_chars: int = Field(
        8192, ge=64, description="a longer line is scored (and reported) cut to this many characters"
    )
    otlp_system_attribute: str = Field(
        "service.name", min_length=1, max_length=256, description="OTLP resource attribute naming the system"
    )
    otlp_session_attribute: str = Field(
        "session.id", max_length=256, description="OTLP log-record attribute holding the session ('': none)"
    )
    message_key: str = Field(
        "message", min_length=1, max_length=128, description="the message's key in JSON lines and OTLP maps"
    )
    session_key: str = Field(
        "session", min_length=1, max_length=128, description="the session's key in JSON lines"
    )

    @model_validator(mode="before")
    @classmethod
    def _unset_nones(cls, data: Any) -> Any:
        """An argument given as None (null) keeps its default."""
        if isinstance(data, Mapping):
            return {k: v for k, v in data.items() if v is not None}
        return data

    @field_validator("score_precision")
    @classmethod
    def _known_precision(cls, value: str) -> str:
        from logsynergy.precision import PRECISIONS  # imports torch: only when checked

        if value not in PRECISIONS:
            raise ValueError(f"must be one of {', '.join(PRECISIONS)}, not {value!r}")
        return value

    @property
    def pool_max_ongoing(self) -> int:
        """Requests per ModelPool replica at once (`pool_max_ongoing_requests`, 0 resolved)."""
        return self.pool_max_ongoing_requests or max(64, 4 * self.max_batch_size)

    @property
    def torch_threads(self) -> int:
        """Torch threads per ModelPool replica: its whole CPUs, at least one."""
        return max(1, int(self.pool_num_cpus))

    @classmethod
    def parse(cls, args: ServeArgs | Mapping[str, Any] | None) -> ServeArgs:
        """`args` checked (a ServeArgs as it is); ConfigError naming every unknown or bad argument."""
        if isinstance(args, ServeArgs):
            return args
        try:
            return cls.model_validate(dict(args or {}))
        except ValidationError as error:
            raise ConfigError(_describe(error)) from None


def _describe(error: ValidationError) -> str:
    """One line per problem, each naming its serving arg."""
    problems = []
    for item in error.errors():
        name = ".".join(str(part) for part in item["loc"])
        if item["type"] == "extra_forbidden":
            problems.append(f"unknown serving arg {name!r} (known: {', '.join(ServeArgs.model_fields)})")
        else:  # a ValueError of ours as raised, without pydantic's "Value error, " prefix
            reason = item.get("ctx", {}).get("error") if item["type"] == "value_error" else None
            problems.append(f"serving arg {name!r}: {reason or item['msg']}")
    return "; ".join(problems)

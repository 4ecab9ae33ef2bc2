"""`build_app(args)`: the Ray Serve application of the detection service (import path
`logsynergy_workers.serving.app:build_app`).

Arguments (all optional; strings are accepted, as `serve run … key=value` passes them):

| arg | default | meaning |
|---|---|---|
| `routes_ttl_s` | 1.0 | re-read `routing/routes.json` when the cached copy is older |
| `max_models_per_replica` | 64 | detectors kept per `ModelPool` replica (LRU; ~3 MB each for our detectors) |
| `max_batch_size` | 16 | requests of one model scored per batch hop |
| `batch_wait_timeout_s` | 0.002 | how long a batch waits to fill |
| `ingress_replicas` | `{"num_replicas": 1}` | `{"num_replicas": n}` or autoscaling keys (`min_replicas`, …) |
| `pool_autoscaling` | min 1, max 2 replicas, 16 ongoing requests each | `ModelPool` autoscaling config |
| `ingress_num_cpus` / `pool_num_cpus` | 0.25 / 0.5 | CPUs reserved per replica (torch threads: ≥ 1) |
| `pool_max_ongoing_requests` | 0 | requests per `ModelPool` replica at once (0: max(64, 4 batches)) |
| `score_precision` | `auto` | `float32`, `bfloat16`, or `auto` (bfloat16 where the CPU has it natively) |
| `hook_timeout_s`, `hook_retries`, `hook_dedup_s` | 5.0, 3, 300.0 | alert hook delivery |
| `stream_ttl_s` | 300.0 | stream state lifetime after a stream's last batch |
| `max_body_bytes`, `max_lines` | 32 MiB, 200,000 | request size limits (413 beyond) |

A hot model's requests spill to another `ModelPool` replica (which loads it too) only when the replicas
holding it are full, so a low `pool_max_ongoing_requests` spreads one busy model over the replicas.
The defaults reserve little so that a local Ray shared with training jobs keeps CPUs for them; a
dedicated serving cluster should raise `pool_num_cpus` and `pool_autoscaling`. The object store comes
from `LOGSYNERGY_STORE_*` in the replicas' environment.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from ray import serve

from logsynergy.errors import ConfigError
from logsynergy.precision import check_precision
from logsynergy_workers.serving.ingress import DetectIngress
from logsynergy_workers.serving.model_pool import ModelPool

AUTOSCALING_KEYS = frozenset({"min_replicas", "max_replicas", "initial_replicas", "target_ongoing_requests"})
DEFAULTS: dict[str, Any] = {
    "routes_ttl_s": 1.0,
    "max_models_per_replica": 64,
    "max_batch_size": 16,
    "batch_wait_timeout_s": 0.002,
    "ingress_replicas": {"num_replicas": 1},
    "pool_autoscaling": {"min_replicas": 1, "max_replicas": 2, "target_ongoing_requests": 16},
    "ingress_num_cpus": 0.25,
    "pool_num_cpus": 0.5,
    "pool_max_ongoing_requests": 0,
    "score_precision": "auto",
    "hook_timeout_s": 5.0,
    "hook_retries": 3,
    "hook_dedup_s": 300.0,
    "stream_ttl_s": 300.0,
    "max_body_bytes": 32 << 20,
    "max_lines": 200_000,
}


def _as_dict(value: Any, name: str) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ConfigError(f"serving arg {name!r} must be a JSON object, got {value!r}") from None
    if isinstance(value, int) and not isinstance(value, bool):
        value = {"num_replicas": value}
    if not isinstance(value, Mapping):
        raise ConfigError(f"serving arg {name!r} must be a mapping, got {value!r}")
    return dict(value)


def _number(kind: Callable[[Any], Any], minimum: float) -> Callable[[Any, str], Any]:
    def convert(value: Any, name: str) -> Any:
        try:
            number = kind(value)
        except (TypeError, ValueError):
            raise ConfigError(f"serving arg {name!r} must be a number, got {value!r}") from None
        if number < minimum:
            raise ConfigError(f"serving arg {name!r} must be at least {minimum}, got {number}")
        return number

    return convert


CONVERTERS: dict[str, Callable[[Any, str], Any]] = {
    "routes_ttl_s": _number(float, 0),
    "max_models_per_replica": _number(int, 1),
    "max_batch_size": _number(int, 1),
    "batch_wait_timeout_s": _number(float, 0),
    "ingress_replicas": _as_dict,
    "pool_autoscaling": _as_dict,
    "ingress_num_cpus": _number(float, 0),
    "pool_num_cpus": _number(float, 0),
    "pool_max_ongoing_requests": _number(int, 0),
    "score_precision": lambda value, name: check_precision(value, f"serving arg {name!r}"),
    "hook_timeout_s": _number(float, 0.001),
    "hook_retries": _number(int, 0),
    "hook_dedup_s": _number(float, 0),
    "stream_ttl_s": _number(float, 0),
    "max_body_bytes": _number(int, 1024),
    "max_lines": _number(int, 1),
}


def serving_args(args: Mapping[str, Any] | None) -> dict[str, Any]:
    """Defaults overlaid with `args`, converted and checked; ConfigError on unknown or bad values."""
    given = dict(args or {})
    unknown = sorted(set(given) - set(DEFAULTS))
    if unknown:
        raise ConfigError(f"unknown serving arg(s): {', '.join(unknown)} (known: {', '.join(DEFAULTS)})")
    merged = {**DEFAULTS, **{k: v for k, v in given.items() if v is not None}}
    return {name: CONVERTERS[name](value, name) for name, value in merged.items()}


def _scaling(options: dict[str, Any]) -> dict[str, Any]:
    """Deployment options for a replica count or an autoscaling config."""
    if AUTOSCALING_KEYS & set(options):
        return {"autoscaling_config": options}
    return {"num_replicas": int(options.get("num_replicas", 1))}


def build_app(args: dict[str, Any] | None = None) -> serve.Application:
    """The detection application: `DetectIngress` (FastAPI) → `ModelPool` (multiplexed detectors)."""
    cfg = serving_args(args)
    threads = max(1, int(cfg["pool_num_cpus"]))
    pool = ModelPool.options(
        ray_actor_options={"num_cpus": cfg["pool_num_cpus"]},
        max_ongoing_requests=cfg["pool_max_ongoing_requests"] or max(64, 4 * cfg["max_batch_size"]),
        **_scaling(cfg["pool_autoscaling"]),
    ).bind(
        max_models=cfg["max_models_per_replica"],
        max_batch_size=cfg["max_batch_size"],
        batch_wait_timeout_s=cfg["batch_wait_timeout_s"],
        stream_ttl_s=cfg["stream_ttl_s"],
        torch_threads=threads,
        score_precision=cfg["score_precision"],
    )
    return DetectIngress.options(
        ray_actor_options={"num_cpus": cfg["ingress_num_cpus"]}, **_scaling(cfg["ingress_replicas"])
    ).bind(
        pool,
        routes_ttl_s=cfg["routes_ttl_s"],
        hook_timeout_s=cfg["hook_timeout_s"],
        hook_retries=cfg["hook_retries"],
        hook_dedup_s=cfg["hook_dedup_s"],
        max_body_bytes=cfg["max_body_bytes"],
        max_lines=cfg["max_lines"],
    )

"""`build_app(args)`: the Ray Serve application of the detection service (import path
`logsynergy_workers.serving.app:build_app`); its arguments are `ServeArgs` (`serving/args.py`).
"""

# No `from __future__ import annotations`: Ray Serve reads the builder's parameter annotation as a class
# to validate a config's `args` (and `serve run … key=value` strings) into `ServeArgs`.

from typing import Any

from ray import serve

from logsynergy_workers.serving.args import ServeArgs
from logsynergy_workers.serving.ingress import DetectIngress
from logsynergy_workers.serving.model_pool import ModelPool

AUTOSCALING_KEYS = frozenset({"min_replicas", "max_replicas", "initial_replicas", "target_ongoing_requests"})


def _scaling(options: dict[str, Any]) -> dict[str, Any]:
    """Deployment options for a replica count or an autoscaling config."""
    if AUTOSCALING_KEYS & set(options):
        return {"autoscaling_config": options}
    return {"num_replicas": int(options.get("num_replicas", 1))}


def build_app(args: ServeArgs) -> serve.Application:
    """The detection application: `DetectIngress` (FastAPI) → `ModelPool` (multiplexed detectors)."""
    pool = ModelPool.options(
        ray_actor_options={"num_cpus": args.pool_num_cpus},
        max_ongoing_requests=args.pool_max_ongoing,
        **_scaling(args.pool_autoscaling),
    ).bind(args)
    return DetectIngress.options(
        ray_actor_options={"num_cpus": args.ingress_num_cpus}, **_scaling(args.ingress_replicas)
    ).bind(pool, args)

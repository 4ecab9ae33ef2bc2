"""The environment of a Ray started on this machine (`logsynergy up`, the serving benchmark)."""

from __future__ import annotations

import os

INLINE_OBJECT_ENV = "RAY_max_direct_call_object_size"
LOCAL_RAY_ENV = {
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
    "RAY_AUTH_MODE": "disabled",
    # detection requests and answers of 1,000 lines are 100-150 kB: pass them inline, not via the
    # object store (Ray's default limit is 100 kB; cluster-wide, read when Ray starts)
    INLINE_OBJECT_ENV: str(1 << 20),
}


def apply_local_ray_env(extra: dict[str, str] | None = None) -> None:
    """Keep Ray on 127.0.0.1 with one auth mode in every process (they inherit this environment);
    variables already set win."""
    for name, value in {**LOCAL_RAY_ENV, **(extra or {})}.items():
        os.environ.setdefault(name, value)

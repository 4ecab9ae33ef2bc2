"""Scoring precision: float32 everywhere, or bfloat16 matrix work where the CPU computes it natively.

bfloat16 cuts the network's share of detection time about 2.4-fold on CPUs with AVX512-BF16 or AMX; scores
move by up to a few 1e-3 (measured in docs/performance.md), so it is a serving choice, never used in
training or in the benchmark's evaluation. Elsewhere bfloat16 would be emulated and slower: "auto" then
keeps float32."""

from __future__ import annotations

import torch

from logsynergy.errors import ConfigError

PRECISIONS = ("auto", "float32", "bfloat16")


def native_bf16() -> bool:
    """Whether this CPU has bfloat16 instructions (AVX512-BF16 or AMX)."""
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in checks)


def check_precision(name: object, what: str = "scoring precision") -> str:
    """`name` if it is one of PRECISIONS, else ConfigError naming `what` was given."""
    if name not in PRECISIONS:
        raise ConfigError(f"{what} must be one of {', '.join(PRECISIONS)}, not {name!r}")
    return str(name)


def resolve_precision(name: str) -> str:
    """'float32' or 'bfloat16' for a requested precision ('auto': bfloat16 only where it is native)."""
    if check_precision(name) == "auto":
        return "bfloat16" if native_bf16() else "float32"
    return name

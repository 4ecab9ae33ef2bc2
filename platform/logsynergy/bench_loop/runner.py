"""`logsynergy bench-loop`: the operator loop on every labelled target of a systems file."""

from __future__ import annotations

import os
import platform as std_platform
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import torch

from logsynergy.bench_loop.loop import run_target
from logsynergy.bench_loop.report import write_outputs
from logsynergy.bench_loop.settings import LoopSettings
from logsynergy.bench_loop.stream import load_stream
from logsynergy.embedding import SentenceEmbedder
from logsynergy.errors import ConfigError
from logsynergy.interpret import make_interpreter
from logsynergy.systems import load_systems

Say = Callable[[str], None]


def run_bench_loop(
    systems_file: str | Path,
    out: str | Path,
    settings: LoopSettings | None = None,
    *,
    targets: Sequence[str] | None = None,
    threads: int | None = None,
    say: Say = print,
) -> dict[str, Any]:
    """Run the loop on each target (every other system of the file a source); write the outputs."""
    settings = settings or LoopSettings()
    specs = load_systems(systems_file)
    chosen = list(targets) if targets else list(specs)
    unknown = [t for t in chosen if t not in specs]
    if unknown:
        raise ConfigError(f"unknown target(s): {', '.join(unknown)} (known: {', '.join(specs)})")
    if len(specs) < 2:
        raise ConfigError("bench-loop needs at least two systems: a target and a source")
    torch.set_num_threads(max(1, threads or os.cpu_count() or 1))
    interpreter, embedder = make_interpreter(), SentenceEmbedder()
    started = time.perf_counter()
    results = []
    for name in chosen:
        stream = load_stream(specs[name])
        if not any(w.label == 1 for w in stream.windows):
            say(f"{name}: no anomalous window, skipped")
            continue
        sources = [s for n, s in specs.items() if n != name]
        with tempfile.TemporaryDirectory(prefix="logsynergy-bench-loop-") as work:
            results.append(
                run_target(
                    stream, sources, settings, Path(work), embedder=embedder, interpreter=interpreter, say=say
                )
            )
    result = {
        "date": date.today().isoformat(),
        "machine": f"{std_platform.machine()}, {os.cpu_count()} cores, {torch.get_num_threads()} threads",
        "minutes": round((time.perf_counter() - started) / 60, 2),
        "systems_file": str(systems_file),
        "settings": settings.model_dump(),
        "targets": results,
    }
    write_outputs(result, Path(out))
    return result

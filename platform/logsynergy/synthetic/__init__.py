"""Synthetic multi-system logs for fast tests and for demos without the real datasets.

Every system ("dialect": `model.Dialect`, defined in `infra` and `services`) expresses the same behaviour
(normal workflows, and faults of six shared concepts: timeout, lost connection, storage error, memory error,
crash/restart, authentication failure) in its own syntax and vocabulary, so meaning transfers across systems
while surface text does not.

Normal traffic is a few interleaved workflow instances (a block write, a job, a VM spawn, an HTTP request).
Line mode (`sessions=False`): faults arrive as incidents, a short run of 1-8 fault lines of one concept,
sometimes opened by a precursor warning and sometimes closed by a crash/restart line, mixed into normal
traffic; every incident line (precursor included) has label 1 and exactly round(n_lines * anomaly_rate) lines
are labelled 1. Session mode (`sessions=True`): each workflow instance is a session, a fraction
`anomaly_rate` of the sessions get fault lines injected (often aborting them), and every line of such a
session has label 1.
"""

from __future__ import annotations

import json
import random
import zlib
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from logsynergy.errors import InputError
from logsynergy.synthetic.infra import COMPUTE, STORAGE
from logsynergy.synthetic.model import CONCEPTS, Dialect
from logsynergy.synthetic.params import Context
from logsynergy.synthetic.services import CLOUD, PAYMENTS

__all__ = [
    "CONCEPTS",
    "DIALECTS",
    "SYSTEMS",
    "fault_templates",
    "generate_system",
    "normal_templates",
    "write_demo_systems",
    "write_jsonl",
]

DIALECTS: dict[str, Dialect] = {"storage": STORAGE, "compute": COMPUTE, "cloud": CLOUD, "payments": PAYMENTS}
SYSTEMS: dict[str, str] = {name: d.description for name, d in DIALECTS.items()}

_REPEAT = {"?": (0, 1), "*": (1, 3)}
_EPOCH = datetime(2024, 3, 1)


def _dialect(name: str) -> Dialect:
    try:
        return DIALECTS[name]
    except KeyError:
        raise InputError(f"unknown synthetic system {name!r}; known systems: {', '.join(DIALECTS)}") from None


def _strip(step: str) -> str:
    return step[1:] if step[:1] in _REPEAT else step


def normal_templates(name: str) -> list[str]:
    """The distinct normal event templates of a system, with their `{placeholders}`."""
    d = _dialect(name)
    return list(dict.fromkeys(_strip(s) for _, steps in d.workflows for s in steps))


def fault_templates(name: str) -> dict[str, list[str]]:
    """Fault templates of a system by concept (precursor warnings not included)."""
    return {c: list(t) for c, t in _dialect(name).faults.items()}


class _Generator:
    def __init__(self, name: str, seed: int, rate: float, sessions: bool) -> None:
        self.d = _dialect(name)
        self.rng = random.Random(seed * 1_000_003 + zlib.crc32(name.encode()))
        self.rate, self.sessions = rate, sessions
        self.weights = [w for w, _ in self.d.workflows]
        self.pool: list[list] = []  # [context, pending templates, label]
        self.pool_size = 3
        self.used: set[str] = set()
        self.clock = _EPOCH + timedelta(days=self.rng.randrange(200), seconds=self.rng.randrange(86400))

    # -- normal workflows -------------------------------------------------------------------------------
    def _expand(self, steps: Sequence[str]) -> list[str]:
        out: list[str] = []
        for step in steps:
            lo, hi = _REPEAT.get(step[:1], (1, 1))
            out.extend([_strip(step)] * self.rng.randint(lo, hi))
        return out

    def _new_instance(self) -> list:
        rng = self.rng
        (steps,) = rng.choices([s for _, s in self.d.workflows], weights=self.weights)
        lines = self._expand(steps)
        label = 0
        if self.sessions and rng.random() < self.rate:
            label = 1
            pos = rng.randint(1, len(lines))
            fault = self._incident_lines(rng.randint(1, 3))
            tail = lines[pos:] if rng.random() < 0.5 else []
            lines = lines[:pos] + fault + tail
        ctx = Context(rng)
        if self.sessions:  # session ids must be unique (compute node names can collide)
            while str(ctx[self.d.session_key]) in self.used:
                del ctx[self.d.session_key]
            self.used.add(str(ctx[self.d.session_key]))
        return [ctx, lines[::-1], label]  # reversed: pop() from the end

    def _next_normal(self) -> tuple[str, int, Context]:
        rng = self.rng
        if rng.random() < 0.02:
            self.pool_size = rng.randint(1, 6)
        while len(self.pool) < self.pool_size:
            self.pool.append(self._new_instance())
        i = rng.randrange(len(self.pool))
        ctx, pending, label = inst = self.pool[i]
        msg = ctx.render(pending.pop())
        if not pending:
            self.pool[i] = self.pool[-1]
            self.pool.pop()
        return msg, label, inst[0]

    # -- faults -------------------------------------------------------------------------------------------
    def _incident_lines(self, n_faults: int) -> list[str]:
        """Templates of one incident of `n_faults` lines of a random concept, maybe with precursor/restart."""
        rng, d = self.rng, self.d
        concept = rng.choice(list(d.faults))
        lines: list[str] = []
        if concept in d.precursors and n_faults > 1 and rng.random() < 0.5:
            lines.append(d.precursors[concept])
        main = rng.choice(d.faults[concept])
        while len(lines) < n_faults:
            lines.append(main if rng.random() < 0.7 else rng.choice(d.faults[concept]))
        if concept != "crash_restart" and n_faults > 2 and rng.random() < 0.3:
            lines[-1] = rng.choice(d.faults["crash_restart"])
        return lines

    def _schedule(self, n: int) -> tuple[list[int], list[list[str]]]:
        """Slot plan for line mode: -1 is a normal line, i >= 0 the next line of incident i."""
        rng = self.rng
        n_fault = round(n * self.rate)
        sizes: list[int] = []
        while sum(sizes) < n_fault:
            sizes.append(min(rng.randint(1, 8), n_fault - sum(sizes)))
        incidents = [self._incident_lines(s) for s in sizes]
        spare = n - n_fault
        gaps = []  # normal lines inside each incident, before each of its lines but the first
        for size in sizes:
            inner = [min(rng.choice((0, 0, 1, 1, 2, 3)), spare) for _ in range(size - 1)]
            spare -= sum(inner)
            gaps.append(inner)
        cuts = sorted(rng.randint(0, spare) for _ in sizes)
        slots: list[int] = []
        prev = 0
        for i, (cut, inner) in enumerate(zip(cuts, gaps, strict=True)):
            slots.extend([-1] * (cut - prev))
            prev = cut
            slots.append(i)
            for g in inner:
                slots.extend([-1] * g)
                slots.append(i)
        slots.extend([-1] * (n - len(slots)))
        return slots, incidents

    # -- output --------------------------------------------------------------------------------------------
    def _timestamp(self, burst: bool) -> str:
        gap = self.rng.expovariate(1 / (0.01 if burst else 0.12))
        self.clock += timedelta(seconds=gap)
        return self.clock.isoformat(timespec="milliseconds")

    def run(self, n: int) -> list[dict]:
        out: list[dict] = []
        key = self.d.session_key
        if self.sessions:
            for _ in range(n):
                msg, label, ctx = self._next_normal()
                out.append(
                    {
                        "message": msg,
                        "label": label,
                        "timestamp": self._timestamp(False),
                        "session": str(ctx[key]),
                    }
                )
            return out
        slots, incidents = self._schedule(n)
        contexts: dict[int, Context] = {}
        pending = [t[::-1] for t in incidents]
        for slot in slots:
            if slot < 0:
                msg = self._next_normal()[0]
                out.append({"message": msg, "label": 0, "timestamp": self._timestamp(False)})
                continue
            if slot not in contexts:  # an incident hits an entity that is active right now
                live = self.pool[self.rng.randrange(len(self.pool))][0] if self.pool else {}
                contexts[slot] = Context(self.rng, dict(live))
            msg = contexts[slot].render(pending[slot].pop())
            out.append({"message": msg, "label": 1, "timestamp": self._timestamp(True)})
        return out


def generate_system(
    name: str, n_lines: int, *, seed: int = 0, anomaly_rate: float = 0.03, sessions: bool = False
) -> list[dict]:
    """Synthetic labelled log of one system as records `{"message", "label", "timestamp", "session"?}`.

    `anomaly_rate` is the fraction of lines that are faults (line mode) or of sessions that are anomalous
    (`sessions=True`, where every record has a `session` id). Deterministic for (name, n_lines, seed, ...).
    """
    _dialect(name)
    if n_lines < 0:
        raise InputError(f"n_lines must be >= 0, got {n_lines}")
    if not 0.0 <= anomaly_rate <= 1.0:
        raise InputError(f"anomaly_rate must be within [0, 1], got {anomaly_rate}")
    return _Generator(name, seed, anomaly_rate, sessions).run(n_lines)


def write_jsonl(records: Sequence[dict], path: str | Path) -> Path:
    """Write records one JSON object a line (creating parent folders); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return path


def write_demo_systems(
    out_dir: str | Path, *, n_lines: int = 20000, seed: int = 0, sessions: bool = False
) -> Path:
    """Write `<name>.jsonl` for every system and `systems.yaml` listing them; returns the yaml's path."""
    import yaml

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    entries = []
    for name, description in SYSTEMS.items():
        write_jsonl(generate_system(name, n_lines, seed=seed, sessions=sessions), out / f"{name}.jsonl")
        entries.append({"name": name, "format": "jsonl", "path": f"{name}.jsonl", "description": description})
    manifest = out / "systems.yaml"
    manifest.write_text(yaml.safe_dump({"systems": entries}, sort_keys=False), encoding="utf-8")
    return manifest

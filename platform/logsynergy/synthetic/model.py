"""What a synthetic system ("dialect") is: the same kinds of behaviour in different syntax and vocabulary.

Each dialect has weighted normal workflows (a step prefixed `?` happens 0-1 times, `*` 1-3 times), fault
templates grouped by a concept shared across dialects, and optional precursor warnings per concept.
Placeholders are described in `params`.
"""

from __future__ import annotations

from dataclasses import dataclass

CONCEPTS = ("timeout", "connection_lost", "storage_error", "memory_error", "crash_restart", "auth_failure")


@dataclass(frozen=True, slots=True)
class Dialect:
    description: str
    session_key: str
    workflows: tuple[tuple[int, tuple[str, ...]], ...]
    faults: dict[str, tuple[str, ...]]
    precursors: dict[str, str]

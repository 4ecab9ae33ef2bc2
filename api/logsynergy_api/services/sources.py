"""Automatic source selection: the labelled systems whose template vocabulary is closest to the target's."""

from __future__ import annotations

import math
from collections import Counter

from sqlmodel import Session, select

from logsynergy_api.errors import Conflict
from logsynergy_api.models import Dataset, System, Tenant

DEFAULT_SOURCES = 2


def vocabulary(session: Session, system: System) -> Counter[str]:
    counts: Counter[str] = Counter()
    for dataset in session.exec(select(Dataset).where(Dataset.system_id == system.id)):
        counts.update(dataset.signature)
    return counts


def cosine(a: Counter[str], b: Counter[str]) -> float:
    shared = set(a) & set(b)
    if not shared:
        return 0.0
    dot = sum(math.log1p(a[w]) * math.log1p(b[w]) for w in shared)
    norm_a = math.sqrt(sum(math.log1p(v) ** 2 for v in a.values()))
    norm_b = math.sqrt(sum(math.log1p(v) ** 2 for v in b.values()))
    return dot / (norm_a * norm_b)


def labelled_systems(session: Session, tenant: Tenant, exclude: int | None) -> list[System]:
    query = select(System).join(Dataset, Dataset.system_id == System.id)  # type: ignore[arg-type]
    query = query.where(System.tenant_id == tenant.id, Dataset.labelled == True)  # noqa: E712
    unique = {s.id: s for s in session.exec(query) if s.id != exclude}
    return list(unique.values())


def choose_sources(
    session: Session, tenant: Tenant, target: System, count: int = DEFAULT_SOURCES
) -> list[tuple[str, float]]:
    """Up to `count` labelled systems ranked by similarity to the target (sources before targets)."""
    candidates = labelled_systems(session, tenant, exclude=target.id)
    if not candidates:
        raise Conflict("no labelled system to learn from: onboard a source system with labelled data first")
    mine = vocabulary(session, target)
    scored = [(s, cosine(mine, vocabulary(session, s))) for s in candidates]
    scored.sort(key=lambda pair: (pair[0].role != "source", -pair[1], pair[0].name))
    return [(s.name, round(score, 4)) for s, score in scored[:count]]

"""Templates: the stable identity of a log event within one system."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


def template_id(template: str) -> str:
    """Stable id of a template: a short hash of its text, identical across runs and machines."""
    return hashlib.sha1(template.encode("utf-8")).hexdigest()[:16]


@dataclass(slots=True)
class Template:
    """One template of a system, with a representative raw example and how often it was seen."""

    id: str
    text: str
    example: str
    count: int = 0


@dataclass(frozen=True, slots=True)
class SystemContext:
    """What the interpretation prompt knows about a system (paper Fig. 2: type and description)."""

    name: str
    description: str = ""

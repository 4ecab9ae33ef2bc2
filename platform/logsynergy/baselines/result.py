"""What every baseline returns: test metrics on the target's later windows, and how long it took."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class BaselineResult:
    precision: float
    recall: float
    f1: float
    threshold: float
    train_seconds: float
    extra: dict[str, Any] = field(default_factory=dict)

"""The control plane's long-lived parts, built once per process and shared by routes and the scheduler."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from logsynergy.store import ObjectStore, make_store
from logsynergy_api.db import make_engine, migrate
from logsynergy_api.settings import Settings

if TYPE_CHECKING:
    from logsynergy_workers.launcher import JobLauncher


class Counts:
    """Counters of this process's background work (e.g. anomaly batches ingested), for /metrics."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def add(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self._counts[name] += amount

    def get(self, name: str) -> int:
        with self._lock:
            return self._counts[name]


@dataclass
class Platform:
    settings: Settings
    engine: Engine
    store: ObjectStore
    launcher: JobLauncher | None = None
    counts: Counts = field(default_factory=Counts)

    @classmethod
    def build(cls, settings: Settings, launcher: JobLauncher | None = None) -> Platform:
        """Connect to the database (migrating it) and the object store."""
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = make_engine(settings.resolved_database_url)
        migrate(engine)
        return cls(
            settings=settings, engine=engine, store=make_store(settings.store_config), launcher=launcher
        )

"""The job scheduler: a loop that follows running jobs and hands queued ones to Ray by priority then
age, up to the cluster's capacity. Every state change is `JobLifecycle`'s. Once an hour it also removes
what killed uploads left behind (`cleanup`), so leftovers do not wait for the next restart."""

from __future__ import annotations

import logging
import os
import threading
import time

from sqlmodel import Session

from logsynergy.errors import LogSynergyError
from logsynergy_api.cleanup import GRACE_S, clean_leftovers
from logsynergy_api.context import Platform
from logsynergy_api.errors import Unavailable
from logsynergy_api.services.job_lifecycle import JobLifecycle

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(self, platform: Platform, *, cleanup_every_s: float = GRACE_S) -> None:
        if platform.launcher is None:
            raise LogSynergyError("the scheduler needs a Ray cluster (LOGSYNERGY_RAY_ADDRESS)")
        self.platform = platform
        self.lifecycle = JobLifecycle(platform)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._capacity: int | None = None
        self._cleanup_every_s = cleanup_every_s
        self._cleaned = time.monotonic()  # the app's start-up has just cleaned

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="logsynergy-scheduler", daemon=True)
        self._thread.start()

    @property
    def running(self) -> bool:
        """Its thread is alive and not asked to stop (what /metrics reports)."""
        return self._thread is not None and self._thread.is_alive() and not self._stop.is_set()

    def stop(self) -> None:
        """Stop scheduling; running Ray jobs go on and are reconciled by the next start."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:
                log.exception("scheduler tick failed; retrying")
            if time.monotonic() - self._cleaned >= self._cleanup_every_s:
                clean_leftovers(self.platform)
                self._cleaned = time.monotonic()
            self._stop.wait(self.platform.settings.scheduler_interval_s)

    def tick(self) -> None:
        with Session(self.platform.engine, expire_on_commit=False) as session:
            self.follow_running(session)
            self.dispatch(session)

    def capacity(self) -> int:
        if self.platform.settings.max_running_jobs:
            return self.platform.settings.max_running_jobs
        if self._capacity is None:
            assert self.platform.launcher is not None
            self._capacity = self.platform.launcher.cluster_cpus() or os.cpu_count() or 1
        return self._capacity

    def follow_running(self, session: Session) -> None:
        for job in self.lifecycle.running(session):
            try:
                self.lifecycle.follow(session, job)
            except Unavailable as error:
                log.warning("%s", error)
                return

    def dispatch(self, session: Session) -> None:
        free = self.capacity() - self.lifecycle.count_running(session)
        if free > 0:
            for job in self.lifecycle.due(session, free):
                self.lifecycle.submit(session, job)

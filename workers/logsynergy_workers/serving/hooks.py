"""Alert hooks: anomaly reports POSTed to a system's webhook URLs in the background.

Each report is sent as JSON `{"tenant", "system", "model_version", "report"}` to every hook URL of the
system. A report whose (tenant, system, template-id sequence) was already sent within `dedup_s` is
suppressed (per ingress replica). Failed POSTs (connection errors, timeouts, 408/429/5xx) are retried
`retries` times with exponential back-off; other 4xx answers are not retried. Detection never waits:
`submit` only schedules the work, and at most `max_pending` deliveries are queued at once (excess
reports are dropped and counted). Before each delivery the URL is checked again with the control plane's
`check_hook_url` (its host may resolve elsewhere by now); a refused URL is counted and not called.
The allow-list of private targets comes from LOGSYNERGY_HOOK_ALLOW_PRIVATE in the replica's environment.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from logsynergy_contracts import ALLOW_PRIVATE_ENV, AllowList, HookUrlError, check_hook_url

log = logging.getLogger(__name__)
RETRY_STATUS = frozenset({408, 429})


def report_signature(tenant: str, system: str, report: dict[str, Any]) -> tuple[str, ...]:
    """What makes two reports the same alert: the system and the template ids of the window, in order."""
    return (tenant, system, *(str(e.get("template_id", "")) for e in report.get("events", ())))


class HookSender:
    """Background, de-duplicated, retried webhook delivery."""

    def __init__(
        self,
        *,
        timeout_s: float,
        retries: int,
        dedup_s: float,
        backoff_s: float = 0.2,
        max_pending: int = 1_000,
        clock: Callable[[], float] = time.monotonic,
        allow: AllowList | None = None,
    ) -> None:
        """`allow`: the private targets allowed (default: LOGSYNERGY_HOOK_ALLOW_PRIVATE)."""
        self.timeout_s, self.retries, self.dedup_s = timeout_s, retries, dedup_s
        self.backoff_s, self.max_pending = backoff_s, max_pending
        self._clock = clock
        self.allow = allow if allow is not None else AllowList.parse(os.environ.get(ALLOW_PRIVATE_ENV))
        self._sent: dict[tuple[str, ...], float] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._client: httpx.AsyncClient | None = None
        self.stats = {"delivered": 0, "failed": 0, "suppressed": 0, "dropped": 0, "refused": 0, "attempts": 0}

    def _fresh(self, signature: tuple[str, ...]) -> bool:
        """True (and remembered) unless the same signature was sent within the de-duplication window."""
        now = self._clock()
        if len(self._sent) > 10_000:
            self._sent = {k: t for k, t in self._sent.items() if now - t < self.dedup_s}
        sent = self._sent.get(signature)
        if sent is not None and now - sent < self.dedup_s:
            return False
        self._sent[signature] = now
        return True

    def submit(
        self,
        urls: Sequence[str],
        tenant: str,
        system: str,
        model_version: str,
        reports: Sequence[dict[str, Any]],
    ) -> int:
        """Schedule delivery of `reports` (not already sent recently) to `urls`; returns how many."""
        if not urls or not reports:
            return 0
        scheduled = 0
        for report in reports:
            if not self._fresh(report_signature(tenant, system, report)):
                self.stats["suppressed"] += 1
                continue
            body = {"tenant": tenant, "system": system, "model_version": model_version, "report": report}
            for url in urls:
                if len(self._tasks) >= self.max_pending:
                    self.stats["dropped"] += 1
                    log.warning("alert hook queue full: dropped a report for %s/%s", tenant, system)
                    continue
                task = asyncio.get_running_loop().create_task(self._deliver(url, body))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
                scheduled += 1
        return scheduled

    @property
    def pending(self) -> int:
        return len(self._tasks)

    async def _deliver(self, url: str, body: dict[str, Any]) -> None:
        try:
            await asyncio.to_thread(check_hook_url, url, self.allow)  # resolves the host: not on the loop
        except HookUrlError as refused:
            self.stats["refused"] += 1
            log.warning("alert hook %s refused for %s/%s: %s", url, body["tenant"], body["system"], refused)
            return
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout_s, follow_redirects=False)
        error = ""
        for attempt in range(self.retries + 1):
            if attempt:
                await asyncio.sleep(self.backoff_s * 2 ** (attempt - 1))
            self.stats["attempts"] += 1
            try:
                response = await self._client.post(url, json=body)
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
                continue
            if response.is_success:
                self.stats["delivered"] += 1
                return
            error = f"HTTP {response.status_code}"
            if response.status_code < 500 and response.status_code not in RETRY_STATUS:
                break
        self.stats["failed"] += 1
        log.warning("alert hook %s failed for %s/%s: %s", url, body["tenant"], body["system"], error)

    async def drain(self, timeout_s: float = 5.0) -> None:
        """Wait (bounded) for scheduled deliveries; for tests and shutdown."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout_s)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

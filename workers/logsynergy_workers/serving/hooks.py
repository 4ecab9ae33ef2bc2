"""Alert hooks: anomaly reports POSTed to a system's webhook URLs in the background.

A hook's payload format (`HookFormat`, by URL in the route; LogSynergy's own by default): `logsynergy`
POSTs each report as JSON `{"tenant", "system", "model_version", "report"}`; `alertmanager` POSTs the
reports of one request together as Alertmanager's webhook payload (version 4: one firing alert per
flagged window, see `alertmanager_payload`), so that receivers written for Alertmanager (PagerDuty,
Opsgenie, Slack bridges, …) take them as they are. A report whose (tenant, system, template-id
sequence) was already sent within `dedup_s` is suppressed (per ingress replica). Failed POSTs
(connection errors, timeouts, 408/429/5xx) are retried `retries` times with exponential back-off; other
4xx answers are not retried. Detection never waits: `submit` only schedules the work, and at most
`max_pending` deliveries are queued at once (excess reports are dropped and counted). Before each
delivery the URL is checked again with the control plane's `check_hook_url` (its host may resolve
elsewhere by now); a refused URL is counted and not called.
The allow-list of private targets comes from LOGSYNERGY_HOOK_ALLOW_PRIVATE in the replica's environment.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

from logsynergy_contracts import ALLOW_PRIVATE_ENV, AllowList, HookFormat, HookUrlError, check_hook_url

log = logging.getLogger(__name__)
RETRY_STATUS = frozenset({408, 429})
ALERT_NAME = "LogSynergyAnomaly"
ALERT_RECEIVER = "logsynergy"
ALERT_SEVERITY = "warning"
DESCRIBED_EVENTS = 10  # lines of a window quoted in an alert's description


def report_signature(tenant: str, system: str, report: dict[str, Any]) -> tuple[str, ...]:
    """What makes two reports the same alert: the system and the template ids of the window, in order."""
    return (tenant, system, *(str(e.get("template_id", "")) for e in report.get("events", ())))


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _description(report: dict[str, Any]) -> str:
    """A window in a few lines: its span and score, then its first events' templates (interpretations)."""
    head = (
        f"lines {report.get('first_line')}-{report.get('last_line')}"
        + (f" of session {report['session']}" if report.get("session") else "")
        + f": score {report.get('score')} >= threshold {report.get('threshold')}"
    )
    events = report.get("events") or []
    rows = [
        f"{'[new] ' if e.get('new') else ''}{e.get('template', '')}"
        + (f" ({e['interpretation']})" if e.get("interpretation") else "")
        for e in events[:DESCRIBED_EVENTS]
    ]
    more = [f"... {len(events) - DESCRIBED_EVENTS} more lines"] if len(events) > DESCRIBED_EVENTS else []
    return "\n".join([head, *rows, *more])


def alertmanager_payload(
    tenant: str,
    system: str,
    model_version: str,
    reports: Sequence[dict[str, Any]],
    now: datetime | None = None,
) -> dict[str, Any]:
    """Alertmanager's webhook payload (version 4) for the flagged windows of one request: one firing
    alert per window, labelled by tenant, system, model version and incident pattern."""
    starts = _rfc3339(now or datetime.now(UTC))
    alerts = []
    for report in reports:
        labels = {
            "alertname": ALERT_NAME,
            "tenant": tenant,
            "system": system,
            "version": model_version,
            "pattern": str(report.get("pattern", "")),
            "severity": ALERT_SEVERITY,
        }
        fingerprint = hashlib.sha256(repr(sorted(labels.items())).encode("utf-8")).hexdigest()[:16]
        alerts.append(
            {
                "status": "firing",
                "labels": labels,
                "annotations": {
                    "summary": f"log anomaly in {system} (score {report.get('score')})",
                    "description": _description(report),
                },
                "startsAt": starts,
                "endsAt": "0001-01-01T00:00:00Z",  # Alertmanager's zero time: not resolved
                "generatorURL": "",
                "fingerprint": fingerprint,
            }
        )
    group = {"alertname": ALERT_NAME, "tenant": tenant, "system": system}
    common = {k: v for k, v in alerts[0]["labels"].items() if all(a["labels"][k] == v for a in alerts)}
    return {
        "version": "4",
        "groupKey": f'{{}}:{{alertname="{ALERT_NAME}", system="{system}", tenant="{tenant}"}}',
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": ALERT_RECEIVER,
        "groupLabels": group,
        "commonLabels": common,
        "commonAnnotations": {},
        "externalURL": "",
        "alerts": alerts,
    }


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
        formats: Mapping[str, HookFormat] | None = None,
    ) -> int:
        """Schedule delivery of `reports` (not already sent recently) to `urls`, each in its payload format
        (`formats` by URL; LogSynergy's own when absent); returns how many POSTs were scheduled."""
        if not urls or not reports:
            return 0
        fresh = []
        for report in reports:
            if self._fresh(report_signature(tenant, system, report)):
                fresh.append(report)
            else:
                self.stats["suppressed"] += 1
        if not fresh:
            return 0
        scheduled = 0
        for url in urls:
            if (formats or {}).get(url) == HookFormat.ALERTMANAGER:
                bodies = [alertmanager_payload(tenant, system, model_version, fresh)]
            else:
                bodies = [
                    {"tenant": tenant, "system": system, "model_version": model_version, "report": report}
                    for report in fresh
                ]
            for body in bodies:
                if len(self._tasks) >= self.max_pending:
                    self.stats["dropped"] += 1
                    log.warning("alert hook queue full: dropped a report for %s/%s", tenant, system)
                    continue
                task = asyncio.get_running_loop().create_task(self._deliver(url, body, tenant, system))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
                scheduled += 1
        return scheduled

    @property
    def pending(self) -> int:
        return len(self._tasks)

    async def _deliver(self, url: str, body: dict[str, Any], tenant: str, system: str) -> None:
        try:
            await asyncio.to_thread(check_hook_url, url, self.allow)  # resolves the host: not on the loop
        except HookUrlError as refused:
            self.stats["refused"] += 1
            log.warning("alert hook %s refused for %s/%s: %s", url, tenant, system, refused)
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
        log.warning("alert hook %s failed for %s/%s: %s", url, tenant, system, error)

    async def drain(self, timeout_s: float = 5.0) -> None:
        """Wait (bounded) for scheduled deliveries; for tests and shutdown."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout_s)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

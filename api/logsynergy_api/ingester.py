"""The anomaly ingester: a loop that takes the batches the detection endpoint recorded from the store's
inbox into the database and the archive (`services.anomaly_ingest`), and applies the retention."""

from __future__ import annotations

import logging
import threading
import time

from logsynergy_api.context import Platform
from logsynergy_api.services.anomaly_ingest import ingest_pending, purge_expired

log = logging.getLogger(__name__)

PASS_LIMIT = 500  # batches per pass, so that a stop request is never far
PURGE_EVERY_S = 300.0


class Ingester:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._purged_at = float("-inf")

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="logsynergy-ingester", daemon=True)
        self._thread.start()

    @property
    def running(self) -> bool:
        """Its thread is alive and not asked to stop (what /metrics reports)."""
        return self._thread is not None and self._thread.is_alive() and not self._stop.is_set()

    def stop(self) -> None:
        """Stop after the batch in hand; what is left waits in the inbox for the next start."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:
                log.exception("anomaly ingestion failed; retrying")
            self._stop.wait(self.platform.settings.anomaly_ingest_interval_s)

    def tick(self) -> None:
        report = ingest_pending(self.platform, limit=PASS_LIMIT)
        if report.ingested or report.rejected or report.dropped:
            log.info(
                "anomalies: %d batches (%d windows) ingested, %d rejected, %d dropped",
                report.ingested,
                report.windows,
                report.rejected,
                report.dropped,
            )
        if time.monotonic() - self._purged_at >= PURGE_EVERY_S:
            self._purged_at = time.monotonic()
            purge_expired(self.platform)

"""A small HTTP client of the control plane, used by the CLI and `make demo`."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from logsynergy.errors import LogSynergyError
from logsynergy_contracts import JobStatus

FINAL = tuple(status.value for status in JobStatus if status.finished)


class ApiError(LogSynergyError):
    """The API answered with an error (its message is shown as is)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{message} (HTTP {status} {code})")
        self.status, self.code = status, code


def default_url() -> str:
    host = os.environ.get("LOGSYNERGY_API_HOST", "127.0.0.1")
    port = os.environ.get("LOGSYNERGY_API_PORT", "8080")
    return os.environ.get("LOGSYNERGY_API_URL", f"http://{host}:{port}")


class PlatformClient:
    def __init__(self, base_url: str | None = None, api_key: str | None = None, timeout: float = 300) -> None:
        self.base_url = (base_url or default_url()).rstrip("/")
        key = (
            api_key or os.environ.get("LOGSYNERGY_API_KEY") or os.environ.get("LOGSYNERGY_BOOTSTRAP_API_KEY")
        )
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.TransportError as error:
            raise LogSynergyError(f"cannot reach the API at {self.base_url}: {error}") from error
        if response.status_code >= 400:
            try:
                body = response.json()["error"]
                raise ApiError(response.status_code, body["code"], body["message"])
            except (ValueError, KeyError, TypeError):
                raise ApiError(response.status_code, "http_error", response.text[:500]) from None
        if response.status_code == 204:
            return None
        if response.headers.get("content-type", "").startswith("application/json"):
            return response.json()
        return response.text

    def create_system(self, name: str, fmt: str, role: str, description: str = "") -> dict[str, Any]:
        body = {"name": name, "format": fmt, "role": role, "description": description}
        return self.request("POST", "/v1/systems", json=body)

    def upload(self, system: str, log: Path, labels: Path | None = None) -> dict[str, Any]:
        with log.open("rb") as log_file:
            files: dict[str, Any] = {"file": (log.name, log_file)}
            if labels is None:
                return self.request("POST", f"/v1/systems/{system}/datasets", files=files)
            with labels.open("rb") as labels_file:
                files["labels"] = (labels.name, labels_file)
                return self.request("POST", f"/v1/systems/{system}/datasets", files=files)

    def create_job(self, target: str, **fields: Any) -> dict[str, Any]:
        body = {"target": target, **{k: v for k, v in fields.items() if v is not None}}
        return self.request("POST", "/v1/jobs", json=body)

    def judge(
        self, system: str, kind: str, item_id: int, verdict: str | None, note: str | None = None
    ) -> Any:
        """Judge an anomaly or incident (`kind`: "anomalies" or "incidents"); verdict None takes the
        judgement back."""
        path = f"/v1/systems/{system}/{kind}/{item_id}/judgement"
        if verdict is None:
            return self.request("DELETE", path)
        body = {"verdict": verdict, **({"note": note} if note else {})}
        return self.request("POST", path, json=body)

    def wait_job(
        self,
        job_id: str,
        *,
        timeout: float = 3600,
        poll: float = 1.0,
        on_progress: Callable[[dict], None] | None = None,
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            job = self.request("GET", f"/v1/jobs/{job_id}")
            if on_progress is not None:
                on_progress(job)
            if job["status"] in FINAL:
                return job
            if time.monotonic() > deadline:
                raise LogSynergyError(f"job {job_id} still {job['status']} after {timeout:.0f} s")
            time.sleep(poll)

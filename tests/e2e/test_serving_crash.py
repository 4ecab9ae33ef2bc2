"""kill -9 of the detection service's replicas on a real Ray Serve: Serve starts a new replica (a new
process) and the service answers as before. While the model pool is gone the ingress answers a clean,
retryable 503; while the ingress is gone its port refuses connections until the new replica binds it."""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from helpers.detector_fixture import payment_lines

if TYPE_CHECKING:
    from conftest import Serving

pytestmark = pytest.mark.timeout(600)
APP = "detect"
# bound on the wait for a correct answer again, so that a stuck restart fails the test instead of hanging
# it; below the 150 s for which Ray would hold back a crashed ingress replica's port (see endpoint.py)
RECOVERY_S = 120.0


def replica_pids(deployment: str) -> list[int]:
    """PIDs of the live replicas of one deployment of the app, from the GCS actor table (the fixture's Ray
    runs without a dashboard, which `ray.util.state` needs)."""
    from ray._private import state

    actors = state.actors(actor_state_name="ALIVE").values()
    return sorted(int(a["Pid"]) for a in actors if a["ActorClassName"] == f"ServeReplica:{APP}:{deployment}")


def running_replicas(deployment: str) -> int:
    from ray import serve

    status = serve.status().applications[APP].deployments[deployment]
    return sum(n for state, n in status.replica_states.items() if str(state).endswith("RUNNING"))


def spans(answer: dict[str, Any]) -> list[tuple[int, int, float]]:
    return [(w["first_line"], w["last_line"], round(w["score"], 5)) for w in answer["windows"]]


@dataclass
class Recovery:
    """What the service answered from the kill until it answered correctly again."""

    seconds: float = 0.0
    answers: list[str] = field(default_factory=list)  # "503 model_unavailable", "ConnectError", …


def until_answered(serving: Serving, body: dict[str, Any], expected: list[Any], old_pid: int) -> Recovery:
    """Ask until the service gives the expected windows again (at most RECOVERY_S); each failed try is
    recorded. A request may reach the dying replica before Serve notices, so only a correct answer
    counts, and only once the killed process is gone from the live replicas."""
    recovery, started = Recovery(), time.monotonic()
    while time.monotonic() - started < RECOVERY_S:
        try:
            with serving.client(timeout=30.0) as client:
                response = client.post("/v1/detect/payments", json=body)
        except httpx.TransportError as error:
            recovery.answers.append(type(error).__name__)
        else:
            if response.status_code == 200 and spans(response.json()) == expected:
                recovery.seconds = round(time.monotonic() - started, 2)
                return recovery
            code = response.json().get("error", {}).get("code") if response.content else None
            recovery.answers.append(f"{response.status_code} {code}")
        time.sleep(0.2)
    raise AssertionError(f"no correct answer {RECOVERY_S:.0f} s after killing {old_pid}: {recovery.answers}")


def kill_and_recover(serving: Serving, deployment: str) -> tuple[int, int, Recovery]:
    body = {"lines": payment_lines(200, seed=21)}
    with serving.client() as client:
        before = client.post("/v1/detect/payments", json=body)
    assert before.status_code == 200, before.text
    expected = spans(before.json())
    [old] = replica_pids(deployment)
    os.kill(old, signal.SIGKILL)
    recovery = until_answered(serving, body, expected, old)
    deadline = time.monotonic() + RECOVERY_S  # the answer may come before the controller lists the new one
    while (replica_pids(deployment) in ([], [old]) or running_replicas(deployment) != 1) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.2)
    [new] = replica_pids(deployment)
    print(
        f"\n{deployment}: killed pid {old}, new pid {new}, answered again after {recovery.seconds} s; "
        f"{len(recovery.answers)} failed tries: {sorted(set(recovery.answers))}"
    )
    return old, new, recovery


def test_model_pool_replica_killed(serving: Serving):
    old, new, recovery = kill_and_recover(serving, "ModelPool")
    assert new != old
    # the ingress stayed up: every failed try was its clean, retryable answer, never a 500 or a hang
    assert set(recovery.answers) <= {"503 model_unavailable"}, recovery.answers
    with serving.client() as client:  # the new replica loads the other versions too
        other = client.post("/v1/detect/payments", params={"version": "1"}, json={"lines": payment_lines(50)})
    assert other.status_code == 200 and other.json()["model_version"] == "1"


def test_ingress_replica_killed(serving: Serving):
    """Direct ingress: the killed replica held the port; the new one binds it again."""
    pool = replica_pids("ModelPool")
    old, new, recovery = kill_and_recover(serving, "DetectIngress")
    assert new != old
    assert replica_pids("ModelPool") == pool  # only the ingress was replaced
    # while no process held the port, connections were refused or cut (no wrong answer in between)
    assert set(recovery.answers) <= {"ConnectError", "ReadError", "RemoteProtocolError"}, recovery.answers
    with serving.client() as client:
        health = client.get("/v1/detect/-/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    with serving.client(url=serving.proxy_url) as client:  # Serve's proxy reaches the new replica too
        proxied = client.post("/v1/detect/payments", json={"lines": payment_lines(50)})
    assert proxied.status_code == 200, proxied.text

"""The detection service end to end: real Ray Serve, real HTTP, a real (tiny) trained detector."""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from helpers.detector_fixture import payment_lines

if TYPE_CHECKING:
    from conftest import Serving

pytestmark = pytest.mark.timeout(600)
WINDOW_KEYS = {"first_line", "last_line", "score", "anomaly", "new_templates"}


class HookServer:
    """A real HTTP server on 127.0.0.1 recording the JSON bodies POSTed to it."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        received = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                received.append(json.loads(self.rfile.read(length)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(self, count: int, timeout_s: float = 15.0) -> None:
        deadline = time.monotonic() + timeout_s
        while len(self.bodies) < count and time.monotonic() < deadline:
            time.sleep(0.05)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook_server() -> Iterator[HookServer]:
    server = HookServer()
    yield server
    server.close()


def detect(serving: Serving, system: str, body: Any, key: str | None = None, **kwargs: Any) -> Any:
    with serving.client(**({"key": key} if key is not None else {})) as client:
        return client.post(f"/v1/detect/{system}", json=body, **kwargs)


def spans(answer: dict[str, Any]) -> list[tuple[int, int, float]]:
    return [(w["first_line"], w["last_line"], round(w["score"], 5)) for w in answer["windows"]]


def test_trained_system_gets_scores_and_reports(serving: Serving):
    lines = payment_lines(1000)
    response = detect(serving, "payments", {"lines": lines})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["system"] == "payments" and answer["model_version"] == "1"
    assert len(answer["windows"]) == 199  # size 10, step 5 over 1,000 lines
    assert set(answer["windows"][0]) >= WINDOW_KEYS
    assert all(0.0 <= w["score"] <= 1.0 for w in answer["windows"])
    anomalous = [w for w in answer["windows"] if w["anomaly"]]
    assert anomalous and len(answer["anomalies"]) == len(anomalous)
    report = answer["anomalies"][0]
    assert report["system"] == "payments" and report["score"] >= report["threshold"]
    event = report["events"][0]
    assert event["raw"] == lines[event["line"] - 1]
    assert event["template_id"] and event["template"] and event["interpretation"]
    labelled = {i + 1 for i, line in enumerate(lines) if json.loads(line)["label"] == 1}
    hit = sum(1 for w in anomalous if any(w["first_line"] <= n <= w["last_line"] for n in labelled))
    assert hit / len(anomalous) > 0.6  # the tiny detector mostly flags windows with real faults


def test_serves_port_itself_and_through_serves_proxy(serving: Serving):
    """The ingress replica answers on the port; Serve's proxy (one hop more) gives the same answer."""
    lines = payment_lines(200, seed=9)
    direct = detect(serving, "payments", {"lines": lines})
    assert direct.status_code == 200, direct.text
    assert serving.proxy_url and serving.proxy_url != serving.url
    with serving.client(url=serving.proxy_url) as client:
        proxied = client.post("/v1/detect/payments", json={"lines": lines})
        missing = client.post("/v1/detect/nope", json={"lines": lines})
    assert proxied.status_code == 200 and spans(proxied.json()) == spans(direct.json())
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "unknown_system"


def test_records_and_text_bodies(serving: Serving):
    lines = payment_lines(60, seed=4)
    messages = [json.loads(line)["message"] for line in lines]
    as_json = detect(serving, "payments", {"lines": lines}).json()
    records = [{"message": m, "timestamp": "2024-01-01T00:00:00"} for m in messages]
    as_records = detect(serving, "payments", {"records": records}).json()
    assert spans(as_records) == spans(as_json)
    with serving.client() as client:
        text = client.post(
            "/v1/detect/payments", content="\n".join(lines) + "\n\n", headers={"content-type": "text/plain"}
        )
    assert text.status_code == 200, text.text
    assert spans(text.json()) == spans(as_json)


@pytest.mark.parametrize(
    ("system", "key", "params", "status", "code"),
    [
        ("nope", None, {}, 404, "unknown_system"),
        ("billing", None, {}, 404, "unknown_system"),  # another tenant's system
        ("fresh", None, {}, 409, "no_active_version"),
        ("broken", None, {}, 503, "model_unavailable"),  # the artifact is not in the store
        ("payments", None, {"version": "9"}, 404, "unknown_version"),
        ("payments", "wrong-key", {}, 401, "unauthorized"),
        ("payments", "", {}, 401, "unauthorized"),
    ],
)
def test_routing_errors(serving: Serving, system: str, key: str | None, params: dict, status: int, code: str):
    response = detect(serving, system, {"lines": ["x"]}, key=key, params=params)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["message"]


@pytest.mark.parametrize(
    "content",
    [b"{not json", b'{"lines": "a"}', b'{"lines": [1, 2]}', b"{}", b'{"lines": []}', b'{"records": [{}]}'],
)
def test_malformed_body_is_422(serving: Serving, content: bytes):
    with serving.client() as client:
        response = client.post(
            "/v1/detect/payments", content=content, headers={"content-type": "application/json"}
        )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_request"


def test_one_megabyte_request(serving: Serving):
    lines: list[str] = []
    seed = 20
    while sum(len(line) + 4 for line in lines) < 1_050_000:
        lines += payment_lines(2000, seed=seed)
        seed += 1
    body = json.dumps({"lines": lines}).encode()
    assert len(body) > 1_000_000
    with serving.client() as client:
        response = client.post(
            "/v1/detect/payments", content=body, headers={"content-type": "application/json"}
        )
    assert response.status_code == 200, response.text
    windows = response.json()["windows"]
    assert windows[-1]["last_line"] == len(lines)


def test_oversized_and_unsupported_bodies(serving: Serving):
    with serving.client() as client:
        huge = client.post(
            "/v1/detect/payments", content=b"x" * (5 << 20), headers={"content-type": "text/plain"}
        )
        form = client.post(
            "/v1/detect/payments",
            content=b"a=1",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
    assert huge.status_code == 413 and huge.json()["error"]["code"] == "payload_too_large"
    assert form.status_code == 415 and form.json()["error"]["code"] == "unsupported_media_type"


def test_activation_takes_effect_without_restart(serving: Serving):
    before = detect(serving, "payments", {"lines": payment_lines(30)}).json()
    assert before["model_version"] == "1"
    routes = copy.deepcopy(serving.routes)
    entry = routes["systems"][f"{serving.tenant}/payments"]
    entry["versions"]["2"] = serving.prefix_v2
    entry["active"] = "2"
    serving.write_routes(routes)
    try:
        after = detect(serving, "payments", {"lines": payment_lines(30)})
        assert after.status_code == 200, after.text
        assert after.json()["model_version"] == "2"
        pinned = detect(serving, "payments", {"lines": payment_lines(30)}, params={"version": "1"})
        assert pinned.json()["model_version"] == "1"
    finally:
        serving.write_routes(serving.base_routes())


def test_stream_continues_windows_across_batches(serving: Serving):
    lines = payment_lines(37, seed=8)
    whole = detect(serving, "payments", {"lines": lines}).json()
    first = detect(serving, "payments", {"lines": lines[:23], "stream_id": "s-1"}).json()
    assert [(w["first_line"], w["last_line"]) for w in first["windows"]] == [(1, 10), (6, 15), (11, 20)]
    assert first["stream"]["pending_lines"] == 8  # lines 16-23 open the next window
    second = detect(serving, "payments", {"lines": lines[23:]}, params={"stream_id": "s-1"}).json()
    assert [(w["first_line"], w["last_line"]) for w in second["windows"]] == [(16, 25), (21, 30), (26, 35)]
    last = detect(serving, "payments", {"lines": [], "stream_id": "s-1", "flush": True}).json()
    assert [(w["first_line"], w["last_line"]) for w in last["windows"]] == [(31, 37)]
    assert spans(first) + spans(second) + spans(last) == spans(whole)
    assert {r["first_line"] for r in first["anomalies"] + second["anomalies"] + last["anomalies"]} == {
        r["first_line"] for r in whole["anomalies"]
    }
    fresh = detect(serving, "payments", {"lines": lines[:12], "stream_id": "s-1"}).json()
    assert [(w["first_line"], w["last_line"]) for w in fresh["windows"]] == [(1, 10)]  # flushed: restarts
    exact = detect(serving, "payments", {"lines": lines[12:35], "stream_id": "s-1"}).json()
    assert exact["windows"][-1]["last_line"] == 35
    done = detect(serving, "payments", {"lines": [], "stream_id": "s-1", "flush": True}).json()
    assert done["windows"] == []  # lines 31-35 were all in window 26-35 already


def test_hooks_fire_in_background_and_duplicates_are_suppressed(serving: Serving, hook_server: HookServer):
    serving.write_routes(serving.base_routes(hook_server.url))
    try:
        lines = payment_lines(400, seed=31)
        answer = detect(serving, "alerts", {"lines": lines}).json()
        distinct = {tuple(e["template_id"] for e in r["events"]) for r in answer["anomalies"]}
        assert distinct, "the batch should hold anomalies"
        hook_server.wait_for(len(distinct))
        assert len(hook_server.bodies) == len(distinct)
        body = hook_server.bodies[0]
        assert (body["tenant"], body["system"], body["model_version"]) == (serving.tenant, "alerts", "1")
        assert body["report"]["events"] and body["report"]["system"] == "alerts"
        again = detect(serving, "alerts", {"lines": lines})
        assert again.status_code == 200 and again.json()["anomalies"]
        time.sleep(1.5)
        assert len(hook_server.bodies) == len(distinct)  # same template sequences within hook_dedup_s
        with serving.client() as client:
            hooks = client.get("/v1/detect/-/stats").json()["hooks"]
        assert hooks["delivered"] >= len(distinct) and hooks["suppressed"] >= len(answer["anomalies"])
    finally:
        serving.write_routes(serving.base_routes())


def test_stats_show_pattern_cache_hits_per_tenant(serving: Serving):
    lines = payment_lines(200, seed=41)
    for _ in range(2):
        assert detect(serving, "payments", {"lines": lines}).status_code == 200
    with serving.client() as client:
        stats = client.get("/v1/detect/-/stats").json()
        health = client.get("/v1/detect/-/health").json()
    model = stats["models"][f"{serving.tenant}/payments:1"]
    assert model["requests"] >= 2 and model["cache_hits"] > 0 and 0 < model["hit_rate"] <= 1
    assert model["cache_size"] > 0
    assert health["status"] == "ok" and health["routes_revision"] >= 1
    with serving.client(key=serving.other_key) as client:
        theirs = client.get("/v1/detect/-/stats").json()
    assert not any(m.startswith(f"{serving.tenant}/") for m in theirs["models"])


def count_model_detector(artifact: Path, out: Path) -> Path:
    """The tiny detector serving a count model (logsynergy.selection's other candidate) fitted on labelled
    payments windows, as a fit saves it when the count model wins."""
    from logsynergy.count_model import fit_count_model
    from logsynergy.detector import Detector
    from logsynergy.loaders.lines import records_from_lines
    from logsynergy.records import LoadedLog, LoadReport
    from logsynergy.windows import make_windows

    detector = Detector.load(artifact)
    settings = detector.settings
    records = records_from_lines(settings.format, payment_lines(3000, seed=5), 1)
    parsed = detector.parser.assign(r.message for r in records)
    log = LoadedLog(records, LoadReport(path="labelled"), settings.windowing)
    windows = make_windows(
        log,
        parsed.template_ids,
        windowing=settings.windowing,
        size=settings.window_size,
        step=settings.window_step,
    )
    labels = [int(w.label == 1) for w in windows]
    assert 0 < sum(labels) < len(labels)
    detector.use_count_model(fit_count_model([w.events for w in windows], labels, seed=0))
    return detector.save(out)


def test_a_chosen_count_model_serves_through_the_endpoint(
    serving: Serving, tiny_artifact: Path, tmp_path: Path
):
    from logsynergy.detector import COUNT_MODEL, Detector

    saved = count_model_detector(tiny_artifact, tmp_path / "count-model")
    prefix = "tenants/acme/models/payments/job-3/"
    serving.store.upload_dir(prefix, saved)
    routes = copy.deepcopy(serving.routes)
    entry = routes["systems"][f"{serving.tenant}/payments"]
    entry["versions"]["3"] = prefix
    serving.write_routes(routes)
    try:
        lines = payment_lines(600, seed=21)
        response = detect(serving, "payments", {"lines": lines}, params={"version": "3"})
        assert response.status_code == 200, response.text
        answer = response.json()
        assert answer["model_version"] == "3"
        local = Detector.load(saved)
        assert local.settings.scoring == COUNT_MODEL and local.settings.threshold == 0.5
        expected = local.score_lines(lines).windows
        assert [round(w["score"], 4) for w in answer["windows"]] == [round(v.score, 4) for v in expected]
        assert [w["anomaly"] for w in answer["windows"]] == [v.anomaly for v in expected]
        assert answer["anomalies"] and all(r["threshold"] == 0.5 for r in answer["anomalies"])
        labelled = {i + 1 for i, line in enumerate(lines) if json.loads(line)["label"] == 1}
        flagged = [w for w in answer["windows"] if w["anomaly"]]
        hit = sum(1 for w in flagged if any(w["first_line"] <= n <= w["last_line"] for n in labelled))
        assert hit / len(flagged) > 0.6
    finally:
        serving.write_routes(serving.base_routes())

"""Collector protocols at the detection endpoint, end to end: OTLP/HTTP logs (JSON and protobuf) and JSON
lines over real HTTP into a real Ray Serve with the tiny detector, and real collectors tailing a file into
it: the OpenTelemetry Collector (filelog → otlphttp) and syslog-ng (file() → http())."""

from __future__ import annotations

import gzip
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from google.protobuf.json_format import ParseDict
from google.rpc.status_pb2 import Status
from helpers.collectors import (
    otel_collector,
    otelcol_config,
    otelcol_missing,
    syslog_ng,
    syslog_ng_config,
    syslog_ng_missing,
)
from helpers.detector_fixture import payment_lines
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)

if TYPE_CHECKING:
    from conftest import Serving

pytestmark = pytest.mark.timeout(600)
KEY = "acme-secret-key"
COLLECTOR_SYSTEMS = ("otlp-json", "otlp-proto", "syslog")


class Receiver:
    """A real HTTP server on 127.0.0.1 keeping the alert-hook bodies POSTed to it."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        received = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                received.append(json.loads(self.rfile.read(int(self.headers.get("content-length", 0)))))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def reports(self, system: str) -> list[dict[str, Any]]:
        return [b["report"] for b in self.bodies if b["system"] == system]


@pytest.fixture(scope="module")
def hooks(serving: Serving) -> Iterator[Receiver]:
    """The collectors' systems (the tiny detector, alert hooks to a receiver) added to the routes."""
    receiver = Receiver()
    routes = serving.base_routes()
    for system in COLLECTOR_SYSTEMS:
        entry = {
            "active": "1",
            "versions": {"1": "tenants/acme/models/payments/job-1/"},
            "hooks": [receiver.url],
        }
        routes["systems"][f"acme/{system}"] = entry
    serving.write_routes(routes)
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


def lines_scored(serving: Serving, system: str) -> int:
    with serving.client() as client:
        models = client.get("/v1/detect/-/stats").json()["models"]
    return int(models.get(f"acme/{system}:1", {}).get("lines", 0))


def wait_until(condition: Callable[[], bool], timeout_s: float, why: Callable[[], str]) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(why())
        time.sleep(0.2)


def require(missing: str | None) -> None:
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{missing} (required under CI=true)")
        pytest.skip(missing)


def s(value: str) -> dict[str, Any]:
    return {"stringValue": value}


def otlp_request(
    groups: list[tuple[dict[str, str], list[str]]], session: str | None = None
) -> dict[str, Any]:
    resource_logs = []
    for attributes, messages in groups:
        records = []
        for i, message in enumerate(messages):
            record: dict[str, Any] = {"timeUnixNano": str(1_720_592_645_000_000_000 + i), "body": s(message)}
            if session:
                record["attributes"] = [{"key": "session.id", "value": s(session)}]
            records.append(record)
        resource_logs.append(
            {
                "resource": {"attributes": [{"key": k, "value": s(v)} for k, v in attributes.items()]},
                "scopeLogs": [{"logRecords": records}],
            }
        )
    return {"resourceLogs": resource_logs}


def messages_and_faults(n: int, seed: int) -> tuple[list[str], set[str]]:
    """Messages of `n` synthetic payments lines and the messages of the labelled-anomalous ones."""
    rows = [json.loads(line) for line in payment_lines(n, seed=seed)]
    return [r["message"] for r in rows], {r["message"] for r in rows if r["label"] == 1}


# OTLP and JSON lines over plain HTTP -------------------------------------------------------------------
def test_otlp_json_groups_systems_and_reports_rejects(serving: Serving):
    messages, _ = messages_and_faults(120, seed=21)
    body = otlp_request(
        [
            ({"service.name": "payments"}, messages[:100]),
            ({"service.name": "nope"}, messages[100:103]),
            ({"host.name": "web-1"}, messages[103:105]),  # no service.name
            ({"service.name": "payments"}, messages[105:120]),
        ]
    )
    before = lines_scored(serving, "payments")
    with serving.client() as client:
        response = client.post("/v1/logs", json=body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "partialSuccess": {
            "rejectedLogRecords": "5",
            "errorMessage": "2 log record(s) without the resource attribute 'service.name'; "
            "3 log record(s) of systems not registered for this tenant ('nope')",
        }
    }
    assert lines_scored(serving, "payments") == before + 115  # both payments resources, once


def test_otlp_protobuf_gzip_and_the_same_scores_as_detect(serving: Serving):
    messages, _ = messages_and_faults(200, seed=22)
    body = ParseDict(otlp_request([({"service.name": "payments"}, messages)]), ExportLogsServiceRequest())
    headers = {"content-type": "application/x-protobuf", "content-encoding": "gzip"}
    before = lines_scored(serving, "payments")
    with serving.client() as client:
        response = client.post("/v1/logs", content=gzip.compress(body.SerializeToString()), headers=headers)
        direct = client.post("/v1/detect/payments", json={"records": [{"message": m} for m in messages]})
    assert response.status_code == 200 and response.headers["content-type"] == "application/x-protobuf"
    assert not ExportLogsServiceResponse.FromString(response.content).HasField("partial_success")
    assert direct.status_code == 200 and direct.json()["windows"]
    assert lines_scored(serving, "payments") == before + 400


def test_otlp_other_system_attribute_and_sessions(serving: Serving):
    messages, _ = messages_and_faults(30, seed=23)
    body = otlp_request([({"app": "payments", "service.name": "nope"}, messages)], session="s-9")
    before = lines_scored(serving, "payments")
    with serving.client() as client:
        by_header = client.post("/v1/logs", json=body, headers={"X-LogSynergy-System-Attribute": "app"})
        by_query = client.post(
            "/v1/logs", json=body, params={"system_attribute": "app", "session_attribute": ""}
        )
    assert by_header.status_code == 200 and by_header.json() == {}
    assert by_query.status_code == 200 and by_query.json() == {}
    assert lines_scored(serving, "payments") == before + 60


def test_otlp_nothing_scored_is_retryable_and_partly_scored_is_not(serving: Serving):
    """The `broken` system's artifact is missing: alone, 503 (retry, nothing was scored); beside a working
    system, a partial success (the client must not retry: the other records were scored)."""
    messages, _ = messages_and_faults(20, seed=24)
    broken = otlp_request([({"service.name": "broken"}, messages)])
    mixed = otlp_request([({"service.name": "broken"}, messages), ({"service.name": "payments"}, messages)])
    before = lines_scored(serving, "payments")
    with serving.client() as client:
        alone = client.post("/v1/logs", json=broken)
        proto = client.post(
            "/v1/logs",
            content=ParseDict(broken, ExportLogsServiceRequest()).SerializeToString(),
            headers={"content-type": "application/x-protobuf"},
        )
        partly = client.post("/v1/logs", json=mixed)
    assert alone.status_code == 503 and alone.headers["retry-after"]
    assert alone.json()["error"]["code"] == "model_unavailable" and alone.json()["code"] == 14
    assert proto.status_code == 503 and Status.FromString(proto.content).code == 14
    assert partly.status_code == 200
    partial = partly.json()["partialSuccess"]
    assert partial["rejectedLogRecords"] == "20" and "'broken'" in partial["errorMessage"]
    assert lines_scored(serving, "payments") == before + 20


@pytest.mark.parametrize(
    ("content", "content_type", "status", "code"),
    [
        (b'{"lines": ["a"]}', "application/json", 400, "invalid_request"),
        (b"{not json", "application/json", 400, "invalid_request"),
        (b"hello, not protobuf", "application/x-protobuf", 400, None),
        (b"resourceLogs", "text/plain", 415, "unsupported_media_type"),
        (
            gzip.compress(b"\0" * (6 << 20)),
            "application/json",
            413,
            "payload_too_large",
        ),  # past 4 MiB inflated
    ],
)
def test_otlp_bad_bodies(serving: Serving, content: bytes, content_type: str, status: int, code: str | None):
    headers = {"content-type": content_type}
    if content[:2] == b"\x1f\x8b":
        headers["content-encoding"] = "gzip"
    before = lines_scored(serving, "payments")
    with serving.client() as client:
        response = client.post("/v1/logs", content=content, headers=headers)
    assert response.status_code == status, response.text
    if code is None:  # protobuf: OTLP's Status, binary
        assert response.headers["content-type"] == "application/x-protobuf"
        assert "protobuf" in Status.FromString(response.content).message
    else:
        assert response.json()["error"]["code"] == code
    assert lines_scored(serving, "payments") == before


def test_otlp_needs_the_api_key(serving: Serving):
    body = ParseDict(otlp_request([({"service.name": "payments"}, ["x"])]), ExportLogsServiceRequest())
    with serving.client(key="wrong") as client:
        response = client.post(
            "/v1/logs", content=body.SerializeToString(), headers={"content-type": "application/x-protobuf"}
        )
    assert response.status_code == 401
    assert Status.FromString(response.content).code == 16  # UNAUTHENTICATED


def test_json_lines_batches_score_like_records(serving: Serving):
    messages, _ = messages_and_faults(60, seed=25)
    ndjson = "\n".join(json.dumps({"msg": m, "host": "web-1"}) for m in messages) + "\n"
    with serving.client() as client:
        records = client.post("/v1/detect/payments", json={"records": [{"message": m} for m in messages]})
        lines = client.post(
            "/v1/detect/payments",
            content=gzip.compress(ndjson.encode()),
            params={"message_key": "msg"},
            headers={"content-type": "application/x-ndjson", "content-encoding": "gzip"},
        )
        strings = client.post(
            "/v1/detect/payments",
            content="\n".join(json.dumps(m) for m in messages),
            headers={"content-type": "application/jsonl"},
        )
        bad = client.post(
            "/v1/detect/payments", content=ndjson, headers={"content-type": "application/x-ndjson"}
        )
    assert records.status_code == lines.status_code == strings.status_code == 200, lines.text
    spans = [(w["first_line"], w["last_line"], w["score"]) for w in records.json()["windows"]]
    assert [(w["first_line"], w["last_line"], w["score"]) for w in lines.json()["windows"]] == spans
    assert [(w["first_line"], w["last_line"], w["score"]) for w in strings.json()["windows"]] == spans
    assert bad.status_code == 422 and "line 1" in bad.json()["error"]["message"]


# real collectors tailing a file ---------------------------------------------------------------------------
def check_delivery(
    serving: Serving, hooks: Receiver, system: str, collector: Any, n: int, faults: set[str]
) -> None:
    """Every line written is scored exactly once, and the anomalous ones are flagged."""
    wait_until(
        lambda: not collector.running or lines_scored(serving, system) >= n,
        timeout_s=240,
        why=lambda: (
            f"{lines_scored(serving, system)} of {n} lines scored; {collector.name}: {collector.output()}"
        ),
    )
    assert collector.running, collector.output()
    time.sleep(2.0)  # a batch sent twice would show by now
    assert lines_scored(serving, system) == n, collector.output()
    wait_until(lambda: bool(hooks.reports(system)), 15, lambda: f"no alert for {system}")
    reports = hooks.reports(system)
    hits = [r for r in reports if any(e["raw"] in faults for e in r["events"])]
    assert len(hits) / len(reports) > 0.5, [[e["raw"] for e in r["events"]] for r in reports]


@pytest.mark.parametrize(("encoding", "system"), [("json", "otlp-json"), ("proto", "otlp-proto")])
def test_opentelemetry_collector_tails_a_file_into_v1_logs(
    serving: Serving, hooks: Receiver, tmp_path: Path, encoding: str, system: str
):
    require(otelcol_missing())
    messages, faults = messages_and_faults(1000, seed=31 if encoding == "json" else 32)
    log_file = tmp_path / "app.log"
    log_file.write_text("\n".join(messages) + "\n")
    config = otelcol_config(log_file, f"{serving.url}/v1/logs", KEY, service_name=system, encoding=encoding)
    with otel_collector(config, tmp_path) as collector:
        check_delivery(serving, hooks, system, collector, len(messages), faults)


def test_syslog_ng_tails_a_file_into_v1_detect(serving: Serving, hooks: Receiver, tmp_path: Path):
    require(syslog_ng_missing())
    messages, faults = messages_and_faults(1000, seed=33)
    log_file = tmp_path / "app.log"
    log_file.write_text("\n".join(messages) + "\n")
    config = syslog_ng_config(log_file, f"{serving.url}/v1/detect/syslog", KEY, batch_lines=200)
    with syslog_ng(config, tmp_path) as collector:
        check_delivery(serving, hooks, "syslog", collector, len(messages), faults)

"""Hardening of the control plane against hostile input: one test per finding of the probe of
`logsynergy api` (SQLite and the local store, served by uvicorn)."""

from __future__ import annotations

import http.client
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from helpers.api_server import ADMIN_KEY, RunningApi, make_settings, running_api
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from logsynergy.errors import StoreError
from logsynergy_api.services import systems

TOO_BIG = 99999999999999999999999
HDFS_LINE = "081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 for block blk_{}\n"


@pytest.fixture
def api(tmp_path: Path) -> Iterator[RunningApi]:
    settings = make_settings(tmp_path / "data", max_upload_mb=1.0, max_import_mb=0.25)
    with running_api(settings, scheduler=False) as running:
        yield running


@pytest.fixture
def team(api: RunningApi) -> httpx.Client:
    response = api.client().post("/v1/tenants", json={"name": "team-a"})
    assert response.status_code == 201, response.text
    client = api.client(response.json()["api_key"])
    created = client.post("/v1/systems", json={"name": "bgl", "format": "bgl"})
    assert created.status_code == 201, created.text
    return client


def error_of(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    return body["error"]["message"]


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.tracebacks = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.tracebacks += record.exc_info is not None


def test_out_of_range_integers_are_refused_and_a_500_keeps_the_connection(
    api: RunningApi, team: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert error_of(team.delete(f"/v1/systems/bgl/hooks/{TOO_BIG}"), 422)
    assert error_of(team.post(f"/v1/systems/bgl/models/{TOO_BIG}/activate"), 422)
    assert error_of(team.post("/v1/systems/bgl/models/0/activate"), 422)
    assert error_of(team.post("/v1/jobs", json={"target": "bgl", "priority": 2**63}), 422)
    assert error_of(team.post("/v1/jobs", json={"target": "bgl", "priority": 10**7}), 422)

    def broken(*_args: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(systems, "list_systems", broken)
    handler = Records()
    loggers = [logging.getLogger(name) for name in ("uvicorn.error", "logsynergy_api")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        host, port = api.url.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        headers = {"Authorization": team.headers["Authorization"]}
        connection.request("GET", "/v1/systems", headers=headers)
        failed = connection.getresponse()
        assert failed.status == 500
        assert json.loads(failed.read())["error"]["code"] == "internal"
        connection.request("GET", "/healthz")  # the same keep-alive connection
        assert connection.getresponse().status == 200
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
    assert handler.tracebacks == 1


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"options": {"epochs": -5}}, "epochs"),
        ({"options": {"epochs": 10**12}}, "epochs"),
        ({"seed": 2**80}, "seed"),
        ({"target_labelled": 10**30}, "target_labelled"),
        ({"options": {"overrides": {"hidden": 10**9}}}, "hidden"),
        ({"options": {"overrides": {"heads": 0}}}, "heads"),
        ({"options": {"overrides": {"dropout": 1.5}}}, "dropout"),
        ({"options": {"overrides": {"batch_size": 0}}}, "batch_size"),
        ({"preset": "paper", "options": {"overrides": {"hidden": 64}}}, "divisible by heads=12"),
        ({"options": {"expected_anomaly_share": 1.0}}, "expected_anomaly_share"),
    ],
)
def test_job_options_are_bounded(team: httpx.Client, options: dict, field: str) -> None:
    """Out-of-range training options are refused when the job is asked for, not when a worker trains."""
    assert field in error_of(team.post("/v1/jobs", json={"target": "bgl", **options}), 422)
    assert team.get("/v1/jobs").json() == []


def test_names_must_match_whole_over_http(api: RunningApi, team: httpx.Client) -> None:
    """A name that only starts like a valid one (a trailing newline) is refused for tenants and systems."""
    for name in ("team-b\n", "team-b\r\n", "team-b\nx"):
        assert error_of(api.client().post("/v1/tenants", json={"name": name}), 422)
        assert error_of(team.post("/v1/systems", json={"name": name, "format": "bgl"}), 422)
    assert [s["name"] for s in team.get("/v1/systems").json()] == ["bgl"]
    assert api.client().post("/v1/tenants", json={"name": "team-b"}).status_code == 201  # nothing half-made


def test_interpretation_import_is_typed_bounded_and_streamed(api: RunningApi, team: httpx.Client) -> None:
    url = "/v1/systems/bgl/interpretations/import"
    good = {"template": "node <*> down", "interpretation": "A node went down."}
    lines = [json.dumps(good), json.dumps({**good, "reviewed": "no"})]
    assert "line 2" in error_of(team.post(url, content="\n".join(lines)), 422)
    long_id = json.dumps({**good, "template_id": "x" * 1000})
    message = error_of(team.post(url, content=long_id), 422)
    assert "line 1" in message and "template_id" in message
    assert team.get("/v1/systems/bgl/interpretations").json() == []

    def chunks() -> Iterator[bytes]:  # no Content-Length: refused while it streams
        for _ in range(64):
            yield b" " * 65536

    assert "limit" in error_of(team.post(url, content=chunks()), 413)
    declared = b" " * (300 * 1024)  # with Content-Length, over the 0.25 MB limit: refused before reading
    assert "limit" in error_of(team.post(url, content=declared), 413)
    assert team.post(url, content=json.dumps({**good, "reviewed": True})).status_code == 200
    assert team.get("/v1/systems/bgl/interpretations").json()[0]["reviewed"] is True


def _raise(error: Exception) -> None:
    raise error


def test_upload_errors_name_the_uploaded_file_not_a_server_path(
    api: RunningApi, team: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = api.platform.settings.data_dir.resolve()
    files = {"file": ("node7.log", b"\x00\x01\x02" * 100)}
    message = error_of(team.post("/v1/systems/bgl/datasets", files=files), 422)
    assert "binary" in message and "node7.log" in message
    assert "/" not in message and str(api.platform.settings.data_dir) not in message
    team.post("/v1/systems", json={"name": "hdfs", "format": "hdfs", "role": "source"})
    log = "".join(HDFS_LINE.format(n) for n in range(1, 40)).encode()
    files = {"file": ("hdfs.log", log), "labels": ("labels.csv", b"no,labels,here\n")}
    message = error_of(team.post("/v1/systems/hdfs/datasets", files=files), 422)
    assert "/" not in message, message
    # the last guard, at the boundary: a message naming the platform's own directories
    monkeypatch.setattr(systems, "list_systems", lambda *_: _raise(StoreError(f"cannot read {data}/store/x")))
    assert error_of(team.get("/v1/systems"), 503) == "cannot read <server>/x"


def test_openapi_documents_every_error_with_the_real_body(api: RunningApi, team: httpx.Client) -> None:
    spec = api.client(None).get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ErrorBody" in schemas
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            statuses = {s for s in operation["responses"] if not s.startswith("2")}
            if path.startswith("/v1/"):
                assert {"401", "422"} <= statuses, (method, path)
            for status in statuses:
                content = operation["responses"][status]["content"]["application/json"]
                assert content["schema"] == {"$ref": "#/components/schemas/ErrorBody"}, (method, path)
    tenants = spec["paths"]["/v1/tenants"]["post"]["responses"]
    assert {"403", "409", "503"} <= set(tenants)
    assert "413" in spec["paths"]["/v1/systems/{name}/datasets"]["post"]["responses"]
    assert "413" in spec["paths"]["/v1/systems/{name}/interpretations/import"]["post"]["responses"]
    name = schemas["TenantCreate"]["properties"]["name"]
    assert name["pattern"] == "^[a-z0-9][a-z0-9-]{0,62}$" and name["maxLength"] == 63
    assert schemas["SystemCreate"]["properties"]["name"]["pattern"] == name["pattern"]
    priority = schemas["JobCreate"]["properties"]["priority"]
    assert priority["maximum"] == 10**6 and priority["minimum"] == -(10**6)

    not_allowed = team.put("/v1/systems")
    assert error_of(not_allowed, 405) and not_allowed.headers["allow"] == "GET, POST"
    latin1 = json.dumps({"name": "caf\u00e9", "format": "bgl"}).replace("\\u00e9", "\u00e9").encode("latin-1")
    headers = {"content-type": "application/json"}
    assert "UTF-8" in error_of(team.post("/v1/systems", content=latin1, headers=headers), 422)
    broken = {"content-type": "multipart/form-data; boundary=b"}
    assert error_of(team.post("/v1/systems/bgl/datasets", content=b"--b\r\nx--b--\r\n", headers=broken), 422)


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.mark.timeout(420)
def test_schemathesis_finds_no_server_error_and_no_schema_mismatch(tmp_path: Path) -> None:
    """Every operation of the running API's own OpenAPI schema (uvicorn on 127.0.0.1, real HTTP), fuzzed
    with valid and invalid input, as the admin and as a tenant (with a system `bgl`): no 5xx, only
    documented statuses, content types and bodies."""
    with running_api(make_settings(tmp_path / "data", max_upload_mb=1.0), scheduler=False) as api:
        _fuzz(api)


def _fuzz(api: RunningApi) -> None:
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    key = api.client().post("/v1/tenants", json={"name": "team-a"}).json()["api_key"]
    tenant = {"Authorization": f"Bearer {key}"}
    api.client(key).post("/v1/systems", json={"name": "bgl", "format": "bgl"})
    schema = schemathesis.openapi.from_url(f"{api.url}/openapi.json")
    failures: dict[str, str] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        strategy = st.one_of(operation.as_strategy(mode) for mode in schemathesis.GenerationMode)

        @given(case=strategy)
        @settings(max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def fuzz(case: schemathesis.Case) -> None:
            for headers in (admin, tenant):
                case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            fuzz()
        except (Exception, BaseExceptionGroup) as error:
            failures[operation.label] = str(error)
    assert not failures, "\n\n".join(f"{label}: {error}" for label, error in failures.items())

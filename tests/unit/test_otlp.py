"""Collector bodies at the detection endpoint: OTLP/HTTP logs (JSON and protobuf), JSON lines, gzip."""

from __future__ import annotations

import gzip
import json
import zlib
from typing import Any

import pytest
from google.protobuf.json_format import ParseDict
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)

from logsynergy_workers.serving.compression import decode_content
from logsynergy_workers.serving.jsonlines import JsonLinesKeys, parse_json_lines
from logsynergy_workers.serving.otlp import (
    LogsBatch,
    OtlpAttributes,
    error_response,
    export_response,
    is_protobuf,
    parse_logs,
)
from logsynergy_workers.serving.routes import (
    BadRequest,
    ModelUnavailable,
    PayloadTooLarge,
    Unauthorized,
    UnsupportedMediaType,
)

T0 = 1_720_592_645_141_000_000  # 2024-07-10T06:24:05.141 UTC


def s(value: str) -> dict[str, Any]:
    return {"stringValue": value}


def record(body: Any, attributes: dict[str, Any] | None = None, time: Any = T0) -> dict[str, Any]:
    out: dict[str, Any] = {"timeUnixNano": str(time), "body": body}
    if attributes:
        out["attributes"] = [{"key": k, "value": v} for k, v in attributes.items()]
    return out


def request(*resources: tuple[dict[str, Any], list[dict[str, Any]]]) -> dict[str, Any]:
    return {
        "resourceLogs": [
            {
                "resource": {"attributes": [{"key": k, "value": v} for k, v in attrs.items()]},
                "scopeLogs": [{"scope": {"name": "test"}, "logRecords": records}],
            }
            for attrs, records in resources
        ]
    }


EXAMPLE = request(
    (
        {"service.name": s("payments"), "host.name": s("web-1")},
        [
            record(s("INFO gateway POST /checkout"), {"session.id": s("s-1")}),
            record({"kvlistValue": {"values": [{"key": "message", "value": s("DEBUG auth ok")}]}}),
            record({"intValue": "42"}, time=0),
        ],
    ),
    ({"service.name": s("storage")}, [record(s("WARN disk 91% full"), {"session.id": {"intValue": 7}})]),
    ({"host.name": s("web-2")}, [record(s("no system"))]),
    ({"service.name": s("payments")}, [record(None), record(s("   "))]),
)


def as_protobuf(data: dict[str, Any]) -> bytes:
    return ParseDict(data, ExportLogsServiceRequest()).SerializeToString()


@pytest.mark.parametrize("protobuf", [False, True], ids=["json", "protobuf"])
def test_records_are_grouped_by_system_with_session_and_time(protobuf: bool):
    raw = as_protobuf(EXAMPLE) if protobuf else json.dumps(EXAMPLE).encode()
    batch = parse_logs(raw, protobuf, OtlpAttributes())
    assert batch.groups == {
        "payments": [
            ("INFO gateway POST /checkout", "s-1", "2024-07-10T06:24:05.141000+00:00"),
            ("DEBUG auth ok", None, "2024-07-10T06:24:05.141000+00:00"),
            ("42", None, None),
        ],
        "storage": [("WARN disk 91% full", "7", "2024-07-10T06:24:05.141000+00:00")],
    }
    assert batch.total == 7 and batch.rejected_count == 3
    assert batch.error_message == (
        "1 log record(s) without the resource attribute 'service.name'; 2 log record(s) without a body"
    )


def test_a_body_with_a_nul_character_is_rejected_not_scored():
    data = request(({"service.name": s("payments")}, [record(s("ok")), record(s("bin\x00ary"))]))
    batch = parse_logs(as_protobuf(data), True, OtlpAttributes())
    assert batch.groups == {"payments": [("ok", None, "2024-07-10T06:24:05.141000+00:00")]}
    assert (
        batch.error_message
        == "1 log record(s) with a NUL character in the body (binary data, not a log line)"
    )


def test_attributes_are_configurable_per_request():
    defaults = OtlpAttributes()
    attrs = defaults.for_request({"x-logsynergy-system-attribute": "host.name"}, {"session_attribute": ""})
    assert attrs == OtlpAttributes("host.name", "", "message")
    batch = parse_logs(json.dumps(EXAMPLE).encode(), False, attrs)
    assert set(batch.groups) == {"web-1", "web-2"}
    assert all(session is None for records in batch.groups.values() for _m, session, _t in records)
    assert defaults.for_request({}, {"system_attribute": "k8s.namespace.name"}).system == "k8s.namespace.name"
    with pytest.raises(BadRequest, match="at most 256"):
        defaults.for_request({}, {"system_attribute": "x" * 300})


def test_snake_case_names_and_a_map_body_without_message_are_accepted():
    data = {
        "resource_logs": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"string_value": "payments"}}]},
                "scope_logs": [
                    {"log_records": [{"time_unix_nano": T0, "body": {"kvlist_value": {"values": []}}}]},
                    {"logRecords": [{"body": {"arrayValue": {"values": [s("a"), {"boolValue": True}]}}}]},
                ],
            }
        ]
    }
    batch = parse_logs(json.dumps(data).encode(), False, OtlpAttributes())
    assert batch.groups == {
        "payments": [("{}", None, "2024-07-10T06:24:05.141000+00:00"), ('["a",true]', None, None)]
    }


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"{not json", "not JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"lines": ["a"]}', "no resourceLogs (keys: lines)"),
        (b'{"resourceLogs": {}}', "request.resourceLogs must be a JSON list"),
        (b'{"resourceLogs": [1]}', "resourceLogs[0] must be an object"),
        (b'{"resourceLogs": [{"scopeLogs": [{"logRecords": [7]}]}]}', "logRecords[0] must be an object"),
        (b'{"resourceLogs": [{"resource": {"attributes": [{"value": 1}]}}]}', "without a string key"),
        (b'{"resourceLogs": [{"scopeLogs": [{"logRecords": [{"body": "x"}]}]}]}', "must be an AnyValue"),
        (b'{"resourceLogs": [{"scopeLogs": [{"logRecords": [{"body": {"arrayValue": 3}}]}]}]}', "an object"),
    ],
)
def test_json_that_is_not_otlp_is_refused(body: bytes, words: str):
    with pytest.raises(BadRequest) as info:
        parse_logs(body, False, OtlpAttributes())
    assert words in str(info.value)
    answer = error_response(False, info.value)
    assert answer.status_code == 400 and answer.media_type == "application/json"
    error = json.loads(answer.body)
    assert error["code"] == 3 and error["message"] == str(info.value)
    assert error["error"] == {"code": "invalid_request", "message": str(info.value)}


def test_deeply_nested_values_are_refused_not_crashing():
    depth = 330  # within orjson's nesting limit (1024), past what a recursive walk may take
    value = '{"arrayValue": {"values": [' * depth + '{"stringValue": "x"}' + "]}}" * depth
    body = '{"resourceLogs": [{"scopeLogs": [{"logRecords": [{"body": ' + value + "}]}]}]}"
    with pytest.raises(BadRequest, match="nested too deeply"):
        parse_logs(body.encode(), False, OtlpAttributes())


@pytest.mark.parametrize("body", [b"hello world, not protobuf", b"\x12\x03abc", b'{"resourceLogs": []}'])
def test_protobuf_that_is_not_otlp_is_refused_with_a_status(body: bytes):
    with pytest.raises(BadRequest) as info:
        parse_logs(body, True, OtlpAttributes())
    answer = error_response(True, info.value)
    assert answer.status_code == 400 and answer.media_type == "application/x-protobuf"
    status = Status.FromString(answer.body)
    assert status.code == 3 and status.message == str(info.value)


def test_empty_requests_succeed_with_nothing():
    for raw, protobuf in ((b"", True), (b"", False), (b"{}", False), (b'{"resourceLogs": []}', False)):
        batch = parse_logs(raw, protobuf, OtlpAttributes())
        assert batch.total == 0 and not batch.groups and not batch.rejected


def test_responses_follow_the_request_encoding():
    full = LogsBatch(total=3, accepted=3)
    assert export_response(False, full).body == b"{}"  # partial_success left unset on full success
    assert (
        ExportLogsServiceResponse.FromString(export_response(True, full).body).HasField("partial_success")
        is False
    )
    partial = LogsBatch(total=5, accepted=2)
    partial.reject(2, "unknown_system", "billing")
    partial.reject(1, "unknown_system", "ledger")
    partial.reject(3, "model_unavailable", "x" * 100)
    partial.reject(1, "without a body")
    as_json = json.loads(export_response(False, partial).body)
    message = (
        "3 log record(s) of systems not registered for this tenant ('billing', 'ledger'); "
        f"3 log record(s) whose detector did not answer (not retried) ('{'x' * 64}'); "
        "1 log record(s) without a body"
    )
    assert as_json == {"partialSuccess": {"rejectedLogRecords": "7", "errorMessage": message}}
    decoded = ExportLogsServiceResponse.FromString(export_response(True, partial).body)
    assert (
        decoded.partial_success.rejected_log_records == 7 and decoded.partial_success.error_message == message
    )


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (Unauthorized("unknown API key"), 401, 16),
        (PayloadTooLarge("big"), 413, 8),
        (ModelUnavailable("no"), 503, 14),
    ],
)
def test_errors_are_otlp_statuses(error: Exception, status: int, code: int):
    answer = error_response(True, error)  # type: ignore[arg-type]
    assert answer.status_code == status and Status.FromString(answer.body).code == code
    assert ("retry-after" in answer.headers) == (status == 503)


def test_content_types():
    assert is_protobuf("application/x-protobuf") and not is_protobuf("application/json; charset=utf-8")
    with pytest.raises(UnsupportedMediaType):
        is_protobuf("text/plain")


# JSON lines --------------------------------------------------------------------------------------------
def test_json_lines_objects_and_strings():
    raw = (
        b'{"message": "INFO a", "session": "s1", "timestamp": "2024-01-01T00:00:00", "host": "h"}\n'
        b"\n"
        b'"plain message"\r\n'
        b'\x1e{"message": "WARN b", "session": 12, "timestamp": 1700000000}\n'
    )
    assert parse_json_lines(raw, JsonLinesKeys()) == [
        ("INFO a", "s1", "2024-01-01T00:00:00"),
        ("plain message", None, None),
        ("WARN b", "12", "1700000000"),
    ]
    keys = JsonLinesKeys().override("MESSAGE", "sid")
    assert parse_json_lines(b'{"MESSAGE": "x", "sid": "a", "session": "no"}', keys) == [("x", "a", None)]


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (
            b'{"message": "ok"}\n{"msg": "wrong key"}',
            "line 2 must be a JSON string or an object with a string 'message'",
        ),
        (b'{"message": 3}', "line 1 must be"),
        (b"[1]", "line 1 must be"),
        (b'{"message": "ok"}\nnot json', "line 2 is not JSON"),
        (b"\xff\xfe", "line 1 is not JSON"),
        (b'"ok"\n"bin\\u0000ary"', "line 2 holds a NUL character"),
    ],
)
def test_bad_json_lines_name_the_line(raw: bytes, words: str):
    with pytest.raises(BadRequest) as info:
        parse_json_lines(raw, JsonLinesKeys())
    assert words in str(info.value)


def test_json_lines_key_overrides_are_checked():
    with pytest.raises(BadRequest, match="message_key must be 1 to 128"):
        JsonLinesKeys().override("k" * 129, None)
    assert JsonLinesKeys().override(None, None) == JsonLinesKeys()


# Content-Encoding --------------------------------------------------------------------------------------
def test_gzip_and_deflate_bodies_are_inflated():
    body = b"line\n" * 1000
    assert decode_content(gzip.compress(body), "gzip", 1 << 20) == body
    assert decode_content(gzip.compress(body[:5]) + gzip.compress(body[5:]), "x-gzip", 1 << 20) == body
    assert decode_content(zlib.compress(body), "deflate", 1 << 20) == body
    assert decode_content(body, "", 10) == body  # the raw body's limit is checked while reading it
    assert decode_content(body, "identity", 1 << 20) == body


def test_a_gzip_bomb_stops_at_the_limit():
    bomb = gzip.compress(b"\0" * (50 << 20))  # 50 MiB of zeros in ~50 kB
    with pytest.raises(PayloadTooLarge, match="decompressed body is larger than the limit of 1048576"):
        decode_content(bomb, "gzip", 1 << 20)


@pytest.mark.parametrize(
    ("raw", "encoding", "error"),
    [
        (b"not gzip at all", "gzip", BadRequest),
        (gzip.compress(b"x" * 1000)[:-12], "gzip", BadRequest),
        (zlib.compress(b"abc") + b"junk", "deflate", BadRequest),
        (b"abc", "br", UnsupportedMediaType),
    ],
)
def test_bad_encodings(raw: bytes, encoding: str, error: type[Exception]):
    with pytest.raises(error):
        decode_content(raw, encoding, 1 << 20)

"""OTLP/HTTP logs (`POST /v1/logs`): `ExportLogsServiceRequest` bodies, JSON or binary protobuf.

- The system of a log record is a resource attribute (`service.name` unless the `otlp_system_attribute`
  serving arg, the `X-LogSynergy-System-Attribute` header or the `system_attribute` query parameter names
  another); its session an optional log-record attribute (`otlp_session_attribute`, `session.id`;
  `X-LogSynergy-Session-Attribute` / `session_attribute`; empty: none). The message is the body: a string,
  the `message_key` entry of a map body, or any other value as JSON.
- Records are grouped by system and each group is scored as one `/v1/detect/{system}` request.
- The answer is an `ExportLogsServiceResponse` in the request's encoding; records of unknown systems,
  systems without an active version, without the system attribute, without a body or with a NUL
  character in it, and the groups that failed, are counted in its `partial_success`
  (`rejected_log_records`, `error_message`), which a client does not retry. When no group could be
  scored and every failure was transient (503: the detector did not answer), the whole request is
  answered 503, which a client retries: no record that was scored is sent again.
- Errors are OTLP's `google.rpc.Status`: binary for protobuf requests; for JSON requests its `code` and
  `message` beside this service's `{"error": {"code", "message"}}`. A body that is not OTLP is 400.
JSON decoding follows OTLP's JSON mapping (lowerCamelCase keys; proto field names accepted too; 64-bit
integers as strings or numbers; unknown fields ignored), but an object with none of the request's fields
and other keys is refused, as is any wrongly typed part.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import DecodeError
from google.protobuf.unknown_fields import UnknownFieldSet
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from starlette.responses import Response

from logsynergy_workers.serving.routes import (
    BadRequest,
    ModelUnavailable,
    Route,
    RoutingTable,
    ServingError,
    UnsupportedMediaType,
)

PROTOBUF, JSON = "application/x-protobuf", "application/json"
SYSTEM_HEADER, SESSION_HEADER = "x-logsynergy-system-attribute", "x-logsynergy-session-attribute"
MAX_ATTRIBUTE_CHARS, SAMPLES = 256, 3
RETRYABLE = frozenset({429, 502, 503, 504})
GRPC_CODES = {400: 3, 401: 16, 403: 7, 404: 5, 409: 9, 413: 8, 415: 3, 422: 3, 429: 8, 503: 14, 504: 4}
REASONS = {
    "unknown_system": "of systems not registered for this tenant",
    "no_active_version": "of systems without an active model version",
    "model_unavailable": "whose detector did not answer (not retried)",
}
Record = tuple[str, str | None, str | None]  # message, session, timestamp


@dataclass(frozen=True)
class OtlpAttributes:
    """Which attributes name a record's system (resource) and session (log record), and where a map
    body keeps its message."""

    system: str = "service.name"
    session: str = "session.id"
    message_key: str = "message"

    def for_request(self, headers: Mapping[str, str], query: Mapping[str, str]) -> OtlpAttributes:
        """These attributes with a request's header or query parameter choices."""
        system = query.get("system_attribute") or headers.get(SYSTEM_HEADER) or self.system
        session = query.get("session_attribute", headers.get(SESSION_HEADER, self.session))
        for name, value in (("system_attribute", system), ("session_attribute", session)):
            if len(value) > MAX_ATTRIBUTE_CHARS:
                raise BadRequest(f"{name} must be at most {MAX_ATTRIBUTE_CHARS} characters")
        return OtlpAttributes(system, session, self.message_key)


@dataclass
class LogsBatch:
    """The records of one request by system, and the records rejected with why."""

    groups: dict[str, list[Record]] = field(default_factory=dict)
    total: int = 0
    accepted: int = 0
    rejected: dict[str, list[Any]] = field(default_factory=dict)  # reason → [count, sample names]

    def add(self, system: str, record: Record) -> None:
        self.groups.setdefault(system, []).append(record)

    def reject(self, count: int, reason: str, sample: str | None = None) -> None:
        entry = self.rejected.setdefault(reason, [0, []])
        entry[0] += count
        if sample is not None and len(entry[1]) < SAMPLES:
            entry[1].append(sample[:64])

    @property
    def rejected_count(self) -> int:
        return sum(count for count, _ in self.rejected.values())

    @property
    def error_message(self) -> str:
        parts = []
        for reason, (count, samples) in self.rejected.items():
            names = f" ({', '.join(map(repr, samples))}{', …' if len(samples) == SAMPLES else ''})"
            parts.append(f"{count} log record(s) {REASONS.get(reason, reason)}{names if samples else ''}")
        return "; ".join(parts)


def is_protobuf(content_type: str) -> bool:
    """True for a binary protobuf body, False for JSON; UnsupportedMediaType (415) otherwise."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind in (PROTOBUF, "application/protobuf"):
        return True
    if kind == JSON:
        return False
    raise UnsupportedMediaType(f"unsupported content type {kind!r}: OTLP/HTTP sends {PROTOBUF} or {JSON}")


# decoding (BadRequest for a body that is not OTLP: 400 in `error_response`) --------------------------
def _timestamp(nanos: Any) -> str | None:
    """An OTLP time (nanoseconds since the epoch, as int or decimal string) in ISO 8601, UTC."""
    try:
        ns = int(nanos)
        if ns <= 0:
            return None
        return (
            datetime.fromtimestamp(ns // 1_000_000_000, UTC)
            .replace(microsecond=ns % 1_000_000_000 // 1000)
            .isoformat(timespec="microseconds")
        )
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _text(value: Any) -> str | None:
    """An attribute value as text (None for none, lists and maps)."""
    if value is None or isinstance(value, list | dict):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def _message(value: Any, key: str) -> str | None:
    """A body as a message: a string, a map's `key` entry, other values as compact JSON."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get(key), str):
        return value[key]
    return orjson.dumps(value).decode() if isinstance(value, list | dict) else _text(value)


def _pb_value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [_pb_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _pb_value(kv.value) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    return getattr(value, kind)


def _pb_attribute(attributes: Iterable[Any], key: str) -> Any:
    for kv in attributes:
        if kv.key == key:
            return _pb_value(kv.value)
    return None


def _parse_protobuf(raw: bytes, attrs: OtlpAttributes) -> LogsBatch:
    request = ExportLogsServiceRequest()
    try:
        request.ParseFromString(raw)
    except (DecodeError, RecursionError) as exc:
        raise BadRequest(f"the body is not a protobuf ExportLogsServiceRequest: {exc}") from None
    if not request.resource_logs and len(UnknownFieldSet(request)):
        raise BadRequest("not an OTLP logs request: no resource_logs, only unknown fields")
    batch = LogsBatch()
    for resource_logs in request.resource_logs:
        system = _text(_pb_attribute(resource_logs.resource.attributes, attrs.system))
        for scope_logs in resource_logs.scope_logs:
            for record in scope_logs.log_records:
                batch.total += 1
                body = _pb_value(record.body) if record.HasField("body") else None
                session = _pb_attribute(record.attributes, attrs.session) if attrs.session else None
                nanos = record.time_unix_nano or record.observed_time_unix_nano
                _place(batch, attrs, system, _message(body, attrs.message_key), session, nanos)
    return batch


def _place(
    batch: LogsBatch,
    attrs: OtlpAttributes,
    system: str | None,
    message: str | None,
    session: Any,
    nanos: Any,
) -> None:
    if not system:
        batch.reject(1, f"without the resource attribute {attrs.system!r}")
    elif message is None or not message.strip():
        batch.reject(1, "without a body")
    elif "\x00" in message:
        batch.reject(1, "with a NUL character in the body (binary data, not a log line)")
    else:
        batch.add(system, (message, _text(session), _timestamp(nanos)))


def _get(obj: dict[str, Any], camel: str, snake: str, kind: type, where: str) -> Any:
    """A field of a JSON message by its JSON name (or proto name); BadRequest when it has the wrong type."""
    value = obj.get(camel)
    if value is None:
        value = obj.get(snake)
    if value is not None and not isinstance(value, kind):
        raise BadRequest(f"not an OTLP logs request: {where}.{camel} must be a JSON {kind.__name__}")
    return value


JSON_VALUES = {
    "stringValue": "string_value",
    "boolValue": "bool_value",
    "intValue": "int_value",
    "doubleValue": "double_value",
    "arrayValue": "array_value",
    "kvlistValue": "kvlist_value",
    "bytesValue": "bytes_value",
}


def _json_value(value: Any, where: str) -> Any:
    """An AnyValue in JSON as a Python value."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BadRequest(f"not an OTLP logs request: {where} must be an AnyValue object")
    for camel, snake in JSON_VALUES.items():
        inner = value.get(camel, value.get(snake))
        if inner is None:
            continue
        if camel not in ("arrayValue", "kvlistValue"):
            return inner
        if not isinstance(inner, dict):
            raise BadRequest(f"not an OTLP logs request: {where}.{camel} must be an object")
        values = _get(inner, "values", "values", list, f"{where}.{camel}") or []
        if camel == "arrayValue":
            return [_json_value(v, f"{where}.arrayValue") for v in values]
        return {
            kv["key"]: _json_value(kv.get("value"), f"{where}.kvlistValue")
            for kv in _key_values(values, where)
        }
    return None


def _key_values(items: list[Any], where: str) -> list[dict[str, Any]]:
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("key"), str):
            raise BadRequest(f"not an OTLP logs request: {where} holds a key-value without a string key")
    return items


def _json_attribute(obj: dict[str, Any], key: str, where: str) -> Any:
    items = _get(obj, "attributes", "attributes", list, where) or []
    for kv in _key_values(items, f"{where}.attributes"):
        if kv["key"] == key:
            return _json_value(kv.get("value"), f"{where}.attributes[{key!r}]")
    return None


def _parse_json(raw: bytes, attrs: OtlpAttributes) -> LogsBatch:
    try:
        data = orjson.loads(raw) if raw.strip() else {}
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"the body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BadRequest("not an OTLP logs request: the body must be a JSON object with resourceLogs")
    resource_logs = _get(data, "resourceLogs", "resource_logs", list, "request")
    if resource_logs is None and data:
        raise BadRequest(f"not an OTLP logs request: no resourceLogs (keys: {', '.join(sorted(data))[:200]})")
    batch = LogsBatch()
    for i, entry in enumerate(resource_logs or []):
        where = f"resourceLogs[{i}]"
        if not isinstance(entry, dict):
            raise BadRequest(f"not an OTLP logs request: {where} must be an object")
        resource = _get(entry, "resource", "resource", dict, where) or {}
        system = _text(_json_attribute(resource, attrs.system, f"{where}.resource"))
        for j, scope in enumerate(_get(entry, "scopeLogs", "scope_logs", list, where) or []):
            at = f"{where}.scopeLogs[{j}]"
            if not isinstance(scope, dict):
                raise BadRequest(f"not an OTLP logs request: {at} must be an object")
            for k, record in enumerate(_get(scope, "logRecords", "log_records", list, at) or []):
                here = f"{at}.logRecords[{k}]"
                if not isinstance(record, dict):
                    raise BadRequest(f"not an OTLP logs request: {here} must be an object")
                batch.total += 1
                body = _json_value(record.get("body"), f"{here}.body")
                nanos = record.get("timeUnixNano", record.get("time_unix_nano")) or record.get(
                    "observedTimeUnixNano", record.get("observed_time_unix_nano")
                )
                session = _json_attribute(record, attrs.session, here) if attrs.session else None
                _place(batch, attrs, system, _message(body, attrs.message_key), session, nanos)
    return batch


def parse_logs(raw: bytes, protobuf: bool, attrs: OtlpAttributes) -> LogsBatch:
    """The records of an ExportLogsServiceRequest body, grouped by system (BadRequest: 400)."""
    try:
        return _parse_protobuf(raw, attrs) if protobuf else _parse_json(raw, attrs)
    except (RecursionError, orjson.JSONEncodeError):  # a walk or a body's JSON text too deep
        raise BadRequest("not an OTLP logs request: values nested too deeply") from None


# scoring ---------------------------------------------------------------------------------------------
ScoreGroup = Callable[[Route, list[Record]], Awaitable[dict[str, Any]]]


async def score_groups(batch: LogsBatch, table: RoutingTable, tenant: str, score: ScoreGroup) -> None:
    """Score every group of `batch` (concurrently), counting accepted and rejected records. Raises
    ModelUnavailable (503: retry) when nothing was scored and every failure was transient."""
    routed: list[tuple[Route, list[Record]]] = []
    for system, records in batch.groups.items():
        try:
            routed.append((table.resolve(tenant, system), records))
        except ServingError as exc:
            batch.reject(len(records), exc.code, system)
    results = await asyncio.gather(
        *(score(route, records) for route, records in routed), return_exceptions=True
    )
    transient = 0
    for (route, records), result in zip(routed, results, strict=True):
        if isinstance(result, ServingError):
            status, code = result.status, result.code
        elif isinstance(result, BaseException):
            raise result
        elif "error" in result:
            status, code = result["error"]["status"], result["error"]["code"]
        else:
            batch.accepted += len(records)
            continue
        batch.reject(len(records), code, route.system)
        transient += status in RETRYABLE
    if routed and batch.accepted == 0 and transient == len(routed):
        raise ModelUnavailable("no detector of this request's systems answered; retry later")


# answers ---------------------------------------------------------------------------------------------
def export_response(protobuf: bool, batch: LogsBatch) -> Response:
    """ExportLogsServiceResponse: `partial_success` only when records were rejected."""
    answer = ExportLogsServiceResponse()
    if batch.rejected:
        answer.partial_success.rejected_log_records = batch.rejected_count
        answer.partial_success.error_message = batch.error_message
    if protobuf:
        return Response(answer.SerializeToString(), media_type=PROTOBUF)
    return Response(orjson.dumps(MessageToDict(answer)), media_type=JSON)


def error_response(protobuf: bool, exc: ServingError) -> Response:
    """A failed request as OTLP's Status (a refused body, 422 elsewhere, is OTLP's 400 Bad Request)."""
    status = 400 if exc.status == 422 else exc.status
    rpc = Status(code=GRPC_CODES.get(status, 2), message=str(exc))
    headers = {"Retry-After": "1"} if status in RETRYABLE else None
    if protobuf:
        return Response(rpc.SerializeToString(), status_code=status, media_type=PROTOBUF, headers=headers)
    body = {"code": rpc.code, "message": rpc.message, "error": {"code": exc.code, "message": rpc.message}}
    return Response(orjson.dumps(body), status_code=status, media_type=JSON, headers=headers)

"""`DetectIngress`: the FastAPI front of the detection service.

- `POST /v1/detect/{system}` (`Authorization: Bearer <key>`): body `{"lines": [str]}`,
  `{"records": [{"message", "session"?, "timestamp"?}]}` or `text/plain` lines (blank lines skipped);
  optional `?version=`, `stream_id` and `flush` (JSON fields or query parameters; see `streams`).
- `GET /v1/detect/-/stats` (same key): this ingress replica's per-model counters for the caller's
  tenant (requests, lines, windows, flagged and suppressed windows, pattern-cache hits and hit rate,
  cache size), hook delivery and anomaly recording. Cluster-wide figures are Ray Serve metrics from
  `ModelPool` (`logsynergy_detect_lines`, `logsynergy_pattern_cache_hits`, `logsynergy_pattern_cache_size`,
  `logsynergy_model_loads`, tag `model`; `logsynergy_detect_windows`, `logsynergy_detect_flagged`,
  `logsynergy_detect_suppressed`, tags `model`, `tenant`, `system`, `version`; Ray's Prometheus export
  adds its `ray_` prefix).
- With `record_anomalies` (the default) the flagged windows of a request are written to the object
  store's anomaly inbox (`recording`) before it is answered; if that fails the answer is 503
  `recording_unavailable` (retry). Windows of a pattern the system's operators judged `not_anomaly`
  (the route's `suppressed`) are answered `anomaly: false, suppressed: true` and not recorded.
- `GET /v1/detect/-/health`: liveness and the routing-table revision in use.
- `POST /v1/logs` (same key): OTLP/HTTP logs, JSON or protobuf, grouped by system (`otlp`).
`POST /v1/detect/{system}` also takes JSON lines (`application/x-ndjson` and kin; `jsonlines`, keys from
`?message_key=` / `?session_key=`), and both routes gzip or deflate bodies (`compression`).
Errors are `{"error": {"code", "message"}}` with the matching HTTP status.
"""

# No `from __future__ import annotations` here: FastAPI must see real annotations through serve.ingress.
import asyncio
import json
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from ray import serve
from ray.serve.handle import DeploymentHandle
from starlette.exceptions import HTTPException as StarletteHTTPException

from logsynergy.store import make_store, store_from_env
from logsynergy_workers.serving import otlp
from logsynergy_workers.serving.args import ServeArgs
from logsynergy_workers.serving.compression import decode_content
from logsynergy_workers.serving.hooks import HookSender
from logsynergy_workers.serving.jsonlines import CONTENT_TYPES as JSON_LINES_TYPES
from logsynergy_workers.serving.jsonlines import JsonLinesKeys, parse_json_lines
from logsynergy_workers.serving.port_reuse import reuse_address
from logsynergy_workers.serving.recording import AnomalyRecorder
from logsynergy_workers.serving.routes import (
    BadRequest,
    ModelUnavailable,
    PayloadTooLarge,
    Route,
    RoutesCache,
    ServingError,
    UnsupportedMediaType,
)

log = logging.getLogger(__name__)
app = FastAPI(title="LogSynergy detection", version="1", docs_url="/v1/detect/-/docs", redoc_url=None)
TOP_LEVEL = frozenset({"lines", "records", "stream_id", "flush"})
CHARSETS = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})  # a body is UTF-8 (ASCII is a subset)


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


@app.exception_handler(ServingError)
async def _serving_error(_request: Request, exc: ServingError) -> JSONResponse:
    return error_response(exc.status, exc.code, str(exc))


@app.exception_handler(RequestValidationError)
async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
    problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
    return error_response(422, BadRequest.code, problems or "invalid request")


@app.exception_handler(StarletteHTTPException)
async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, str(exc.detail))


@dataclass
class Body:
    lines: list[str] | None = None
    records: list[tuple[str, str | None, str | None]] | None = None
    stream_id: str | None = None
    flush: bool | None = None

    @property
    def size(self) -> int:
        return len(self.lines if self.lines is not None else self.records or [])


def _optional_str(value: Any, what: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise BadRequest(f"{what} must be a string")


def parse_json_body(data: Any) -> Body:
    """Validate `{"lines": [...]}` or `{"records": [...]}` (plus optional stream_id / flush)."""
    if not isinstance(data, dict):
        raise BadRequest('the JSON body must be an object: {"lines": [...]} or {"records": [...]}')
    unknown = sorted(set(data) - TOP_LEVEL)
    if unknown:
        names = ", ".join(repr(name[:64]) for name in unknown[:5])
        raise BadRequest(f"unknown field(s) {names}; expected lines or records")
    if ("lines" in data) == ("records" in data):
        raise BadRequest('give exactly one of "lines" (raw log lines) or "records" (objects)')
    body = Body(stream_id=_optional_str(data.get("stream_id"), "stream_id"))
    flush = data.get("flush")
    if flush is not None and not isinstance(flush, bool):
        raise BadRequest("flush must be true or false")
    body.flush = flush
    if "lines" in data:
        lines = data["lines"]
        if not isinstance(lines, list) or not all(isinstance(line, str) for line in lines):
            raise BadRequest('"lines" must be a list of strings')
        _no_nul((f"lines[{i}]", line) for i, line in enumerate(lines))
        body.lines = lines
        return body
    records = data["records"]
    if not isinstance(records, list):
        raise BadRequest('"records" must be a list of objects with a "message"')
    body.records = []
    for i, record in enumerate(records):
        if not isinstance(record, dict) or not isinstance(record.get("message"), str):
            raise BadRequest(f'records[{i}] must be an object with a string "message"')
        session = _optional_str(record.get("session"), f"records[{i}].session")
        ts = _optional_str(record.get("timestamp"), f"records[{i}].timestamp")
        _no_nul(((f"records[{i}].message", record["message"]),))
        body.records.append((record["message"], session, ts))
    return body


def _no_nul(texts: Iterable[tuple[str, str]]) -> None:
    """BadRequest naming the first text holding a NUL character: binary data, not a log line."""
    for where, text in texts:
        if "\x00" in text:
            raise BadRequest(f"{where} holds a NUL character: binary data, not a log line")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object's dict; BadRequest on a repeated key (parsers disagree on which value wins)."""
    data = dict(pairs)
    if len(data) != len(pairs):
        seen: set[str] = set()
        repeated = next(key for key, _ in pairs if key in seen or seen.add(key))
        raise BadRequest(f"the JSON body repeats the key {repeated[:64]!r} in one object")
    return data


def _check_charset(content_type: str) -> None:
    """UnsupportedMediaType when the content type declares a charset other than UTF-8."""
    for param in content_type.split(";")[1:]:
        name, _, value = param.partition("=")
        charset = value.strip().strip('"').lower()
        if name.strip().lower() == "charset" and charset not in CHARSETS:
            raise UnsupportedMediaType(f"unsupported charset {charset[:64]!r}: send UTF-8")


def parse_body(content_type: str, raw: bytes, keys: JsonLinesKeys | None = None) -> Body:
    """A request body by content type: JSON, JSON lines, or text lines (`text/*`; sniffed when no type is
    given)."""
    kind = content_type.split(";", 1)[0].strip().lower()
    _check_charset(content_type)
    if kind in JSON_LINES_TYPES:
        return Body(records=parse_json_lines(raw, keys or JsonLinesKeys()))
    if not kind:
        kind = "application/json" if raw.lstrip()[:1] == b"{" else "text/plain"
    if kind == "application/json" or kind.endswith("+json"):
        try:
            return parse_json_body(json.loads(raw, object_pairs_hook=_unique_keys))
        except (ValueError, RecursionError) as exc:
            raise BadRequest(f"the body is not valid JSON: {exc}") from None
    if kind.startswith("text/"):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadRequest(f"the body is not UTF-8 text: {exc}") from None
        if "\x00" in text:
            raise BadRequest("the body holds NUL bytes: binary data, not log text")
        return Body(lines=[line for line in text.splitlines() if line.strip()])
    raise UnsupportedMediaType(f"unsupported content type {kind[:64]!r}: send application/json or text/plain")


def bearer_key(request: Request) -> str | None:
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    return key.strip() or None if scheme.lower() == "bearer" else None


@serve.deployment(max_ongoing_requests=256)
@serve.ingress(app)
class DetectIngress:
    """Authenticates, resolves the model version, forwards to `ModelPool`, fires alert hooks."""

    def __init__(self, pool: DeploymentHandle, args: ServeArgs) -> None:
        reuse_address()  # before Serve binds this replica's direct-ingress port (see port_reuse)
        self._pool = pool
        store = make_store(store_from_env())
        self._routes = RoutesCache(store, ttl_s=args.routes_ttl_s)
        self._recorder = AnomalyRecorder(store) if args.record_anomalies else None
        self._hooks = HookSender(
            timeout_s=args.hook_timeout_s, retries=args.hook_retries, dedup_s=args.hook_dedup_s
        )
        self._max_bytes, self._max_lines = args.max_body_bytes, args.max_lines
        self._json_keys = JsonLinesKeys(args.message_key, args.session_key)
        self._otlp = otlp.OtlpAttributes(
            args.otlp_system_attribute, args.otlp_session_attribute, args.message_key
        )
        self._stats: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))

    async def _read(self, request: Request) -> bytes:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self._max_bytes:
            raise PayloadTooLarge(f"the body is larger than the limit of {self._max_bytes} bytes")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self._max_bytes:
                raise PayloadTooLarge(f"the body is larger than the limit of {self._max_bytes} bytes")
            chunks.append(chunk)
        return decode_content(b"".join(chunks), request.headers.get("content-encoding", ""), self._max_bytes)

    @app.post("/v1/detect/{system}")
    async def detect(
        self,
        system: str,
        request: Request,
        version: str | None = None,
        stream_id: str | None = None,
        flush: bool = False,
    ) -> JSONResponse:
        table = await self._routes.aget()
        tenant = table.tenant_for(bearer_key(request))
        route = table.resolve(tenant, system, version or None)
        keys = self._json_keys.override(
            request.query_params.get("message_key"), request.query_params.get("session_key")
        )
        body = parse_body(request.headers.get("content-type", ""), await self._read(request), keys)
        if body.size > self._max_lines:
            raise PayloadTooLarge(f"{body.size} lines in one request; the limit is {self._max_lines}")
        stream = body.stream_id if body.stream_id is not None else stream_id
        if stream is not None and not 0 < len(stream) <= 256:
            raise BadRequest("stream_id must be 1 to 256 characters")
        if body.size == 0 and not (stream and (body.flush or flush)):
            raise BadRequest("the request holds no log lines")
        result = await self._score(
            tenant, route, body, stream, body.flush if body.flush is not None else flush
        )
        if "error" in result:
            error = result["error"]
            return error_response(error["status"], error["code"], error["message"])
        return Response(result["body"], media_type="application/json")

    async def _score(
        self, tenant: str, route: Route, body: Body, stream: str | None, flush: bool
    ) -> dict[str, Any]:
        """One batch of `route`'s system scored by `ModelPool`, counted, its anomalies recorded (before the
        answer: RecordingUnavailable if they cannot be) and sent to the hooks: the pool's answer (with
        "error" when it refused). The core of /v1/detect and /v1/logs."""
        system = route.system
        payload = {
            "tenant": tenant,
            "system": system,
            "reports": bool(route.hooks),  # the anomaly reports come back as objects only for the hooks
            "record": self._recorder is not None,  # … and as the JSON of the windows to record
            "suppressed": route.suppressed or None,
            "artifact_prefix": route.artifact_prefix,
            "version": route.version,
            "lines": body.lines,
            "records": body.records,
            "stream": stream,
            "stream_id": stream,
            "flush": flush,
        }
        try:
            handle = self._pool.options(multiplexed_model_id=route.model_id)
            result: dict[str, Any] = await handle.detect.remote(payload)
        except Exception as exc:
            log.exception("model pool call failed for %s", route.model_id)
            raise ModelUnavailable(f"the detector of {system!r} did not answer; retry later") from exc
        if "error" in result:
            return result
        self._count(route.model_id, result["stats"])
        recorded = result.get("recorded")
        if recorded is not None and self._recorder is not None:
            flagged = int(result["stats"].get("flagged", 0))
            await asyncio.to_thread(
                self._recorder.write, tenant, system, route.version, stream, recorded, flagged
            )
        if result["anomalies"] and route.hooks:
            reports = result["anomalies"]
            self._hooks.submit(route.hooks, tenant, system, route.version, reports, route.hook_formats)
        return result

    @app.post("/v1/logs")
    async def otlp_logs(self, request: Request, stream_id: str | None = None) -> Response:
        """OTLP/HTTP logs (`otlp`): each system's records scored as one /v1/detect request; the answer is an
        ExportLogsServiceResponse (`partial_success` counts rejected records), errors OTLP's Status."""
        protobuf = otlp.is_protobuf(request.headers.get("content-type", ""))
        try:
            table = await self._routes.aget()
            tenant = table.tenant_for(bearer_key(request))
            attrs = self._otlp.for_request(request.headers, request.query_params)
            batch = otlp.parse_logs(await self._read(request), protobuf, attrs)
            if batch.total > self._max_lines:
                raise PayloadTooLarge(
                    f"{batch.total} log records in one request; the limit is {self._max_lines}"
                )
            if stream_id is not None and not 0 < len(stream_id) <= 256:
                raise BadRequest("stream_id must be 1 to 256 characters")

            async def score(route: Route, records: list[otlp.Record]) -> dict[str, Any]:
                return await self._score(tenant, route, Body(records=records), stream_id, False)

            await otlp.score_groups(batch, table, tenant, score)
        except ServingError as exc:
            return otlp.error_response(protobuf, exc)
        return otlp.export_response(protobuf, batch)

    def _count(self, model: str, stats: dict[str, Any]) -> None:
        entry = self._stats[model]
        entry["requests"] += 1
        for name in ("lines", "windows", "flagged", "suppressed", "cache_hits", "model_windows"):
            entry[name] += int(stats.get(name, 0))
        entry["cache_size"] = int(stats.get("cache_size", 0))

    @app.get("/v1/detect/-/stats")
    async def stats(self, request: Request) -> JSONResponse:
        table = await self._routes.aget()
        tenant = table.tenant_for(bearer_key(request))
        models = {}
        for model, entry in self._stats.items():
            if model.startswith(f"{tenant}/"):
                hit_rate = entry["cache_hits"] / entry["windows"] if entry["windows"] else 0.0
                models[model] = {**entry, "hit_rate": round(hit_rate, 4)}
        hooks = {**self._hooks.stats, "pending": self._hooks.pending}
        recorder = self._recorder
        recording = {"enabled": recorder is not None, **(recorder.stats if recorder else {})}
        return JSONResponse({"tenant": tenant, "models": models, "hooks": hooks, "recording": recording})

    @app.get("/v1/detect/-/health")
    async def health(self) -> JSONResponse:
        table = await self._routes.aget()
        return JSONResponse({"status": "ok", "routes_revision": table.revision})

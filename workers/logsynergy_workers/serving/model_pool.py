"""`ModelPool`: the deployment holding detectors, multiplexed on model id `"{tenant}/{system}:{version}"`.

Each replica keeps up to `max_models` detectors (LRU, via `serve.multiplexed`); a detector is loaded by
downloading its artifact directory from the object store into a scratch directory and `Detector.load`.
Concurrent requests for one model are grouped by `serve.batch` (Serve splits batches by model id) and
scored in one hop to a single scoring thread (detectors are not thread-safe), so the event loop keeps
accepting and batching requests while a batch is scored, and a model load (one at a time, in its own
thread) overlaps the scoring of loaded models. The network forward is batched over all uncached windows
of a request (not across requests); each detector keeps its pattern cache across requests. Every answer
carries cache statistics, also exported as Ray Serve metrics (`logsynergy_*`, tagged by model id, and the
window counts also by tenant, system and version).

Each flagged window gets its incident `pattern` (`pattern_id` of its templates); one whose pattern the
request's `suppressed` set holds (judged `not_anomaly` by the system's operators) is answered
`anomaly: false, suppressed: true`, its report dropped, and counted under "suppressed".
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson
from ray import serve
from ray.serve.metrics import Counter, Gauge

from logsynergy.detector import Detection, Detector
from logsynergy.embedding import SentenceEmbedder
from logsynergy.errors import ArtifactError, InputError, LogSynergyError, ObjectNotFound, StoreError
from logsynergy.loaders.lines import clip, records_from_lines
from logsynergy.records import LogRecord
from logsynergy.store import make_store, store_from_env
from logsynergy_contracts import pattern_id
from logsynergy_workers.serving.args import ServeArgs
from logsynergy_workers.serving.recording import recorded_windows
from logsynergy_workers.serving.routes import BadRequest, ModelUnavailable, ServingError
from logsynergy_workers.serving.streams import StreamTable, score_stream

CACHE_ENV = "LOGSYNERGY_SERVE_CACHE"
SYSTEM_TAGS = ("tenant", "system", "version")  # of the per-system window counters
PATTERN_CACHE_LIMIT = 200_000  # judged patterns kept per detector before its caches are reset
log = logging.getLogger(__name__)


def error_payload(exc: LogSynergyError) -> dict[str, Any]:
    status, code = (exc.status, exc.code) if isinstance(exc, ServingError) else (422, BadRequest.code)
    return {"error": {"status": status, "code": code, "message": str(exc)}}


def build_records(request: dict[str, Any], fmt: str, max_chars: int) -> list[LogRecord]:
    """Records of a request: raw lines in the system's format, or (message, session, timestamp) tuples;
    each text cut to `max_chars` characters."""
    if request.get("records") is not None:
        return [
            clip(LogRecord(i, message, message, session=session, timestamp=ts), max_chars)
            for i, (message, session, ts) in enumerate(request["records"], 1)
        ]
    return records_from_lines(fmt, request.get("lines") or [], 1, max_chars)


def answer(
    detector: Detector,
    system: str,
    version: str,
    detection: Detection,
    suppressed: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """The response body of one request (`system`: the name the tenant registered, as an artifact may be
    shared), with its statistics under "stats". Flagged windows and their reports carry their `pattern`;
    those of a `suppressed` pattern are answered as not anomalous, marked, and lose their report."""
    reports = iter(detection.reports)  # one per flagged window, in the same order
    windows, kept = [], []
    for w in detection.windows:
        entry = {
            "first_line": w.first_line,
            "last_line": w.last_line,
            "score": round(w.score, 6),
            "anomaly": w.anomaly,
            "suppressed": False,
            "new_templates": w.new_templates,
            "session": w.session,
        }
        if w.anomaly:
            report = next(reports)
            if (report["first_line"], report["last_line"]) != (w.first_line, w.last_line):
                raise RuntimeError("the anomaly reports are out of step with the flagged windows")
            entry["pattern"] = report["pattern"] = pattern_id(e["template_id"] for e in report["events"])
            report["system"] = system
            if entry["pattern"] in suppressed:
                entry["anomaly"], entry["suppressed"] = False, True
            else:
                kept.append(report)
        windows.append(entry)
    return {
        "system": system,
        "model_version": version,
        "windows": windows,
        "anomalies": kept,
        "stats": {
            "lines": detection.lines,
            "windows": len(detection.windows),
            "flagged": len(kept),
            "suppressed": len(detection.reports) - len(kept),
            "cache_hits": detection.cache_hits,
            "model_windows": detection.model_windows,
            "cache_size": detector.cache_size,
        },
    }


def rendered(result: dict[str, Any], keep_reports: bool, record: bool = False) -> dict[str, Any]:
    """What the pool sends back: the body already as JSON bytes (the ingress forwards it untouched, so
    neither side pickles the windows), the stats, the anomaly reports as objects only when alert hooks
    need them, and with `record` the windows to record as JSON (`recorded_windows`: None when none was
    flagged). The reports are rendered once, for the body and the record alike."""
    stats = result.pop("stats")
    reports = result.pop("anomalies")
    anomalies = orjson.dumps(reports)
    body = orjson.dumps(result)[:-1] + b',"anomalies":' + anomalies + b"}"
    result["anomalies"] = reports
    return {
        "body": body,
        "stats": stats,
        "anomalies": reports if keep_reports else [],
        "recorded": recorded_windows(reports, anomalies) if record and reports else None,
    }


@serve.deployment(max_ongoing_requests=64)
class ModelPool:
    """Detectors of many systems, loaded on demand and evicted least-recently-used."""

    def __init__(self, args: ServeArgs) -> None:
        import torch

        torch.set_num_threads(max(1, args.torch_threads))
        self._store = make_store(store_from_env())
        self._cache_root = Path(os.environ.get(CACHE_ENV) or tempfile.gettempdir()) / "logsynergy-models"
        self._precision = args.score_precision
        self._max_line_chars = args.max_line_chars
        self._prefixes: dict[str, str] = {}
        self._embedders: dict[str, SentenceEmbedder] = {}
        self._streams = StreamTable(ttl_s=args.stream_ttl_s)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="score")
        self._score_group.set_max_batch_size(args.max_batch_size)
        self._score_group.set_batch_wait_timeout_s(args.batch_wait_timeout_s)

        async def load_model(model_id: str) -> Detector:
            return await self._load(model_id)

        self._model = serve.multiplexed(max_num_models_per_replica=args.max_models_per_replica)(load_model)
        tags = ("model",)
        self._m_lines = Counter("logsynergy_detect_lines", "lines scored", tag_keys=tags)
        self._m_hits = Counter("logsynergy_pattern_cache_hits", "windows judged from cache", tag_keys=tags)
        self._m_cache = Gauge("logsynergy_pattern_cache_size", "patterns in a model's cache", tag_keys=tags)
        self._m_loads = Counter("logsynergy_model_loads", "detector loads", tag_keys=tags)
        per_system = (*tags, *SYSTEM_TAGS)
        self._m_windows = Counter("logsynergy_detect_windows", "windows scored", tag_keys=per_system)
        self._m_flagged = Counter(
            "logsynergy_detect_flagged", "windows answered as anomalous", tag_keys=per_system
        )
        self._m_suppressed = Counter(
            "logsynergy_detect_suppressed", "flagged windows of a suppressed pattern", tag_keys=per_system
        )

    # loading ---------------------------------------------------------------------------------------
    async def _load(self, model_id: str) -> Detector:
        prefix = self._prefixes.get(model_id)
        if prefix is None:
            raise ModelUnavailable(f"no artifact location known for model {model_id!r}")
        detector = await asyncio.to_thread(self._load_sync, model_id, prefix)
        self._m_loads.inc(tags={"model": model_id})
        return detector

    def _load_sync(self, model_id: str, prefix: str) -> Detector:
        self._cache_root.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix="model-", dir=self._cache_root))
        try:
            self._store.download_dir(prefix, scratch)
            detector = Detector.load(scratch)
            detector.set_precision(self._precision)
        except ObjectNotFound as exc:
            raise ModelUnavailable(f"model {model_id!r}: no artifact under {prefix!r} in the store") from exc
        except (ArtifactError, StoreError, InputError) as exc:
            raise ModelUnavailable(f"model {model_id!r} cannot be loaded: {exc}") from exc
        except Exception as exc:  # e.g. corrupt weights: torch's own errors
            log.exception("loading model %s from %s failed", model_id, prefix)
            raise ModelUnavailable(f"model {model_id!r} cannot be loaded: {type(exc).__name__}") from exc
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        name = detector.settings.embedding_model
        if name not in self._embedders:  # one sentence encoder per replica, shared by its detectors
            self._embedders[name] = detector.embedder
        detector.embedder = self._embedders[name]
        return detector

    # scoring ---------------------------------------------------------------------------------------
    async def detect(self, request: dict[str, Any]) -> dict[str, Any]:
        """Score one request for the model named by the handle's `multiplexed_model_id`."""
        self._prefixes[serve.get_multiplexed_model_id()] = request["artifact_prefix"]
        return await self._score_group(request)

    @serve.batch(max_batch_size=16, batch_wait_timeout_s=0.002, max_concurrent_batches=4)
    async def _score_group(self, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
        model_id = serve.get_multiplexed_model_id()
        try:
            detector = await self._model(model_id)
        except LogSynergyError as exc:
            return [error_payload(exc)] * len(requests)
        loop = asyncio.get_running_loop()
        results = await loop.run_in_executor(self._executor, self._score_all, detector, model_id, requests)
        self._record(model_id, requests[0], [result["stats"] for result in results if "stats" in result])
        return results

    def _record(self, model_id: str, request: dict[str, Any], stats: list[dict[str, Any]]) -> None:
        """Metrics of one batch's answers (all of one model: `request` is any of them), summed (one
        update per metric and batch)."""
        if not stats:
            return
        tags = {"model": model_id}
        system_tags = {
            **tags,
            "tenant": str(request.get("tenant") or model_id.split("/", 1)[0]),
            "system": str(request.get("system") or ""),
            "version": str(request.get("version") or ""),
        }
        counters = (
            (self._m_lines, "lines", tags),
            (self._m_hits, "cache_hits", tags),
            (self._m_windows, "windows", system_tags),
            (self._m_flagged, "flagged", system_tags),
            (self._m_suppressed, "suppressed", system_tags),
        )
        for counter, name, counter_tags in counters:
            total = sum(s[name] for s in stats)
            if total > 0:  # Ray counters refuse increments of 0
                counter.inc(total, tags=counter_tags)
        self._m_cache.set(stats[-1]["cache_size"], tags=tags)

    def _score_all(
        self, detector: Detector, model_id: str, requests: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        return [self._score_one(detector, model_id, r) for r in requests]

    def _score_one(self, detector: Detector, model_id: str, request: dict[str, Any]) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            records = build_records(request, detector.settings.format, self._max_line_chars)
            stream = request.get("stream")
            if stream:
                detection, kept = score_stream(
                    detector, self._streams, f"{model_id}#{stream}", records, bool(request.get("flush"))
                )
            else:
                if not records:
                    raise BadRequest("the request holds no log lines")
                detection = detector.score_records(records)
            system = request.get("system") or detector.settings.system
            suppressed = frozenset(request.get("suppressed") or ())
            result = answer(detector, system, request["version"], detection, suppressed)
            if stream:
                result["stream"] = {"id": request.get("stream_id"), "pending_lines": kept}
            if detector.cache_size > PATTERN_CACHE_LIMIT:  # the core's caches are unbounded: reset them
                detector.clear_caches()
            result["stats"]["score_ms"] = round((time.perf_counter() - started) * 1000, 3)
            return rendered(result, bool(request.get("reports")), bool(request.get("record")))
        except LogSynergyError as exc:
            return error_payload(exc)
        except Exception:  # a bug, not the client's fault: log it, answer 500 without a stack trace
            log.exception("scoring failed for model %s", model_id)
            return {"error": {"status": 500, "code": "internal", "message": "internal error while scoring"}}

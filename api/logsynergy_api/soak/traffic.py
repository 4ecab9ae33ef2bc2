"""The soak's traffic: concurrent loops over the REST API and the detection endpoint (asyncio, httpx).

Each loop records every request in the `Recorder`. What the driver did is kept beside (`SystemState`,
`UploadRecord`, `JobRecord`, activations) for the final checks of `soak.checks`."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import hashlib
import json
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from logsynergy.synthetic import DIALECTS, generate_system
from logsynergy_api.soak.recorder import OK, PROVOKED, UNEXPECTED, Recorder

FINAL = ("succeeded", "failed", "cancelled")
SOURCES = (("src-storage", "storage"), ("src-compute", "compute"))
UNTRAINED = "untrained"  # a system that never gets a dataset: the target of refusals
# tiny training, so that jobs take seconds of training (their Ray start-up dominates)
JOB_OPTIONS = {
    "epochs": 1,
    "source_windows": 300,
    "overrides": {"hidden": 32, "ffn": 64, "layers": 1, "min_steps": 20},
}
TARGET_LABELLED = 200
ROUTES_GRACE_S = 3.0  # the endpoint re-reads the routing table after 1 s; answers later must agree
PROBE_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class SoakConfig:
    minutes: float = 10.0
    systems: int = 50
    seed_systems: int = 40  # so that most of the traffic goes to `systems` systems with a model
    clients: int = 16
    detect_rps: float = 20.0
    min_lines: int = 20
    max_lines: int = 300
    stream_fraction: float = 0.15
    pinned_fraction: float = 0.1
    jobs_in_flight: int = 3
    retrain_every: int = 4
    cancel_fraction: float = 0.15
    activation_every_s: float = 8.0
    upload_every_s: float = 10.0
    read_every_s: float = 0.5
    provoke_every_s: float = 3.0
    upload_lines: tuple[int, int] = (500, 2000)
    drain_timeout_s: float = 900.0
    seed: int = 0


@dataclass
class SystemState:
    """What the driver knows of one system: its versions (with when each became known), the active one
    (`expected`) and what may legitimately be served instead while a change takes effect."""

    name: str
    dialect: str
    versions: list[int] = field(default_factory=list)
    known_at: dict[int, float] = field(default_factory=dict)
    expected: str | None = None
    previous: str | None = None
    changed_at: float = float("-inf")
    activating: str | None = None  # an activation request in flight
    pending_job: bool = False  # a job in flight whose success activates a newer version
    busy: bool = False
    uploads: list[str] = field(default_factory=list)

    @property
    def served(self) -> bool:
        return self.expected is not None

    def add_version(self, version: int) -> None:
        self.versions.append(version)
        self.known_at[version] = time.monotonic()

    def set_expected(self, version: str) -> None:
        self.previous, self.expected = self.expected, version
        self.changed_at = time.monotonic()

    def settling(self) -> bool:
        """Its first version became active within ROUTES_GRACE_S: the endpoint may still answer 409
        (no active version) from the routing table it read before."""
        return self.previous is None and time.monotonic() - self.changed_at < ROUTES_GRACE_S

    def pinnable(self) -> list[int]:
        """Versions known long enough for the endpoint's routing table to hold them."""
        now = time.monotonic()
        return [v for v in self.versions if now - self.known_at[v] >= ROUTES_GRACE_S]

    def allowed(self) -> tuple[set[str], int | None]:
        """Versions an answer may carry now, and (with a job in flight) the highest known version, above
        which any version is also right (the job's, activated before the driver saw it)."""
        allowed = {self.expected} if self.expected else set()
        if self.previous and time.monotonic() - self.changed_at < ROUTES_GRACE_S:
            allowed.add(self.previous)
        if self.activating:
            allowed.add(self.activating)
        newer_than = max(self.versions, default=0) if self.pending_job else None
        return {v for v in allowed if v}, newer_than


@dataclass
class UploadRecord:
    dataset_id: str
    system: str
    sha256: str
    size: int
    lines: int
    gzipped: bool


@dataclass
class JobRecord:
    id: str
    system: str
    purpose: str  # onboard | retrain | seed
    uploads_before: list[str]
    statuses: list[str] = field(default_factory=list)
    final: str | None = None
    model_version: int | None = None
    attempts: int = 0
    cancel_requested: bool = False
    submitted_s: float = 0.0
    final_s: float | None = None
    error: str | None = None


@dataclass
class Activation:
    system: str
    version: str
    reason: str  # activate | rollback | job
    reflected: bool = False
    delay_s: float | None = None


Check = Callable[[httpx.Response], str | None]
# a window answered as anomalous: (system, model version, stream id, first line, last line, pattern)
Flagged = tuple[str, str, str | None, int, int, str]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Soak:
    """The driver's state and its loops (one event loop)."""

    def __init__(self, config: SoakConfig, api_url: str, detect_url: str, key: str, recorder: Recorder):
        self.cfg = config
        self.recorder = recorder
        headers = {"Authorization": f"Bearer {key}"}
        self.api = httpx.AsyncClient(base_url=api_url, headers=headers, timeout=300)
        limits = httpx.Limits(
            max_connections=config.clients + 8, max_keepalive_connections=config.clients + 8
        )
        self.detect = httpx.AsyncClient(base_url=detect_url, headers=headers, timeout=120, limits=limits)
        self.rng = random.Random(config.seed)
        self.systems: dict[str, SystemState] = {}
        self.uploads: dict[str, UploadRecord] = {}
        self.jobs: dict[str, JobRecord] = {}
        self.in_flight: set[str] = set()
        self.activations: list[Activation] = []
        self.detection = Counter[str]()
        self.flagged = Counter[Flagged]()  # every window any detection answer flagged (for the history)
        self.stopping = asyncio.Event()
        self.pools: dict[str, list[str]] = {}
        self.next_system = 0
        self.job_count = 0
        self.upload_count = 0
        self.tasks: set[asyncio.Task[Any]] = set()
        self.versions_seen: set[tuple[str, str]] = set()
        self.first_answer_ms: list[float] = []  # first answer of each (system, version): a model load
        self.events: list[tuple[float, str]] = []

    def event(self, what: str) -> None:
        self.events.append(
            (round(time.monotonic() - self.recorder.started, 1), f"{self.recorder.phase}: {what}")
        )

    async def close(self) -> None:
        await self.api.aclose()
        await self.detect.aclose()

    def spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    # -- one request --------------------------------------------------------------------------------
    async def call(
        self,
        kind: str,
        client: httpx.AsyncClient,
        method: str,
        url: str,
        *,
        expect: tuple[int, ...] = (200,),
        provoked: int | None = None,
        check: Check | None = None,
        **kwargs: Any,
    ) -> httpx.Response | None:
        """One request, recorded: `provoked` is the refusal asked for; `check` inspects a good answer
        (returning a problem or None)."""
        started = time.perf_counter()
        try:
            response = await client.request(method, url, **kwargs)
        except httpx.HTTPError as error:
            ms = (time.perf_counter() - started) * 1000
            self.recorder.record(kind, ms, 0, UNEXPECTED, f"{method} {url}: {type(error).__name__} {error}")
            return None
        ms = (time.perf_counter() - started) * 1000
        status = response.status_code
        if client is self.detect and method == "POST" and status == 200 and provoked is None:
            self.note_flagged(response, kwargs)
        if provoked is not None:
            outcome = PROVOKED if status == provoked else UNEXPECTED
            detail = f"{method} {url}: expected {provoked}, got {status} {response.text[:200]}"
        elif status in expect:
            problem = check(response) if check is not None else None
            outcome, detail = (UNEXPECTED, f"{method} {url}: {problem}") if problem else (OK, "")
        else:
            outcome, detail = UNEXPECTED, f"{method} {url}: HTTP {status} {response.text[:200]}"
        self.recorder.record(kind, ms, status, outcome, detail)
        return response if outcome == OK else None

    def note_flagged(self, response: httpx.Response, kwargs: dict[str, Any]) -> None:
        """Keep the windows a detection answer flagged: each must reach the anomaly history."""
        sent = kwargs.get("json")
        stream = sent.get("stream_id") if isinstance(sent, dict) else None
        try:
            body = response.json()
            system, version = str(body["system"]), str(body["model_version"])
            keys: list[Flagged] = [
                (system, version, stream, int(w["first_line"]), int(w["last_line"]), str(w["pattern"]))
                for w in body["windows"]
                if w.get("anomaly")
            ]
        except (ValueError, KeyError, TypeError):
            return  # a malformed answer: its own check reports it
        self.flagged.update(keys)
        self.detection["flagged_windows"] += len(keys)

    # -- data ---------------------------------------------------------------------------------------
    def prepare_pools(self, lines: int = 20000) -> None:
        """Raw detection lines per dialect (JSON lines, the format systems are trained on)."""
        for k, dialect in enumerate(DIALECTS):
            records = generate_system(dialect, lines, seed=500 + k)
            self.pools[dialect] = [json.dumps(r) for r in records]

    def lines_for(self, dialect: str, n: int, rng: random.Random) -> list[str]:
        pool = self.pools[dialect]
        start = rng.randrange(len(pool))
        return [pool[(start + i) % len(pool)] for i in range(n)]

    def log_bytes(self, dialect: str, n: int) -> bytes:
        self.upload_count += 1
        records = generate_system(dialect, n, seed=10_000 + self.upload_count)
        return "".join(json.dumps(r) + "\n" for r in records).encode()

    # -- onboarding and jobs --------------------------------------------------------------------------
    async def create_system(self, name: str, dialect: str, role: str = "target") -> SystemState | None:
        body = {"name": name, "format": "jsonl", "role": role, "description": DIALECTS[dialect].description}
        if await self.call("create_system", self.api, "POST", "/v1/systems", json=body, expect=(201,)):
            self.systems[name] = state = SystemState(name, dialect)
            return state
        return None

    async def upload(self, state: SystemState, lines: int, gzipped: bool = False) -> bool:
        data = await asyncio.to_thread(self.log_bytes, state.dialect, lines)
        sent = await asyncio.to_thread(gzip.compress, data) if gzipped else data
        filename = f"{state.name}-{self.upload_count}.jsonl" + (".gz" if gzipped else "")

        def check(response: httpx.Response) -> str | None:
            row = response.json()
            if row.get("sha256") != sha256(sent) or row.get("size_bytes") != len(sent):
                return f"upload stored as {row.get('sha256')}/{row.get('size_bytes')} bytes, sent {len(sent)}"
            if row.get("lines") != lines:
                return f"upload of {lines} lines counted {row.get('lines')}"
            return None

        response = await self.call(
            "upload",
            self.api,
            "POST",
            f"/v1/systems/{state.name}/datasets",
            files={"file": (filename, sent)},
            expect=(201,),
            check=check,
        )
        if response is None:
            return False
        dataset_id = response.json()["id"]
        self.uploads[dataset_id] = UploadRecord(
            dataset_id, state.name, sha256(sent), len(sent), lines, gzipped
        )
        state.uploads.append(dataset_id)
        return True

    async def submit_job(self, state: SystemState, purpose: str) -> JobRecord | None:
        self.job_count += 1
        body = {
            "target": state.name,
            "target_labelled": TARGET_LABELLED,
            "seed": self.job_count,
            "options": JOB_OPTIONS,
        }
        response = await self.call("create_job", self.api, "POST", "/v1/jobs", json=body, expect=(202,))
        if response is None:
            return None
        job = JobRecord(response.json()["id"], state.name, purpose, list(state.uploads))
        job.submitted_s = time.monotonic()
        self.jobs[job.id] = job
        self.event(f"job {job.id} ({purpose}) of {state.name} submitted")
        self.in_flight.add(job.id)
        return job

    async def onboard(self, name: str, dialect: str, purpose: str = "onboard") -> None:
        state = await self.create_system(name, dialect)
        if state is None:
            return
        if await self.upload(state, self.rng.randint(*self.cfg.upload_lines)):
            state.busy = True
            if await self.submit_job(state, purpose) is None:
                state.busy = False

    def next_name(self) -> tuple[str, str] | None:
        if self.next_system >= self.cfg.systems:
            return None
        i = self.next_system
        self.next_system += 1
        return f"sys-{i:02d}", list(DIALECTS)[i % len(DIALECTS)]

    def idle_served(self) -> list[SystemState]:
        return [s for s in self.systems.values() if s.served and not s.busy]

    async def retrain(self, state: SystemState) -> None:
        state.busy = state.pending_job = True  # its success activates a version at a moment unknown here
        ok = await self.upload(
            state, self.rng.randint(*self.cfg.upload_lines), gzipped=self.rng.random() < 0.3
        )
        job = await self.submit_job(state, "retrain") if ok else None
        if job is None:
            state.busy = state.pending_job = False
            return
        if self.rng.random() < self.cfg.cancel_fraction:
            self.spawn(self.cancel_later(job, self.rng.uniform(0, 30)))

    async def cancel_later(self, job: JobRecord, delay: float) -> None:
        await asyncio.sleep(delay)
        if job.final is not None:
            return
        job.cancel_requested = True
        # 409: it finished meanwhile (a race the driver cannot avoid), also a correct answer
        await self.call("cancel_job", self.api, "POST", f"/v1/jobs/{job.id}/cancel", expect=(200, 409))

    async def job_loop(self) -> None:
        turn = 0
        while not self.stopping.is_set():
            if len(self.in_flight) >= self.cfg.jobs_in_flight:
                await self.sleep(1.0)
                continue
            turn += 1
            due = turn % self.cfg.retrain_every == 0 or self.next_system >= self.cfg.systems
            idle = self.idle_served()
            if due and idle:
                await self.retrain(self.rng.choice(idle))
            elif (name := self.next_name()) is not None:
                await self.onboard(*name)
            else:
                await self.sleep(1.0)

    async def follow_jobs(self, until_empty: bool = False, poll_s: float = 2.0) -> None:
        """Poll every job in flight until it is final (for ever, or until none is left)."""
        while True:
            for job_id in sorted(self.in_flight):
                response = await self.call("job_status", self.api, "GET", f"/v1/jobs/{job_id}")
                if response is not None:
                    await self.job_seen(self.jobs[job_id], response.json())
            if until_empty and not self.in_flight:
                return
            await asyncio.sleep(poll_s)

    async def job_seen(self, job: JobRecord, row: dict[str, Any]) -> None:
        status = row["status"]
        if not job.statuses or job.statuses[-1] != status:
            job.statuses.append(status)
        job.attempts = row.get("attempts", 0)
        if status not in FINAL:
            return
        self.in_flight.discard(job.id)
        job.final, job.final_s, job.error = status, time.monotonic(), row.get("error")
        job.model_version = row.get("model_version")
        self.event(f"job {job.id} of {job.system} {status} (version {job.model_version})")
        state = self.systems[job.system]
        state.pending_job = False
        if status == "succeeded" and job.model_version is not None:
            state.add_version(int(job.model_version))
            state.set_expected(str(job.model_version))
            self.spawn(self.probe_then_free(state, str(job.model_version), "job"))
            return
        state.busy = False
        if status == "failed" or (status == "cancelled" and not job.cancel_requested):
            self.recorder.unexpected("job_final", f"job {job.id} of {job.system} {status}: {job.error}")

    # -- activations --------------------------------------------------------------------------------
    async def probe(self, state: SystemState, version: str, reason: str) -> Activation:
        """Detection requests to the system until one answers with `version` (PROBE_TIMEOUT_S at most)."""
        activation = Activation(state.name, version, reason)
        self.activations.append(activation)
        started = time.monotonic()
        lines = self.lines_for(state.dialect, 20, self.rng)
        # a system's first version: until the endpoint has it, 409 (no active version) is "not yet"
        expect = (200, 409) if state.previous is None else (200,)
        while time.monotonic() - started < PROBE_TIMEOUT_S:
            response = await self.call(
                "detect_probe",
                self.detect,
                "POST",
                f"/v1/detect/{state.name}",
                json={"lines": lines},
                expect=expect,
            )
            if response is not None and response.json().get("model_version") == version:
                activation.reflected, activation.delay_s = True, round(time.monotonic() - started, 2)
                return activation
            await asyncio.sleep(0.25)
        self.recorder.unexpected("activation_reflected", f"{state.name} v{version} ({reason}) not served")
        return activation

    async def probe_then_free(self, state: SystemState, version: str, reason: str) -> None:
        await self.probe(state, version, reason)
        state.busy = False

    async def activate(self, state: SystemState, version: int) -> None:
        kind = "rollback" if version < max(state.versions) else "activate"
        state.activating = str(version)
        response = await self.call(
            kind, self.api, "POST", f"/v1/systems/{state.name}/models/{version}/activate"
        )
        state.activating = None
        if response is None:
            return
        state.set_expected(str(version))
        self.event(f"{kind}: {state.name} version {version}")
        await self.probe(state, str(version), kind)

    async def activation_loop(self) -> None:
        while not self.stopping.is_set():
            await self.sleep(self.cfg.activation_every_s * self.rng.uniform(0.5, 1.5))
            candidates = [s for s in self.idle_served() if len(s.versions) >= 2]
            if not candidates or self.stopping.is_set():
                continue
            state = self.rng.choice(candidates)
            state.busy = True
            try:
                older = [v for v in state.versions if str(v) != state.expected]
                await self.activate(state, self.rng.choice(older))
                await asyncio.sleep(self.rng.uniform(2, 6))
                await self.activate(state, max(state.versions))
            finally:
                state.busy = False

    # -- detection ----------------------------------------------------------------------------------
    def detect_check(self, state: SystemState, n: int, version: str | None, stream: bool) -> Check:
        """The checks of one detection answer: the system; the model version (the pinned one, else one
        that may be active between sending and answering: the active one, the one before it within
        ROUTES_GRACE_S of a change, one being activated, or a newer one while a job is in flight); and,
        for plain requests, windows up to the last line sent."""
        allowed, newer_than = ({version}, None) if version else state.allowed()

        def version_ok(got: Any) -> bool:
            now_allowed, now_newer = ({version}, None) if version else state.allowed()
            if got in allowed | now_allowed:
                return True
            floor = min((f for f in (newer_than, now_newer) if f is not None), default=None)
            return floor is not None and str(got).isdigit() and int(got) > floor

        def check(response: httpx.Response) -> str | None:
            body = response.json()
            if body.get("system") != state.name:
                return f"answer for system {body.get('system')!r}"
            got = body.get("model_version")
            self.detection["version_checked"] += 1
            if len(allowed) > 1 or newer_than is not None:
                self.detection["version_checked_during_a_change"] += 1
            if not version_ok(got):
                self.detection["version_mismatch"] += 1
                return f"model_version {got!r}, expected one of {sorted(allowed)} (newer than {newer_than})"
            windows = body.get("windows")
            if not isinstance(windows, list):
                return "no windows in the answer"
            self.detection["windows"] += len(windows)
            if stream:
                return None if "stream" in body else "stream answer without its stream state"
            last = max((w["last_line"] for w in windows), default=0)
            if last != n:
                self.detection["incomplete"] += 1
                return f"windows end at line {last} of {n}"
            return None

        return check

    async def detect_client(self, worker: int) -> None:
        rng = random.Random(self.cfg.seed * 1000 + worker)
        interval = self.cfg.clients / self.cfg.detect_rps
        streams: dict[str, tuple[str, int]] = {}
        next_at = time.monotonic() + rng.uniform(0, interval)
        while not self.stopping.is_set():
            await self.sleep(next_at - time.monotonic())
            next_at = max(next_at + interval * rng.uniform(0.5, 1.5), time.monotonic())
            served = [s for s in self.systems.values() if s.served and not s.settling()]
            if not served or self.stopping.is_set():
                continue
            state = rng.choice(served)
            n = rng.randint(self.cfg.min_lines, self.cfg.max_lines)
            body: dict[str, Any] = {"lines": self.lines_for(state.dialect, n, rng)}
            params, kind, version = {}, "detect", None
            roll = rng.random()
            if roll < self.cfg.stream_fraction:
                stream_id, left = streams.get(state.name) or (
                    f"w{worker}-{state.name}-{rng.randrange(10**6)}",
                    4,
                )
                body |= {"stream_id": stream_id, "flush": left <= 1}
                streams[state.name] = (stream_id, left - 1)
                if left <= 1:
                    del streams[state.name]
                kind = "detect_stream"
            elif roll < self.cfg.stream_fraction + self.cfg.pinned_fraction and state.pinnable():
                version = str(rng.choice(state.pinnable()))
                params, kind = {"version": version}, "detect_pinned"
            self.detection["requests"] += 1
            self.detection["lines"] += n
            check = self.detect_check(state, n, version, kind == "detect_stream")
            response = await self.call(
                kind, self.detect, "POST", f"/v1/detect/{state.name}", json=body, params=params, check=check
            )
            if response is not None:
                seen = (state.name, response.json()["model_version"])
                if seen not in self.versions_seen:
                    self.versions_seen.add(seen)
                    self.first_answer_ms.append(response.elapsed.total_seconds() * 1000)

    # -- uploads, reads, refusals -----------------------------------------------------------------------
    async def upload_loop(self) -> None:
        while not self.stopping.is_set():
            await self.sleep(self.cfg.upload_every_s * self.rng.uniform(0.5, 1.5))
            targets = [s for s in self.systems.values() if s.uploads and not s.name.startswith("src-")]
            if targets and not self.stopping.is_set():
                state = self.rng.choice(targets)
                await self.upload(state, self.rng.randint(*self.cfg.upload_lines), self.rng.random() < 0.3)

    def reads(self) -> list[tuple[str, httpx.AsyncClient, str]]:
        names = [s.name for s in self.systems.values()]
        some = self.rng.choice(names) if names else UNTRAINED
        return [
            ("list_systems", self.api, "/v1/systems"),
            ("list_jobs", self.api, "/v1/jobs"),
            ("list_models", self.api, f"/v1/systems/{some}/models"),
            ("list_datasets", self.api, f"/v1/systems/{some}/datasets"),
            ("get_system", self.api, f"/v1/systems/{some}"),
            ("healthz", self.api, "/healthz"),
            ("metrics", self.api, "/metrics"),
            ("detect_health", self.detect, "/v1/detect/-/health"),
            ("detect_stats", self.detect, "/v1/detect/-/stats"),
        ]

    async def read_loop(self) -> None:
        turn = 0
        while not self.stopping.is_set():
            await self.sleep(self.cfg.read_every_s)
            reads = self.reads()
            kind, client, url = reads[turn % len(reads)]
            turn += 1
            await self.call(kind, client, "GET", url)

    def refusals(self) -> list[tuple[str, httpx.AsyncClient, str, str, int, dict[str, Any]]]:
        """(kind, client, method, url, expected status, request arguments) of requests that must fail."""
        served = [s.name for s in self.systems.values() if s.served and not s.settling()] or [UNTRAINED]
        some = self.rng.choice(served)
        no_key = {"headers": {"Authorization": "Bearer lsk_wrong"}}
        lines = {"json": {"lines": ['{"message": "x"}']}}
        return [
            ("refuse_detect_unknown_system", self.detect, "POST", "/v1/detect/no-such-system", 404, lines),
            ("refuse_detect_bad_key", self.detect, "POST", f"/v1/detect/{some}", 401, {**lines, **no_key}),
            (
                "refuse_detect_bad_body",
                self.detect,
                "POST",
                f"/v1/detect/{some}",
                422,
                {"json": {"lines": 5}},
            ),
            ("refuse_detect_no_model", self.detect, "POST", f"/v1/detect/{UNTRAINED}", 409, lines),
            (
                "refuse_detect_unknown_version",
                self.detect,
                "POST",
                f"/v1/detect/{some}?version=999",
                404,
                lines,
            ),
            ("refuse_api_bad_key", self.api, "GET", "/v1/systems", 401, no_key),
            ("refuse_unknown_job", self.api, "GET", "/v1/jobs/000000000000", 404, {}),
            ("refuse_unknown_version", self.api, "POST", f"/v1/systems/{some}/models/999/activate", 404, {}),
            ("refuse_job_without_data", self.api, "POST", "/v1/jobs", 409, {"json": {"target": UNTRAINED}}),
            (
                "refuse_job_bad_options",
                self.api,
                "POST",
                "/v1/jobs",
                422,
                {"json": {"target": some, "options": {"epochs": 0}}},
            ),
            (
                "refuse_duplicate_system",
                self.api,
                "POST",
                "/v1/systems",
                409,
                {"json": {"name": UNTRAINED, "format": "jsonl", "role": "target"}},
            ),
            (
                "refuse_binary_upload",
                self.api,
                "POST",
                f"/v1/systems/{UNTRAINED}/datasets",
                422,
                {"files": {"file": ("garbage.log", bytes(range(256)) * 64)}},
            ),
        ]

    async def refusal_loop(self) -> None:
        turn = 0
        while not self.stopping.is_set():
            await self.sleep(self.cfg.provoke_every_s)
            refusals = self.refusals()
            kind, client, method, url, status, kwargs = refusals[turn % len(refusals)]
            turn += 1
            await self.call(kind, client, method, url, provoked=status, **kwargs)

    async def sleep(self, seconds: float) -> None:
        """Sleep, waking early when the run stops."""
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), timeout=seconds)

    # -- phases -------------------------------------------------------------------------------------
    async def setup(self) -> None:
        """Sources, the never-trained system, and `seed_systems` targets trained before the clock starts."""
        for name, dialect in SOURCES:
            state = await self.create_system(name, dialect, role="source")
            if state is not None:
                await self.upload(state, 2000)
        await self.create_system(UNTRAINED, "payments")
        for _ in range(min(self.cfg.seed_systems, self.cfg.systems)):
            name = self.next_name()
            assert name is not None
            await self.onboard(*name, purpose="seed")
        await self.follow_jobs(until_empty=True)
        for task in list(self.tasks):
            await task

    async def run(self, seconds: float) -> None:
        """The timed phase: every loop at once until `seconds` have passed; jobs still running are
        followed to their end afterwards (`drain`)."""
        follower = asyncio.create_task(self.follow_jobs())
        loops = [
            *(self.detect_client(w) for w in range(self.cfg.clients)),
            self.job_loop(),
            self.activation_loop(),
            self.upload_loop(),
            self.read_loop(),
            self.refusal_loop(),
        ]
        running = [asyncio.create_task(loop) for loop in loops]
        await asyncio.sleep(seconds)
        self.stopping.set()
        await asyncio.gather(*running)
        follower.cancel()

    async def drain(self) -> bool:
        """Follow the jobs still in flight to their end, and finish pending probes and cancellations."""
        try:
            await asyncio.wait_for(self.follow_jobs(until_empty=True), timeout=self.cfg.drain_timeout_s)
        except TimeoutError:
            return False
        while self.tasks:
            await asyncio.gather(*list(self.tasks))
        return True

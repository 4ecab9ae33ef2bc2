"""The anomaly history over real HTTP: batches written to the store's inbox as the detection endpoint
writes them (built with the contract), ingested, listed, judged; suppression in the routing table;
retention; the judged windows a training job gets. On SQLite with the local store, and on PostgreSQL 15
with the MinIO store against moto's S3 server. No Ray: the ingester is run synchronously."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from helpers import postgres
from helpers.api_server import ADMIN_KEY, RunningApi, make_settings, running_api
from helpers.s3_server import s3_store_config  # noqa: F401
from sqlmodel import Session

from logsynergy.synthetic import write_demo_systems
from logsynergy_api.models import Job
from logsynergy_api.services.anomaly_ingest import ingest_pending, purge_expired
from logsynergy_api.services.job_specs import write_spec
from logsynergy_contracts import (
    ANOMALY_INBOX,
    ROUTES_KEY,
    AnomalyBatch,
    JobStatus,
    JudgedWindow,
    RecordedEvent,
    RecordedWindow,
    anomaly_batch_key,
    archive_key,
    new_batch_id,
    pattern_id,
)

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
A = ["tA1", "tA2"]  # the templates of pattern A
B = ["tB1"]


def _postgres_url() -> Iterator[str]:
    why = postgres.available()
    if why:
        if os.environ.get("CI") == "true":
            pytest.fail(why)
        pytest.skip(why)
    with postgres.postgres_server() as url:
        yield url


@pytest.fixture(params=["sqlite+local", "postgres+s3"])
def api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RunningApi]:
    overrides: dict = {}
    url_iter = None
    if request.param == "postgres+s3":
        store = request.getfixturevalue("s3_store_config")
        url_iter = _postgres_url()
        overrides |= {"database_url": next(url_iter), "store_url": store.url}
        overrides |= {"store_endpoint": store.endpoint, "store_access_key": store.access_key}
        overrides |= {"store_secret_key": store.secret_key, "store_secure": store.secure}
    try:
        with running_api(make_settings(tmp_path / "data", **overrides), scheduler=False) as running:
            yield running
    finally:
        if url_iter is not None:
            url_iter.close()


@pytest.fixture
def sqlite_api(tmp_path: Path) -> Iterator[RunningApi]:
    with running_api(make_settings(tmp_path / "data"), scheduler=False) as running:
        yield running


def new_tenant(api: RunningApi, name: str, system: str = "checkout") -> httpx.Client:
    response = api.client().post("/v1/tenants", json={"name": name})
    assert response.status_code == 201, response.text
    client = api.client(response.json()["api_key"])
    assert client.post("/v1/systems", json={"name": system, "format": "jsonl"}).status_code == 201
    return client


def error_of(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body["error"]) == {"code", "message"}
    return body["error"]["message"]


def window(templates: list[str], score: float, first: int, session: str | None = None) -> RecordedWindow:
    events = [
        RecordedEvent(
            line=first + i,
            raw=f"2026-12-01 line {first + i} {t}",
            message=f"line {first + i} {t}",
            template_id=t,
            template=f"template of {t}",
            interpretation=f"what {t} means",
            new=t.endswith("2"),
        )
        for i, t in enumerate(templates)
    ]
    return RecordedWindow(
        first_line=first,
        last_line=first + len(templates) - 1,
        session=session,
        score=score,
        threshold=0.5,
        pattern=pattern_id(templates),
        events=events,
    )


def record(
    api: RunningApi,
    windows: list[RecordedWindow],
    *,
    received: datetime = T0,
    version: str = "1",
    tenant: str = "team-a",
    system: str = "checkout",
) -> AnomalyBatch:
    """Write a batch to the inbox as the endpoint does."""
    batch = AnomalyBatch(
        batch_id=new_batch_id(received),
        tenant=tenant,
        system=system,
        version=version,
        received=received,
        stream_id="stream-1",
        windows=windows,
    )
    api.platform.store.put_json(anomaly_batch_key(batch), batch.model_dump(mode="json"))
    return batch


def ingest_history(api: RunningApi) -> tuple[AnomalyBatch, AnomalyBatch]:
    """Two batches: A (0.9) and B (0.7) at T0 by version 1, then A again (0.95) a minute later by 2."""
    first = record(api, [window(A, 0.9, 1), window(B, 0.7, 5, session="blk_7")])
    second = record(
        api, [window([*A[::-1], A[0]], 0.95, 40)], received=T0 + timedelta(minutes=1), version="2"
    )
    report = ingest_pending(api.platform)
    assert (report.ingested, report.windows, report.rejected, report.dropped) == (2, 3, 0, 0)
    return first, second


def incidents_by_pattern(team: httpx.Client) -> dict[str, dict]:
    return {i["pattern"]: i for i in team.get("/v1/systems/checkout/incidents").json()}


def suppressed(api: RunningApi, system: str = "team-a/checkout") -> set[str]:
    return set(api.platform.store.get_json(ROUTES_KEY)["systems"][system]["suppressed"])


def test_ingestion_listing_filters_report_and_bad_input(api: RunningApi) -> None:
    team = new_tenant(api, "team-a")
    first, _second = ingest_history(api)
    store = api.platform.store
    assert store.list_keys(ANOMALY_INBOX) == []
    assert store.exists(archive_key("team-a", "checkout", first.batch_id))

    listed = team.get("/v1/systems/checkout/anomalies").json()
    assert [a["score"] for a in listed] == [0.95, 0.7, 0.9]  # newest first
    assert {a["status"] for a in listed} == {"open"} and listed[0]["version"] == "2"
    assert listed[0]["new_templates"] == ["tA2"] and listed[1]["session"] == "blk_7"
    params: list[tuple[dict, list[float]]] = [
        ({"min_score": 0.8}, [0.95, 0.9]),
        ({"version": 1}, [0.7, 0.9]),
        ({"since": (T0 + timedelta(seconds=30)).isoformat()}, [0.95]),
        ({"until": "2026-12-01T08:00:30"}, [0.7, 0.9]),  # naive: UTC
        ({"limit": 1, "offset": 1}, [0.7]),
        ({"status": "anomaly"}, []),
    ]
    for query, scores in params:
        assert [a["score"] for a in team.get("/v1/systems/checkout/anomalies", params=query).json()] == scores

    incidents = incidents_by_pattern(team)
    a = incidents[pattern_id(A)]
    assert (a["count"], a["max_score"], a["status"], a["verdict"]) == (2, 0.95, "open", None)
    assert a["first_seen"].startswith("2026-12-01T08:00:00") and a["last_seen"].startswith("2026-12-01T08:01")
    assert a["templates"] == ["template of tA1", "template of tA2"]
    by_score = team.get("/v1/systems/checkout/incidents", params={"order": "max_score"}).json()
    assert [i["max_score"] for i in by_score] == [0.95, 0.7]
    assert team.get(f"/v1/systems/checkout/incidents/{a['id']}").json() == a
    of_a = team.get("/v1/systems/checkout/anomalies", params={"incident": a["id"]}).json()
    assert [x["score"] for x in of_a] == [0.95, 0.9]

    report = team.get(f"/v1/systems/checkout/anomalies/{of_a[0]['id']}").json()
    assert [e["raw"] for e in report["events"]] == [
        "2026-12-01 line 40 tA2",
        "2026-12-01 line 41 tA1",
        "2026-12-01 line 42 tA1",
    ]
    assert report["events"][0]["interpretation"] == "what tA2 means" and report["stream_id"] == "stream-1"

    # the same batch again (a crash between commit and inbox deletion): one set of rows
    api.platform.store.put_json(anomaly_batch_key(first), first.model_dump(mode="json"))
    again = ingest_pending(api.platform)
    assert (again.ingested, again.duplicates) == (0, 1)
    assert len(team.get("/v1/systems/checkout/anomalies").json()) == 3
    assert incidents_by_pattern(team)[pattern_id(A)]["count"] == 2

    # malformed batches are moved aside, an unknown system's batch is dropped
    store.put_bytes(f"{ANOMALY_INBOX}garbage.json", b"{not json")
    store.put_json(f"{ANOMALY_INBOX}incomplete.json", {"batch_id": "incomplete", "tenant": "team-a"})
    renamed = first.model_copy(update={"batch_id": "other"})
    store.put_json(f"{ANOMALY_INBOX}elsewhere.json", renamed.model_dump(mode="json"))
    infinite = record(api, [window(B, float("inf"), 1)]).batch_id
    ghost = record(api, [window(B, 0.8, 1)], system="ghost")
    report_bad = ingest_pending(api.platform)
    assert (report_bad.rejected, report_bad.dropped, report_bad.ingested) == (4, 1, 0)
    assert store.list_keys(ANOMALY_INBOX) == []
    rejected = store.list_keys("anomalies/rejected/")
    assert rejected == sorted(
        f"anomalies/rejected/{name}.json" for name in ("garbage", "incomplete", "elsewhere", infinite)
    )
    assert not store.exists(archive_key("team-a", "ghost", ghost.batch_id))
    metrics = api.client(None).get("/metrics").text
    assert 'logsynergy_anomaly_batches_total{outcome="ingested"} 2.0' in metrics
    assert 'logsynergy_anomaly_batches_total{outcome="rejected"} 4.0' in metrics
    assert 'logsynergy_anomaly_batches_total{outcome="dropped"} 1.0' in metrics

    # unknown ids, bad parameters, another tenant
    for path in ("anomalies/999999", "incidents/999999"):
        assert "has no" in error_of(team.get(f"/v1/systems/checkout/{path}"), 404)
        assert error_of(team.post(f"/v1/systems/checkout/{path}/judgement", json={"verdict": "anomaly"}), 404)
        assert error_of(team.delete(f"/v1/systems/checkout/{path}/judgement"), 404)
    assert error_of(team.get("/v1/systems/checkout/anomalies/0"), 422)
    for bad in ({"status": "closed"}, {"min_score": "nan"}, {"limit": 0}, {"limit": 5000}, {"since": "soon"}):
        assert error_of(team.get("/v1/systems/checkout/anomalies", params=bad), 422)
    assert error_of(team.get("/v1/systems/checkout/incidents", params={"order": "name"}), 422)
    other = new_tenant(api, "team-b")
    assert other.get("/v1/systems/checkout/anomalies").json() == []
    assert error_of(other.get(f"/v1/systems/checkout/anomalies/{of_a[0]['id']}"), 404)
    judged = other.post(
        f"/v1/systems/checkout/incidents/{a['id']}/judgement", json={"verdict": "not_anomaly"}
    )
    assert error_of(judged, 404)
    assert incidents_by_pattern(team)[pattern_id(A)]["status"] == "open"

    # deleting the system deletes its history (rows and archive); judging it then: 404
    assert team.delete("/v1/systems/checkout").status_code == 204
    assert store.list_keys("tenants/team-a/anomalies/") == []
    gone = team.post(f"/v1/systems/checkout/anomalies/{of_a[0]['id']}/judgement", json={"verdict": "anomaly"})
    assert "no system named" in error_of(gone, 404)
    assert team.post("/v1/systems", json={"name": "checkout", "format": "jsonl"}).status_code == 201
    assert team.get("/v1/systems/checkout/anomalies").json() == []
    assert team.get("/v1/systems/checkout/incidents").json() == []


def test_judgements_replace_take_back_and_suppress_at_once(api: RunningApi) -> None:
    team = new_tenant(api, "team-a")
    ingest_history(api)
    incidents = incidents_by_pattern(team)
    a, b = incidents[pattern_id(A)], incidents[pattern_id(B)]
    base = "/v1/systems/checkout"
    revision = api.platform.store.get_json(ROUTES_KEY)["revision"]
    assert suppressed(api) == set()

    judged = team.post(
        f"{base}/incidents/{a['id']}/judgement", json={"verdict": "not_anomaly", "note": "cron"}
    )
    assert judged.status_code == 200, judged.text
    assert (judged.json()["status"], judged.json()["note"]) == ("not_anomaly", "cron")
    assert judged.json()["judged_at"] is not None
    assert suppressed(api) == {pattern_id(A)}
    assert api.platform.store.get_json(ROUTES_KEY)["revision"] == revision + 1
    statuses = [x["status"] for x in team.get(f"{base}/anomalies").json()]
    assert statuses == ["not_anomaly", "open", "not_anomaly"]  # the incident's verdict reaches its windows
    assert len(team.get(f"{base}/anomalies", params={"status": "not_anomaly"}).json()) == 2
    assert len(team.get(f"{base}/incidents", params={"status": "open"}).json()) == 1

    # judging twice replaces; bad verdicts change nothing
    replaced = team.post(f"{base}/incidents/{a['id']}/judgement", json={"verdict": "anomaly"}).json()
    assert (replaced["status"], replaced["verdict"], replaced["note"]) == ("anomaly", "anomaly", None)
    assert suppressed(api) == set()
    for bad in (
        {"verdict": "maybe"},
        {},
        {"verdict": "anomaly", "colour": 1},
        {"verdict": "anomaly", "note": "x" * 2001},
    ):
        assert error_of(team.post(f"{base}/incidents/{a['id']}/judgement", json=bad), 422)
    assert team.get(f"{base}/incidents/{a['id']}").json()["verdict"] == "anomaly"
    assert team.delete(f"{base}/incidents/{a['id']}/judgement").status_code == 204
    shown = team.get(f"{base}/incidents/{a['id']}").json()
    assert (shown["status"], shown["verdict"], shown["judged_at"]) == ("open", None, None)
    assert team.delete(f"{base}/incidents/{a['id']}/judgement").status_code == 204  # nothing to take back

    # a window judged not_anomaly suppresses its pattern unless its incident is judged anomaly
    window_b = team.get(f"{base}/anomalies", params={"incident": b["id"]}).json()[0]
    judged_b = team.post(f"{base}/anomalies/{window_b['id']}/judgement", json={"verdict": "not_anomaly"})
    assert judged_b.json()["status"] == "not_anomaly" and suppressed(api) == {pattern_id(B)}
    team.post(f"{base}/incidents/{b['id']}/judgement", json={"verdict": "anomaly"})
    assert suppressed(api) == set()
    assert team.get(f"{base}/anomalies/{window_b['id']}").json()["status"] == "not_anomaly"  # its own wins
    team.delete(f"{base}/incidents/{b['id']}/judgement")
    assert suppressed(api) == {pattern_id(B)}
    assert team.delete(f"{base}/anomalies/{window_b['id']}/judgement").status_code == 204
    assert suppressed(api) == set()
    assert team.get(f"{base}/anomalies/{window_b['id']}").json()["verdict"] is None


def test_concurrent_ingesters_store_each_window_once_and_count_every_one(api: RunningApi) -> None:
    """Several ingesters on one inbox (API replicas): no window twice, no increment of a count lost."""
    team = new_tenant(api, "team-a")
    for n in range(24):
        record(api, [window(A, 0.5 + n / 100, 1), window(B, 0.6, 9)], received=T0 + timedelta(seconds=n))

    def drain() -> int:
        windows = 0
        for _ in range(50):  # a pass that met another's write leaves that batch for the next pass
            windows += ingest_pending(api.platform).windows
            if not api.platform.store.list_keys(ANOMALY_INBOX):
                break
        return windows

    with ThreadPoolExecutor(3) as pool:
        ingested = sum(pool.map(lambda _: drain(), range(3)))
    assert ingested == 48 and api.platform.store.list_keys(ANOMALY_INBOX) == []
    rows = team.get("/v1/systems/checkout/anomalies", params={"limit": 1000}).json()
    assert len(rows) == 48 and len({(r["batch_id"], r["window_index"]) for r in rows}) == 48
    incidents = incidents_by_pattern(team)
    assert (incidents[pattern_id(A)]["count"], incidents[pattern_id(B)]["count"]) == (24, 24)
    assert incidents[pattern_id(A)]["max_score"] == 0.73
    assert incidents[pattern_id(A)]["last_seen"].startswith("2026-12-01T08:00:23")


def test_retention_purges_old_unjudged_windows_and_keeps_judged_ones(sqlite_api: RunningApi) -> None:
    api = sqlite_api
    team = new_tenant(api, "team-a")
    now = datetime.now(UTC)
    old = record(api, [window(A, 0.9, 1), window(B, 0.8, 9)], received=now - timedelta(days=40))
    recent = record(api, [window(A, 0.7, 1)], received=now - timedelta(days=1))
    ingest_pending(api.platform)
    listed = team.get("/v1/systems/checkout/anomalies").json()
    old_a = next(x for x in listed if x["score"] == 0.9)
    team.post(f"/v1/systems/checkout/anomalies/{old_a['id']}/judgement", json={"verdict": "anomaly"})

    assert purge_expired(api.platform) == 1  # the old window of B; the judged one stays
    assert sorted(x["score"] for x in team.get("/v1/systems/checkout/anomalies").json()) == [0.7, 0.9]
    assert list(incidents_by_pattern(team)) == [pattern_id(A)]  # B's incident had nothing left
    store = api.platform.store
    assert store.exists(archive_key("team-a", "checkout", old.batch_id))  # still read by the judged one

    team.delete(f"/v1/systems/checkout/anomalies/{old_a['id']}/judgement")
    assert purge_expired(api.platform) == 1
    assert not store.exists(archive_key("team-a", "checkout", old.batch_id))
    assert store.exists(archive_key("team-a", "checkout", recent.batch_id))
    assert [x["score"] for x in team.get("/v1/systems/checkout/anomalies").json()] == [0.7]
    assert purge_expired(api.platform) == 0


def test_training_job_gets_the_judged_windows(sqlite_api: RunningApi, tmp_path: Path) -> None:
    api = sqlite_api
    write_demo_systems(tmp_path, n_lines=600)
    team = new_tenant(api, "team-a", system="payments")
    team.post("/v1/systems", json={"name": "storage", "format": "jsonl", "role": "source"})
    for name in ("payments", "storage"):
        files = {"file": ("log", (tmp_path / f"{name}.jsonl").read_bytes())}
        assert team.post(f"/v1/systems/{name}/datasets", files=files).status_code == 201

    def spec_of(body: dict) -> dict:
        accepted = team.post("/v1/jobs", json={"target": "payments", "sources": ["storage"], **body})
        assert accepted.status_code == 202, accepted.text
        with Session(api.platform.engine, expire_on_commit=False) as session:
            job = session.get(Job, accepted.json()["id"])
            assert job is not None
            keys = write_spec(session, api.platform.store, job, False)
        return api.platform.store.get_json(keys.spec)

    assert spec_of({})["target"]["feedback_key"] is None  # nothing judged yet

    record(api, [window(A, 0.9, 1, "s1"), window(B, 0.8, 3)], system="payments")
    record(api, [window(A, 0.7, 20)], system="payments", received=T0 + timedelta(seconds=5), version="2")
    record(api, [window(B, 0.6, 30)], system="payments", received=T0 + timedelta(seconds=9))
    ingest_pending(api.platform)
    base = "/v1/systems/payments"
    listed = {x["score"]: x for x in team.get(f"{base}/anomalies").json()}
    a_id = incidents_by_pattern_of(team, base)[pattern_id(A)]
    team.post(f"{base}/incidents/{a_id}/judgement", json={"verdict": "not_anomaly"})
    team.post(f"{base}/anomalies/{listed[0.7]['id']}/judgement", json={"verdict": "anomaly"})  # its own wins
    team.post(f"{base}/anomalies/{listed[0.8]['id']}/judgement", json={"verdict": "anomaly"})

    spec = spec_of({})
    key = spec["target"]["feedback_key"]
    assert key == f"{spec['keys']['prefix']}inputs/payments.feedback.jsonl"
    assert all(source["feedback_key"] is None for source in spec["sources"])
    lines = api.platform.store.get_bytes(key).decode().splitlines()
    judged = [JudgedWindow.model_validate_json(line) for line in lines]
    labels = {w.anomaly_id: (w.label, w.flagged_by) for w in judged}
    assert labels == {listed[0.9]["id"]: (0, "1"), listed[0.8]["id"]: (1, "1"), listed[0.7]["id"]: (1, "2")}
    first = next(w for w in judged if w.anomaly_id == listed[0.9]["id"])
    assert first.lines == ["2026-12-01 line 1 tA1", "2026-12-01 line 2 tA2"] and first.session == "s1"

    off = spec_of({"use_feedback": False})
    assert off["target"]["feedback_key"] is None
    assert team.get(f"/v1/jobs/{off['job_id']}").json()["config"]["use_feedback"] is False
    assert error_of(team.post("/v1/jobs", json={"target": "payments", "use_feedback": "yes"}), 422)


def incidents_by_pattern_of(team: httpx.Client, base: str) -> dict[str, int]:
    return {i["pattern"]: i["id"] for i in team.get(f"{base}/incidents").json()}


def test_the_ingester_runs_with_the_app(tmp_path: Path) -> None:
    """Started by the app's lifespan: a batch in the inbox appears in the history by itself."""
    settings = make_settings(tmp_path / "data", anomaly_ingest_interval_s=0.05)
    with running_api(settings, scheduler=True) as api:
        team = new_tenant(api, "team-a")
        assert "logsynergy_anomaly_ingester_up 1.0" in api.client(None).get("/metrics").text
        record(api, [window(A, 0.9, 1)])
        deadline = datetime.now(UTC) + timedelta(seconds=60)
        while not team.get("/v1/systems/checkout/anomalies").json():
            assert datetime.now(UTC) < deadline, "the ingester took nothing from the inbox"
        assert api.platform.store.list_keys(ANOMALY_INBOX) == []
    off = make_settings(tmp_path / "off", anomaly_ingest=False)
    with running_api(off, scheduler=True) as api:
        assert "logsynergy_anomaly_ingester_up 0.0" in api.client(None).get("/metrics").text


def test_cli_lists_shows_and_judges(sqlite_api: RunningApi) -> None:
    """`logsynergy anomalies|incidents` as a user runs them, against the served API."""
    api = sqlite_api
    team = new_tenant(api, "team-a")
    key = team.headers["Authorization"].split()[1]
    ingest_history(api)
    env = {**os.environ, "LOGSYNERGY_API_URL": api.url, "LOGSYNERGY_API_KEY": key}

    def cli(*args: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "logsynergy_api.cli", *args]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)

    listed = cli("anomalies", "list", "checkout", "--min-score", "0.8")
    assert listed.returncode == 0, listed.stderr
    anomalies = json.loads(listed.stdout)
    assert [a["score"] for a in anomalies] == [0.95, 0.9]
    shown = cli("anomalies", "show", "checkout", str(anomalies[0]["id"]))
    assert shown.returncode == 0 and "2026-12-01 line 40 tA2" in shown.stdout, shown.stderr
    judged = cli("anomalies", "judge", "checkout", str(anomalies[0]["id"]), "not_anomaly", "--note", "known")
    assert judged.returncode == 0 and json.loads(judged.stdout)["status"] == "not_anomaly", judged.stderr
    assert suppressed(api) == {pattern_id(A)}
    cleared = cli("anomalies", "judge", "checkout", str(anomalies[0]["id"]), "--clear")
    assert cleared.returncode == 0 and "taken back" in cleared.stdout and suppressed(api) == set()

    incidents = json.loads(cli("incidents", "list", "checkout", "--order", "count").stdout)
    assert [i["count"] for i in incidents] == [2, 1]
    judged = cli("incidents", "judge", "checkout", str(incidents[1]["id"]), "not_anomaly")
    assert judged.returncode == 0 and suppressed(api) == {pattern_id(B)}
    assert json.loads(cli("incidents", "list", "checkout", "--status", "open").stdout)[0]["count"] == 2

    bad = cli("incidents", "judge", "checkout", str(incidents[1]["id"]), "maybe")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    both = cli("incidents", "judge", "checkout", "1", "anomaly", "--clear")
    assert both.returncode == 2 and "error:" in both.stderr and "not both" in both.stderr
    every = cli("systems", "set", "checkout", "--retrain-after-judgements", "25")
    assert every.returncode == 0 and json.loads(every.stdout)["retrain_after_judgements"] == 25, every.stderr
    off = cli("systems", "set", "checkout", "--no-retrain", "--no-auto-activate")
    assert off.returncode == 0, off.stderr
    assert (json.loads(off.stdout)["retrain_after_judgements"], json.loads(off.stdout)["auto_activate"]) == (
        None,
        False,
    )
    contradicted = cli("systems", "set", "checkout", "--retrain-after-judgements", "5", "--no-retrain")
    assert contradicted.returncode == 2 and "not both" in contradicted.stderr
    missing = cli("anomalies", "show", "checkout", "999999")
    assert missing.returncode == 2 and "has no anomaly 999999" in missing.stderr
    refused = subprocess.run(
        [sys.executable, "-m", "logsynergy_api.cli", "anomalies", "list", "checkout"],
        env={**env, "LOGSYNERGY_API_KEY": ADMIN_KEY},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 2 and "no system named 'checkout'" in refused.stderr


def test_a_system_retrains_by_itself_after_its_number_of_judgements(
    sqlite_api: RunningApi, tmp_path: Path
) -> None:
    api = sqlite_api
    write_demo_systems(tmp_path, n_lines=600)
    team = new_tenant(api, "team-a", system="payments")
    team.post("/v1/systems", json={"name": "storage", "format": "jsonl", "role": "source"})
    for name in ("payments", "storage"):
        files = {"file": ("log", (tmp_path / f"{name}.jsonl").read_bytes())}
        assert team.post(f"/v1/systems/{name}/datasets", files=files).status_code == 201
    base = "/v1/systems/payments"
    assert team.get(base).json()["retrain_after_judgements"] is None  # off unless set
    error_of(team.patch(base, json={"retrain_after_judgements": 0}), 422)
    error_of(team.patch(base, json={"retrain_every": 2}), 422)
    error_of(team.patch("/v1/systems/nowhere", json={"retrain_after_judgements": 2}), 404)
    updated = team.patch(base, json={"retrain_after_judgements": 2})
    assert updated.status_code == 200 and updated.json()["retrain_after_judgements"] == 2
    assert updated.json()["auto_activate"] is True  # left out: unchanged

    def jobs() -> list[dict]:
        return [j for j in team.get("/v1/jobs").json() if j["target"] == "payments"]

    first = team.post("/v1/jobs", json={"target": "payments", "sources": ["storage"], "seed": 3})
    assert first.status_code == 202, first.text
    record(api, [window(A, 0.9, 1), window(B, 0.8, 3), window([*A, "tC"], 0.7, 6)], system="payments")
    ingest_pending(api.platform)
    ids = [a["id"] for a in team.get(f"{base}/anomalies").json()]

    def judge(anomaly_id: int, verdict: str = "anomaly") -> None:
        response = team.post(f"{base}/anomalies/{anomaly_id}/judgement", json={"verdict": verdict})
        assert response.status_code == 200, response.text

    judge(ids[0])
    judge(ids[1])
    assert len(jobs()) == 1  # a job of the system is queued: it will read them
    assert team.post(f"/v1/jobs/{first.json()['id']}/cancel").status_code == 200  # ...it never does
    assert team.delete(f"{base}/anomalies/{ids[1]}/judgement").status_code == 204  # taking back: 1 left
    assert len(jobs()) == 1
    judge(ids[1], "not_anomaly")
    queued = jobs()
    assert len(queued) == 2
    retrain = next(j for j in queued if j["id"] != first.json()["id"])
    assert retrain["status"] == "queued" and retrain["sources"] == ["storage"]
    assert retrain["config"]["seed"] == 3 and retrain["config"]["use_feedback"] is True
    assert retrain["config"]["queued_by"] == "2 judgements no training has read (setting: 2)"
    judge(ids[2])
    assert len(jobs()) == 2  # the retraining is queued: no second one

    with Session(api.platform.engine) as session:  # the retraining ran (a worker's transitions)
        job = session.get(Job, retrain["id"])
        assert job is not None
        job.status, job.started_at = JobStatus.SUCCEEDED, datetime.now(UTC)
        session.add(job)
        session.commit()
    judge(ids[0], "not_anomaly")  # read by no training yet: one
    assert len(jobs()) == 2
    incident = incidents_by_pattern_of(team, base)[pattern_id(B)]
    assert team.post(f"{base}/incidents/{incident}/judgement", json={"verdict": "anomaly"}).is_success
    assert len(jobs()) == 3  # two since the retraining started
    assert (
        team.patch(base, json={"retrain_after_judgements": None}).json()["retrain_after_judgements"] is None
    )

"""The control plane over real HTTP: tenants, systems, datasets, interpretations, jobs, models, hooks.

Runs on SQLite with the local store, and on a PostgreSQL 15 server with the MinIO store against a real
S3 server (SeaweedFS). No Ray here: jobs stay queued (the scheduler is tested in test_jobs_ray.py)."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from helpers import postgres
from helpers.api_server import ADMIN_KEY, RunningApi, make_settings, running_api
from helpers.seaweedfs import seaweedfs, seaweedfs_store_config  # noqa: F401

from logsynergy.synthetic import write_demo_systems
from logsynergy_contracts import ROUTES_KEY

HDFS_LINE = (
    "081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 for block blk_{} terminating\n"
)


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("logs")
    write_demo_systems(out, n_lines=3000)
    return out


def _postgres_url() -> Iterator[str]:
    why = postgres.available()
    if why:
        if os.environ.get("CI") == "true":
            pytest.fail(why)
        pytest.skip(why)
    with postgres.postgres_server() as url:
        yield url


@pytest.fixture(params=["sqlite+local", "postgres+seaweedfs"])
def api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RunningApi]:
    overrides: dict = {"max_upload_mb": 1.0, "hook_allow_private": "127.0.0.1"}  # hooks to loopback
    if request.param == "postgres+seaweedfs":
        store = request.getfixturevalue("seaweedfs_store_config")
        url_iter = _postgres_url()
        overrides |= {
            "database_url": next(url_iter),
            "store_url": store.url,
            "store_endpoint": store.endpoint,
        }
        overrides |= {"store_access_key": store.access_key, "store_secret_key": store.secret_key}
        overrides |= {"store_secure": store.secure}
    else:
        url_iter = None
    try:
        with running_api(make_settings(tmp_path / "data", **overrides), scheduler=False) as running:
            yield running
    finally:
        if url_iter is not None:
            url_iter.close()


def new_tenant(api: RunningApi, name: str) -> httpx.Client:
    response = api.client().post("/v1/tenants", json={"name": name})
    assert response.status_code == 201, response.text
    return api.client(response.json()["api_key"])


def error_of(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body["error"]) == {"code", "message"}
    return body["error"]["message"]


def upload(client: httpx.Client, system: str, data: bytes, labels: bytes | None = None) -> httpx.Response:
    files = {"file": ("log", data)}
    if labels is not None:
        files["labels"] = ("labels.csv", labels)
    return client.post(f"/v1/systems/{system}/datasets", files=files)


def test_keys_and_tenants(api: RunningApi) -> None:
    assert "missing API key" in error_of(api.client(None).get("/v1/systems"), 401)
    assert "unknown API key" in error_of(api.client("lsk_wrong").get("/v1/systems"), 401)
    assert "malformed" in error_of(
        api.client(None).get("/v1/systems", headers={"Authorization": "Basic x"}), 401
    )
    team = new_tenant(api, "team-a")
    assert error_of(team.post("/v1/tenants", json={"name": "team-b"}), 403)
    assert "already exists" in error_of(api.client().post("/v1/tenants", json={"name": "team-a"}), 409)
    assert "invalid tenant name" in error_of(
        api.client().post("/v1/tenants", json={"name": "Bad Name!"}), 422
    )
    routes = api.platform.store.get_json(ROUTES_KEY)
    key = team.headers["Authorization"].split()[1]
    assert routes["keys"][hashlib.sha256(key.encode()).hexdigest()] == "team-a"
    assert hashlib.sha256(ADMIN_KEY.encode()).hexdigest() in routes["keys"]
    assert api.client(None).get("/healthz").json() == {"status": "ok"}
    assert "logsynergy_jobs" in api.client(None).get("/metrics").text


def test_systems_datasets_and_bad_input(api: RunningApi, logs: Path) -> None:
    team = new_tenant(api, "team-a")
    created = team.post("/v1/systems", json={"name": "storage", "format": "jsonl", "role": "source"})
    assert created.status_code == 201 and created.json()["active_version"] is None
    assert "already exists" in error_of(
        team.post("/v1/systems", json={"name": "storage", "format": "jsonl"}), 409
    )
    assert "unknown log format" in error_of(
        team.post("/v1/systems", json={"name": "x", "format": "xml"}), 422
    )
    assert error_of(
        team.post("/v1/systems", content=b"{not json", headers={"content-type": "application/json"}), 422
    )
    assert error_of(team.post("/v1/systems", json={"name": "x", "format": "bgl", "colour": 1}), 422)
    assert error_of(team.get("/v1/systems/nope"), 404)
    assert error_of(upload(team, "nope", b"x\n"), 404)

    good = upload(team, "storage", (logs / "storage.jsonl").read_bytes())
    assert good.status_code == 201, good.text
    dataset = good.json()
    assert dataset["lines"] == 3000 and dataset["labelled"] and dataset["anomalous_windows"] > 0
    assert dataset["sha256"] == hashlib.sha256((logs / "storage.jsonl").read_bytes()).hexdigest()

    assert "empty" in error_of(upload(team, "storage", b""), 422)
    assert "binary" in error_of(upload(team, "storage", b"\x00\x01\x02" * 100), 422)
    assert error_of(upload(team, "storage", b"this is not json\n" * 50), 422)
    assert "limit" in error_of(upload(team, "storage", b"x" * (3 * 1024 * 1024)), 413)
    team.post("/v1/systems", json={"name": "hdfs", "format": "hdfs", "role": "source"})
    hdfs_log = "".join(HDFS_LINE.format(n) for n in range(1, 40)).encode()
    message = error_of(upload(team, "hdfs", hdfs_log, b"BlockId,Label\nblk_999999,Anomaly\n"), 422)
    assert "label" in message.lower()
    assert "only used with" in error_of(upload(team, "storage", b"{}", b"BlockId,Label\n"), 422)

    listed = team.get("/v1/systems/storage/datasets").json()
    assert [d["id"] for d in listed] == [dataset["id"]]
    keys = api.platform.store.list_keys("tenants/team-a/datasets/")
    assert keys == [f"tenants/team-a/datasets/storage/{dataset['id']}/log"]
    assert not any((api.platform.settings.data_dir / "tmp").iterdir())

    other = new_tenant(api, "team-b")
    assert error_of(other.get("/v1/systems/storage"), 404)
    assert error_of(other.get("/v1/systems/storage/datasets"), 404)
    assert other.get("/v1/systems").json() == []
    assert team.delete("/v1/systems/storage").status_code == 204
    assert api.platform.store.list_keys("tenants/team-a/datasets/storage/") == []


def test_jobs_interpretations_models_hooks(api: RunningApi, logs: Path) -> None:
    team = new_tenant(api, "team-a")
    for name, role in (
        ("storage", "source"),
        ("compute", "source"),
        ("cloud", "source"),
        ("payments", "target"),
    ):
        team.post("/v1/systems", json={"name": name, "format": "jsonl", "role": role, "description": name})
    assert "no dataset" in error_of(team.post("/v1/jobs", json={"target": "payments"}), 409)
    for name in ("storage", "compute", "cloud", "payments"):
        assert upload(team, name, (logs / f"{name}.jsonl").read_bytes()).status_code == 201

    accepted = team.post("/v1/jobs", json={"target": "payments", "priority": 5})
    assert accepted.status_code == 202, accepted.text
    job = accepted.json()
    assert job["status"] == "queued" and len(job["sources"]) == 2 and "payments" not in job["sources"]
    shown = team.get(f"/v1/jobs/{job['id']}").json()
    assert shown["sources_chosen_automatically"] and shown["target"] == "payments" and shown["priority"] == 5
    # the stored definition keeps its shape: the basics at the top level, only non-default options
    basics = {"target_labelled": 5000, "preset": "cpu", "seed": 0}
    assert shown["config"] == {"target": "payments", **basics, "options": {}}
    assert error_of(team.post("/v1/jobs", json={"target": "nope"}), 404)
    assert error_of(team.post("/v1/jobs", json={"target": "payments", "sources": ["nope"]}), 404)
    assert error_of(team.post("/v1/jobs", json={"target": "payments", "sources": ["payments"]}), 422)
    assert "preset: Input should be 'cpu' or 'paper'" in error_of(
        team.post("/v1/jobs", json={"target": "payments", "preset": "huge"}), 422
    )
    assert "options.x: Extra inputs are not permitted" in error_of(
        team.post("/v1/jobs", json={"target": "payments", "options": {"x": 1}}), 422
    )
    assert "options.epochs" in error_of(
        team.post("/v1/jobs", json={"target": "payments", "options": {"epochs": "2"}}), 422
    )
    assert error_of(team.post("/v1/jobs", json={"target": "payments", "target_labelled": -1}), 422)
    derived = {"target": "payments", "options": {"overrides": {"event_novelty": False}}}
    assert "cannot set event_novelty" in error_of(team.post("/v1/jobs", json=derived), 422)
    chosen = team.post(
        "/v1/jobs",
        json={"target": "payments", "sources": ["cloud"], "target_labelled": 0, "options": {"epochs": 2}},
    )
    assert chosen.status_code == 202 and chosen.json()["sources"] == ["cloud"]
    config = team.get(f"/v1/jobs/{chosen.json()['id']}").json()["config"]
    assert config["target_labelled"] == 0 and config["options"] == {"epochs": 2}
    assert [j["id"] for j in team.get("/v1/jobs", params={"status": "queued"}).json()] == [
        chosen.json()["id"],
        job["id"],
    ]
    cancelled = team.post(f"/v1/jobs/{job['id']}/cancel")
    assert cancelled.json()["status"] == "cancelled"
    assert "already cancelled" in error_of(team.post(f"/v1/jobs/{job['id']}/cancel"), 409)
    assert team.get(f"/v1/jobs/{job['id']}/logs").text == ""
    other = new_tenant(api, "team-b")
    assert error_of(other.get(f"/v1/jobs/{job['id']}"), 404)
    assert error_of(other.post(f"/v1/jobs/{job['id']}/cancel"), 404)

    entries = [
        {
            "template": "payment <*> declined by issuer",
            "interpretation": "The card issuer declined a payment.",
        },
        {"template": "ledger sync finished in <*> ms", "interpretation": "Ledger synchronisation completed."},
    ]
    body = "\n".join(json.dumps(e) for e in entries)
    imported = team.post("/v1/systems/payments/interpretations/import", content=body)
    assert imported.json() == {"written": 2, "kept_reviewed": 0}
    assert "not JSON" in error_of(
        team.post("/v1/systems/payments/interpretations/import", content="{oops"), 422
    )
    rows = team.get("/v1/systems/payments/interpretations").json()
    tid = next(r["template_id"] for r in rows if r["template"].startswith("payment"))
    edited = team.put(
        f"/v1/systems/payments/interpretations/{tid}", json={"interpretation": "  Issuer  said no. "}
    )
    assert edited.json()["interpretation"] == "Issuer said no." and edited.json()["reviewed"]
    exported = team.get("/v1/systems/payments/interpretations/export").text.splitlines()
    assert any(json.loads(line)["reviewed"] for line in exported) and len(exported) == 2
    regenerated = team.post(f"/v1/systems/payments/interpretations/{tid}/regenerate").json()
    assert regenerated["provider"] == "offline" and not regenerated["reviewed"]
    assert error_of(team.put("/v1/systems/payments/interpretations/nope", json={"interpretation": "x"}), 404)
    assert error_of(other.get("/v1/systems/payments/interpretations"), 404)

    assert team.get("/v1/systems/payments/models").json() == []
    assert error_of(team.post("/v1/systems/payments/models/1/activate"), 404)
    hook = team.post("/v1/systems/payments/hooks", json={"url": "http://127.0.0.1:9/alerts"})
    assert hook.status_code == 201
    assert error_of(team.post("/v1/systems/payments/hooks", json={"url": "ftp://x"}), 422)
    for refused in ("http://10.0.0.1/a", "http://[::1]:9/a", "http://127.0.0.1:9/a\r\nX-Injected: 1"):
        assert "url:" in error_of(team.post("/v1/systems/payments/hooks", json={"url": refused}), 422)
    assert hook.json()["format"] == "logsynergy"
    manager = team.post(
        "/v1/systems/payments/hooks", json={"url": "http://127.0.0.1:9/am", "format": "alertmanager"}
    )
    assert manager.status_code == 201 and manager.json()["format"] == "alertmanager"
    bad_format = team.post("/v1/systems/payments/hooks", json={"url": "http://127.0.0.1:9/x", "format": "x"})
    assert "format" in error_of(bad_format, 422)
    routes = api.platform.store.get_json(ROUTES_KEY)
    assert routes["systems"]["team-a/payments"] == {
        "active": None,
        "versions": {},
        "hooks": ["http://127.0.0.1:9/alerts", "http://127.0.0.1:9/am"],
        "hook_formats": {"http://127.0.0.1:9/am": "alertmanager"},
        "suppressed": [],
    }
    assert team.delete(f"/v1/systems/payments/hooks/{manager.json()['id']}").status_code == 204
    assert team.delete(f"/v1/systems/payments/hooks/{hook.json()['id']}").status_code == 204
    assert "cancel it first" in error_of(team.delete("/v1/systems/payments"), 409)


def test_cli_talks_to_the_api(tmp_path: Path, logs: Path) -> None:
    """`logsynergy systems|datasets|jobs|models` as a user runs them, against the served API."""
    import subprocess
    import sys

    with running_api(make_settings(tmp_path / "data"), scheduler=False) as running:
        env = {**os.environ, "LOGSYNERGY_API_URL": running.url, "LOGSYNERGY_API_KEY": ADMIN_KEY}

        def cli(*args: str, key: str | None = None) -> subprocess.CompletedProcess:
            run_env = env if key is None else {**env, "LOGSYNERGY_API_KEY": key}
            command = [sys.executable, "-m", "logsynergy_api.cli", *args]
            return subprocess.run(command, env=run_env, capture_output=True, text=True, timeout=120)

        created = cli("systems", "create", "storage", "--format", "jsonl", "--role", "source")
        assert created.returncode == 0, created.stderr
        uploaded = cli("datasets", "upload", "storage", str(logs / "storage.jsonl"))
        assert uploaded.returncode == 0 and '"lines": 3000' in uploaded.stdout, uploaded.stderr
        listed = cli("systems", "list")
        assert '"name": "storage"' in listed.stdout
        refused = cli("systems", "list", key="lsk_wrong")
        assert (
            refused.returncode == 2
            and "unknown API key" in refused.stderr
            and "Traceback" not in refused.stderr
        )
        missing = cli("models", "list", "nope")
        assert missing.returncode == 2 and "no system named 'nope'" in missing.stderr

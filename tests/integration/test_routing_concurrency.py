"""The routing table under concurrent writes: bursts of system creates and deletes, sent at once over real
HTTP to two API servers sharing one database and store (as several uvicorn workers or replicas do), leave
routes.json equal to the database's table, its revision advanced exactly once per change.

Runs on SQLite and on a PostgreSQL 15 server (the local store in both: the store is not the subject)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers import postgres
from helpers.api_server import RunningApi, make_settings, running_api
from sqlmodel import Session

from logsynergy_api.services.routing import build_routes
from logsynergy_contracts import ROUTES_KEY

BURSTS, WIDTH = 6, 16


@pytest.fixture(params=["sqlite", "postgres"])
def servers(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[RunningApi, RunningApi]]:
    with ExitStack() as stack:
        overrides: dict[str, Any] = {"store_url": str(tmp_path / "store")}
        if request.param == "postgres":
            why = postgres.available()
            if why:
                if os.environ.get("CI") == "true":
                    pytest.fail(why)
                pytest.skip(why)
            overrides["database_url"] = stack.enter_context(postgres.postgres_server())
        else:
            overrides["database_url"] = f"sqlite:///{tmp_path / 'shared.db'}"
        one = stack.enter_context(running_api(make_settings(tmp_path / "a", **overrides), scheduler=False))
        two = stack.enter_context(running_api(make_settings(tmp_path / "b", **overrides), scheduler=False))
        yield one, two


def published(api: RunningApi) -> dict[str, Any]:
    return api.platform.store.get_json(ROUTES_KEY)


def assert_matches_database(api: RunningApi) -> dict[str, Any]:
    document = published(api)
    with Session(api.platform.engine) as session:
        expected = build_routes(session, document["revision"]).model_dump(mode="json")
    assert {**document, "updated": None} == {**expected, "updated": None}
    return document


def test_concurrent_creates_and_deletes_publish_every_change_in_order(
    servers: tuple[RunningApi, RunningApi],
) -> None:
    one, two = servers
    created = one.client().post("/v1/tenants", json={"name": "team"})
    assert created.status_code == 201, created.text
    key = created.json()["api_key"]
    clients = [api.client(key) for api in (one, two) for _ in range(WIDTH // 2)]
    start = published(one)["revision"]

    def create(index: int, name: str) -> httpx.Response:
        body = {"name": name, "format": "jsonl", "role": "source"}
        return clients[index].post("/v1/systems", json=body)

    def delete(index: int, name: str) -> httpx.Response:
        return clients[index].delete(f"/v1/systems/{name}")

    changes, live = 0, set[str]()
    with ThreadPoolExecutor(WIDTH) as pool:
        for burst in range(BURSTS):
            doomed = sorted(live)[: WIDTH // 2]
            fresh = [f"s{burst}-{i}" for i in range(WIDTH - len(doomed))]
            calls = [(create, name) for name in fresh] + [(delete, name) for name in doomed]
            answers = list(pool.map(lambda a: a[1][0](a[0], a[1][1]), enumerate(calls)))
            for (call, name), answer in zip(calls, answers, strict=True):
                assert answer.status_code == (201 if call is create else 204), answer.text
                live.add(name) if call is create else live.discard(name)
            changes += len(calls)
            document = assert_matches_database(one)
            assert {s.split("/", 1)[1] for s in document["systems"]} == live
            assert document["revision"] == start + changes
    for client in clients:
        client.close()

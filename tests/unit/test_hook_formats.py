"""Alert hook payload formats: LogSynergy's own (a report per POST) and Alertmanager's webhook (v4),
delivered to a real HTTP server on 127.0.0.1; the routing table carries each hook's format."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from logsynergy.store import LocalStore
from logsynergy_contracts import ROUTES_KEY, AllowList, HookFormat, RoutingDocument, hash_key, pattern_id
from logsynergy_workers.serving.hooks import ALERT_NAME, HookSender, alertmanager_payload
from logsynergy_workers.serving.routes import RoutesCache, UnknownSystem


def report(first: int, template_ids: list[str], score: float = 0.9) -> dict[str, Any]:
    events = [
        {"line": first + i, "template_id": t, "template": f"user <*> did {t}", "interpretation": f"{t}!"}
        for i, t in enumerate(template_ids)
    ]
    return {
        "first_line": first,
        "last_line": first + len(events) - 1,
        "session": None,
        "score": score,
        "threshold": 0.5,
        "pattern": pattern_id(template_ids),
        "events": events,
    }


def test_the_alertmanager_payload_is_a_firing_v4_group_with_one_alert_per_window() -> None:
    now = datetime(2026, 12, 1, 8, 0, 0, tzinfo=UTC)
    reports = [report(1, [f"t{i}" for i in range(14)]), report(40, ["a", "b"], score=0.7)]
    payload = alertmanager_payload("acme", "payments", "3", reports, now)
    assert payload["version"] == "4" and payload["status"] == "firing"
    assert payload["receiver"] == "logsynergy" and payload["truncatedAlerts"] == 0
    assert payload["groupKey"] == f'{{}}:{{alertname="{ALERT_NAME}", system="payments", tenant="acme"}}'
    assert payload["groupLabels"] == {"alertname": ALERT_NAME, "tenant": "acme", "system": "payments"}
    first, second = payload["alerts"]
    assert first["status"] == "firing" and first["startsAt"] == "2026-12-01T08:00:00.000Z"
    assert first["labels"] == {
        "alertname": ALERT_NAME,
        "tenant": "acme",
        "system": "payments",
        "version": "3",
        "pattern": reports[0]["pattern"],
        "severity": "warning",
    }
    assert second["labels"]["pattern"] == pattern_id(["b", "a"]) != first["labels"]["pattern"]
    assert first["fingerprint"] != second["fingerprint"] and len(first["fingerprint"]) == 16
    assert all(isinstance(v, str) for a in payload["alerts"] for v in a["labels"].values())
    assert first["annotations"]["summary"] == "log anomaly in payments (score 0.9)"
    description = first["annotations"]["description"].splitlines()
    assert description[0] == "lines 1-14: score 0.9 >= threshold 0.5"
    assert description[1] == "user <*> did t0 (t0!)" and description[-1] == "... 4 more lines"
    assert "pattern" not in payload["commonLabels"]  # differs between the alerts
    assert payload["commonLabels"]["version"] == "3"


class Receiver:
    """A real HTTP server on 127.0.0.1 keeping (path, JSON body) of every POST."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, Any]] = []
        posts = self.posts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                posts.append((self.path, json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.server.shutdown()
    server.server.server_close()


def test_each_hook_gets_its_own_format_and_duplicates_are_not_resent(receiver: Receiver) -> None:
    plain, manager = f"{receiver.url}/plain", f"{receiver.url}/am"
    reports = [report(1, ["a"]), report(20, ["b", "c"])]

    async def send() -> dict[str, int]:
        sender = HookSender(timeout_s=2.0, retries=0, dedup_s=60.0, allow=AllowList.parse("127.0.0.1"))
        formats = {manager: HookFormat.ALERTMANAGER}
        assert sender.submit([plain, manager], "acme", "payments", "3", reports, formats) == 3
        assert sender.submit([plain, manager], "acme", "payments", "3", reports, formats) == 0
        await sender.drain()
        await sender.aclose()
        return sender.stats

    stats = asyncio.run(send())
    assert stats["delivered"] == 3 and stats["suppressed"] == 2
    by_path: dict[str, list[Any]] = {}
    for path, body in receiver.posts:
        by_path.setdefault(path, []).append(body)
    assert sorted(b["report"]["first_line"] for b in by_path["/plain"]) == [1, 20]
    assert {b["model_version"] for b in by_path["/plain"]} == {"3"}
    [alertmanager] = by_path["/am"]
    assert alertmanager["version"] == "4"
    assert [a["labels"]["pattern"] for a in alertmanager["alerts"]] == [r["pattern"] for r in reports]


def test_the_route_carries_hook_formats_and_suppressed_patterns(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    entry = {
        "active": "1",
        "versions": {"1": "p/1/"},
        "hooks": ["http://a", "http://b"],
        "hook_formats": {"http://b": "alertmanager"},
        "suppressed": ["p1", "p2"],
    }
    bad = {**entry, "hook_formats": {"http://b": "pager"}}
    document = {"keys": {hash_key("k"): "acme"}, "systems": {"acme/pay": entry, "acme/bad": bad}}
    store.put_json(ROUTES_KEY, document)
    table = RoutesCache(store).get()
    route = table.resolve("acme", "pay")
    assert route.hooks == ("http://a", "http://b")
    assert dict(route.hook_formats) == {"http://b": HookFormat.ALERTMANAGER}
    assert route.suppressed == frozenset({"p1", "p2"})
    assert "hook_formats" in table.broken["acme/bad"]  # an unknown format breaks only its system
    with pytest.raises(UnknownSystem):
        table.resolve("acme", "bad")
    old = RoutingDocument.parse({"systems": {"acme/x": {"hooks": ["http://a"]}}})[0].systems["acme/x"]
    assert old.hook_formats == {} and old.suppressed == frozenset()  # tables written before these fields

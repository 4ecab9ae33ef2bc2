"""The detection endpoint's view of routes.json (`RoutingDocument` from the contracts): lookups, and the
tolerance of a table that is missing, unreadable or partly malformed."""

from __future__ import annotations

from pathlib import Path

import pytest

from logsynergy.store import LocalStore
from logsynergy_contracts import ROUTES_KEY, hash_key
from logsynergy_workers.serving.routes import (
    NoActiveVersion,
    RoutesCache,
    RoutingUnavailable,
    Unauthorized,
    UnknownSystem,
    UnknownVersion,
)

KEY = "lsk_secret"


def document(revision: int = 1) -> dict:
    return {
        "revision": revision,
        "updated": "2030-01-01T00:00:00.000Z",
        "keys": {hash_key(KEY).upper(): "acme"},
        "systems": {
            "acme/payments": {"active": 2, "versions": {"1": "p/1/", "2": "p/2/"}, "hooks": ["http://h"]},
            "acme/fresh": {"active": None, "versions": {}},
            "acme/broken": {"active": "1", "versions": ["p/1/"]},
            "acme/odd": "not an object",
        },
    }


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_lookups_and_a_malformed_entry_breaking_only_its_system(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    store.put_json(ROUTES_KEY, document())
    table = RoutesCache(store).get()
    assert table.tenant_for(KEY) == "acme"  # digests compare in lower case
    with pytest.raises(Unauthorized, match="unknown API key"):
        table.tenant_for("lsk_other")
    route = table.resolve("acme", "payments")
    assert (route.version, route.artifact_prefix, route.hooks) == ("2", "p/2/", ("http://h",))
    assert route.model_id == "acme/payments:2"
    assert table.resolve("acme", "payments", "1").artifact_prefix == "p/1/"
    with pytest.raises(UnknownVersion, match="known: 1, 2"):
        table.resolve("acme", "payments", "3")
    with pytest.raises(NoActiveVersion):
        table.resolve("acme", "fresh")
    assert set(table.broken) == {"acme/broken", "acme/odd"} and "versions" in table.broken["acme/broken"]
    for name in ("broken", "odd"):
        with pytest.raises(UnknownSystem):
            table.resolve("acme", name)
    with pytest.raises(UnknownSystem):
        table.resolve("globex", "payments")


def test_a_missing_table_is_empty_and_an_unreadable_one_keeps_the_last_good_copy(tmp_path: Path) -> None:
    store, clock = LocalStore(tmp_path), Clock()
    cache = RoutesCache(store, ttl_s=1.0, clock=clock)
    with pytest.raises(Unauthorized):
        cache.get().tenant_for(KEY)
    store.put_json(ROUTES_KEY, document(revision=4))
    assert cache.get().revision == 0  # the empty copy is still fresh
    clock.now = 1.0
    assert cache.get().revision == 4
    store.put_json(ROUTES_KEY, {"revision": "five", "keys": {}, "systems": {}})
    clock.now = 2.0
    assert cache.get().revision == 4 and cache.get().tenant_for(KEY) == "acme"
    store.put_bytes(ROUTES_KEY, b"{not json")
    clock.now = 3.0
    assert cache.get().revision == 4

    with pytest.raises(RoutingUnavailable, match="cannot read the routing table"):  # no good copy yet
        RoutesCache(store).get()

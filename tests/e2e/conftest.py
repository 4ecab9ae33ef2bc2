"""Fixtures of the e2e tests: the `logsynergy up` platform shared by the tests that take `local_platform`
(test_platform_e2e.py, then test_console.py), and, for the detection-service tests, local Ray + Serve, a
LocalStore and a tiny trained detector."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers.detector_fixture import tiny_detector
from helpers.local_platform import Platform, SharedPlatform, stop_platform

from logsynergy.store import LocalStore
from logsynergy_contracts import ALLOW_PRIVATE_ENV
from logsynergy_workers.serving.endpoint import direct_ingress_env, free_port
from logsynergy_workers.serving.routes import ROUTES_KEY, hash_key

TENANT, OTHER_TENANT = "acme", "globex"
KEY, OTHER_KEY = "acme-secret-key", "globex-secret-key"
PREFIX_V1 = "tenants/acme/models/payments/job-1/"
PREFIX_V2 = "tenants/acme/models/payments/job-2/"


PLATFORM_FIXTURE = "local_platform"
PLATFORM_MODULES = ("test_platform_e2e.py", "test_console.py")  # the order they share it in
_shared = SharedPlatform()


@pytest.fixture
def local_platform(tmp_path_factory: pytest.TempPathFactory) -> Platform:
    """The one `logsynergy up` of this run (started by the first test that takes it)."""
    return _shared.get(tmp_path_factory.getbasetemp() / "up")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests on `logsynergy up` run one after another (test_platform_e2e.py's first: the console test
    follows them on the same platform), where the first of them was, so that no other test's Ray runs
    beside the platform's."""
    users = [item for item in items if PLATFORM_FIXTURE in getattr(item, "fixturenames", ())]
    if not users:
        return
    first = items.index(users[0])
    others = [item for item in items if item not in users]
    rank = {name: i for i, name in enumerate(PLATFORM_MODULES)}
    users.sort(key=lambda item: rank.get(item.path.name, len(rank)))
    items[:] = [*others[:first], *users, *others[first:]]


def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """Stop the platform once the next test does not use it (it must stop cleanly)."""
    if nextitem is None or PLATFORM_FIXTURE not in getattr(nextitem, "fixturenames", ()):
        _shared.stop()


def pytest_sessionfinish() -> None:
    if _shared.running is not None:  # an interrupted run
        stop_platform(_shared.running)
        _shared.running = None


@dataclass
class Serving:
    """A running detection service and the store it reads."""

    url: str
    store: LocalStore
    routes: dict[str, Any]
    proxy_url: str = ""
    tenant: str = TENANT
    other_key: str = OTHER_KEY
    prefix_v2: str = PREFIX_V2

    def base_routes(self, hook_url: str | None = None) -> dict[str, Any]:
        return base_routes(hook_url)

    def write_routes(self, routes: dict[str, Any], wait_s: float = 1.2) -> None:
        """Rewrite routes.json (revision + 1) and wait out the ingress's cache TTL."""
        routes["revision"] = self.routes.get("revision", 0) + 1
        self.routes = routes
        self.store.put_json(ROUTES_KEY, routes)
        time.sleep(wait_s)

    def client(self, key: str | None = KEY, timeout: float = 60.0, url: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=url or self.url, headers=headers, timeout=timeout)


@pytest.fixture(scope="session")
def tiny_artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny synthetic `payments` detector, trained once per test session."""
    return tiny_detector(tmp_path_factory.getbasetemp() / "tiny-detector")


def base_routes(hook_url: str | None = None) -> dict[str, Any]:
    hooks = [hook_url] if hook_url else []
    return {
        "revision": 1,
        "updated": "2024-01-01T00:00:00Z",
        "keys": {hash_key(KEY): TENANT, hash_key(OTHER_KEY): OTHER_TENANT},
        "systems": {
            f"{TENANT}/payments": {"active": "1", "versions": {"1": PREFIX_V1}, "hooks": []},
            f"{TENANT}/alerts": {"active": "1", "versions": {"1": PREFIX_V1}, "hooks": hooks},
            f"{TENANT}/fresh": {"active": None, "versions": {}, "hooks": []},
            f"{TENANT}/broken": {"active": "1", "versions": {"1": "tenants/acme/models/broken/gone/"}},
            f"{OTHER_TENANT}/billing": {"active": "1", "versions": {"1": PREFIX_V1}, "hooks": []},
        },
    }


@pytest.fixture(scope="module")
def serving(tiny_artifact: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serving]:
    """Local Ray (2 CPUs) + the detection app on a free 127.0.0.1 port as `logsynergy up` runs it (the
    ingress replica serves the port; Serve's proxy on another); shut down afterwards."""
    import ray
    from ray import serve

    from logsynergy_workers.serving.endpoint import start_detection

    root = tmp_path_factory.mktemp("serving")
    store = LocalStore(root / "store")
    store.upload_dir(PREFIX_V1, tiny_artifact)
    store.upload_dir(PREFIX_V2, tiny_artifact)
    ray_tmp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")
    env = {
        "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
        "RAY_AUTH_MODE": "disabled",
        "RAY_TMPDIR": ray_tmp,
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "LOGSYNERGY_STORE_URL": str(root / "store"),
        "LOGSYNERGY_SERVE_CACHE": str(root / "model-cache"),
        ALLOW_PRIVATE_ENV: "127.0.0.1",  # the hook receivers of these tests listen on loopback
    }
    port = free_port()
    env.update(direct_ingress_env(port))
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        state = Serving(f"http://127.0.0.1:{port}", store, {})
        state.write_routes(base_routes(), wait_s=0)
        ray.init(num_cpus=2, include_dashboard=False, _temp_dir=ray_tmp, runtime_env={"env_vars": env})
        try:
            args = {
                "routes_ttl_s": 0.5,
                "ingress_num_cpus": 0.25,
                "pool_num_cpus": 0.5,
                "pool_autoscaling": {"num_replicas": 1},
                "hook_retries": 2,
                "hook_dedup_s": 60,
                "hook_timeout_s": 2,
                "max_body_bytes": 4 << 20,
            }
            endpoint = start_detection(args, "127.0.0.1", port)
            assert endpoint.direct and endpoint.url == state.url
            state.proxy_url = endpoint.proxy_url
            yield state
        finally:
            serve.shutdown()
            ray.shutdown()
            shutil.rmtree(ray_tmp, ignore_errors=True)

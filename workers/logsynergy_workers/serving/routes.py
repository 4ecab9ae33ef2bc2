"""The serving routing table (`routing/routes.json`): API keys → tenants, systems → active model versions.

`RoutesCache` keeps the last table read and re-reads it when its copy is older than `ttl_s`, so a model
activation written by the control plane takes effect without a restart. A missing table is an empty
one (every key is unknown); a table that cannot be read keeps the last good copy in service.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from logsynergy.errors import InputError, LogSynergyError, ObjectNotFound, StoreError
from logsynergy.store import ObjectStore

ROUTES_KEY = "routing/routes.json"
log = logging.getLogger(__name__)


class ServingError(LogSynergyError):
    """A request the detection service refuses; `status` and `code` become the HTTP answer."""

    status = 500
    code = "internal"


class Unauthorized(ServingError):
    status, code = 401, "unauthorized"


class UnknownSystem(ServingError):
    status, code = 404, "unknown_system"


class UnknownVersion(ServingError):
    status, code = 404, "unknown_version"


class NoActiveVersion(ServingError):
    status, code = 409, "no_active_version"


class BadRequest(ServingError, InputError):
    status, code = 422, "invalid_request"


class PayloadTooLarge(ServingError, InputError):
    status, code = 413, "payload_too_large"


class UnsupportedMediaType(ServingError, InputError):
    status, code = 415, "unsupported_media_type"


class ModelUnavailable(ServingError):
    status, code = 503, "model_unavailable"


class RoutingUnavailable(ServingError):
    status, code = 503, "routing_unavailable"


def hash_key(api_key: str) -> str:
    """The sha256 hex digest under which routes.json lists an API key."""
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()


def model_id(tenant: str, system: str, version: str) -> str:
    return f"{tenant}/{system}:{version}"


@dataclass(frozen=True)
class Route:
    """Where one request goes: a tenant's system at one model version."""

    tenant: str
    system: str
    version: str
    artifact_prefix: str
    hooks: tuple[str, ...] = ()

    @property
    def model_id(self) -> str:
        return model_id(self.tenant, self.system, self.version)


@dataclass(frozen=True)
class RoutingTable:
    revision: int = 0
    keys: Mapping[str, str] = field(default_factory=dict)
    systems: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @classmethod
    def parse(cls, data: Any) -> RoutingTable:
        """Validate the top-level shape; a malformed system entry only breaks that system."""
        if not isinstance(data, Mapping):
            raise StoreError(f"{ROUTES_KEY} is not a JSON object")
        keys, systems = data.get("keys") or {}, data.get("systems") or {}
        if not isinstance(keys, Mapping) or not isinstance(systems, Mapping):
            raise StoreError(f"{ROUTES_KEY}: 'keys' and 'systems' must be JSON objects")
        revision = data.get("revision", 0)
        return cls(
            revision if isinstance(revision, int) else 0,
            {str(k).lower(): str(v) for k, v in keys.items()},
            {str(k): v for k, v in systems.items() if isinstance(v, Mapping)},
        )

    def tenant_for(self, api_key: str | None) -> str:
        """The tenant of an API key; Unauthorized when it is missing or unknown."""
        if not api_key:
            raise Unauthorized("missing API key: send 'Authorization: Bearer <key>'")
        tenant = self.keys.get(hash_key(api_key))
        if tenant is None:
            raise Unauthorized("unknown API key")
        return tenant

    def resolve(self, tenant: str, system: str, version: str | None = None) -> Route:
        """The route of `tenant/system` at `version` (default: the active version)."""
        entry = self.systems.get(f"{tenant}/{system}")
        if entry is None:
            raise UnknownSystem(f"system {system!r} is not registered for tenant {tenant!r}")
        versions = entry.get("versions")
        versions = versions if isinstance(versions, Mapping) else {}
        hooks = entry.get("hooks")
        hooks = tuple(h for h in hooks if isinstance(h, str)) if isinstance(hooks, list) else ()
        if version is None:
            active = entry.get("active")
            if active in (None, ""):
                raise NoActiveVersion(f"system {system!r} has no active model version (activate one)")
            version = str(active)
            if version not in versions:
                raise NoActiveVersion(f"system {system!r}: active version {version!r} has no model artifact")
        elif version not in versions:
            known = ", ".join(sorted(versions)) or "none"
            raise UnknownVersion(f"system {system!r} has no model version {version!r} (known: {known})")
        prefix = versions[version]
        if not isinstance(prefix, str) or not prefix:
            raise NoActiveVersion(f"system {system!r}: version {version!r} has no artifact prefix")
        return Route(tenant, system, version, prefix, hooks)


class RoutesCache:
    """The routing table, re-read from the store when the cached copy is older than `ttl_s`."""

    def __init__(
        self, store: ObjectStore, ttl_s: float = 1.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._store, self._ttl, self._clock = store, ttl_s, clock
        self._table: RoutingTable | None = None
        self._read_at = float("-inf")
        self._lock = asyncio.Lock()

    @property
    def age_s(self) -> float:
        return self._clock() - self._read_at

    def _read(self) -> RoutingTable:
        try:
            return RoutingTable.parse(self._store.get_json(ROUTES_KEY))
        except ObjectNotFound:
            return RoutingTable()

    def _refresh(self) -> RoutingTable:
        try:
            self._table = self._read()
        except StoreError as exc:
            if self._table is None:
                raise RoutingUnavailable(f"cannot read the routing table: {exc}") from exc
            log.warning("routing table re-read failed, keeping revision %s: %s", self._table.revision, exc)
        self._read_at = self._clock()
        return self._table

    def get(self) -> RoutingTable:
        """The current table (blocking read when stale)."""
        if self._table is None or self.age_s >= self._ttl:
            return self._refresh()
        return self._table

    async def aget(self) -> RoutingTable:
        """The current table; a stale copy is re-read once in a thread, however many requests wait."""
        if self._table is not None and self.age_s < self._ttl:
            return self._table
        async with self._lock:
            if self._table is not None and self.age_s < self._ttl:
                return self._table
            return await asyncio.to_thread(self._refresh)

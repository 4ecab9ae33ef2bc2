"""The serving routing table (`routing/routes.json`): API keys → tenants, systems → active model versions.

`RoutesCache` keeps the last table read and re-reads it when its copy is older than `ttl_s`, so a model
activation written by the control plane takes effect without a restart. A missing table is an empty
one (every key is unknown); a table that cannot be read keeps the last good copy in service.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from logsynergy.errors import ConfigError, InputError, LogSynergyError, ObjectNotFound, StoreError
from logsynergy.store import ObjectStore
from logsynergy_contracts import ROUTES_KEY, HookFormat, RoutingDocument, hash_key, system_key

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


class RecordingUnavailable(ServingError):
    """The request's flagged windows could not be written to the anomaly inbox: it was not answered, so
    that no anomaly goes unrecorded; the client retries."""

    status, code = 503, "recording_unavailable"


def model_id(tenant: str, system: str, version: str) -> str:
    return f"{tenant}/{system}:{version}"


@dataclass(frozen=True)
class Route:
    """Where one request goes: a tenant's system at one model version, its alert hooks (`hook_formats`:
    the payload format by URL, LogSynergy's own when absent) and its suppressed incident patterns."""

    tenant: str
    system: str
    version: str
    artifact_prefix: str
    hooks: tuple[str, ...] = ()
    hook_formats: Mapping[str, HookFormat] = field(default_factory=dict)
    suppressed: frozenset[str] = frozenset()

    @property
    def model_id(self) -> str:
        return model_id(self.tenant, self.system, self.version)


@dataclass(frozen=True)
class RoutingTable:
    """The routing document in service, with the lookups a request needs."""

    document: RoutingDocument = field(default_factory=RoutingDocument)
    broken: dict[str, str] = field(default_factory=dict)  # systems left out, with the reason

    @property
    def revision(self) -> int:
        return self.document.revision

    @classmethod
    def parse(cls, data: Any) -> RoutingTable:
        """Validate routes.json (StoreError when its top level is malformed); a malformed system entry
        only breaks that system: it is left out (unknown to requests) and listed in `broken`."""
        try:
            return cls(*RoutingDocument.parse(data))
        except ConfigError as error:
            raise StoreError(str(error)) from None

    def tenant_for(self, api_key: str | None) -> str:
        """The tenant of an API key; Unauthorized when it is missing or unknown."""
        if not api_key:
            raise Unauthorized("missing API key: send 'Authorization: Bearer <key>'")
        tenant = self.document.keys.get(hash_key(api_key))
        if tenant is None:
            raise Unauthorized("unknown API key")
        return tenant

    def resolve(self, tenant: str, system: str, version: str | None = None) -> Route:
        """The route of `tenant/system` at `version` (default: the active version)."""
        entry = self.document.systems.get(system_key(tenant, system))
        if entry is None:
            raise UnknownSystem(f"system {system!r} is not registered for tenant {tenant!r}")
        versions = entry.versions
        if version is None:
            if not entry.active:
                raise NoActiveVersion(f"system {system!r} has no active model version (activate one)")
            version = entry.active
            if version not in versions:
                raise NoActiveVersion(f"system {system!r}: active version {version!r} has no model artifact")
        elif version not in versions:
            known = ", ".join(sorted(versions)) or "none"
            raise UnknownVersion(f"system {system!r} has no model version {version!r} (known: {known})")
        prefix = versions[version]
        if not prefix:
            raise NoActiveVersion(f"system {system!r}: version {version!r} has no artifact prefix")
        return Route(
            tenant, system, version, prefix, tuple(entry.hooks), entry.hook_formats, entry.suppressed
        )


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
            table = self._read()
            if table.broken and (self._table is None or self._table.revision != table.revision):
                for name, why in table.broken.items():
                    log.warning("routes revision %s: system %s left out: %s", table.revision, name, why)
            self._table = table
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

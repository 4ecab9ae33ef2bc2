"""The serving routing table (`routing/routes.json`): written by the control plane, read by the
detection endpoint. API keys appear only as `hash_key` digests."""

from __future__ import annotations

import hashlib

from pydantic import BaseModel, ConfigDict, Field

ROUTES_KEY = "routing/routes.json"


def hash_key(api_key: str) -> str:
    """The SHA-256 hex digest under which the database and the routing table know an API key."""
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()


def system_key(tenant: str, system: str) -> str:
    """A system's entry name in the routing table."""
    return f"{tenant}/{system}"


class SystemRoute(BaseModel):
    """One system: its active version, each version's artifact prefix, its alert hooks."""

    model_config = ConfigDict(extra="ignore")

    active: str | None = None
    versions: dict[str, str] = Field(default_factory=dict)
    hooks: list[str] = Field(default_factory=list)


class RoutingDocument(BaseModel):
    """routes.json as stored: `keys` maps hash_key digests to tenants, `systems` system_key names to
    routes. `revision` grows by one with every publication."""

    model_config = ConfigDict(extra="ignore")

    revision: int = 0
    updated: str | None = None
    keys: dict[str, str] = Field(default_factory=dict)
    systems: dict[str, SystemRoute] = Field(default_factory=dict)

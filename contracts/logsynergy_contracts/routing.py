"""The serving routing table (`routing/routes.json`): written by the control plane, read by the
detection endpoint. API keys appear only as `hash_key` digests."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from logsynergy.errors import ConfigError
from logsynergy.options import describe_errors
from logsynergy_contracts.hook_urls import HookFormat

ROUTES_KEY = "routing/routes.json"


def hash_key(api_key: str) -> str:
    """The SHA-256 hex digest under which the database and the routing table know an API key (keys
    are 256-bit random tokens, so a plain SHA-256 is a safe, fast lookup hash)."""
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()


def system_key(tenant: str, system: str) -> str:
    """A system's entry name in the routing table."""
    return f"{tenant}/{system}"


class SystemRoute(BaseModel):
    """One system: its active version, each version's artifact prefix, its alert hooks (with the payload
    format of those not in LogSynergy's own, by URL), and the incident patterns (`anomalies.pattern_id`)
    its operators judged `not_anomaly`."""

    model_config = ConfigDict(extra="ignore", frozen=True, coerce_numbers_to_str=True)

    active: str | None = None
    versions: dict[str, str] = Field(default_factory=dict)
    hooks: list[str] = Field(default_factory=list)
    hook_formats: dict[str, HookFormat] = Field(default_factory=dict)
    suppressed: frozenset[str] = Field(default_factory=frozenset)


class RoutingDocument(BaseModel):
    """routes.json as stored: `keys` maps hash_key digests to tenants, `systems` system_key names to
    routes. `revision` grows by one with every publication."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    revision: int = 0
    updated: str | None = None
    keys: dict[str, str] = Field(default_factory=dict)
    systems: dict[str, SystemRoute] = Field(default_factory=dict)

    @field_validator("keys")
    @classmethod
    def _lower_hex(cls, value: dict[str, str]) -> dict[str, str]:
        return {digest.lower(): tenant for digest, tenant in value.items()}

    @classmethod
    def parse(cls, data: Any) -> tuple[RoutingDocument, dict[str, str]]:
        """Validate routes.json's content: ConfigError when its top level is malformed. A malformed
        system entry is left out, so that it breaks only that system; the second value maps each one
        left out to the reason."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"{ROUTES_KEY} is not a JSON object")
        entries = data.get("systems") or {}
        if not isinstance(entries, Mapping):
            raise ConfigError(f"{ROUTES_KEY}: systems: must be a JSON object")
        systems: dict[str, SystemRoute] = {}
        broken: dict[str, str] = {}
        for name, entry in entries.items():
            try:
                systems[str(name)] = SystemRoute.model_validate(entry)
            except ValidationError as error:
                broken[str(name)] = describe_errors(error)
        try:
            top = cls.model_validate({**data, "systems": {}})
        except ValidationError as error:
            raise ConfigError(f"{ROUTES_KEY}: {describe_errors(error)}") from None
        return top.model_copy(update={"systems": systems}), broken

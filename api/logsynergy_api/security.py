"""API keys: random tokens shown once, stored as `hash_key` digests (defined with the routing table,
whose readers must compute the same digest)."""

from __future__ import annotations

import secrets

from logsynergy_contracts import hash_key

__all__ = ["KEY_PREFIX", "hash_key", "new_api_key"]

KEY_PREFIX = "lsk_"


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)

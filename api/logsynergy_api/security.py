"""API keys: random tokens shown once, stored as `hash_key` digests (defined with the routing table,
whose readers must compute the same digest).

A plain SHA-256 is a safe lookup hash only for keys that cannot be guessed: generated keys carry 256
random bits, and the one key a person may choose (the bootstrap admin key) must pass `check_chosen_key`.
Besides the digest a row keeps only `key_id`, a short label taken from the digest, never from the key."""

from __future__ import annotations

import secrets

from logsynergy_contracts import hash_key

__all__ = ["KEY_PREFIX", "MIN_KEY_LENGTH", "check_chosen_key", "hash_key", "key_id", "new_api_key"]

KEY_PREFIX = "lsk_"
MIN_KEY_LENGTH = 24
MIN_DISTINCT_CHARACTERS = 12


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_id(key: str) -> str:
    """A key's non-secret label: `lsk_` and the first 4 hex digits of its digest (already public in the
    routing table), enough to tell keys apart in a listing."""
    return KEY_PREFIX + hash_key(key)[:4]


def check_chosen_key(key: str, setting: str) -> str:
    """`key` if it is strong enough to be stored as a plain digest, else ValueError naming `setting`."""
    if any(c.isspace() or not c.isprintable() for c in key):
        raise ValueError(f"{setting} may not contain whitespace or control characters")
    if len(key) < MIN_KEY_LENGTH or len(set(key)) < MIN_DISTINCT_CHARACTERS:
        raise ValueError(
            f"{setting} is too weak: use at least {MIN_KEY_LENGTH} characters with at least "
            f"{MIN_DISTINCT_CHARACTERS} different ones, e.g. the output of "
            "`python -c 'import secrets; print(\"lsk_\" + secrets.token_urlsafe(32))'`"
        )
    return key

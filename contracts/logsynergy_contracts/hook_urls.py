"""Alert hook URLs: where the detection endpoint may POST anomaly reports. The control plane checks a URL
when a hook is added and the endpoint again before each delivery (DNS can change in between), with the
same `check_hook_url`, so that a tenant cannot aim the platform at its own network (SSRF) or smuggle
headers into the request line.

A URL is accepted when it is http(s), has a host, no user info, no whitespace or control characters, and
every address its host resolves to is public, unless the host name or address is in the allow-list
(`LOGSYNERGY_HOOK_ALLOW_PRIVATE`: comma-separated host names, addresses or CIDR networks; empty by
default)."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import urlsplit

ALLOW_PRIVATE_ENV = "LOGSYNERGY_HOOK_ALLOW_PRIVATE"
MAX_URL_LENGTH = 2000
SCHEMES = ("http", "https")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[str]]


class HookFormat(StrEnum):
    """The body a hook receives: LogSynergy's own (one report per POST) or Alertmanager's webhook (v4)."""

    LOGSYNERGY = "logsynergy"
    ALERTMANAGER = "alertmanager"


class HookUrlError(ValueError):
    """A hook URL the platform refuses to call; the message says why."""


@dataclass(frozen=True)
class AllowList:
    """Private targets that hooks may reach anyway: host names (exact, lower-case) and networks."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[Network, ...] = field(default=())

    @classmethod
    def parse(cls, value: str | Iterable[str] | None) -> AllowList:
        """From `"127.0.0.1, 10.0.0.0/8, hooks.internal"` (or a list of such entries); HookUrlError
        naming a malformed entry."""
        entries = value.replace(",", " ").split() if isinstance(value, str) else list(value or ())
        hosts: set[str] = set()
        networks: list[Network] = []
        for entry in (e.strip() for e in entries):
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                if "/" in entry or not all(c.isalnum() or c in "-._" for c in entry):
                    message = f"{ALLOW_PRIVATE_ENV}: {entry!r} is not a host, address or network"
                    raise HookUrlError(message) from None
                hosts.add(entry.lower().rstrip("."))
        return cls(frozenset(hosts), tuple(networks))

    def allows(self, address: Address) -> bool:
        return any(address.version == n.version and address in n for n in self.networks)


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (TCP)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def is_public(address: Address) -> bool:
    """False for loopback, link-local, private, multicast, reserved, unspecified and other non-global
    addresses (an IPv4-mapped IPv6 address is judged as its IPv4 address)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not (
        address.is_loopback
        or address.is_link_local
        or address.is_private
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def _addresses(host: str, port: int, resolver: Resolver | None) -> list[Address]:
    """`host` itself when it is an address literal, else what it resolves to (HookUrlError if nothing)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        found = (resolver or resolve)(host, port)
        addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in found]
    except (OSError, UnicodeError, ValueError) as error:
        raise HookUrlError(f"cannot resolve the hook host {host!r}: {error}") from None
    if not addresses:
        raise HookUrlError(f"cannot resolve the hook host {host!r}")
    return addresses


def check_hook_url(url: str, allow: AllowList | None = None, resolver: Resolver | None = None) -> str:
    """`url` if the platform may POST to it, else HookUrlError saying why (see the module docstring);
    `resolver` (default `resolve`) lists a host's addresses."""
    allow = allow or AllowList()
    if not isinstance(url, str) or not url:
        raise HookUrlError("a hook URL is required")
    if len(url) > MAX_URL_LENGTH:
        raise HookUrlError(f"a hook URL has at most {MAX_URL_LENGTH} characters")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise HookUrlError("a hook URL may not contain whitespace or control characters (CR, LF, …)")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise HookUrlError(f"malformed hook URL: {error}") from None
    if parts.scheme.lower() not in SCHEMES:
        raise HookUrlError("a hook URL must start with http:// or https://")
    if "@" in parts.netloc:
        raise HookUrlError("a hook URL may not carry user info (user:password@)")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise HookUrlError("a hook URL needs a host")
    if host in allow.hosts:
        return url
    addresses = _addresses(host, port or (443 if parts.scheme.lower() == "https" else 80), resolver)
    for address in addresses:
        if not is_public(address) and not allow.allows(address):
            raise HookUrlError(
                f"the hook host {host!r} is a non-public address ({address}); allow it with "
                f"{ALLOW_PRIVATE_ENV}"
            )
    return url

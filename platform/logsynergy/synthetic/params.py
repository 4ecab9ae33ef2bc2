"""Random parameter values for the `{placeholders}` of the synthetic log templates.

A placeholder `{name}` or `{name2}` (trailing digits ignored) is drawn once per workflow instance and then
reused by every line of that instance; `{~name}` is drawn afresh on every line.
"""

from __future__ import annotations

import random
from collections.abc import Callable

_USERS = (
    "alice",
    "bob",
    "carol",
    "dmitri",
    "erin",
    "farid",
    "grace",
    "hiro",
    "ines",
    "jun",
    "root",
    "svc_etl",
)
_PATHS = (
    "/user/root/rand/_temporary/_task_{}_r_000{}_0/part-0000{}",
    "/user/hadoop/logs/2024/{}/{}/events-{}.gz",
    "/home/{}/runs/{}/input-{}.dat",
    "/scratch/project{}/mesh-{}/chunk{}.bin",
)
_PSPS = ("stripe", "adyen", "braintree", "worldpay")
_CURRENCIES = ("EUR", "USD", "GBP", "CHF")


def _hex(rng: random.Random, n: int) -> str:
    return f"{rng.getrandbits(4 * n):0{n}x}"


def _uuid(rng: random.Random) -> str:
    h = _hex(rng, 32)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _blk(rng: random.Random) -> str:
    return f"blk_{'-' if rng.random() < 0.5 else ''}{rng.randrange(10**17, 10**19)}"


def _node(rng: random.Random) -> str:
    rack, mid, card = rng.randrange(64), rng.randrange(2), rng.randrange(16)
    return f"R{rack:02d}-M{mid}-N{card:X}-C:J{rng.randrange(2, 18):02d}-U{rng.choice(('01', '11'))}"


def _path(rng: random.Random) -> str:
    return rng.choice(_PATHS).format(rng.randrange(200), rng.randrange(10), rng.randrange(1000))


def _ms(rng: random.Random) -> int:
    return max(1, int(rng.lognormvariate(3.0, 0.9)))


PARAMS: dict[str, Callable[[random.Random], object]] = {
    "blk": _blk,
    "ip": lambda r: f"10.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(1, 255)}",
    "port": lambda r: r.randrange(30000, 61000),
    "size": lambda r: r.choice((67108864, r.randrange(1024, 67108864))),
    "ms": _ms,
    "sec": lambda r: r.randrange(1, 600),
    "n": lambda r: r.randrange(0, 4),
    "count": lambda r: r.randrange(2, 5000),
    "path": _path,
    "host": lambda r: f"{r.choice(('cp', 'node', 'compute'))}-{r.randrange(1, 64):02d}",
    "user": lambda r: r.choice(_USERS),
    "node": _node,
    "job": lambda r: r.randrange(1000, 99999),
    "part": lambda r: f"R{r.randrange(64):02d}-M{r.randrange(2)}",
    "addr": lambda r: f"0x{_hex(r, 8)}",
    "hex": lambda r: _hex(r, 40),
    "uuid": _uuid,
    "inst": _uuid,
    "req": lambda r: f"req-{_uuid(r)}",
    "rid": lambda r: _hex(r, 12),
    "tenant": lambda r: _hex(r, 32),
    "mem": lambda r: r.choice((512, 1024, 2048, 4096, 8192)),
    "disk": lambda r: r.choice((1, 10, 20, 40, 80)),
    "vcpu": lambda r: r.choice((1, 2, 4, 8)),
    "order": lambda r: r.randrange(100000, 9999999),
    "charge": lambda r: f"ch_{_hex(r, 16)}",
    "amount": lambda r: f"{r.randrange(1, 2000)}.{r.randrange(100):02d}",
    "cur": lambda r: r.choice(_CURRENCIES),
    "psp": lambda r: r.choice(_PSPS),
    "pct": lambda r: r.randrange(20, 89),
    "card": lambda r: f"J{r.randrange(2, 18):02d}",
    "temp": lambda r: r.randrange(28, 61),
    "rpm": lambda r: r.randrange(2400, 6200, 10),
    "pid": lambda r: r.randrange(300, 32768),
}


def param_base(key: str) -> str:
    """The generator name of a placeholder key: `~ip2` -> `ip`."""
    return key.lstrip("~").rstrip("0123456789")


class Context(dict):
    """Placeholder values of one workflow instance or incident, drawn lazily (see the module docstring)."""

    __slots__ = ("rng",)

    def __init__(self, rng: random.Random, initial: dict[str, object] | None = None) -> None:
        super().__init__(initial or {})
        self.rng = rng

    def __missing__(self, key: str) -> object:
        value = PARAMS[param_base(key)](self.rng)
        if not key.startswith("~"):
            self[key] = value
        return value

    def render(self, template: str) -> str:
        return template.format_map(self)

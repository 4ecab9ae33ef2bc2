"""Offline LEI: a deterministic plain-words rendering of a template, with no LLM.

It cannot judge severity the way an LLM does, but it removes the syntax that differs between systems
(parameters, identifiers glued together, abbreviations), which is what makes embeddings comparable.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence

from logsynergy.interpret.base import InterpretStats
from logsynergy.templates import SystemContext, Template

MAX_WORDS = 16
FALLBACK_SENTENCE = "Log event."

ABBREVIATIONS: dict[str, str] = {
    "addr": "address",
    "alloc": "allocation",
    "app": "application",
    "args": "arguments",
    "arg": "argument",
    "auth": "authentication",
    "avail": "available",
    "blk": "block",
    "buf": "buffer",
    "cfg": "configuration",
    "cmd": "command",
    "config": "configuration",
    "conf": "configuration",
    "conn": "connection",
    "cpu": "processor",
    "ctx": "context",
    "db": "database",
    "ddr": "memory",
    "dest": "destination",
    "dst": "destination",
    "dfs": "distributed file system",
    "dir": "directory",
    "disconn": "disconnected",
    "dn": "data node",
    "env": "environment",
    "err": "error",
    "errs": "errors",
    "exc": "exception",
    "fs": "file system",
    "hw": "hardware",
    "info": "information",
    "init": "initialization",
    "intr": "interrupt",
    "io": "input output",
    "ip": "network address",
    "kb": "kilobytes",
    "mb": "megabytes",
    "gb": "gigabytes",
    "mem": "memory",
    "msg": "message",
    "msgs": "messages",
    "nn": "name node",
    "num": "number",
    "pkt": "packet",
    "pkts": "packets",
    "proc": "process",
    "recv": "receive",
    "rcvd": "received",
    "ref": "reference",
    "req": "request",
    "reqs": "requests",
    "resp": "response",
    "sec": "seconds",
    "secs": "seconds",
    "sess": "session",
    "src": "source",
    "srv": "server",
    "stat": "status",
    "sync": "synchronization",
    "sys": "system",
    "tmp": "temporary",
    "temp": "temperature",
    "usr": "user",
    "val": "value",
    "vm": "virtual machine",
    "vms": "virtual machines",
    "ws": "web service",
}

# Tokens with digits that are words, not parameters.
_KEEP_WITH_DIGITS = {"ipv4", "ipv6", "md5", "sha1", "sha256", "utf8", "x86", "x64", "l1", "l2", "l3", "2fa"}

# Parameters dropped before anything else, most specific first. The url scheme and the email local part
# are bounded (64 characters, RFC 5321's local-part limit): unbounded, a long run of their characters
# (`a1.a1.a1.…`) is rescanned from each word boundary in it, quadratic in a line's length.
_PARAMETERS = [
    re.compile(p)
    for p in (
        r"<\*>",
        r"\b[a-zA-Z][a-zA-Z0-9+.-]{0,63}://\S+",  # url
        r"\b[\w.+-]{1,64}@[\w-]+(?:\.[\w-]+)+\b",  # email
        r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b",  # uuid
        r"(?:[0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}",  # mac
        r"\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?",  # ipv4[:port]
        r"\b(?:[0-9a-fA-F]{0,4}:){2,7}[0-9a-fA-F]{0,4}\b",  # ipv6-ish
        r"\b0[xX][0-9a-fA-F]+\b",  # hex literal
        r"\b(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}\b",  # long mixed hex
        r"(?:(?<=\s)|(?<=^)|(?<=[=:(\[\"']))(?:[A-Za-z]:)?(?:~|\.{1,2})?[\\/][^\s,;)\]\"']*",  # path
    )
]
_DOTTED = re.compile(r"\b[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*){2,}\b")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])")
_TOKEN = re.compile(r"[A-Za-z0-9]+")


def _drop_parameters(text: str) -> str:
    for pattern in _PARAMETERS:
        text = pattern.sub(" ", text)
    # dotted class names (org.apache.hadoop.Foo) keep only the class name
    return _DOTTED.sub(lambda m: " " + m.group(0).rsplit(".", 1)[-1] + " ", text)


def _words(text: str) -> list[str]:
    words: list[str] = []
    for raw in _TOKEN.findall(_drop_parameters(text)):
        lowered = raw.lower()
        if lowered in _KEEP_WITH_DIGITS:
            words.append(lowered)
            continue
        if any(c.isdigit() for c in raw) and not _looks_like_word_with_digits(raw):
            continue
        for part in _CAMEL.split(raw):
            part = part.lower()
            if not part or part.isdigit():
                continue
            if len(part) == 1 and part != "a":
                continue
            words.extend(ABBREVIATIONS.get(part, part).split())
    return words


def _looks_like_word_with_digits(token: str) -> bool:
    """camelCase words with a digit (getV2Client) are identifiers to split; anything else with a digit
    (ids, node names, sizes) is a parameter."""
    letters = sum(c.isalpha() for c in token)
    return letters >= 4 and letters >= 3 * sum(c.isdigit() for c in token) and not token.isupper()


_DANGLING = {"a", "an", "and", "at", "by", "for", "from", "in", "is", "of", "on", "or", "the", "to", "with"}


def _tidy(words: list[str], max_words: int) -> list[str]:
    """Drop immediate repeats, cap the length, and drop function words left dangling at the end."""
    out: list[str] = []
    for word in words:
        if not out or out[-1] != word:
            out.append(word)
    out = out[:max_words]
    while len(out) > 1 and out[-1] in _DANGLING:
        out.pop()
    return out


def as_sentence(words: Sequence[str], max_words: int = MAX_WORDS) -> str:
    """Join words into one capitalised sentence ending with a full stop, at most `max_words` words."""
    words = list(words)[:max_words]
    if not words:
        return FALLBACK_SENTENCE
    text = " ".join(words)
    return text[0].upper() + text[1:] + "."


def interpret_offline(template: str, example: str = "", max_words: int = MAX_WORDS) -> str:
    """The offline sentence of one template: its words without parameters, or the example's when the
    template is all parameters."""
    words = _tidy(_words(template), max_words)
    if not words and example:
        words = _tidy(_words(example), max_words)
    return as_sentence(words, max_words)


class OfflineInterpreter:
    """Deterministic, instant, no network. Used by default and as the fallback of LLM providers."""

    name = "offline"

    def __init__(self, max_words: int = MAX_WORDS) -> None:
        self.max_words = max_words
        self.last_stats = InterpretStats()

    def interpret(self, templates: Sequence[Template], system: SystemContext) -> dict[str, str]:
        started = time.perf_counter()
        out = {t.id: interpret_offline(t.text, t.example, self.max_words) for t in templates}
        self.last_stats = InterpretStats(templates=len(out), seconds=time.perf_counter() - started)
        return out

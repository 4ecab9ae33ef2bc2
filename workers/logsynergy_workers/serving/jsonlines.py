"""JSON-lines (newline-delimited JSON) batches, as collectors' generic HTTP outputs post them.

One log record per non-blank line: a JSON object whose message is under `message_key` (default
"message"), with an optional session under `session_key` (default "session") and an optional
"timestamp"; or a JSON string, the message itself. Other keys are ignored (collectors add host, tags, …).
A line that is neither (or holds a NUL character) names itself in a `BadRequest` (422), so a misconfigured
template is seen at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from logsynergy_workers.serving.routes import BadRequest

CONTENT_TYPES = frozenset(
    {
        "application/x-ndjson",
        "application/ndjson",
        "application/jsonl",
        "application/x-jsonl",
        "application/jsonlines",
        "application/x-jsonlines",
        "application/json-lines",
        "application/json-seq",
    }
)
TIMESTAMP_KEY = "timestamp"
MAX_KEY_CHARS = 128
Record = tuple[str, str | None, str | None]  # message, session, timestamp


@dataclass(frozen=True)
class JsonLinesKeys:
    """Where a line's message and session are."""

    message: str = "message"
    session: str = "session"

    def override(self, message: str | None, session: str | None) -> JsonLinesKeys:
        """These keys with a request's own choices (None: keep); BadRequest for an unusable key."""
        for name, value in (("message_key", message), ("session_key", session)):
            if value is not None and not 0 < len(value) <= MAX_KEY_CHARS:
                raise BadRequest(f"{name} must be 1 to {MAX_KEY_CHARS} characters")
        return JsonLinesKeys(message or self.message, session or self.session)


def _scalar(value: Any) -> str | None:
    """A session or timestamp value as text (numbers too); None when absent or not a scalar."""
    if value is None or isinstance(value, bool | dict | list):
        return None
    return value if isinstance(value, str) else str(value)


def parse_json_lines(raw: bytes, keys: JsonLinesKeys) -> list[Record]:
    """(message, session, timestamp) records of a JSON-lines body (blank lines skipped)."""
    records: list[Record] = []
    for number, line in enumerate(raw.splitlines(), 1):
        line = line.strip().lstrip(b"\x1e")  # application/json-seq starts each record with RS
        if not line:
            continue
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise BadRequest(f"line {number} is not JSON: {exc}") from None
        message = (
            value if isinstance(value, str) else value.get(keys.message) if isinstance(value, dict) else None
        )
        if not isinstance(message, str):
            raise BadRequest(
                f"line {number} must be a JSON string or an object with a string {keys.message!r} "
                "(set ?message_key= for another key)"
            )
        if "\x00" in message:
            raise BadRequest(f"line {number} holds a NUL character: binary data, not a log line")
        if isinstance(value, str):
            records.append((value, None, None))
            continue
        records.append((message, _scalar(value.get(keys.session)), _scalar(value.get(TIMESTAMP_KEY))))
    return records

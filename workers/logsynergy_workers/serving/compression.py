"""Request bodies under `Content-Encoding` (gzip as collectors send it, deflate), inflated within a limit.

The limit applies to the inflated body (a small gzip bomb is refused with 413 once it inflates past it,
without being inflated further); a truncated or corrupt stream is a 400-class `BadRequest`.
"""

from __future__ import annotations

import zlib

from logsynergy_workers.serving.routes import BadRequest, PayloadTooLarge, UnsupportedMediaType

GZIP_WBITS = 16 + zlib.MAX_WBITS  # gzip framing
ZLIB_AUTO_WBITS = 32 + zlib.MAX_WBITS  # zlib or gzip framing, detected from the header
CHUNK = 1 << 16


def _inflate(raw: bytes, wbits: int, limit: int, what: str) -> bytes:
    """`raw` inflated (concatenated gzip members too); PayloadTooLarge past `limit` bytes."""
    out: list[bytes] = []
    size = 0
    data = raw
    while data:
        inflater = zlib.decompressobj(wbits)
        pending = data
        while pending and not inflater.eof:
            try:
                piece = inflater.decompress(pending, CHUNK)
            except zlib.error as exc:
                raise BadRequest(f"the {what} body cannot be decompressed: {exc}") from None
            size += len(piece)
            if size > limit:
                raise PayloadTooLarge(f"the decompressed body is larger than the limit of {limit} bytes")
            out.append(piece)
            pending = inflater.unconsumed_tail
        if not inflater.eof:
            raise BadRequest(f"the {what} body is truncated")
        data = inflater.unused_data
        if wbits != GZIP_WBITS:  # only gzip has members
            if data.strip(b"\0"):
                raise BadRequest(f"the {what} body has trailing data")
            break
    return b"".join(out)


def decode_content(raw: bytes, content_encoding: str, limit: int) -> bytes:
    """The body as sent before `Content-Encoding` (gzip, x-gzip, deflate or identity), at most `limit`
    bytes; UnsupportedMediaType (415) for another encoding."""
    encodings = [e.strip().lower() for e in content_encoding.split(",") if e.strip()]
    for encoding in reversed(encodings):  # the last one applied is listed last
        if encoding == "identity":
            continue
        if encoding in ("gzip", "x-gzip"):
            raw = _inflate(raw, GZIP_WBITS, limit, "gzip")
        elif encoding == "deflate":
            raw = _inflate(raw, ZLIB_AUTO_WBITS, limit, "deflate")
        else:
            raise UnsupportedMediaType(
                f"unsupported Content-Encoding {encoding!r}: send gzip, deflate or an uncompressed body"
            )
    return raw

"""The object-store interface shared by the local and the S3 implementation, and key validation.

Keys are `/`-separated relative paths. `list_keys` and `delete_prefix` match a plain string prefix (as
S3 does); end the prefix with `/` to mean a directory. `upload_dir`/`download_dir` always treat their
prefix as a directory.
"""

from __future__ import annotations

import hashlib
import io
import json
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from logsynergy.atomic import write_atomic
from logsynergy.errors import InputError, ObjectNotFound, ObjectTooLarge, StoreError

CHUNK = 1 << 20
MAX_KEY_BYTES = 1024
TEMP_MARKER = ".~tmp-"  # name start of in-progress files; reserved, never a key segment


class InvalidKey(StoreError, InputError):
    """A key or prefix that is not a safe `/`-separated relative path."""


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    sha256: str


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    modified: float  # seconds since the epoch


def _check_segments(text: str, what: str, *, allow_trailing_slash: bool) -> None:
    if len(text.encode("utf-8")) > MAX_KEY_BYTES:
        raise InvalidKey(f"{what} is longer than {MAX_KEY_BYTES} bytes: {text[:60]!r}…")
    if text.startswith("/"):
        raise InvalidKey(f"{what} {text!r} must be relative (no leading '/')")
    if "\\" in text:
        raise InvalidKey(f"{what} {text!r} must use '/' as separator, not a backslash")
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise InvalidKey(f"{what} {text!r} contains a control character")
    body = text[:-1] if allow_trailing_slash and text.endswith("/") else text
    for segment in body.split("/"):
        if segment in ("", ".", ".."):
            raise InvalidKey(f"{what} {text!r} has an empty, '.' or '..' path segment")
        if segment.startswith(TEMP_MARKER):
            raise InvalidKey(f"{what} {text!r} uses the reserved name prefix {TEMP_MARKER!r}")


def validate_key(key: str) -> str:
    """Return `key` if it is a valid object key, else raise `InvalidKey`."""
    if not isinstance(key, str) or not key:
        raise InvalidKey(f"object key must be a non-empty string, got {key!r}")
    _check_segments(key, "object key", allow_trailing_slash=False)
    return key


def validate_prefix(prefix: str) -> str:
    """Return `prefix` if valid: empty (everything) or a key-like string, optionally ending in `/`."""
    if not isinstance(prefix, str):
        raise InvalidKey(f"key prefix must be a string, got {prefix!r}")
    if prefix:
        _check_segments(prefix, "key prefix", allow_trailing_slash=True)
    return prefix


def dir_prefix(prefix: str) -> str:
    """`prefix` as a directory: '' stays '', anything else ends with exactly one '/'."""
    validate_prefix(prefix)
    return prefix if not prefix or prefix.endswith("/") else prefix + "/"


class HashingReader:
    """Wraps a binary stream; counts and sha256-hashes what is read; raises past `max_bytes`."""

    def __init__(self, stream: BinaryIO, key: str, max_bytes: int | None) -> None:
        self._stream, self._key, self._max = stream, key, max_bytes
        self.size = 0
        self._hash = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size if size is not None and size >= 0 else CHUNK)
        if not data:
            return b""
        data = bytes(data)
        self.size += len(data)
        if self._max is not None and self.size > self._max:
            raise ObjectTooLarge(f"upload to {self._key!r} is larger than the limit of {self._max} bytes")
        self._hash.update(data)
        return data

    def stored(self) -> StoredObject:
        return StoredObject(self._key, self.size, self._hash.hexdigest())


class ObjectStore(ABC):
    """A flat key → bytes store. Writes are all-or-nothing: a failed put leaves no partial object."""

    @abstractmethod
    def put_stream(self, key: str, stream: BinaryIO, *, max_bytes: int | None = None) -> StoredObject:
        """Store everything read from `stream`; past `max_bytes` raise ObjectTooLarge and store nothing."""

    @abstractmethod
    def iter_chunks(self, key: str, chunk_size: int = CHUNK) -> Iterator[bytes]:
        """The object's bytes in chunks; ObjectNotFound (raised at once) if missing."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def list_keys(self, prefix: str) -> list[str]:
        """Every key starting with `prefix` (recursive), sorted."""

    @abstractmethod
    def list_objects(self, prefix: str) -> list[ObjectInfo]:
        """Like `list_keys`, with each object's size and last modification."""

    def purge_temporaries(self, older_than: float) -> tuple[int, int]:
        """Remove in-progress writes abandoned before `older_than` (epoch s), e.g. by a killed process;
        returns (count, bytes). Stores whose writes are atomic on the server side keep none."""
        return 0, 0

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove `key`; no error if it is missing."""

    @abstractmethod
    def describe(self) -> str: ...

    def put_bytes(self, key: str, data: bytes) -> StoredObject:
        return self.put_stream(key, io.BytesIO(data))

    def put_json(self, key: str, obj: Any) -> StoredObject:
        """Replace `key` atomically with `obj` as UTF-8 JSON."""
        return self.put_bytes(key, json.dumps(obj, ensure_ascii=False, indent=1).encode("utf-8"))

    def get_bytes(self, key: str) -> bytes:
        return b"".join(self.iter_chunks(key))

    def get_json(self, key: str) -> Any:
        data = self.get_bytes(key)
        try:
            return json.loads(data)
        except ValueError as exc:
            raise StoreError(f"object {key!r} in {self.describe()} is not valid JSON: {exc}") from exc

    def upload_file(self, key: str, path: Path) -> StoredObject:
        try:
            with open(path, "rb") as f:
                return self.put_stream(key, f)
        except (FileNotFoundError, IsADirectoryError) as exc:
            raise InputError(f"cannot upload {path}: not a readable file") from exc

    def download_file(self, key: str, path: Path) -> Path:
        """Write object `key` to `path` (parents created); the file appears complete or not at all."""
        return write_atomic(Path(path), self.iter_chunks(key), prefix=TEMP_MARKER)

    def upload_dir(self, prefix: str, directory: Path) -> list[StoredObject]:
        """Upload every file below `directory` as `prefix/relative/path`; sorted by key."""
        directory, base = Path(directory), dir_prefix(prefix)
        if not directory.is_dir():
            raise InputError(f"cannot upload {directory}: not a directory")
        files = sorted(p for p in directory.rglob("*") if p.is_file())
        return [self.upload_file(base + p.relative_to(directory).as_posix(), p) for p in files]

    def download_dir(self, prefix: str, directory: Path) -> Path:
        """Write every object under directory-prefix `prefix` below `directory`; ObjectNotFound if none."""
        directory, base = Path(directory), dir_prefix(prefix)
        keys = self.list_keys(base)
        if not keys:
            raise ObjectNotFound(f"no objects under {base!r} in {self.describe()}")
        for key in keys:
            self.download_file(key, directory / validate_key(key[len(base) :]))
        return directory

    def delete_prefix(self, prefix: str) -> int:
        """Delete every key starting with `prefix`; return how many."""
        keys = self.list_keys(prefix)
        for key in keys:
            self.delete(key)
        return len(keys)

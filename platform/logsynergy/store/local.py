"""`LocalStore`: objects as files below a root directory (the embedded default)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from logsynergy.errors import ObjectNotFound, StoreError
from logsynergy.store.base import (
    CHUNK,
    TEMP_MARKER,
    HashingReader,
    ObjectInfo,
    ObjectStore,
    StoredObject,
    validate_key,
    validate_prefix,
)


class LocalStore(ObjectStore):
    """Key `a/b/c` is the file `root/a/b/c`. Writes go to a temp file beside it, then `os.replace`."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).expanduser().resolve()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the local store directory {self.root}: {exc}") from exc

    def describe(self) -> str:
        return f"local directory {self.root}"

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*validate_key(key).split("/"))

    def put_stream(self, key: str, stream: BinaryIO, *, max_bytes: int | None = None) -> StoredObject:
        path = self._path(key)
        reader = HashingReader(stream, key, max_bytes)
        fd, tmp = self._temp_beside(key, path)
        try:
            with os.fdopen(fd, "wb") as f:
                while chunk := reader.read(CHUNK):
                    f.write(chunk)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException as exc:
            Path(tmp).unlink(missing_ok=True)
            if isinstance(exc, OSError):
                raise StoreError(f"cannot write {key!r} in {self.describe()}: {exc}") from exc
            raise
        return reader.stored()

    def _temp_beside(self, key: str, path: Path) -> tuple[int, str]:
        error: OSError | None = None
        for _ in range(3):  # a concurrent delete may prune the fresh parent directory: retry
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                return tempfile.mkstemp(dir=path.parent, prefix=TEMP_MARKER)
            except FileNotFoundError as exc:
                error = exc
            except OSError as exc:
                error = exc
                break
        raise StoreError(f"cannot write {key!r} in {self.describe()}: {error}") from error

    def get_bytes(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise ObjectNotFound(f"no object {key!r} in {self.describe()}") from exc

    def iter_chunks(self, key: str, chunk_size: int = CHUNK) -> Iterator[bytes]:
        try:
            f = open(self._path(key), "rb")  # noqa: SIM115 - closed by the generator below
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise ObjectNotFound(f"no object {key!r} in {self.describe()}") from exc
        return _chunks(f, chunk_size)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list_keys(self, prefix: str) -> list[str]:
        validate_prefix(prefix)
        start = self.root.joinpath(*prefix.rpartition("/")[0].split("/")) if "/" in prefix else self.root
        keys: list[str] = []
        for dirpath, _dirs, files in os.walk(start):
            rel = Path(dirpath).relative_to(self.root).as_posix()
            for name in files:
                key = name if rel == "." else f"{rel}/{name}"
                if not name.startswith(TEMP_MARKER) and key.startswith(prefix):
                    keys.append(key)
        return sorted(keys)

    def list_objects(self, prefix: str) -> list[ObjectInfo]:
        infos = []
        for key in self.list_keys(prefix):
            try:
                st = self._path(key).stat()
            except FileNotFoundError:
                continue  # deleted since the listing
            infos.append(ObjectInfo(key, st.st_size, st.st_mtime))
        return infos

    def purge_temporaries(self, older_than: float) -> tuple[int, int]:
        count = size = 0
        for dirpath, _dirs, files in os.walk(self.root):
            for name in files:
                if not name.startswith(TEMP_MARKER):
                    continue
                path = Path(dirpath) / name
                try:
                    st = path.stat()
                    if st.st_mtime < older_than:
                        path.unlink()
                        count, size = count + 1, size + st.st_size
                except FileNotFoundError:
                    continue  # finished or removed meanwhile
        return count, size

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            path.unlink(missing_ok=True)
        except (IsADirectoryError, NotADirectoryError, PermissionError) as exc:
            if path.is_dir() or not path.parent.is_dir():
                return  # a "directory" or a path below a file is not an object: nothing to delete
            raise StoreError(f"cannot delete {key!r} in {self.describe()}: {exc}") from exc
        for parent in path.parents:  # prune directories the deletion left empty
            if parent == self.root:
                break
            try:
                parent.rmdir()
            except OSError:
                break


def _chunks(f: BinaryIO, chunk_size: int) -> Iterator[bytes]:
    with f:
        while chunk := f.read(chunk_size):
            yield chunk

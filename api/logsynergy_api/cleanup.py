"""Cleanup of what killed processes left behind (upload spool files, orphaned dataset objects), at
start-up and then hourly from the scheduler.

Several API processes may share DATA_DIR and the store (replicas on one volume, a rolling update), so
only leftovers untouched for `GRACE_S` are removed: an upload in flight elsewhere is never older."""

from __future__ import annotations

import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session, select

from logsynergy_api.context import Platform
from logsynergy_api.models import Dataset, Tenant
from logsynergy_api.services.systems import tenant_prefix

log = logging.getLogger(__name__)

GRACE_S = 3600.0


@dataclass
class Removed:
    count: int = 0
    bytes: int = 0

    def add(self, count: int, size: int) -> None:
        self.count += count
        self.bytes += size


def _tree(path: Path) -> tuple[float, int]:
    """Newest modification time and total size of a file or directory tree."""
    st = path.lstat()
    newest, size = st.st_mtime, st.st_size if path.is_file() else 0
    if path.is_dir() and not path.is_symlink():
        for dirpath, _dirs, files in os.walk(path):
            newest = max(newest, os.lstat(dirpath).st_mtime)
            for name in files:
                fst = os.lstat(os.path.join(dirpath, name))
                newest, size = max(newest, fst.st_mtime), size + fst.st_size
    return newest, size


def clean_spool(spool_dir: Path, older_than: float) -> Removed:
    """Remove entries of the upload spool directory not modified since `older_than` (epoch s)."""
    removed = Removed()
    if not spool_dir.is_dir():
        return removed
    for entry in spool_dir.iterdir():
        try:
            newest, size = _tree(entry)
            if newest >= older_than:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        except FileNotFoundError:
            continue  # removed meanwhile by its own upload
        removed.add(1, size)
    return removed


def clean_dataset_objects(platform: Platform, older_than: float) -> Removed:
    """Remove objects under `tenants/<t>/datasets/<system>/<id>/` whose dataset row does not exist (an
    upload killed before its commit, a deletion killed after it), and abandoned in-progress writes."""
    store = platform.store
    removed = Removed()
    removed.add(*store.purge_temporaries(older_than))
    with Session(platform.engine) as session:
        prefixes = [f"{tenant_prefix(t)}datasets/" for t in session.exec(select(Tenant))]
        known = set(session.exec(select(Dataset.id)))
    for prefix in prefixes:
        groups: dict[str, list[tuple[str, int, float]]] = {}
        for info in store.list_objects(prefix):
            parts = info.key[len(prefix) :].split("/")
            if len(parts) >= 3 and parts[1] not in known:
                groups.setdefault(parts[1], []).append((info.key, info.size, info.modified))
        for objects in groups.values():
            if max(modified for _key, _size, modified in objects) >= older_than:
                continue  # perhaps an upload in flight in another process
            for key, size, _modified in objects:
                store.delete(key)
                removed.add(1, size)
    return removed


def clean_leftovers(platform: Platform, grace_s: float = GRACE_S) -> None:
    """Run both cleanups and log what they removed; a failure is logged, never fatal to start-up."""
    older_than = time.time() - grace_s
    try:
        spool = clean_spool(platform.settings.data_dir / "tmp", older_than)
        objects = clean_dataset_objects(platform, older_than)
    except Exception:
        log.exception("cleanup of upload leftovers failed")
        return
    if spool.count or objects.count:
        log.warning(
            "cleanup: removed %d upload spool entries (%d bytes) and %d orphaned dataset objects (%d bytes)",
            spool.count,
            spool.bytes,
            objects.count,
            objects.bytes,
        )

"""Dataset uploads: streamed to a size-limited temp file, validated with the core loaders, then stored."""

from __future__ import annotations

import re
import tempfile
import uuid
from collections import Counter
from pathlib import Path
from typing import BinaryIO

from sqlmodel import Session, select

from logsynergy.errors import InputError, ObjectTooLarge
from logsynergy.loaders import load_log
from logsynergy.parsing import LogParser
from logsynergy.records import LoadedLog
from logsynergy.windows import make_windows
from logsynergy_api.context import Platform
from logsynergy_api.models import Dataset, System, Tenant
from logsynergy_api.services.systems import tenant_prefix

CHUNK = 1 << 20
SIGNATURE_LINES = 5000
SIGNATURE_WORDS = 300
WORD = re.compile(r"[A-Za-z][A-Za-z_]{2,}")


def spool(stream: BinaryIO, path: Path, max_bytes: int, what: str) -> int:
    """Copy a stream to `path`, refusing more than `max_bytes`; returns the size."""
    size = 0
    with path.open("wb") as out:
        while chunk := stream.read(CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise ObjectTooLarge(f"{what} is larger than the limit of {max_bytes / 2**20:.0f} MiB")
            out.write(chunk)
    if size == 0:
        raise InputError(f"{what} is empty")
    return size


def named_for_content(path: Path) -> Path:
    """Gzip uploads get a `.gz` name so that the loaders decompress them."""
    with path.open("rb") as f:
        magic = f.read(2)
    if magic == b"\x1f\x8b":
        return path.rename(path.with_name(path.name + ".gz"))
    return path


def signature(log: LoadedLog) -> dict[str, int]:
    """Word counts over the templates of a sample of the log: what source selection compares."""
    messages = [r.message for r in log.records[:SIGNATURE_LINES]]
    parser = LogParser()
    ids = parser.fit(messages)
    counts: Counter[str] = Counter()
    for template_id, n in Counter(ids).items():
        template = parser.templates[template_id].text
        for word in set(WORD.findall(template)):
            counts[word.lower()] += n
    return dict(counts.most_common(SIGNATURE_WORDS))


def summarise(log: LoadedLog) -> dict[str, object]:
    windows = make_windows(log, ["-"] * len(log.records))
    return {
        "lines": len(log.records),
        "malformed": log.report.malformed,
        "windowing": log.windowing,
        "windows": len(windows),
        "sessions": len(windows) if log.windowing == "session" else 0,
        "labelled": any(w.label is not None for w in windows),
        "anomalous_windows": sum(1 for w in windows if w.label == 1),
    }


def upload_dataset(
    platform: Platform,
    session: Session,
    tenant: Tenant,
    system: System,
    log_file: BinaryIO,
    filename: str,
    labels_file: BinaryIO | None,
) -> Dataset:
    """Validate and store one upload; on any error nothing remains stored."""
    limit = platform.settings.max_upload_bytes
    scratch = platform.settings.data_dir / "tmp"
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=scratch) as tmp:
        log_path = Path(tmp) / "log"
        spool(log_file, log_path, limit, "the uploaded log")
        log_path = named_for_content(log_path)
        labels_path = None
        if labels_file is not None:
            labels_path = Path(tmp) / "labels"
            spool(labels_file, labels_path, limit, "the uploaded labels file")
        loaded = load_log(system.format, log_path, labels_path)
        if (
            labels_path is not None
            and not any(r.label is not None for r in loaded.records)
            and not (loaded.session_labels)
        ):
            raise InputError("the labels file matches no session or line of the uploaded log")
        facts = summarise(loaded)
        dataset_id = uuid.uuid4().hex[:16]
        prefix = f"{tenant_prefix(tenant)}datasets/{system.name}/{dataset_id}/"
        try:
            stored = platform.store.upload_file(prefix + "log", log_path)
            labels_key = None
            if labels_path is not None:
                labels_key = platform.store.upload_file(prefix + "labels", labels_path).key
            dataset = Dataset(
                id=dataset_id,
                tenant_id=tenant.id,
                system_id=system.id,
                filename=Path(filename or "log").name[:255],
                log_key=stored.key,
                labels_key=labels_key,
                size_bytes=stored.size,
                sha256=stored.sha256,
                signature=signature(loaded),
                **facts,
            )
            session.add(dataset)
            session.commit()
        except BaseException:
            session.rollback()
            platform.store.delete_prefix(prefix)
            raise
    return dataset


def list_datasets(session: Session, system: System) -> list[Dataset]:
    query = select(Dataset).where(Dataset.system_id == system.id).order_by(Dataset.created_at)
    return list(session.exec(query))

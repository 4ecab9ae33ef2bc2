"""Dataset uploads: streamed to a size-limited temp file, validated with the core loaders, then stored.

Limits hold while bytes flow, never after the fact: the raw upload against `max_upload_bytes` while it is
spooled, then (decompressed if gzip) against `max_upload_expanded_bytes` and `max_upload_lines` before
any line is parsed. The loaders read the plain text; the store keeps the upload as sent."""

from __future__ import annotations

import gzip
import re
import tempfile
import uuid
import zlib
from collections import Counter
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlmodel import Session, select

from logsynergy.errors import InputError, LogSynergyError, ObjectTooLarge
from logsynergy.loaders import load_log
from logsynergy.parsing import LogParser
from logsynergy.records import LoadedLog
from logsynergy.windows import make_windows
from logsynergy_api.context import Platform
from logsynergy_api.models import Dataset, System, Tenant
from logsynergy_api.services.systems import tenant_prefix
from logsynergy_api.settings import Settings

CHUNK = 1 << 20
SIGNATURE_LINES = 5000
SIGNATURE_WORDS = 300
WORD = re.compile(r"[A-Za-z][A-Za-z_]{2,}")
GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class UploadLimits:
    """What one uploaded file may be: raw bytes, bytes once decompressed, physical lines (blank ones too)."""

    raw_bytes: int
    expanded_bytes: int
    lines: int

    @classmethod
    def of(cls, settings: Settings) -> UploadLimits:
        return cls(settings.max_upload_bytes, settings.max_upload_expanded_bytes, settings.max_upload_lines)


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


def is_gzip(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(2) == GZIP_MAGIC


def as_text(path: Path, limits: UploadLimits, what: str) -> Path:
    """The spooled upload as plain text for the loaders, checked against the expanded-size and line limits.

    A gzip upload is decompressed chunk by chunk into a sibling `.txt` file (memory stays one chunk);
    plain text is only counted. Either way nothing is parsed before the limits passed."""
    compressed = is_gzip(path)
    target = path.with_name(path.name + ".txt") if compressed else path
    size = lines = 0
    last = b"\n"
    try:
        with (
            gzip.open(path, "rb") if compressed else path.open("rb") as source,
            target.open("wb") if compressed else nullcontext() as out,
        ):
            while chunk := source.read(CHUNK):
                size += len(chunk)
                lines += chunk.count(b"\n")
                last = chunk[-1:]
                if size > limits.expanded_bytes:
                    raise ObjectTooLarge(
                        f"{what} is larger than the limit of {limits.expanded_bytes / 2**20:.0f} MiB"
                        + (" once decompressed" if compressed else "")
                    )
                if lines > limits.lines:
                    raise too_many_lines(what, limits)
                if out is not None:
                    out.write(chunk)
    except (gzip.BadGzipFile, EOFError, zlib.error) as e:
        raise InputError(f"{what} is not a valid gzip file: {e}") from e
    if last != b"\n" and lines + 1 > limits.lines:
        raise too_many_lines(what, limits)
    return target


def too_many_lines(what: str, limits: UploadLimits) -> ObjectTooLarge:
    return ObjectTooLarge(
        f"{what} has more than {limits.lines} lines (blank ones count), the limit per upload"
    )


def without_paths(
    error: LogSynergyError, scratch: Path, filename: str, labels_filename: str
) -> LogSynergyError:
    """The core's error about a spooled file, naming the uploaded file instead of its server path (the
    core's messages name the path: on the command line, that is the user's own file)."""
    names = {"log": Path(filename or "log").name, "labels": Path(labels_filename or "labels").name}
    spooled = re.compile(re.escape(str(scratch)) + r"/(log|labels)[\w.]*")
    message = spooled.sub(lambda m: names[m.group(1)], str(error))
    return type(error)(message.replace(str(scratch), "the upload"))


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
    labels_filename: str = "labels",
) -> Dataset:
    """Validate and store one upload; on any error nothing remains stored."""
    limits = UploadLimits.of(platform.settings)
    scratch = platform.settings.data_dir / "tmp"
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=scratch) as tmp:
        log_path = Path(tmp) / "log"
        spool(log_file, log_path, limits.raw_bytes, "the uploaded log")
        log_text = as_text(log_path, limits, "the uploaded log")
        labels_path = labels_text = None
        if labels_file is not None:
            labels_path = Path(tmp) / "labels"
            spool(labels_file, labels_path, limits.raw_bytes, "the uploaded labels file")
            labels_text = as_text(labels_path, limits, "the uploaded labels file")
        try:
            loaded = load_log(system.format, log_text, labels_text)
        except LogSynergyError as error:
            raise without_paths(error, Path(tmp), filename, labels_filename) from error
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

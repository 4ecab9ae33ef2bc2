"""A training job's inputs: the spec's objects checked, downloaded and concatenated into local files, and
the core `SystemSpec`s that point at them (the spec itself is `logsynergy_contracts.TrainJobSpec`)."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path
from typing import BinaryIO

from logsynergy.errors import InputError, ObjectNotFound
from logsynergy.feedback import read_judgements
from logsynergy.store import ObjectStore
from logsynergy.systems import SystemSpec
from logsynergy_contracts import SystemInput, TrainJobSpec

HEADER_FORMATS = ("structured",)  # csv logs: a header line repeated by later datasets is dropped


def check_inputs(store: ObjectStore, spec: TrainJobSpec) -> None:
    """Fail fast, naming every missing key, before any training starts."""
    missing = [key for key in dict.fromkeys(spec.input_keys()) if not store.exists(key)]
    if missing:
        raise InputError(f"input object(s) not found in the store: {', '.join(missing)}")


def download_system(store: ObjectStore, system: SystemInput, directory: Path) -> SystemSpec:
    """Download a system's datasets (concatenated in order), interpretations and judged windows
    (`feedback_key`: JSONL of `JudgedWindow`, extra labelled target windows) into `directory` (one
    directory per system: the caller names it, so that no system name becomes a path)."""
    base = directory
    parts = base / "parts"
    parts.mkdir(parents=True, exist_ok=True)
    logs: list[Path] = []
    labels: list[Path] = []
    for i, dataset in enumerate(system.datasets):
        logs.append(_download(store, dataset.log_key, parts / f"{i}.log"))
        if dataset.labels_key:
            labels.append(_download(store, dataset.labels_key, parts / f"{i}.labels"))
    log_path = concatenate(logs, base / "log", drop_header=system.format in HEADER_FORMATS)
    labels_path = concatenate(labels, base / "labels", drop_header=True) if labels else None
    interpretations = None
    if system.interpretations_key:
        interpretations = _download(store, system.interpretations_key, base / "interpretations.jsonl")
    feedback = None
    if system.feedback_key:
        feedback = _download(store, system.feedback_key, base / "feedback.jsonl")
        read_judgements(feedback, name=system.feedback_key)  # a bad line is named by its key, now
    shutil.rmtree(parts, ignore_errors=True)
    return SystemSpec(
        name=system.name,
        format=system.format,
        path=log_path,
        labels=labels_path,
        description=system.description,
        interpretations=interpretations,
        windowing=system.windowing,
        feedback=feedback,
    )


def _download(store: ObjectStore, key: str, path: Path) -> Path:
    try:
        store.download_file(key, path)
    except ObjectNotFound:
        raise InputError(f"input object not found in the store: {key}") from None
    return path


def _open(path: Path) -> BinaryIO:
    """A downloaded part, gunzipped when it is gzip data (whatever its key is called)."""
    with path.open("rb") as fh:
        magic = fh.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else path.open("rb")  # type: ignore[return-value]


def concatenate(parts: list[Path], out: Path, *, drop_header: bool = False) -> Path:
    """Join files in order into `out` (plain text). With `drop_header`, a later part's first line is
    dropped when it equals the first part's first line. A part not ending in a newline gets one."""
    header = b""
    last = b"\n"
    with out.open("wb") as sink:
        for i, part in enumerate(parts):
            with _open(part) as source:
                chunk = source.readline()
                if i == 0:
                    header = chunk.rstrip(b"\r\n")
                elif drop_header and chunk.rstrip(b"\r\n") == header:
                    chunk = b""
                if last != b"\n":
                    sink.write(b"\n")
                    last = b"\n"
                while True:
                    if chunk:
                        sink.write(chunk)
                        last = chunk[-1:]
                    chunk = source.read(1 << 20)
                    if not chunk:
                        break
    return out

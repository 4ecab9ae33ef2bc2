"""`systems.yaml`: which logs belong to which system, in which format, with which labels."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from logsynergy.errors import ConfigError, InputError
from logsynergy.records import Windowing
from logsynergy.windows import WINDOW_SIZE, WINDOW_STEP, WINDOWINGS, WindowSettings

FORMATS = ("bgl", "thunderbird", "spirit", "structured", "hdfs", "openstack", "jsonl")


@dataclass(frozen=True)
class SystemSpec:
    """One system: its log, optional labels and ready-made interpretations, a description for LEI, how
    its log is cut into windows (`windowing` None: the format's natural windowing), and operators'
    judged windows (`feedback`, a JSONL file: logsynergy.feedback; used when it is the target)."""

    name: str
    format: str
    path: Path
    labels: Path | None = None
    description: str = ""
    interpretations: Path | None = None
    windowing: Windowing | None = None
    window_size: int = WINDOW_SIZE
    window_step: int = WINDOW_STEP
    feedback: Path | None = None

    def window_settings(self, natural: Windowing) -> WindowSettings:
        """The declared windowing, `natural` (the loaded log's) where the spec names no kind."""
        return WindowSettings(self.windowing or natural, self.window_size, self.window_step)


def _resolve(base: Path, value: Any, field_name: str, system: str) -> Path:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"system {system!r}: '{field_name}' must be a non-empty path")
    path = Path(value).expanduser()
    return path if path.is_absolute() else (base / path)


def _lines(entry: Mapping[str, Any], key: str, default: int, system: str) -> int:
    value = entry.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 100_000:
        raise ConfigError(f"system {system!r}: '{key}' must be a whole number of lines from 1 to 100000")
    return value


def parse_systems(data: Any, base: Path, source: str = "systems file") -> dict[str, SystemSpec]:
    """Validate the `systems: [...]` structure; relative paths are resolved against `base`."""
    if not isinstance(data, Mapping) or not isinstance(data.get("systems"), list) or not data["systems"]:
        raise ConfigError(f"{source}: expected a top-level 'systems:' list with at least one entry")
    specs: dict[str, SystemSpec] = {}
    for i, entry in enumerate(data["systems"], 1):
        if not isinstance(entry, Mapping):
            raise ConfigError(f"{source}: entry {i} of 'systems' is not a mapping")
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"{source}: entry {i} has no 'name'")
        if name in specs:
            raise ConfigError(f"{source}: system {name!r} is listed twice")
        fmt = entry.get("format")
        if fmt not in FORMATS:
            raise InputError(f"system {name!r}: unknown format {fmt!r}; known formats: {', '.join(FORMATS)}")
        windowing = entry.get("windowing")
        if windowing is not None and windowing not in WINDOWINGS:
            raise ConfigError(f"system {name!r}: windowing must be 'sliding' or 'session'")
        specs[name] = SystemSpec(
            name=name,
            format=fmt,
            path=_resolve(base, entry.get("path"), "path", name),
            labels=_resolve(base, entry["labels"], "labels", name) if entry.get("labels") else None,
            description=str(entry.get("description") or ""),
            interpretations=(
                _resolve(base, entry["interpretations"], "interpretations", name)
                if entry.get("interpretations")
                else None
            ),
            windowing=windowing,
            window_size=_lines(entry, "window_size", WINDOW_SIZE, name),
            window_step=_lines(entry, "window_step", WINDOW_STEP, name),
            feedback=_resolve(base, entry["feedback"], "feedback", name) if entry.get("feedback") else None,
        )
    return specs


def load_systems(path: str | Path) -> dict[str, SystemSpec]:
    """Read and validate a systems.yaml file."""
    file = Path(path)
    if not file.is_file():
        raise InputError(f"systems file not found: {file}")
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: not valid YAML ({str(exc).splitlines()[0]})") from None
    return parse_systems(data, file.resolve().parent, str(file))

"""Bad input through the real command line: one clear line, a non-zero exit, never a traceback."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

SCRIPT = Path(sys.executable).parent / "logsynergy"


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The installed console script, as users run it (falls back to the module outside a venv)."""
    command = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "logsynergy.cli"]
    return subprocess.run([*command, *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def systems_file(tmp_path: Path, target: dict) -> Path:
    source = tmp_path / "source.jsonl"
    source.write_text("".join(f'{{"message": "service started {i}", "label": 0}}\n' for i in range(50)))
    path = tmp_path / "systems.yaml"
    systems = [{"name": "src", "format": "jsonl", "path": "source.jsonl"}, {"name": "new", **target}]
    path.write_text(yaml.safe_dump({"systems": systems}))
    return path


def assert_clean_failure(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1, result.stderr
    for needle in needles:
        assert needle in result.stderr.replace("\n", " "), result.stderr


def test_missing_systems_file(tmp_path: Path):
    result = run_cli(
        "train", "--systems", str(tmp_path / "nope.yaml"), "--target", "x", "--out", str(tmp_path)
    )
    assert_clean_failure(result, "nope.yaml")


@pytest.mark.parametrize(
    ("target", "content", "needle"),
    [
        ({"format": "klingon", "path": "t.log"}, b"x\n", "unknown format"),
        ({"format": "bgl", "path": "missing.log"}, None, "missing.log"),
        ({"format": "bgl", "path": "t.log"}, b"", "empty"),
        ({"format": "bgl", "path": "t.log"}, bytes(range(256)) * 40, "t.log"),
        ({"format": "hdfs", "path": "t.log", "labels": "labels.csv"}, None, "labels.csv"),
    ],
    ids=["unknown-format", "missing-file", "empty-log", "binary-garbage", "labels-match-nothing"],
)
def test_bad_target_input(tmp_path: Path, target: dict, content: bytes | None, needle: str):
    if content is not None:
        (tmp_path / "t.log").write_bytes(content)
    if target.get("labels"):
        (tmp_path / "t.log").write_text(
            "081109 203615 148 INFO dfs.DataNode$PacketResponder: "
            "PacketResponder 1 for block blk_38 terminating\n"
        )
        (tmp_path / "labels.csv").write_text("BlockId,Label\nblk_999,Anomaly\n")
    systems = systems_file(tmp_path, target)
    result = run_cli("train", "--systems", str(systems), "--target", "new", "--out", str(tmp_path / "out"))
    assert_clean_failure(result, needle)
    assert not (tmp_path / "out").exists()


def test_unknown_target_and_sources(tmp_path: Path):
    systems = systems_file(tmp_path, {"format": "jsonl", "path": "source.jsonl"})
    result = run_cli("train", "--systems", str(systems), "--target", "ghost", "--out", str(tmp_path / "o"))
    assert_clean_failure(result, "ghost")
    result = run_cli(
        "train",
        "--systems",
        str(systems),
        "--target",
        "new",
        "--sources",
        "src,zzz",
        "--out",
        str(tmp_path / "o"),
    )
    assert_clean_failure(result, "zzz")


def test_detect_with_missing_artifact(tmp_path: Path):
    log = tmp_path / "a.log"
    log.write_text("hello\n")
    result = run_cli("detect", str(tmp_path / "no-artifact"), str(log))
    assert_clean_failure(result, "no-artifact")


def test_invalid_yaml(tmp_path: Path):
    bad = tmp_path / "systems.yaml"
    bad.write_text("systems: [name: x\n  - : :\n")
    result = run_cli("train", "--systems", str(bad), "--target", "x", "--out", str(tmp_path / "o"))
    assert_clean_failure(result, "systems.yaml")


def test_platform_cli_composes_the_core_commands_without_changing_them():
    """Importing the platform's `logsynergy` leaves the core's command line as it was."""
    from typer.main import get_command

    from logsynergy import cli as core
    from logsynergy_api import cli as platform

    core_commands = get_command(core.app).commands
    assert list(core_commands) == [
        *("train", "detect", "bench", "bench-loop", "generate", "demo", "interpretations"),
    ]
    assert core_commands["demo"].help == inspect.getdoc(core.demo)
    platform_commands = get_command(platform.app).commands
    assert list(platform_commands) == [
        *("train", "detect", "bench", "bench-loop", "generate", "up", "api", "demo", "onboard"),
        *("interpretations", "systems", "datasets", "jobs", "models", "anomalies", "incidents"),
    ]
    assert platform_commands["demo"].help == inspect.getdoc(platform.demo) != inspect.getdoc(core.demo)


@pytest.mark.parametrize("args", [(), ("nosuch",), ("train", "--nosuch")])
def test_usage_errors_print_usage_not_a_traceback(args: tuple[str, ...]):
    result = run_cli(*args)
    assert result.returncode == 2
    assert "Usage: logsynergy" in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr

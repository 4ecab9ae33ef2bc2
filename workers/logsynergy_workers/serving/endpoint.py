"""Where the detection service listens: its FastAPI ingress replica itself (Ray Serve's *direct ingress*,
the default of a local platform), or Serve's HTTP proxy in front of it (a cluster's default).

Direct ingress saves one hop per request: the proxy's HTTP handling and its calls to the ingress replica
(measured by `make bench-serve`, which drives both paths of one running service). Ray reads the switch
and the replica's port range when it starts, so `direct_ingress_env` must be in the environment of the
process that starts Ray. Serve's proxy keeps running on a side port (the same app, one hop more). The
port is the single ingress replica's own, so direct ingress runs one ingress replica, and redeploying the
app in place fails (a rolling update starts the new ingress replica before the old one frees the port;
Serve then keeps the old version): restart instead. On Kubernetes, where replicas move between pods, the
chart keeps the proxy (Ray pairs direct ingress there with HAProxy).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from logsynergy.errors import ConfigError
from logsynergy_workers.serving.args import ServeArgs

DIRECT_INGRESS_ENV = "RAY_SERVE_ENABLE_DIRECT_INGRESS"
MIN_PORT_ENV = "RAY_SERVE_DIRECT_INGRESS_MIN_HTTP_PORT"
MAX_PORT_ENV = "RAY_SERVE_DIRECT_INGRESS_MAX_HTTP_PORT"
DRAINING_ENV = "RAY_SERVE_DIRECT_INGRESS_MIN_DRAINING_PERIOD_S"
QUARANTINE_ENV = "RAY_SERVE_PORT_QUARANTINE_S"
APP_NAME = "detect"


def direct_ingress_env(port: int) -> dict[str, str]:
    """Ray's variables for an ingress replica serving HTTP on `port` itself. No load balancer has to
    deregister it on this machine, so shutting it down waits 1 s, not Ray's 30 s, and a released port is
    not quarantined (Ray holds it back 150 s for HAProxy: after a crash of the ingress replica, its
    replacement could not bind the one port for that long)."""
    # Ray allocates replica ports from range(MIN, MAX): the upper bound is exclusive
    return {
        DIRECT_INGRESS_ENV: "1",
        MIN_PORT_ENV: str(port),
        MAX_PORT_ENV: str(port + 1),
        DRAINING_ENV: "1",
        QUARANTINE_ENV: "0",
    }


def direct_ingress_port() -> int | None:
    """The port of direct ingress in this process's environment (None: Serve's proxy serves)."""
    if os.environ.get(DIRECT_INGRESS_ENV) != "1":
        return None
    low, high = os.environ.get(MIN_PORT_ENV, ""), os.environ.get(MAX_PORT_ENV, "")
    if not (low.isdigit() and high.isdigit() and int(high) == int(low) + 1):
        raise ConfigError(f"direct ingress needs one port P: set {MIN_PORT_ENV}=P and {MAX_PORT_ENV}=P+1")
    return int(low)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _check_port_free(host: str, port: int) -> None:
    """Serve would retry a taken port for ever; say so before deploying. Like a server, the probe may
    reuse a port whose old connections linger in TIME_WAIT (a restart); a listener still refuses it."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            raise ConfigError(f"the detection port {host}:{port} is taken: {exc.strerror}") from None


@dataclass(frozen=True)
class DetectionEndpoint:
    """The URL clients use, Serve's proxy in front of the same app, and which one `url` is."""

    url: str
    proxy_url: str
    direct: bool


def _one_ingress_replica(args: ServeArgs) -> None:
    replicas = args.ingress_replicas
    if set(replicas) - {"num_replicas"} or int(replicas.get("num_replicas", 1)) != 1:
        raise ConfigError(
            "direct ingress serves the port from one ingress replica: leave ingress_replicas at 1, "
            f"or unset {DIRECT_INGRESS_ENV} to put Serve's proxy in front of several"
        )


def start_detection(args: ServeArgs | Mapping[str, Any] | None, host: str, port: int) -> DetectionEndpoint:
    """Start Serve on the running Ray and deploy the detection app so that it answers on host:port
    (`args`: `ServeArgs`, or a mapping of them, checked before Ray is touched)."""
    from ray import serve

    from logsynergy_workers.serving.app import build_app

    checked = ServeArgs.parse(args)
    direct = direct_ingress_port()
    if direct is not None:
        if direct != port:
            raise ConfigError(f"Ray was started with direct ingress on port {direct}, not {port}")
        _one_ingress_replica(checked)
        _check_port_free(host, port)
    proxy_port = port if direct is None else free_port(host)
    serve.start(http_options={"host": host, "port": proxy_port})
    serve.run(build_app(checked), name=APP_NAME, route_prefix="/")
    return DetectionEndpoint(f"http://{host}:{port}", f"http://{host}:{proxy_port}", direct is not None)

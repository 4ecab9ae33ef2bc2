"""Where the detection service listens: direct ingress settings, errors raised before Ray is touched."""

from __future__ import annotations

import socket

import pytest

from logsynergy.errors import ConfigError
from logsynergy_workers.serving import endpoint
from logsynergy_workers.serving.endpoint import direct_ingress_env, direct_ingress_port, start_detection


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in (endpoint.DIRECT_INGRESS_ENV, endpoint.MIN_PORT_ENV, endpoint.MAX_PORT_ENV):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_env_round_trips_to_one_port(clean_env: pytest.MonkeyPatch):
    assert direct_ingress_port() is None
    for name, value in direct_ingress_env(8123).items():
        clean_env.setenv(name, value)
    assert direct_ingress_port() == 8123
    # Ray hands out ports from range(MIN, MAX): exactly the one port
    env = direct_ingress_env(8123)
    assert list(range(int(env[endpoint.MIN_PORT_ENV]), int(env[endpoint.MAX_PORT_ENV]))) == [8123]


@pytest.mark.parametrize(("low", "high"), [("8000", "8000"), ("8000", "8005"), ("", "8001"), ("x", "y")])
def test_a_port_range_is_refused(clean_env: pytest.MonkeyPatch, low: str, high: str):
    clean_env.setenv(endpoint.DIRECT_INGRESS_ENV, "1")
    clean_env.setenv(endpoint.MIN_PORT_ENV, low)
    clean_env.setenv(endpoint.MAX_PORT_ENV, high)
    with pytest.raises(ConfigError, match="one port"):
        direct_ingress_port()


def _direct(monkeypatch: pytest.MonkeyPatch, port: int) -> None:
    for name, value in direct_ingress_env(port).items():
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize(
    "replicas", [{"num_replicas": 2}, {"min_replicas": 1, "max_replicas": 3}, 3, '{"num_replicas": 2}']
)
def test_direct_ingress_needs_one_ingress_replica(clean_env: pytest.MonkeyPatch, replicas: object):
    port = endpoint.free_port()
    _direct(clean_env, port)
    with pytest.raises(ConfigError, match="one ingress replica"):
        start_detection({"ingress_replicas": replicas}, "127.0.0.1", port)


def test_port_other_than_rays_or_taken_is_a_clear_error(clean_env: pytest.MonkeyPatch):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        _direct(clean_env, port)
        with pytest.raises(ConfigError, match=f"started with direct ingress on port {port}, not {port + 1}"):
            start_detection(None, "127.0.0.1", port + 1)
        with pytest.raises(ConfigError, match=f"port 127.0.0.1:{port} is taken"):
            start_detection(None, "127.0.0.1", port)


def test_a_port_left_in_time_wait_by_a_stopped_server_is_free():
    """Restarting right after a stop: the old server's connections linger, no one listens."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = server.accept()
    accepted.close()  # the server side closes first: its end waits in TIME_WAIT on the port
    server.close()
    try:
        endpoint._check_port_free("127.0.0.1", port)
    finally:
        client.close()

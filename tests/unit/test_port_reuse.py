"""port_reuse: Serve's HTTP sockets bind over the TIME_WAIT connections a killed listener leaves behind
(without SO_REUSEADDR the port stays taken for a minute, and Serve would block it for good)."""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable

import pytest
from ray.serve._private import http_util

from logsynergy_workers.serving.port_reuse import reuse_address


def rebind_after_server_closed_first(make: Callable[[], socket.socket]) -> OSError | None:
    """A listener served one connection and closed it first (its side in TIME_WAIT), then went away, as a
    killed replica's kernel closes its sockets; a new socket from `make` binds the port (None) or not."""
    listener = make()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    served, _ = listener.accept()
    served.close()  # the server's side closes first: it enters TIME_WAIT once the client closes too
    client.recv(1)
    client.close()
    listener.close()
    successor = make()
    try:
        successor.bind(("127.0.0.1", port))
        return None
    except OSError as error:
        return error
    finally:
        successor.close()


def test_without_reuse_the_port_is_taken_and_with_it_it_binds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http_util, "socket", socket)
    plain = rebind_after_server_closed_first(
        lambda: http_util.socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    )
    assert plain is not None and plain.errno == errno.EADDRINUSE  # Serve's own behaviour
    reuse_address()
    reuse_address()  # idempotent
    assert http_util.socket is not socket and http_util.socket.AF_INET == socket.AF_INET
    made = http_util.socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    assert made.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR) == 1
    made.close()
    assert (
        rebind_after_server_closed_first(lambda: http_util.socket.socket(socket.AF_INET, socket.SOCK_STREAM))
        is None
    )


def test_a_listening_socket_still_refuses_the_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http_util, "socket", socket)
    reuse_address()
    first = http_util.socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    first.bind(("127.0.0.1", 0))
    first.listen()
    second = http_util.socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        with pytest.raises(OSError) as raised:
            second.bind(first.getsockname())
        assert raised.value.errno == errno.EADDRINUSE
    finally:
        first.close()
        second.close()

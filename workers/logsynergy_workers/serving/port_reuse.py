"""SO_REUSEADDR on the sockets Ray Serve binds for direct ingress.

Ray Serve 2.60 binds a direct-ingress replica's port without SO_REUSEADDR (ray-project/ray#60615 was never
merged). After a kill -9 of the ingress replica while requests are in flight, the server side of those
connections waits in TIME_WAIT for a minute; the replacement replica cannot bind the port, and Serve then
blocks the port for good ("Released and blocked"). With the one-port range of `direct_ingress_env` the
endpoint would never answer again. A socket whose listener and successor both set SO_REUSEADDR binds over
TIME_WAIT connections (a listening socket still refuses it), as every server does: `reuse_address()`
makes Serve's HTTP module create its sockets so, in the replica's process, before the port is bound."""

from __future__ import annotations

import socket
from typing import Any


def _reusing_socket(*args: Any, **kwargs: Any) -> socket.socket:
    sock = socket.socket(*args, **kwargs)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    return sock


class _SocketModule:
    """The `socket` module as Serve's http_util sees it: the same, but new sockets reuse addresses."""

    socket = staticmethod(_reusing_socket)

    def __getattr__(self, name: str) -> Any:
        return getattr(socket, name)


def reuse_address() -> None:
    """Make Ray Serve's HTTP servers of this process bind with SO_REUSEADDR (idempotent)."""
    from ray.serve._private import http_util

    if not isinstance(http_util.socket, _SocketModule):
        http_util.socket = _SocketModule()  # type: ignore[assignment]

"""A real OpenAI-compatible HTTP server for tests: POST /v1/chat/completions on 127.0.0.1.

Each request is passed to a scriptable `handler(call) -> Reply`; `call.attempt` counts how often the
same first prompt has been seen (1, 2, ...), so a script can fail a given template a few times and
then answer, even when requests arrive concurrently.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Call:
    body: dict
    messages: list[dict]
    prompt: str  # the first user message
    attempt: int  # how many times this prompt has been seen, this call included
    regenerating: bool  # the request carries a previous answer and a correction


@dataclass
class Reply:
    content: str | None = "The node lost its network connection, which may disrupt running jobs."
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    raw: str | None = None  # a raw body instead of a chat completion


def completion(content: str | None, model: str = "fake") -> dict:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


class FakeLLMServer:
    """Start with `with FakeLLMServer() as server:`; `server.base_url` ends in /v1."""

    def __init__(self, handler: Callable[[Call], Reply] | None = None) -> None:
        self.handler: Callable[[Call], Reply] = handler or (lambda call: Reply())
        self.calls: list[Call] = []
        self._seen: dict[str, int] = {}
        self._lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def prompts(self) -> list[str]:
        return [c.prompt for c in self.calls]

    def __enter__(self) -> FakeLLMServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _record(self, body: dict) -> Call:
        messages = body.get("messages", [])
        prompt = next((m["content"] for m in messages if m.get("role") == "user"), "")
        with self._lock:
            self._seen[prompt] = self._seen.get(prompt, 0) + 1
            call = Call(body, messages, prompt, self._seen[prompt], len(messages) > 2)
            self.calls.append(call)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        return call

    def _done(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _send(self, status: int, payload: str, headers: dict[str, str] | None = None) -> None:
                data = payload.encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(data)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._send(404, json.dumps({"error": {"message": f"no route {self.path}"}}))
                    return
                call = server._record(json.loads(raw or b"{}"))
                try:
                    reply = server.handler(call)
                    if reply.delay:
                        time.sleep(reply.delay)
                    if reply.raw is not None:
                        payload = reply.raw
                    elif reply.status == 200:
                        payload = json.dumps(completion(reply.content, call.body.get("model", "fake")))
                    else:
                        payload = json.dumps({"error": {"message": f"scripted {reply.status}", "type": "x"}})
                    self._send(reply.status, payload, reply.headers)
                finally:
                    server._done()

        return Handler


def closed_port() -> int:
    """A local port with nothing listening on it (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]

"""The detection endpoint under hostile input, on a real Ray Serve: every bad body is answered with a 4xx
`{"error": {"code", "message"}}` (never a 5xx, never a hang), and the endpoint answers a normal request
correctly right after. Long lines are scored cut to `max_line_chars`; bodies over `max_body_bytes` (4 MiB
in the fixture) are refused with 413 however they are framed."""

from __future__ import annotations

import gzip
import json
import random
import socket
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import psutil
import pytest
from helpers.detector_fixture import payment_lines

from logsynergy_workers.serving.args import ServeArgs

if TYPE_CHECKING:
    from conftest import Serving

pytestmark = pytest.mark.timeout(900)
TIMEOUT_S = 120.0  # per request: a hang fails the test instead of blocking it
LIMIT = 4 << 20  # max_body_bytes of the `serving` fixture
MAX_LINE = ServeArgs().max_line_chars
GOOD = payment_lines(60, seed=5)
JSON = {"content-type": "application/json"}
TEXT = {"content-type": "text/plain"}


def spans(answer: dict[str, Any]) -> list[tuple[int, int, float]]:
    return [(w["first_line"], w["last_line"], round(w["score"], 5)) for w in answer["windows"]]


def post(serving: Serving, content: Any, headers: dict[str, str], url: str | None = None) -> httpx.Response:
    with serving.client(timeout=TIMEOUT_S, url=url) as client:
        return client.post("/v1/detect/payments", content=content, headers=headers)


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text[:500]
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code and body["error"]["message"]


@pytest.fixture(scope="module")
def baseline(serving: Serving) -> list[tuple[int, int, float]]:
    """The answer to GOOD before any hostile request."""
    response = post(serving, json.dumps({"lines": GOOD}), JSON)
    assert response.status_code == 200, response.text
    return spans(response.json())


def replica_rss() -> dict[int, int]:
    """Resident bytes of each live replica process of the detection app."""
    from ray._private import state

    actors = state.actors(actor_state_name="ALIVE").values()
    pids = [int(a["Pid"]) for a in actors if str(a["ActorClassName"]).startswith("ServeReplica:detect:")]
    return {pid: psutil.Process(pid).memory_info().rss for pid in pids}


@pytest.fixture(scope="module")
def replica_memory(baseline: list[tuple[int, int, float]]) -> dict[int, int]:
    """The replicas' resident memory once the model is loaded, before any hostile request."""
    rss = replica_rss()
    assert len(rss) >= 2  # the ingress and the model pool
    return rss


@pytest.fixture
def still_serving(
    serving: Serving, baseline: list[tuple[int, int, float]], replica_memory: dict[int, int]
) -> Iterator[None]:
    """After the test: a normal request gets 200 and the same windows and scores as before."""
    yield
    response = post(serving, json.dumps({"lines": GOOD}), JSON)
    assert response.status_code == 200, response.text
    assert spans(response.json()) == baseline


def nested(depth: int, opener: bytes, closer: bytes) -> bytes:
    return opener * depth + closer * depth


def garbage(size: int, seed: int = 7) -> bytes:
    return random.Random(seed).randbytes(size)


BOUNDARY = "hostile-boundary"
MULTIPART = (
    f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="log.txt"\r\n'
    f"Content-Type: text/plain\r\n\r\n" + "\n".join(GOOD) + f"\r\n--{BOUNDARY}--\r\n"
).encode()


@dataclass(frozen=True)
class Case:
    """One hostile body (built on demand), its headers, and the answer it must get."""

    name: str
    body: Callable[[], bytes]
    headers: dict[str, str]
    status: int
    code: str

    def __str__(self) -> str:
        return self.name


BAD, MEDIA = (422, "invalid_request"), (415, "unsupported_media_type")
DEEP = 100_000
GOOD_TEXT = "\n".join(GOOD).encode()
RECORD_EXTRA = b'{"records": [{"message": "x", "extra": %s}]}'


def typed(content_type: str) -> dict[str, str]:
    return {"content-type": content_type}


CASES = [
    # deeply nested, huge numbers, wrong shapes, duplicate keys, NUL characters, bad UTF-8
    Case("deep-array", lambda: b'{"lines": ' + nested(DEEP, b"[", b"]") + b"}", JSON, *BAD),
    Case("deep-object", lambda: nested(DEEP, b'{"a":', b"}").replace(b"}", b"1}", 1), JSON, *BAD),
    Case("deep-object-sniffed", lambda: nested(DEEP, b'{"a":', b"}"), {}, *BAD),
    Case("deep-record-field", lambda: RECORD_EXTRA % nested(DEEP, b"[", b"]"), JSON, *BAD),
    Case("huge-integer", lambda: b'{"lines": [' + b"9" * 1_000_000 + b"]}", JSON, *BAD),
    Case("huge-float-flush", lambda: b'{"lines": ["x"], "flush": 1e999999}', JSON, *BAD),
    Case("huge-int-stream-id", lambda: b'{"lines": ["x"], "stream_id": ' + b"7" * 4000 + b"}", JSON, *BAD),
    Case("non-string-lines", lambda: b'{"lines": [1, null, {}, [], true, 1.5]}', JSON, *BAD),
    Case("top-level-array", lambda: b'["a", "b"]', JSON, *BAD),
    Case("top-level-string", lambda: b'"lines"', JSON, *BAD),
    Case("nested-session", lambda: b'{"records": [{"message": "x", "session": {"a": [{}]}}]}', JSON, *BAD),
    Case("nested-message", lambda: b'{"records": [{"message": ["x", ["y"]]}]}', JSON, *BAD),
    Case("huge-unknown-key", lambda: b'{"' + b"k" * 1_000_000 + b'": 1, "lines": ["x"]}', JSON, *BAD),
    Case("duplicate-top-key", lambda: b'{"lines": ["a"], "lines": ["b"]}', JSON, *BAD),
    Case("duplicate-record-key", lambda: b'{"records": [{"message": "a", "message": "b"}]}', JSON, *BAD),
    Case("nul-escape-in-line", lambda: b'{"lines": ["ok", "a\\u0000b"]}', JSON, *BAD),
    Case("nul-escape-in-message", lambda: b'{"records": [{"message": "a\\u0000"}]}', JSON, *BAD),
    Case("raw-nul-in-json", lambda: b'{"lines": ["a\x00b"]}', JSON, *BAD),
    Case("invalid-utf8-json", lambda: b'{"lines": ["\xff\xfe\xc3\x28"]}', JSON, *BAD),
    Case("empty-json", lambda: b"", JSON, *BAD),
    # binary, invalid UTF-8, NUL bytes as text
    Case("binary-as-text", lambda: garbage(65536), TEXT, *BAD),
    Case("binary-no-type", lambda: garbage(65536, seed=8), {}, *BAD),
    Case("gzip-no-encoding", lambda: gzip.compress(GOOD_TEXT), {}, *BAD),
    Case("invalid-utf8-text", lambda: b"a fine line\n\xc3\x28 broken\n", TEXT, *BAD),
    Case("nul-bytes-text", lambda: b"a fine line\nhalf\x00binary\n", TEXT, *BAD),
    Case("only-blank-text", lambda: b" \n\t\n\r\n", TEXT, *BAD),
    # wrong content types and charsets
    Case("xml", lambda: b"<log><line>x</line></log>", typed("application/xml"), *MEDIA),
    Case("multipart", lambda: MULTIPART, typed(f"multipart/form-data; boundary={BOUNDARY}"), *MEDIA),
    Case("octet-stream", lambda: GOOD_TEXT, typed("application/octet-stream"), *MEDIA),
    Case("bogus-charset", lambda: GOOD_TEXT, typed("text/plain; charset=bogus-8"), *MEDIA),
    Case("latin1-json", lambda: b'["caf\xe9"]', typed("application/json; charset=latin-1"), *MEDIA),
    Case("utf16-text", lambda: "\n".join(GOOD).encode("utf-16"), typed("text/plain; charset=utf-16"), *MEDIA),
    Case("empty-charset", lambda: GOOD_TEXT, typed('text/plain;;; charset=""'), *MEDIA),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=str)
def test_hostile_body_is_a_4xx_json_error(serving: Serving, still_serving: None, case: Case):
    assert_error(post(serving, case.body(), case.headers), case.status, case.code)


def adversarial_line(length: int, seed: int) -> str:
    """A line of one long run of word characters and dots (`a1.a1.…`): quadratic for any pattern that
    rescans such a run from each word boundary (as the interpreter's url and email patterns did)."""
    return f"s{seed}x " + "a1." * (length // 3) + "@x"


def test_one_line_over_the_body_limit_is_413(serving: Serving, still_serving: None):
    line = "y" * (5 << 20)  # one 5 MB line
    assert_error(post(serving, line.encode(), TEXT), 413, "payload_too_large")
    assert_error(post(serving, json.dumps({"lines": [line]}), JSON), 413, "payload_too_large")


def test_a_huge_line_is_scored_cut_to_max_line_chars(serving: Serving, still_serving: None):
    """A 3.5 MB line among normal ones: answered 200 with every window; where it is reported, it is cut."""
    huge = adversarial_line(3_500_000, seed=1)
    lines = [*GOOD[:20], huge, *GOOD[20:40]]
    response = post(serving, json.dumps({"lines": lines}), JSON)
    assert response.status_code == 200, response.text[:500]
    answer = response.json()
    assert answer["windows"][-1]["last_line"] == len(lines) and answer["windows"][0]["first_line"] == 1
    events = [e for r in answer["anomalies"] for e in r["events"] if e["line"] == 21]
    assert events, "the windows holding the unseen huge line should be anomalous"
    assert all(e["raw"] == huge[:MAX_LINE] for e in events)
    assert len(response.content) < 40 * MAX_LINE  # the 3.5 MB line is not echoed back
    records = [{"message": m, "session": "s" * 100_000} for m in (huge, "disk ok", "disk ok")]
    as_records = post(serving, json.dumps({"records": records}), JSON)
    assert as_records.status_code == 200, as_records.text[:500]
    assert all(len(w["session"] or "") <= MAX_LINE for w in as_records.json()["windows"])


def test_many_100_kb_lines_are_scored_in_bounded_time(serving: Serving, still_serving: None):
    """35 distinct 100 KB lines (3.5 MB as text): each is a new template to interpret; before the lines
    were cut and the interpreter's patterns bounded, this took minutes of the one scoring thread."""
    lines = [adversarial_line(100_000, seed=i) for i in range(35)]
    response = post(serving, "\n".join(lines).encode(), TEXT)
    assert response.status_code == 200, response.text[:500]
    windows = response.json()["windows"]
    assert windows[0]["first_line"] == 1 and windows[-1]["last_line"] == len(lines)
    assert all(0.0 <= w["score"] <= 1.0 for w in windows)


def test_a_body_just_under_the_limit_is_scored(serving: Serving, still_serving: None):
    filler = [adversarial_line(1_000_000, seed=100 + i) for i in range(4)]
    body = json.dumps({"lines": GOOD + filler}).encode()
    assert LIMIT - 400_000 < len(body) <= LIMIT
    response = post(serving, body, JSON)
    assert response.status_code == 200, response.text[:500]
    assert response.json()["windows"][-1]["last_line"] == len(GOOD) + len(filler)


def ten_mb_body() -> bytes:
    lines: list[str] = []
    seed = 0
    while sum(len(line) + 4 for line in lines) < 10_500_000:
        lines += payment_lines(5000, seed=1000 + seed)
        seed += 1
    body = json.dumps({"lines": lines}).encode()
    assert len(body) > 10_000_000
    return body


@pytest.fixture(scope="module")
def ten_mb() -> bytes:
    return ten_mb_body()


@pytest.mark.parametrize("via", ["direct", "proxy"])
def test_10_mb_body_is_413_with_or_without_content_length(
    serving: Serving, still_serving: None, ten_mb: bytes, via: str
):
    url = serving.url if via == "direct" else serving.proxy_url
    assert_error(post(serving, ten_mb, JSON, url=url), 413, "payload_too_large")

    def chunks() -> Iterator[bytes]:  # a generator: httpx sends it chunked, with no Content-Length
        for start in range(0, len(ten_mb), 65536):
            yield ten_mb[start : start + 65536]

    assert_error(post(serving, chunks(), JSON, url=url), 413, "payload_too_large")


@dataclass
class Exchange:
    """What a raw-socket request got back: the bytes read, and whether the server went quiet instead of
    answering or closing."""

    data: bytes
    hung: bool

    def first(self) -> tuple[int, dict[str, Any]]:
        """Status and JSON body of the first response."""
        head, _, rest = self.data.partition(b"\r\n\r\n")
        length = _content_length(head)
        assert length is not None and len(rest) >= length, self.data[:500]
        return int(head.split(b" ", 2)[1]), json.loads(rest[:length])


def _content_length(head: bytes) -> int | None:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return None


def _complete(data: bytes) -> bool:
    head, found, rest = data.partition(b"\r\n\r\n")
    length = _content_length(head) if found else None
    return length is not None and len(rest) >= length


def raw_exchange(serving: Serving, head: dict[str, str], body: list[bytes], half_close: bool) -> Exchange:
    """One HTTP/1.1 request with exactly these headers and body bytes (a Content-Length that lies
    included) on a raw socket, read while it is sent, until a whole first response, the server's close,
    or `TIMEOUT_S` of silence (`hung`). `half_close`: shut the sending side after the body."""
    parts = urlsplit(serving.url)
    with serving.client() as client:
        auth = client.headers["Authorization"]
    fields = {"Host": parts.netloc, "Authorization": auth, **head}
    request = "POST /v1/detect/payments HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields.items())
    received, hung = bytearray(), threading.Event()
    with socket.create_connection((parts.hostname, parts.port), timeout=TIMEOUT_S) as sock:

        def read() -> None:
            try:
                while not _complete(bytes(received)) and (chunk := sock.recv(65536)):
                    received.extend(chunk)
            except TimeoutError:
                hung.set()
            except OSError:
                pass  # reset by the server after its answer

        reader = threading.Thread(target=read)
        reader.start()
        try:
            sock.sendall(request.encode() + b"\r\n")
            for part in body:
                sock.sendall(part)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server may close while the rest is still being sent
        reader.join()
    return Exchange(bytes(received), hung.is_set())


def test_a_content_length_over_the_limit_is_refused_before_the_body(serving: Serving, still_serving: None):
    """Declared 10 MB, one byte sent: 413 at once; the server does not wait for the rest."""
    head = {"Content-Type": "application/json", "Content-Length": str(10 << 20)}
    exchange = raw_exchange(serving, head, [b"{"], half_close=False)
    assert not exchange.hung
    status, body = exchange.first()
    assert status == 413 and body["error"]["code"] == "payload_too_large"


def test_a_content_length_that_lies_low_bounds_what_is_read(
    serving: Serving, still_serving: None, baseline: list[tuple[int, int, float]]
):
    """Declared: a small valid body; sent: that body and 10 MB more. Only the declared bytes are a body:
    they are scored (200, the usual windows) unless the HTTP server (uvicorn, before the app) has already
    seen that the rest is no request; then it answers its own plain-text 400 and closes the connection,
    dropping the request in flight. Either way no 5xx, no hang, and the 10 MB are never read as a body."""
    good = json.dumps({"lines": GOOD}).encode()
    head = {"Content-Type": "application/json", "Content-Length": str(len(good))}
    exchange = raw_exchange(serving, head, [good, b"x" * (10 << 20)], half_close=False)
    assert not exchange.hung
    if exchange.data.startswith(b"HTTP/1.1 400 "):
        assert b"\r\nconnection: close\r\n" in exchange.data.lower(), exchange.data[:500]
        return
    status, body = exchange.first()
    assert status == 200 and spans(body) == baseline


def test_a_body_cut_short_by_the_client_is_not_a_server_error(serving: Serving, still_serving: None):
    """Declared 1,000 bytes, 12 sent, then the client half-closes: a 4xx or a closed connection, no 5xx."""
    head = {"Content-Type": "application/json", "Content-Length": "1000"}
    exchange = raw_exchange(serving, head, [b'{"lines": ["'], half_close=True)
    assert not exchange.hung
    if exchange.data:
        status, body = exchange.first()
        assert 400 <= status < 500 and set(body) == {"error"}, (status, body)


def test_hostile_and_good_requests_in_parallel(serving: Serving, still_serving: None):
    """50 at once: 25 hostile bodies get their 4xx, 25 normal ones their correct windows."""
    goods = [payment_lines(40, seed=200 + i) for i in range(25)]
    expected = []
    for lines in goods:  # one at a time first: the answers to compare with
        response = post(serving, json.dumps({"lines": lines}), JSON)
        assert response.status_code == 200, response.text
        expected.append(spans(response.json()))
    small = [c for c in CASES if c.name not in {"huge-integer", "huge-unknown-key"}]
    hostile = [small[i % len(small)] for i in range(25)]

    def good(i: int) -> list[tuple[int, int, float]]:
        response = post(serving, json.dumps({"lines": goods[i]}), JSON)
        assert response.status_code == 200, response.text
        return spans(response.json())

    def bad(case: Case) -> None:
        assert_error(post(serving, case.body(), case.headers), case.status, case.code)

    with ThreadPoolExecutor(max_workers=50) as pool:
        jobs = [pool.submit(good, i) for i in range(25)] + [pool.submit(bad, c) for c in hostile]
        results = [job.result() for job in jobs]
    assert results[:25] == expected


def test_replicas_hold_no_hostile_body(serving: Serving, replica_memory: dict[int, int]):
    """Last in the module: after every hostile body above, no replica process kept what it was sent
    (tens of MB went through the ingress and pool): resident memory grew less than 256 MiB each."""
    after = replica_rss()
    assert set(after) == set(replica_memory)  # no replica was restarted (a crash)
    growth = {pid: (after[pid] - replica_memory[pid]) >> 20 for pid in after}
    assert all(mib < 256 for mib in growth.values()), f"MiB grown per replica: {growth}"

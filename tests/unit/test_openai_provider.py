"""The openai provider against a real local OpenAI-compatible HTTP server (no mocks)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from helpers.llm_server import Call, FakeLLMServer, Reply, closed_port

from logsynergy.errors import ConfigError, InterpreterError
from logsynergy.interpret import (
    InterpretationStore,
    OfflineInterpreter,
    OpenAIInterpreter,
    interpret_offline,
    make_interpreter,
)
from logsynergy.templates import SystemContext, Template, template_id

SYSTEM = SystemContext("bgl", "IBM BlueGene/L supercomputer at Lawrence Livermore National Labs")
GOOD = "The node lost its network connection, which may disrupt running jobs."

LINES = [
    ("ciod: failed to read message prefix on control stream (CioStream socket to <*>:<*>",
     "ciod: failed to read message prefix on control stream (CioStream socket to 172.16.96.116:33569"),
    ("<*> ddr errors(s) detected and corrected on rank <*>, symbol <*>, bit <*>",
     "1 ddr errors(s) detected and corrected on rank 0, symbol 25, bit 1"),
    ("instruction cache parity error corrected", "instruction cache parity error corrected"),
    ("generating core.<*>", "generating core.2275"),
    ("data TLB error interrupt", "data TLB error interrupt"),
    ("CE sym <*>, at <*>, mask <*>", "CE sym 2, at 0x0b85eee0, mask 0x05"),
]  # fmt: skip
TEMPLATES = [Template(template_id(t), t, e) for t, e in LINES]


@pytest.fixture
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as running:
        yield running


def interpreter(server: FakeLLMServer, **options: object) -> OpenAIInterpreter:
    settings: dict[str, object] = {"base_delay": 0.01, "timeout": 5.0, "model": "fake-model"}
    settings.update(options)
    return OpenAIInterpreter(base_url=server.base_url, api_key="k", **settings)  # type: ignore[arg-type]


def test_good_answers_and_the_prompt_carries_system_description_example_and_template(server):
    llm = interpreter(server)
    out = llm.interpret(TEMPLATES, SYSTEM)
    assert out == {t.id: GOOD for t in TEMPLATES}
    stats = llm.last_stats
    assert (stats.requests, stats.retries, stats.regenerated, stats.fallbacks) == (len(TEMPLATES), 0, 0, 0)
    assert len(server.calls) == len(TEMPLATES)
    assert {c.body["model"] for c in server.calls} == {"fake-model"}
    for template in TEMPLATES:
        prompt = next(p for p in server.prompts() if template.example in p)
        assert "bgl" in prompt
        assert SYSTEM.description in prompt
        assert template.text in prompt
        assert "16 words" in prompt
        assert "stability" in prompt


def test_requests_run_concurrently_not_serially(server):
    server.handler = lambda call: Reply(delay=0.25)
    templates = [Template(template_id(f"event {i} <*>"), f"event {i} <*>", f"event {i} 7") for i in range(8)]
    llm = interpreter(server, concurrency=4)
    started = time.perf_counter()
    out = llm.interpret(templates, SYSTEM)
    elapsed = time.perf_counter() - started
    assert len(out) == 8
    assert server.max_in_flight >= 2
    assert elapsed < 8 * 0.25 * 0.75, f"8 requests of 0.25 s took {elapsed:.2f} s: not concurrent"


def test_answer_wrappers_are_stripped(server):
    server.handler = lambda call: Reply(content='1. "the node lost its network connection"')
    out = interpreter(server).interpret(TEMPLATES[:1], SYSTEM)
    assert out[TEMPLATES[0].id] == "The node lost its network connection."


def test_a_malformed_answer_is_regenerated(server):
    rambling = " ".join(["The node reported a problem."] * 3)  # 3 sentences, 15 words
    too_long = " ".join(["word"] * 40) + "."

    def script(call: Call) -> Reply:
        if call.attempt == 1:
            return Reply(content=rambling if "ddr errors" in call.prompt else too_long)
        assert call.regenerating  # the second request carries the bad answer and a correction
        assert call.messages[2]["role"] == "assistant"
        assert "one sentence" in call.messages[3]["content"]
        return Reply()

    server.handler = script
    llm = interpreter(server)
    out = llm.interpret(TEMPLATES, SYSTEM)
    assert set(out.values()) == {GOOD}
    assert llm.last_stats.regenerated == len(TEMPLATES)
    assert llm.last_stats.requests == 2 * len(TEMPLATES)
    assert llm.last_stats.fallbacks == 0


@pytest.mark.parametrize("status", [500, 503, 429])
def test_server_errors_are_retried_with_backoff(server, status):
    server.handler = lambda call: Reply(status=status) if call.attempt <= 2 else Reply()
    llm = interpreter(server, attempts=4)
    out = llm.interpret(TEMPLATES[:3], SYSTEM)
    assert set(out.values()) == {GOOD}
    assert llm.last_stats.retries == 2 * 3
    assert llm.last_stats.requests == 3 * 3


def test_retry_after_header_is_honoured_up_to_max_delay(server):
    server.handler = lambda call: (
        Reply(status=429, headers={"Retry-After": "0.3"}) if call.attempt == 1 else Reply()
    )
    llm = interpreter(server, max_delay=0.3)
    started = time.perf_counter()
    llm.interpret(TEMPLATES[:1], SYSTEM)
    assert time.perf_counter() - started >= 0.3


def test_never_a_good_answer_falls_back_to_offline(server):
    server.handler = lambda call: Reply(content="First this. Then that. And more.")
    llm = interpreter(server, format_attempts=3)
    out = llm.interpret(TEMPLATES, SYSTEM)
    for template in TEMPLATES:
        assert out[template.id] == interpret_offline(template.text, template.example)
    stats = llm.last_stats
    assert stats.fallbacks == len(TEMPLATES)
    assert sorted(stats.fallback_ids) == sorted(t.id for t in TEMPLATES)
    assert stats.requests == 3 * len(TEMPLATES)
    assert stats.regenerated == 2 * len(TEMPLATES)


def test_an_empty_answer_is_a_format_error(server):
    server.handler = lambda call: Reply(content=None) if call.attempt == 1 else Reply(content="  ")
    llm = interpreter(server, format_attempts=2)
    out = llm.interpret(TEMPLATES[:1], SYSTEM)
    assert llm.last_stats.fallbacks == 1
    assert out[TEMPLATES[0].id] == interpret_offline(TEMPLATES[0].text, TEMPLATES[0].example)


def test_a_reply_that_is_not_a_chat_completion_is_retried_then_reported(server):
    server.handler = lambda call: Reply(raw="<html>not an LLM</html>") if call.attempt <= 3 else Reply()
    llm = interpreter(server, attempts=2)
    with pytest.raises(InterpreterError, match="did not answer with a chat completion"):
        llm.interpret(TEMPLATES[:1], SYSTEM)
    assert interpreter(server, attempts=2).interpret(TEMPLATES[:1], SYSTEM)[TEMPLATES[0].id] == GOOD


def test_store_records_which_templates_fell_back(server):
    server.handler = lambda call: Reply(content="a. b. c.") if "ddr errors" in call.prompt else Reply()
    store = InterpretationStore()
    texts = store.ensure(TEMPLATES, SYSTEM, interpreter(server, format_attempts=2))
    assert len(texts) == len(TEMPLATES)
    providers = {e.template: e.provider for e in store}
    assert providers[LINES[1][0]] == "offline"
    assert [p for t, p in providers.items() if t != LINES[1][0]] == ["openai"] * (len(TEMPLATES) - 1)


def test_closed_port_raises_a_clear_error_fast():
    base_url = f"http://127.0.0.1:{closed_port()}/v1"
    llm = OpenAIInterpreter(base_url=base_url, attempts=3, base_delay=0.01, timeout=2.0)
    started = time.perf_counter()
    with pytest.raises(InterpreterError) as error:
        llm.interpret(TEMPLATES, SYSTEM)
    assert time.perf_counter() - started < 5
    message = str(error.value)
    assert base_url in message
    assert "unreachable" in message
    assert "3 attempts" in message
    # the workers stop together: no template makes its own full round of retries
    assert llm.last_stats.requests < 3 * len(TEMPLATES)


def test_persistent_server_errors_raise_after_the_attempts(server):
    server.handler = lambda call: Reply(status=502)
    llm = interpreter(server, attempts=3)
    with pytest.raises(InterpreterError, match="HTTP 502"):
        llm.interpret(TEMPLATES[:1], SYSTEM)
    assert len(server.calls) == 3


def test_timeouts_are_retried_then_reported(server):
    server.handler = lambda call: Reply(delay=1.0)
    llm = interpreter(server, attempts=2, timeout=0.2)
    with pytest.raises(InterpreterError, match="unreachable"):
        llm.interpret(TEMPLATES[:1], SYSTEM)
    assert llm.last_stats.retries == 1


@pytest.mark.parametrize(("status", "hint"), [(401, "API_KEY"), (404, "fake-model")])
def test_client_errors_are_not_retried(server, status, hint):
    server.handler = lambda call: Reply(status=status)
    llm = interpreter(server)
    with pytest.raises(InterpreterError, match=hint) as error:
        llm.interpret(TEMPLATES[:1], SYSTEM)
    assert f"HTTP {status}" in str(error.value)
    assert len(server.calls) == 1


def test_empty_input_makes_no_request(server):
    assert interpreter(server).interpret([], SYSTEM) == {}
    assert server.calls == []


def test_make_interpreter_reads_the_environment(monkeypatch, server):
    for name in ("PROVIDER", "BASE_URL", "MODEL", "API_KEY"):
        monkeypatch.delenv(f"LOGSYNERGY_LLM_{name}", raising=False)
    assert isinstance(make_interpreter(), OfflineInterpreter)
    monkeypatch.setenv("LOGSYNERGY_LLM_BASE_URL", server.base_url)
    monkeypatch.setenv("LOGSYNERGY_LLM_MODEL", "env-model")
    llm = make_interpreter(base_delay=0.01)
    assert isinstance(llm, OpenAIInterpreter)
    assert llm.base_url == server.base_url and llm.model == "env-model"
    llm.interpret(TEMPLATES[:1], SYSTEM)
    assert server.calls[0].body["model"] == "env-model"
    assert make_interpreter(model="arg-model").model == "arg-model"  # arguments win
    monkeypatch.setenv("LOGSYNERGY_LLM_PROVIDER", "offline")
    assert make_interpreter().name == "offline"
    with pytest.raises(ConfigError, match="unknown LLM provider"):
        make_interpreter("claude-by-carrier-pigeon")

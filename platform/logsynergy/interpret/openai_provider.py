"""LEI through any OpenAI-compatible chat-completions server (OpenAI, vLLM, Ollama, LiteLLM, ...).

One template per request, several requests in flight (a small thread pool), so that a few hundred
templates take a few dozen round-trip times, and a bad answer costs one template a regeneration
instead of a whole batch. Transport failures are retried with exponential back-off; answers that are
not one sentence of at most 16 words are regenerated and finally replaced by the offline sentence.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import openai

from logsynergy.errors import InterpreterError
from logsynergy.interpret.base import InterpretStats
from logsynergy.interpret.offline import interpret_offline
from logsynergy.interpret.prompt import MAX_WORDS, FormatProblem, clean_interpretation, messages_for
from logsynergy.templates import SystemContext, Template

DEFAULT_MODEL = "gpt-4o"
_RETRY_STATUS = {408, 409, 429}


class _Aborted(Exception):
    """Another worker hit a fatal error; stop quietly."""


class _Run:
    """The state of one `interpret` call (so that concurrent calls on one interpreter stay apart)."""

    def __init__(self, templates: int) -> None:
        self.stats = InterpretStats(templates=templates)
        self.abort = threading.Event()
        self._lock = threading.Lock()

    def count(self, field: str) -> None:
        with self._lock:
            setattr(self.stats, field, getattr(self.stats, field) + 1)

    def fell_back(self, template_id_: str) -> None:
        with self._lock:
            self.stats.fallbacks += 1
            self.stats.fallback_ids.append(template_id_)


class OpenAIInterpreter:
    """LEI with an LLM. `last_stats` tells what the last `interpret` call cost."""

    name = "openai"

    def __init__(
        self,
        base_url: str | None = None,
        model: str | None = None,
        api_key: str | None = None,
        *,
        concurrency: int = 4,
        attempts: int = 4,
        base_delay: float = 0.5,
        max_delay: float = 20.0,
        format_attempts: int = 3,
        timeout: float = 60.0,
        temperature: float | None = None,
        max_words: int = MAX_WORDS,
    ) -> None:
        if concurrency < 1 or attempts < 1 or format_attempts < 1:
            raise ValueError("concurrency, attempts and format_attempts must be at least 1")
        self.model = model or DEFAULT_MODEL
        self.concurrency = concurrency
        self.attempts = attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.format_attempts = format_attempts
        self.temperature = temperature
        self.max_words = max_words
        # Local servers (vLLM, Ollama) need no key, but the client insists on one.
        self.client = openai.OpenAI(
            base_url=base_url,
            api_key=api_key or "not-needed",
            timeout=timeout,
            max_retries=0,
        )
        self.base_url = str(self.client.base_url).rstrip("/")
        self.last_stats = InterpretStats()

    def __repr__(self) -> str:
        return f"OpenAIInterpreter(base_url={self.base_url!r}, model={self.model!r})"

    # -- public -------------------------------------------------------------------------------------

    def interpret(self, templates: Sequence[Template], system: SystemContext) -> dict[str, str]:
        """One sentence per template id. Raises InterpreterError when the server cannot be used."""
        unique = list({t.id: t for t in templates}.values())
        run = _Run(len(unique))
        self.last_stats = run.stats
        started = time.perf_counter()
        out: dict[str, str] = {}
        if unique:
            workers = min(self.concurrency, len(unique))
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lei") as pool:
                futures = [(t.id, pool.submit(self._guarded, run, t, system)) for t in unique]
                fatal: BaseException | None = None
                for template_id_, future in futures:
                    try:
                        out[template_id_] = future.result()
                    except _Aborted:
                        continue
                    except BaseException as error:
                        run.abort.set()
                        fatal = fatal or error
                if fatal is not None:
                    raise fatal
        run.stats.seconds = time.perf_counter() - started
        return out

    # -- one template -------------------------------------------------------------------------------

    def _guarded(self, run: _Run, template: Template, system: SystemContext) -> str:
        try:
            return self._one(run, template, system)
        except _Aborted:
            raise
        except BaseException:
            run.abort.set()  # the other workers stop at their next request
            raise

    def _one(self, run: _Run, template: Template, system: SystemContext) -> str:
        previous: str | None = None
        problem: str | None = None
        for ask in range(self.format_attempts):
            if ask:
                run.count("regenerated")
            messages = messages_for(
                template, system, previous=previous, problem=problem, max_words=self.max_words
            )
            answer = self._complete(run, messages)
            try:
                return clean_interpretation(answer, self.max_words)
            except FormatProblem as why:
                previous, problem = answer or "", str(why)
        run.fell_back(template.id)
        return interpret_offline(template.text, template.example, self.max_words)

    def _complete(self, run: _Run, messages: list[dict[str, str]]) -> str | None:
        """One chat completion with retries on connection errors, 5xx, 429, 408 and 409."""
        kwargs: dict[str, object] = {"model": self.model, "messages": messages}
        if self.temperature is not None:
            kwargs["temperature"] = self.temperature
        last: Exception | None = None
        for attempt in range(self.attempts):
            if run.abort.is_set():
                raise _Aborted
            if attempt:
                run.count("retries")
                if run.abort.wait(self._delay(attempt, last)):
                    raise _Aborted
            run.count("requests")
            try:
                response = self.client.chat.completions.create(**kwargs)  # type: ignore[call-overload]
            except openai.APIConnectionError as error:  # includes timeouts
                last = error
            except openai.APIStatusError as error:
                if error.status_code < 500 and error.status_code not in _RETRY_STATUS:
                    raise self._rejected(error) from error
                last = error
            except (openai.APIResponseValidationError, ValueError) as error:
                last = error  # not a chat completion: a proxy or web page at that URL, or a hiccup
            else:
                choices = getattr(response, "choices", None) or []
                return choices[0].message.content if choices else None
        raise self._unreachable(last)

    # -- helpers ------------------------------------------------------------------------------------

    def _delay(self, attempt: int, error: Exception | None) -> float:
        delay = self.base_delay * 2 ** (attempt - 1)
        if isinstance(error, openai.APIStatusError):
            retry_after = error.response.headers.get("retry-after", "")
            with contextlib.suppress(ValueError):
                delay = max(delay, float(retry_after))
        return min(delay, self.max_delay)

    def _unreachable(self, error: Exception | None) -> InterpreterError:
        if isinstance(error, openai.APIStatusError):
            reason = f"HTTP {error.status_code}: {_short(error)}"
            return InterpreterError(
                f"LLM server at {self.base_url} kept failing after {self.attempts} attempts ({reason})"
            )
        if isinstance(error, openai.APIResponseValidationError | ValueError):
            return InterpreterError(
                f"LLM server at {self.base_url} did not answer with a chat completion after "
                f"{self.attempts} attempts ({type(error).__name__}: {_short(error)}); "
                "is it an OpenAI-compatible endpoint?"
            )
        reason = f"{type(error).__name__}: {_short(error)}" if error else "no answer"
        return InterpreterError(
            f"LLM server at {self.base_url} is unreachable after {self.attempts} attempts ({reason}); "
            "check LOGSYNERGY_LLM_BASE_URL or use the offline interpreter"
        )

    def _rejected(self, error: openai.APIStatusError) -> InterpreterError:
        hint = {
            401: "check LOGSYNERGY_LLM_API_KEY",
            403: "check LOGSYNERGY_LLM_API_KEY and its permissions",
            404: f"check the base URL and that model {self.model!r} exists (LOGSYNERGY_LLM_MODEL)",
        }.get(error.status_code, f"model {self.model!r}")
        return InterpreterError(
            f"LLM server at {self.base_url} rejected the request "
            f"(HTTP {error.status_code}: {_short(error)}); {hint}"
        )


def _short(error: Exception, limit: int = 200) -> str:
    text = " ".join(str(error).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."

"""The interpreter protocol, per-call statistics and the provider factory (env-configurable)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from logsynergy.errors import ConfigError
from logsynergy.templates import SystemContext, Template

ENV_PROVIDER = "LOGSYNERGY_LLM_PROVIDER"
ENV_BASE_URL = "LOGSYNERGY_LLM_BASE_URL"
ENV_MODEL = "LOGSYNERGY_LLM_MODEL"
ENV_API_KEY = "LOGSYNERGY_LLM_API_KEY"

PROVIDERS = ("offline", "openai")


@runtime_checkable
class Interpreter(Protocol):
    """Turns templates into one plain-language sentence each (LEI)."""

    name: str

    def interpret(self, templates: Sequence[Template], system: SystemContext) -> dict[str, str]:
        """Map each template's id to one sentence of at most 16 words."""
        ...


@dataclass
class InterpretStats:
    """What the last `interpret` call cost: requests sent, transport retries, format regenerations and
    templates that fell back to the offline interpreter."""

    templates: int = 0
    requests: int = 0
    retries: int = 0
    regenerated: int = 0
    fallbacks: int = 0
    fallback_ids: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "templates": self.templates,
            "requests": self.requests,
            "retries": self.retries,
            "regenerated": self.regenerated,
            "fallbacks": self.fallbacks,
            "fallback_ids": list(self.fallback_ids),
            "seconds": round(self.seconds, 3),
        }


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def make_interpreter(
    provider: str | None = None,
    *,
    base_url: str | None = None,
    model: str | None = None,
    api_key: str | None = None,
    **options: object,
) -> Interpreter:
    """Build an interpreter. Arguments win over the LOGSYNERGY_LLM_* environment variables; the provider
    defaults to "openai" when a base URL or an API key is configured, else "offline". Extra keyword
    options go to the provider's constructor (e.g. concurrency, attempts, timeout)."""
    base_url = base_url or _env(ENV_BASE_URL)
    model = model or _env(ENV_MODEL)
    api_key = api_key or _env(ENV_API_KEY)
    chosen = (provider or _env(ENV_PROVIDER) or ("openai" if base_url or api_key else "offline")).lower()
    if chosen == "offline":
        from logsynergy.interpret.offline import OfflineInterpreter

        return OfflineInterpreter()
    if chosen == "openai":
        from logsynergy.interpret.openai_provider import OpenAIInterpreter

        return OpenAIInterpreter(base_url=base_url, model=model, api_key=api_key, **options)  # type: ignore[arg-type]
    raise ConfigError(f"unknown LLM provider {chosen!r}; expected one of: {', '.join(PROVIDERS)}")

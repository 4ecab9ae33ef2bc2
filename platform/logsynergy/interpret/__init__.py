"""LLM-based event interpretation (LEI): one plain sentence per template, cached and reviewable.

    interpreter = make_interpreter()            # offline, or openai when LOGSYNERGY_LLM_* is set
    store = InterpretationStore()
    texts = store.ensure(templates, SystemContext("bgl", "IBM BlueGene/L supercomputer"), interpreter)

The openai provider (and the `openai` package) is imported only when used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from logsynergy.interpret.base import Interpreter, InterpretStats, make_interpreter
from logsynergy.interpret.matching import ImportedEntry, WildcardPattern, match_imported, read_imported
from logsynergy.interpret.offline import OfflineInterpreter, interpret_offline
from logsynergy.interpret.prompt import FormatProblem, clean_interpretation, messages_for
from logsynergy.interpret.store import ImportResult, Interpretation, InterpretationStore

if TYPE_CHECKING:
    from logsynergy.interpret.openai_provider import OpenAIInterpreter

__all__ = [
    "FormatProblem",
    "ImportResult",
    "ImportedEntry",
    "InterpretStats",
    "Interpretation",
    "InterpretationStore",
    "Interpreter",
    "OfflineInterpreter",
    "OpenAIInterpreter",
    "WildcardPattern",
    "clean_interpretation",
    "interpret_offline",
    "make_interpreter",
    "match_imported",
    "messages_for",
    "read_imported",
]


def __getattr__(name: str) -> Any:
    if name == "OpenAIInterpreter":
        from logsynergy.interpret.openai_provider import OpenAIInterpreter

        return OpenAIInterpreter
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

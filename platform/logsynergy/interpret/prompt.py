"""The LEI prompt (paper Fig. 2) and the validation of the LLM's answer."""

from __future__ import annotations

import re

from logsynergy.templates import SystemContext, Template

MAX_WORDS = 16
MAX_EXAMPLE_CHARS = 1000

SYSTEM_PROMPT = (
    "You interpret log events of software systems for operators. You answer with exactly one plain "
    "sentence and nothing else."
)

_INSTRUCTIONS = (
    "Each interpretation must be concise, not exceeding {max_words} words, and expressed in a single "
    "sentence. Say what happened, and whether it could affect the overall system stability and "
    "functionality. Highlight any anomaly or irregularity that could indicate a significant problem. "
    "Avoid technical jargon and abbreviations, and use natural language easily understood without "
    "specialized knowledge. Leave out parameter values such as numbers, addresses, paths and "
    "identifiers. Answer with the sentence only: no numbering, no quotes, no explanation."
)


def _clip(text: str, limit: int = MAX_EXAMPLE_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def user_prompt(template: Template, system: SystemContext, max_words: int = MAX_WORDS) -> str:
    """The operator's request for one log event: the system, the rules, the example and the template."""
    about = f'I have logs from the system "{system.name}"'
    about += f": {_clip(system.description, 500)}" if system.description.strip() else "."
    if not about.endswith((".", "!", "?")):
        about += "."
    example = _clip(template.example) if template.example.strip() else "(no example available)"
    return (
        f"{about} They need interpreting.\n"
        f"{_INSTRUCTIONS.format(max_words=max_words)}\n\n"
        f"Here is the log:\n"
        f"Example log message: {example}\n"
        f"Log template (<*> marks a variable part): {_clip(template.text)}"
    )


def messages_for(
    template: Template,
    system: SystemContext,
    *,
    previous: str | None = None,
    problem: str | None = None,
    max_words: int = MAX_WORDS,
) -> list[dict[str, str]]:
    """Chat messages for one template; with `previous`/`problem` it asks again after a bad answer."""
    messages = [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": user_prompt(template, system, max_words)},
    ]
    if previous is not None:
        messages.append({"role": "assistant", "content": previous[:2000]})
        messages.append(
            {
                "role": "user",
                "content": f"That answer is not usable ({problem}). Answer again with exactly one "
                f"sentence of at most {max_words} words, and nothing else.",
            }
        )
    return messages


class FormatProblem(ValueError):
    """The answer is not one sentence of 1..max words."""


_FENCE = re.compile(r"^```[a-zA-Z]*\s*|\s*```$")
_LABEL = re.compile(r"^(?:interpretation|answer|sentence|summary)\s*[:\-]\s*", re.IGNORECASE)
_NUMBERING = re.compile(r"^(?:\(?\d{1,3}[.):]|[-*•])\s+")
_QUOTES = "\"'`“”‘’«»"
_SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)")
_ABBREVIATION_DOTS = re.compile(r"\b(?:e\.g|i\.e|etc|vs|approx)\.", re.IGNORECASE)


def clean_interpretation(answer: str | None, max_words: int = MAX_WORDS) -> str:
    """Strip the wrapping an LLM adds (fences, labels, numbering, quotes), check that one sentence of
    1..max_words words remains, and return it capitalised with final punctuation.
    Raises FormatProblem with the reason otherwise."""
    if answer is None or not answer.strip():
        raise FormatProblem("empty answer")
    text = _FENCE.sub("", answer.strip()).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) != 1:
        raise FormatProblem(f"{len(lines)} lines instead of one sentence")
    text = lines[0]
    for _ in range(3):  # wrappers can nest: 1. "Interpretation: ..."
        before = text
        text = _NUMBERING.sub("", text)
        text = _LABEL.sub("", text)
        text = text.strip().strip(_QUOTES).strip()
        if text == before:
            break
    text = " ".join(text.split())
    if not text:
        raise FormatProblem("empty answer")
    plain = _ABBREVIATION_DOTS.sub("", text).rstrip()
    sentences = len(_SENTENCE_END.findall(plain))
    if not plain.endswith((".", "!", "?")):
        sentences += 1  # a last sentence without its full stop
    if sentences != 1:
        raise FormatProblem(f"{sentences} sentences instead of one")
    words = len(text.split())
    if words > max_words:
        raise FormatProblem(f"{words} words, more than {max_words}")
    if not any(c.isalpha() for c in text):
        raise FormatProblem("no words")
    if text[-1] not in ".!?":
        text += "."
    return text[0].upper() + text[1:]

"""Map externally written interpretations (Loghub templates, other parsers) onto our templates.

Rules, strongest first; within a rule the imported template with the most literal characters wins:
  1. "id"       the entry's template_id, or the hash of its template text, is our template's id;
     "text"     its template text equals ours up to whitespace;
  2. "example"  its template, read as a pattern (<*> = any text, possibly empty; whitespace flexible),
                matches our template's example message;
  3. "template" that pattern matches our template text (our <*> being just text to it);
  4. "reverse"  our template, read as a pattern, matches the entry's own example message.
Patterns without any literal character (a bare "<*>") only ever match by rule 1.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from logsynergy.errors import InputError
from logsynergy.templates import Template, template_id

WILDCARD = "<*>"
_ITEMS = re.compile(r"<\*>|\s+|(?:(?!<\*>)\S)+")


class WildcardPattern:
    """A template read as a pattern: `<*>` is any text (possibly empty), whitespace runs are flexible.
    A cheap in-order check of the literal pieces runs before the regex, which keeps matching fast."""

    __slots__ = ("_first", "_last", "_literals", "literal_chars", "regex", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        items: list[str] = []
        for item in _ITEMS.findall(text.strip()):
            if item == WILDCARD and items and items[-1] == WILDCARD:
                continue  # <*><*> is one wildcard
            if item == WILDCARD and len(items) > 1 and items[-1].isspace() and items[-2] == WILDCARD:
                items.pop()  # so is "<*> <*>": both may be empty
                continue
            items.append(item)
        self._literals = [i for i in items if i != WILDCARD and not i.isspace()]
        self.literal_chars = sum(len(i) for i in self._literals)
        self._first = items[0] if items and items[0] != WILDCARD else None
        self._last = items[-1] if items and items[-1] != WILDCARD else None
        self.regex = re.compile(_to_regex(items), re.DOTALL)

    def matches(self, message: str) -> bool:
        message = message.strip()
        if self._first is not None and not message.startswith(self._first):
            return False
        if self._last is not None and not message.endswith(self._last):
            return False
        position = 0
        for literal in self._literals:
            found = message.find(literal, position)
            if found < 0:
                return False
            position = found + len(literal)
        return self.regex.fullmatch(message) is not None


def _to_regex(items: list[str]) -> str:
    out: list[str] = []
    skip_space = False
    for i, item in enumerate(items):
        if item == WILDCARD:
            space_before = i > 0 and items[i - 1].isspace()
            space_after = i + 1 < len(items) and items[i + 1].isspace()
            if space_after and (space_before or i == 0):  # "a <*> b" ~ "a b", "<*> b" ~ "b"
                out.append(r"(?:.*?\s+)?")
                skip_space = True
            elif i == len(items) - 1 and space_before and out and out[-1] == r"\s+":
                out[-1] = r"(?:\s+.*?)?"  # "a <*>" also matches "a"
            else:
                out.append(".*?")
        elif item.isspace():
            if skip_space:
                skip_space = False
                continue
            out.append(r"\s+")
        else:
            out.append(re.escape(item))
    return "".join(out)


@dataclass(frozen=True, slots=True)
class ImportedEntry:
    """One externally written interpretation, as read from a JSONL/JSON file."""

    template: str
    interpretation: str
    example: str = ""
    template_id: str | None = None
    reviewed: bool = False
    line: int = 0


@dataclass(slots=True)
class Match:
    ours: Template
    entry: ImportedEntry
    rule: str


@dataclass(slots=True)
class MatchResult:
    matches: dict[str, Match] = field(default_factory=dict)  # our template id -> match
    unmatched: list[Template] = field(default_factory=list)
    unused: list[ImportedEntry] = field(default_factory=list)

    def by_rule(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for match in self.matches.values():
            counts[match.rule] = counts.get(match.rule, 0) + 1
        return counts


def read_imported(path: str | Path) -> tuple[list[ImportedEntry], int]:
    """Entries of a JSONL file (or a JSON list / our JSON save format); returns (entries, skipped) where
    skipped counts objects without a template or an interpretation."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"interpretations file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read interpretations file {path}: {error}") from error
    objects: list[tuple[int, object]]
    try:  # a whole-file JSON document: a list, our save format {"entries": [...]}, or one object
        document = json.loads(text)
    except json.JSONDecodeError:
        document = None
    if isinstance(document, list | dict):
        rows = document.get("entries", [document]) if isinstance(document, dict) else document
        objects = list(enumerate(rows if isinstance(rows, list) else [], start=1))
    else:
        objects = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                objects.append((number, json.loads(line)))
            except json.JSONDecodeError as error:
                raise InputError(f"{path}:{number}: not a JSON object ({error.msg})") from error
    entries: list[ImportedEntry] = []
    skipped = 0
    for number, obj in objects:
        entry = _entry(obj, number)
        if entry is None:
            skipped += 1
        else:
            entries.append(entry)
    return entries, skipped


def _entry(obj: object, number: int) -> ImportedEntry | None:
    if not isinstance(obj, dict):
        return None
    template = str(obj.get("template") or "")
    sentence = str(obj.get("interpretation") or obj.get("text") or "").strip()
    given_id = obj.get("template_id")
    if not sentence or not (template or given_id):
        return None
    return ImportedEntry(
        template=template,
        interpretation=" ".join(sentence.split()),
        example=str(obj.get("example") or ""),
        template_id=str(given_id) if given_id else None,
        reviewed=bool(obj.get("reviewed", False)),
        line=number,
    )


def _normal(text: str) -> str:
    return " ".join(text.split())


def _best(candidates: Iterable[tuple[int, int, ImportedEntry]]) -> ImportedEntry | None:
    """Most literal characters first, then file order."""
    best = min(candidates, key=lambda c: (-c[0], c[1]), default=None)
    return best[2] if best else None


def match_imported(ours: Sequence[Template], imported: Sequence[ImportedEntry]) -> MatchResult:
    """Assign at most one imported entry to each of our templates (an entry may serve several)."""
    by_id: dict[str, ImportedEntry] = {}
    by_text: dict[str, ImportedEntry] = {}
    for entry in imported:
        if entry.template_id:
            by_id.setdefault(entry.template_id, entry)
        if entry.template:
            by_id.setdefault(template_id(entry.template), entry)
            by_text.setdefault(_normal(entry.template), entry)
    patterns = [(WildcardPattern(e.template), order, e) for order, e in enumerate(imported) if e.template]
    patterns = [p for p in patterns if p[0].literal_chars > 0]

    result = MatchResult()
    used: set[int] = set()
    for template in {t.id: t for t in ours}.values():
        rule, entry = "id", by_id.get(template.id)
        if entry is None:
            rule, entry = "text", by_text.get(_normal(template.text))
        if entry is None and template.example.strip():
            rule = "example"
            entry = _best((p.literal_chars, o, e) for p, o, e in patterns if p.matches(template.example))
        if entry is None:
            rule = "template"
            entry = _best((p.literal_chars, o, e) for p, o, e in patterns if p.matches(template.text))
        if entry is None:
            ours_pattern = WildcardPattern(template.text)
            if ours_pattern.literal_chars:
                rule = "reverse"
                entry = _best(
                    (p.literal_chars, o, e)
                    for p, o, e in patterns
                    if e.example and ours_pattern.matches(e.example)
                )
        if entry is None:
            result.unmatched.append(template)
            continue
        result.matches[template.id] = Match(template, entry, rule)
        used.add(id(entry))
    result.unused = [e for e in imported if id(e) not in used]
    return result

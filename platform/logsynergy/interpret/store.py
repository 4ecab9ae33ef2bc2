"""Interpretations cached per template id: fill the missing ones, edit, import, export, persist."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from logsynergy.atomic import write_atomic
from logsynergy.errors import ArtifactError, InputError
from logsynergy.interpret.base import Interpreter
from logsynergy.interpret.matching import ImportedEntry, match_imported, read_imported
from logsynergy.interpret.offline import interpret_offline
from logsynergy.templates import SystemContext, Template, template_id

STORE_FILE = "interpretations.jsonl"
FORMAT = "logsynergy-interpretations"
IMPORTED = "imported"


@dataclass(slots=True)
class Interpretation:
    template_id: str
    template: str
    example: str
    text: str
    provider: str
    reviewed: bool = False

    def to_json(self) -> dict[str, object]:
        """The export shape (the sentence under the key `interpretation`)."""
        return {
            "template_id": self.template_id,
            "template": self.template,
            "example": self.example,
            "interpretation": self.text,
            "provider": self.provider,
            "reviewed": self.reviewed,
        }

    @classmethod
    def from_json(cls, obj: dict[str, object]) -> Interpretation:
        template = str(obj.get("template") or "")
        return cls(
            template_id=str(obj.get("template_id") or template_id(template)),
            template=template,
            example=str(obj.get("example") or ""),
            text=str(obj.get("interpretation") or obj.get("text") or ""),
            provider=str(obj.get("provider") or IMPORTED),
            reviewed=bool(obj.get("reviewed", False)),
        )


@dataclass(slots=True)
class ImportResult:
    """What an import did: our templates that got a sentence, ours left without, imported entries that
    fit none of ours, and entries skipped (unreadable, or an operator-reviewed sentence kept)."""

    matched: int = 0
    unmatched_ids: list[str] = field(default_factory=list)
    unused_templates: list[str] = field(default_factory=list)
    by_rule: dict[str, int] = field(default_factory=dict)
    invalid: int = 0
    kept_reviewed: int = 0

    @property
    def unmatched_ours(self) -> int:
        return len(self.unmatched_ids)

    @property
    def unused_imported(self) -> int:
        return len(self.unused_templates)

    @property
    def match_rate(self) -> float:
        total = self.matched + self.unmatched_ours
        return self.matched / total if total else 0.0

    def as_dict(self) -> dict[str, object]:
        out = asdict(self)
        out.update(unmatched_ours=self.unmatched_ours, unused_imported=self.unused_imported)
        return out


class InterpretationStore:
    """Thread-safe map template id -> Interpretation, in insertion order."""

    def __init__(self, entries: Sequence[Interpretation] = ()) -> None:
        self._entries: dict[str, Interpretation] = {}
        self._lock = threading.RLock()
        for entry in entries:
            self.put(entry)

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[Interpretation]:
        with self._lock:
            return iter(list(self._entries.values()))

    def __contains__(self, template_id_: object) -> bool:
        return template_id_ in self._entries

    def get(self, template_id_: str) -> Interpretation | None:
        return self._entries.get(template_id_)

    def put(self, entry: Interpretation) -> None:
        if not entry.text.strip():
            raise InputError(f"empty interpretation for template {entry.template_id}")
        with self._lock:
            self._entries[entry.template_id] = entry

    def texts(self, template_ids: Sequence[str] | None = None) -> dict[str, str]:
        """Sentence per template id (all, or the given ids that have one)."""
        with self._lock:
            ids = list(self._entries) if template_ids is None else template_ids
            return {i: self._entries[i].text for i in ids if i in self._entries}

    def missing(self, templates: Sequence[Template]) -> list[Template]:
        """Templates without an interpretation, each once, in the given order."""
        with self._lock:
            return [t for t in {t.id: t for t in templates}.values() if t.id not in self._entries]

    def ensure(
        self, templates: Sequence[Template], system: SystemContext, interpreter: Interpreter
    ) -> dict[str, str]:
        """Interpret only the templates not yet stored; return the sentence of every given template."""
        todo = self.missing(templates)
        if todo:
            self._interpret_into(todo, system, interpreter, keep_reviewed=True)
        with self._lock:
            return {t.id: self._entries[t.id].text for t in templates}

    def regenerate(
        self, templates: Sequence[Template], system: SystemContext, interpreter: Interpreter
    ) -> dict[str, str]:
        """Interpret the given templates again, replacing what is stored (reviewed ones included)."""
        unique = list({t.id: t for t in templates}.values())
        self._interpret_into(unique, system, interpreter, keep_reviewed=False)
        return self.texts([t.id for t in unique])

    def edit(self, template_id_: str, text: str) -> Interpretation:
        """An operator's correction: replaces the sentence and marks it reviewed."""
        text = " ".join(text.split())
        with self._lock:
            entry = self._entries.get(template_id_)
            if entry is None:
                raise InputError(f"no interpretation for template {template_id_}")
            if not text:
                raise InputError("an interpretation cannot be empty")
            entry.text, entry.reviewed = text, True
            return entry

    def _interpret_into(
        self,
        templates: Sequence[Template],
        system: SystemContext,
        interpreter: Interpreter,
        *,
        keep_reviewed: bool,
    ) -> None:
        texts = interpreter.interpret(templates, system)
        stats = getattr(interpreter, "last_stats", None)
        fell_back = set(getattr(stats, "fallback_ids", ()) or ())
        with self._lock:
            for t in templates:
                current = self._entries.get(t.id)
                if keep_reviewed and current is not None and current.reviewed:
                    continue
                text, provider = texts.get(t.id, ""), interpreter.name
                if t.id in fell_back or not text.strip():
                    text, provider = text.strip() or interpret_offline(t.text, t.example), "offline"
                self._entries[t.id] = Interpretation(t.id, t.text, t.example, text, provider)

    # -- import / export ----------------------------------------------------------------------------

    def export_jsonl(self, path: str | Path) -> Path:
        """One JSON object per line: template_id, template, example, interpretation, provider, reviewed."""
        lines = [json.dumps(e.to_json(), ensure_ascii=False) for e in self]
        return _write_atomic(Path(path), "\n".join(lines) + ("\n" if lines else ""))

    def import_jsonl(
        self,
        path: str | Path,
        templates: Sequence[Template] | None = None,
        *,
        keep_reviewed: bool = True,
    ) -> ImportResult:
        """Import interpretations written elsewhere. Without `templates`, entries are keyed by their
        template_id (or the hash of their template text); with them, entries are mapped onto those
        templates (see matching.py). Imported sentences get provider "imported"; an operator-reviewed
        sentence already stored is kept unless keep_reviewed=False."""
        entries, invalid = read_imported(path)
        result = ImportResult(invalid=invalid)
        if templates is None:
            pairs = [(_as_template(e), e) for e in entries]
            result.by_rule = {"id": len(pairs)}
        else:
            matching = match_imported(templates, entries)
            pairs = [(m.ours, m.entry) for m in matching.matches.values()]
            result.unmatched_ids = [t.id for t in matching.unmatched]
            result.unused_templates = [e.template or str(e.template_id) for e in matching.unused]
            result.by_rule = matching.by_rule()
        with self._lock:
            for ours, entry in pairs:
                current = self._entries.get(ours.id)
                if keep_reviewed and current is not None and current.reviewed:
                    result.kept_reviewed += 1
                    continue
                self._entries[ours.id] = Interpretation(
                    ours.id, ours.text, ours.example, entry.interpretation, IMPORTED, entry.reviewed
                )
                result.matched += 1
        return result

    # -- persistence --------------------------------------------------------------------------------

    def save(self, path: str | Path) -> Path:
        """Write to `x.jsonl`, `x.json`, or a directory (as interpretations.jsonl); returns the file."""
        path = Path(path)
        if path.suffix == ".json":
            document = {"format": FORMAT, "version": 1, "entries": [e.to_json() for e in self]}
            return _write_atomic(path, json.dumps(document, ensure_ascii=False, indent=1) + "\n")
        if path.suffix != ".jsonl":
            path = path / STORE_FILE
        return self.export_jsonl(path)

    @classmethod
    def load(cls, path: str | Path) -> InterpretationStore:
        """Read what `save` wrote (a .jsonl/.json file, or a directory holding interpretations.jsonl
        or interpretations.json), keeping providers and reviewed flags."""
        path = Path(path)
        if path.is_dir():
            candidates = [path / STORE_FILE, path / "interpretations.json"]
            path = next((p for p in candidates if p.is_file()), candidates[0])
        if not path.is_file():
            raise ArtifactError(f"interpretations not found at {path}")
        try:
            text = path.read_text(encoding="utf-8")
            if path.suffix == ".json":
                rows = json.loads(text).get("entries", [])
            else:
                rows = [json.loads(line) for line in text.splitlines() if line.strip()]
            return cls([Interpretation.from_json(r) for r in rows])
        except (ValueError, AttributeError, InputError) as error:
            raise ArtifactError(f"unreadable interpretations at {path}: {error}") from error


def _as_template(entry: ImportedEntry) -> Template:
    return Template(entry.template_id or template_id(entry.template), entry.template, entry.example)


def _write_atomic(path: Path, text: str) -> Path:
    return write_atomic(path, [text.encode("utf-8")])

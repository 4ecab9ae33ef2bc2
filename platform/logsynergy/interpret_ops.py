"""Operator workflows on a saved detector's interpretations: export for review, import reviewed ones."""

from __future__ import annotations

from pathlib import Path

from logsynergy.detector import Detector
from logsynergy.errors import InputError


def export_interpretations(artifact: str | Path, file: str | Path) -> int:
    """Write the detector's interpretations as JSONL; returns how many."""
    detector = Detector.load(artifact)
    detector.store.export_jsonl(file)
    return len(detector.store)


def import_interpretations(artifact: str | Path, file: str | Path) -> int:
    """Import reviewed interpretations onto the detector's templates and re-embed the changed ones.

    Returns the number of templates whose sentence changed. Operator-reviewed input replaces what was
    there, reviewed or not."""
    if not Path(file).is_file():
        raise InputError(f"interpretations file not found: {file}")
    detector = Detector.load(artifact)
    before = {e.template_id: e.text for e in detector.store}
    templates = list(detector.parser.templates.values())
    result = detector.store.import_jsonl(file, templates, keep_reviewed=False)
    if result.matched == 0:
        raise InputError(
            f"{file}: none of its {result.unused_imported} entries match a template of this detector"
        )
    changed = [e for e in detector.store if before.get(e.template_id) != e.text]
    if changed and detector.settings.use_lei:
        vectors = detector.embedder.embed([e.text for e in changed])
        for entry, vector in zip(changed, vectors, strict=True):
            detector.vectors[entry.template_id] = vector
    detector.save(artifact)
    return len(changed)

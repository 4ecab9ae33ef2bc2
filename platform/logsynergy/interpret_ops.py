"""Operator workflows on a saved detector's interpretations: export for review, import reviewed ones."""

from __future__ import annotations

from pathlib import Path

from logsynergy.detector import Detector
from logsynergy.errors import InputError
from logsynergy.interpret import make_interpreter
from logsynergy.prepare import prepare_system
from logsynergy.systems import load_systems


def export_interpretations(source: str | Path, file: str | Path, system: str | None = None) -> int:
    """Write interpretations as JSONL for review; returns how many.

    `source` is a detector artifact directory, or a systems.yaml together with the `system` to parse and
    interpret (with the configured interpreter, after importing the system's ready-made ones)."""
    path = Path(source)
    if path.is_file():
        if not system:
            raise InputError("name the --system whose interpretations to export from the systems file")
        specs = load_systems(path)
        if system not in specs:
            raise InputError(f"system {system!r} is not in {path} (known: {', '.join(specs)})")
        store = prepare_system(specs[system], make_interpreter()).store
    else:
        store = Detector.load(path).store
    store.export_jsonl(file)
    return len(store)


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
        embeddings = detector.embedder.embed([e.text for e in changed])
        detector.set_embeddings([e.template_id for e in changed], embeddings)
    detector.save(artifact)
    return len(changed)

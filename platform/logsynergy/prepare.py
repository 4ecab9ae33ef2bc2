"""From one system's raw log to windows of template ids, with templates interpreted."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from logsynergy.errors import InputError
from logsynergy.feedback import JudgedWindow, judged_records, judged_windows, read_judgements
from logsynergy.interpret import InterpretationStore, Interpreter
from logsynergy.loaders import load_log
from logsynergy.parsing import LogParser
from logsynergy.records import LoadedLog
from logsynergy.systems import SystemSpec
from logsynergy.templates import SystemContext
from logsynergy.windows import Window, WindowSettings, make_windows

Say = Callable[[str], None]


@dataclass
class PreparedSystem:
    """A system ready for training: parsed, windowed as its spec declares, its templates interpreted;
    `judged`: operators' judged windows (its spec's feedback), parsed with the same parser."""

    spec: SystemSpec
    log: LoadedLog
    parser: LogParser
    windows: list[Window]
    windowing: WindowSettings  # how `windows` were cut
    store: InterpretationStore
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    judged: list[JudgedWindow] = field(default_factory=list)

    @property
    def context(self) -> SystemContext:
        return SystemContext(self.spec.name, self.spec.description)

    @property
    def anomalous_windows(self) -> int:
        return sum(1 for w in self.windows if w.label == 1)


def prepare_system(
    spec: SystemSpec,
    interpreter: Interpreter,
    *,
    say: Say = lambda _m: None,
) -> PreparedSystem:
    """Load, parse (Drain), window (as the spec declares) and interpret one system. The lines of its
    judged windows are parsed with its log's lines, as if they were part of it."""
    timings: dict[str, float] = {}
    t = time.perf_counter()
    log = load_log(spec.format, spec.path, spec.labels)
    timings["load"] = time.perf_counter() - t
    notes = list(log.report.notes)
    if log.report.malformed:
        notes.append(f"{log.report.malformed} malformed lines skipped")
    judgements = read_judgements(spec.feedback) if spec.feedback is not None else []
    t = time.perf_counter()
    parser = LogParser()
    judged_messages = [r.message for j in judgements for r in judged_records(j, spec.format)]
    parsed = parser.fit([*(r.message for r in log.records), *judged_messages])
    template_ids = parsed[: len(log.records)]
    judged = judged_windows(judgements, parsed[len(log.records) :])
    timings["parse"] = time.perf_counter() - t
    if judged:
        anomalous = sum(j.window.label == 1 for j in judged)
        notes.append(f"{len(judged)} judged windows from operators ({anomalous} anomalous)")
    windowing = spec.window_settings(log.windowing)
    windows = make_windows(
        log, template_ids, windowing=windowing.kind, size=windowing.size, step=windowing.step
    )
    if not windows:
        raise InputError(f"system {spec.name!r}: {spec.path} yields no windows")
    t = time.perf_counter()
    store = InterpretationStore()
    templates = list(parser.templates.values())
    if spec.interpretations is not None:
        result = store.import_jsonl(spec.interpretations, templates)
        notes.append(f"interpretations imported for {result.matched} of {len(templates)} templates")
    missing = store.missing(templates)
    if missing:
        say(f"{spec.name}: interpreting {len(missing)} templates with the {interpreter.name} interpreter")
    store.ensure(templates, SystemContext(spec.name, spec.description), interpreter)
    timings["interpret"] = time.perf_counter() - t
    say(
        f"{spec.name}: {len(log.records):,} lines, {len(parser.templates)} templates, "
        f"{len(windows):,} windows ({sum(1 for w in windows if w.label == 1):,} anomalous)"
    )
    for note in notes:
        say(f"{spec.name}: {note}")
    return PreparedSystem(spec, log, parser, windows, windowing, store, timings, notes, judged)

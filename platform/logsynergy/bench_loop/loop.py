"""The operator loop on one target, measured: train without target labels, stream, judge, retrain.

Round r (0 ≤ r < chunks): a detector is trained (`logsynergy.pipeline.train`, the training job's path)
from the other systems and the target's log streamed so far — windows [0, bounds[r + 1]) written without
labels; chunk 0 is the log a system is onboarded with — plus the operator's judgements so far as a
feedback file. It is measured on every window not yet streamed ([bounds[r + 1] + gap, end), `gap`
windows left out so that no line of a judged window is measured), with the judged patterns suppressed,
and on the fixed test part (the later half, as `make bench` splits). Then the next chunk is scored as the
endpoint scores a request (`Detector.score_records` on the records the endpoint builds from the lines),
its flagged windows are recorded into incidents unless suppressed, and the operator judges the K
highest-scored open incidents.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from logsynergy.bench_loop.incidents import IncidentBook, judge_top, pattern_id, write_feedback
from logsynergy.bench_loop.settings import LoopSettings
from logsynergy.bench_loop.stream import Chunks, TargetStream, cut_chunks
from logsynergy.detector import Detector
from logsynergy.embedding import SentenceEmbedder
from logsynergy.interpret import Interpreter
from logsynergy.metrics import prf
from logsynergy.pipeline import train
from logsynergy.systems import SystemSpec

Say = Callable[[str], None]


@dataclass(frozen=True)
class Scored:
    """Scores of some target windows as the endpoint answers them; patterns of the flagged ones."""

    windows: list[int]
    scores: np.ndarray
    flagged: np.ndarray  # score >= threshold (before suppression)
    patterns: dict[int, str]  # window → pattern, flagged windows only

    def alarms(self, suppressed: frozenset[str]) -> np.ndarray:
        """Flagged and not of a suppressed pattern: what the endpoint answers as anomalous."""
        kept = [self.patterns.get(w) not in suppressed for w in self.windows]
        return self.flagged & np.array(kept, bool)


def score_windows(detector: Detector, stream: TargetStream, windows: Sequence[int]) -> Scored:
    """Score windows (consecutive, in order) with one request's worth of their lines."""
    windows = list(windows)
    if not windows:
        return Scored([], np.zeros(0, np.float32), np.zeros(0, bool), {})
    session = stream.windowing.kind == "session"
    keys = {(stream.windows[w].session if session else min(stream.windows[w].lines)): w for w in windows}
    detection = detector.score_records(stream.endpoint_records(stream.record_indices(windows)))
    found = [keys.get(v.session if session else v.first_line) for v in detection.windows]
    if None in found or sorted(found) != sorted(windows):  # type: ignore[type-var]
        raise RuntimeError(f"the detector's windows are not the target's ({len(found)} vs {len(windows)})")
    position = {w: i for i, w in enumerate(windows)}
    scores = np.zeros(len(windows), np.float32)
    flagged = np.zeros(len(windows), bool)
    patterns: dict[int, str] = {}
    reports = iter(detection.reports)
    for w, verdict in zip(found, detection.windows, strict=True):
        i = position[w]  # type: ignore[index]
        scores[i], flagged[i] = verdict.score, verdict.anomaly
        if verdict.anomaly:
            patterns[w] = pattern_id(e["template_id"] for e in next(reports)["events"])  # type: ignore[index]
    return Scored(windows, scores, flagged, patterns)


def measure(stream: TargetStream, scored: Scored, suppressed: frozenset[str], start: int) -> dict[str, float]:
    """Precision, recall and F1 on the labelled windows from index `start` on, and how many there are."""
    keep = [i for i, w in enumerate(scored.windows) if w >= start and stream.label(w) is not None]
    labels = np.array([stream.label(scored.windows[i]) for i in keep], int)
    alarms = scored.alarms(suppressed)[keep]
    s = prf(labels, alarms)
    raw = prf(labels, scored.flagged[keep])
    return {
        "windows": len(keep),
        "anomalies": int(labels.sum()),
        "precision": round(s.precision, 4),
        "recall": round(s.recall, 4),
        "f1": round(s.f1, 4),
        "f1_unsuppressed": round(raw.f1, 4),
    }


def write_systems(path: Path, target: SystemSpec, sources: Sequence[SystemSpec]) -> Path:
    """A systems file of the sources as given and the target as training sees it."""

    def entry(spec: SystemSpec) -> dict[str, Any]:
        item: dict[str, Any] = {"name": spec.name, "format": spec.format, "path": str(spec.path.resolve())}
        if spec.labels is not None:
            item["labels"] = str(spec.labels.resolve())
        if spec.description:
            item["description"] = spec.description
        if spec.interpretations is not None:
            item["interpretations"] = str(spec.interpretations.resolve())
        if spec.windowing is not None:
            item["windowing"] = spec.windowing
        item["window_size"], item["window_step"] = spec.window_size, spec.window_step
        return item

    path.write_text(yaml.safe_dump({"systems": [*map(entry, sources), entry(target)]}, sort_keys=False))
    return path


def run_target(
    stream: TargetStream,
    sources: Sequence[SystemSpec],
    settings: LoopSettings,
    work: Path,
    *,
    embedder: SentenceEmbedder,
    interpreter: Interpreter,
    say: Say = print,
) -> dict[str, Any]:
    """The loop on one target; returns its settings, chunk bounds and one row per round."""
    name = stream.spec.name
    n = len(stream.windows)
    chunks: Chunks = cut_chunks(n, settings.stream_fraction, settings.chunks)
    test_start = int(n * (1 - settings.test_fraction)) + stream.gap  # where `make bench` tests
    book = IncidentBook()
    feedback = work / "feedback.jsonl"
    judgements, judged_windows = 0, 0
    rounds: list[dict[str, Any]] = []
    options = settings.train_options()
    for r in range(len(chunks)):
        streamed = chunks.bounds[r + 1]
        prefix = stream.write_prefix(streamed, work / f"{name}.jsonl")
        systems = write_systems(work / "systems.yaml", stream.stream_spec(prefix), sources)
        t = time.perf_counter()
        result = train(
            systems,
            name,
            sources=[s.name for s in sources],
            options=options,
            feedback=feedback if judged_windows else None,
            embedder=embedder,
            interpreter=interpreter,
            say=lambda _m: None,
        )
        train_seconds = time.perf_counter() - t
        detector, version = result.detector, f"r{r}"
        suppressed = book.suppressed
        row: dict[str, Any] = {
            "round": r,
            "streamed_windows": streamed,
            "judgements": judgements,
            "judged_windows": judged_windows,
            "suppressed_patterns": len(suppressed),
            "threshold": round(detector.settings.threshold, 6),
            "calibration": result.metrics.calibration,
            "train_seconds": round(train_seconds, 1),
        }
        nxt = chunks.window_range(r + 1) if r + 1 < len(chunks) else range(0)
        t = time.perf_counter()
        chunk = score_windows(detector, stream, nxt)
        rest = score_windows(detector, stream, range(streamed + stream.gap, n))
        row["rest"] = measure(stream, rest, suppressed, streamed + stream.gap)
        row["test"] = measure(stream, rest, suppressed, test_start)
        if len(nxt):
            alarms = chunk.alarms(suppressed)
            recorded = sum(
                book.record(w, chunk.patterns[w], float(s), version)
                for w, s, a in zip(chunk.windows, chunk.scores, alarms, strict=True)
                if a
            )
            done = judge_top(book, settings.per_round, stream.label, r + 1)
            judgements += len(done)
            judged_windows = write_feedback(
                book, stream.sent_lines, lambda w: stream.windows[w].session, feedback
            )
            row["next_chunk"] = {
                "windows": len(nxt),
                "anomalies": sum(1 for w in nxt if stream.label(w) == 1),
                "flagged": int(chunk.flagged.sum()),
                "suppressed": int(chunk.flagged.sum() - alarms.sum()),
                "recorded": int(recorded),
                "open_incidents": len(book.open_incidents()),
                "judged": [j.verdict for j in done],
            }
        row["score_seconds"] = round(time.perf_counter() - t, 1)
        rounds.append(row)
        say(
            f"{name} round {r}: {row['judgements']} judgements ({row['judged_windows']} windows), "
            f"F1 {row['rest']['f1']:.3f} on {row['rest']['windows']} unstreamed windows "
            f"(test part {row['test']['f1']:.3f}; {row['calibration']}); trained in {train_seconds:.0f}s"
        )
    return {
        "target": name,
        "sources": [s.name for s in sources],
        "windows": n,
        "anomalous_windows": sum(1 for w in stream.windows if w.label == 1),
        "windowing": stream.windowing.kind,
        "chunk_bounds": list(chunks.bounds),
        "test_start": test_start,
        "rounds": rounds,
    }

"""A trained detector for one system: loads from its artifact directory, scores raw logs, explains."""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from pydantic import ValidationError

from logsynergy import __version__
from logsynergy.artifact import ArtifactFiles, check_artifact
from logsynergy.count_checks import CountChecks
from logsynergy.count_model import CountModel
from logsynergy.embedding import SentenceEmbedder
from logsynergy.errors import ArtifactError
from logsynergy.interpret import InterpretationStore, make_interpreter
from logsynergy.loaders.lines import records_from_lines
from logsynergy.metrics import TrainingMetrics
from logsynergy.model import LogSynergyNet, ModelConfig
from logsynergy.model.projected import ProjectedVectors
from logsynergy.novelty import NOVEL, append_novelty
from logsynergy.parsing import LogParser
from logsynergy.precision import resolve_precision
from logsynergy.records import LoadedLog, LoadReport, LogRecord
from logsynergy.templates import SystemContext
from logsynergy.windows import Window, make_windows
from logsynergy.windowset import clip_events

if TYPE_CHECKING:
    from logsynergy.prepare import PreparedSystem
    from logsynergy.training import TrainResult


@dataclass
class WindowVerdict:
    first_line: int
    last_line: int
    score: float
    anomaly: bool
    new_templates: list[str]
    session: str | None = None
    label: int | None = None


@dataclass
class Detection:
    """Per-window verdicts in log order, anomaly reports, and cache statistics."""

    windows: list[WindowVerdict]
    reports: list[dict[str, Any]]
    lines: int
    cache_hits: int = 0
    model_windows: int = 0
    new_templates: list[str] = field(default_factory=list)


@dataclass
class DetectorSettings:
    system: str
    description: str
    format: str
    windowing: str
    window_size: int
    window_step: int
    threshold: float
    embedding_model: str
    use_lei: bool = True
    version: str = __version__
    scoring: str = "network"  # one of SCORINGS


NETWORK = "network"  # the network's probability against the threshold
NETWORK_OR_COUNTS = "network+counts"  # and a session the count checks flag scores 1.0
COUNTS = "counts"  # the count checks alone: 1.0 flagged, 0.0 not (threshold 0.5)
COUNT_MODEL = "count-model"  # a count model trained on the target's labels (threshold 0.5)
SCORINGS = (NETWORK, NETWORK_OR_COUNTS, COUNTS, COUNT_MODEL)
CHECK_SCORINGS = (NETWORK_OR_COUNTS, COUNTS)


class Detector:
    """Scores windows of one system's log with its LogSynergy network; caches judged patterns."""

    def __init__(
        self,
        model: LogSynergyNet,
        settings: DetectorSettings,
        parser: LogParser,
        store: InterpretationStore,
        vectors: dict[str, np.ndarray],
        embedder: SentenceEmbedder | None = None,
    ) -> None:
        self.model = model.eval()
        self.settings = settings
        self.parser = parser
        self.store = store
        self.vectors = vectors
        self.metrics: TrainingMetrics | None = None  # what training measured (metrics.json)
        self._embedder = embedder
        self._pattern_cache: dict[tuple[str, ...], float] = {}
        self._projected = ProjectedVectors(model.config.embed_dim)
        self._interpreter = make_interpreter("offline")
        self.precision = "float32"  # of the network's matrix work when scoring; see set_precision
        self._scorer = self.model  # the network that scores: `model`, or its bfloat16 copy
        self.count_checks: CountChecks | None = None  # with scoring NETWORK_OR_COUNTS or COUNTS
        self.count_model: CountModel | None = None  # with scoring COUNT_MODEL

    def use_count_model(self, model: CountModel) -> None:
        """Score with `model` instead of the network (at threshold 0.5)."""
        self.count_model = model
        self.settings.scoring = COUNT_MODEL
        self.settings.threshold = 0.5
        self._pattern_cache.clear()

    def use_count_checks(self, checks: CountChecks, scoring: str) -> None:
        """Score with the count checks as `scoring` says (COUNTS: alone, at threshold 0.5)."""
        if scoring not in CHECK_SCORINGS:
            raise ValueError(f"scoring with count checks is one of {CHECK_SCORINGS}, not {scoring!r}")
        self.count_checks = checks
        self.settings.scoring = scoring
        if scoring == COUNTS:
            self.settings.threshold = 0.5
        self._pattern_cache.clear()

    # construction ----------------------------------------------------------------------------------
    @classmethod
    def from_training(
        cls,
        target: PreparedSystem,
        result: TrainResult,
        config: ModelConfig,
        embedder: SentenceEmbedder,
        vectors: dict[str, np.ndarray],
        use_lei: bool,
    ) -> Detector:
        """`vectors`: per template, the event vector the network was trained with (its embedding, and
        its novelty when `config.event_novelty`)."""
        model = LogSynergyNet(config)
        model.load_state_dict({k: v.detach().cpu() for k, v in result.model.state_dict().items()})
        settings = DetectorSettings(
            system=target.spec.name,
            description=target.spec.description,
            format=target.spec.format,
            windowing=target.windowing.kind,
            window_size=target.windowing.size,
            window_step=target.windowing.step,
            threshold=float(result.threshold),
            embedding_model=embedder.name,
            use_lei=use_lei,
        )
        return cls(model, settings, target.parser, target.store, vectors, embedder)

    def save(self, directory: str | Path) -> Path:
        files = ArtifactFiles(Path(directory))
        files.root.mkdir(parents=True, exist_ok=True)
        torch.save(self.model.state_dict(), files.weights)
        files.model_config.write_text(json.dumps(self.model.config.to_dict(), indent=1))
        files.settings.write_text(json.dumps(asdict(self.settings), indent=1))
        self.parser.save(files.parser_dir)
        ids = list(self.vectors)
        np.save(files.embeddings, np.stack([self.vectors[i] for i in ids]) if ids else np.zeros((0, 1)))
        files.embedding_ids.write_text(json.dumps(ids))
        self.store.export_jsonl(files.interpretations)
        if self.count_checks is not None:
            files.count_checks.write_text(json.dumps(self.count_checks.to_dict()))
        if self.count_model is not None:
            self.count_model.save(files.count_model)
        if self.metrics is not None:
            files.metrics.write_text(metrics_json(self.metrics))
        return files.root

    @classmethod
    def load(cls, directory: str | Path) -> Detector:
        files = check_artifact(Path(directory))
        config = ModelConfig.from_dict(json.loads(files.model_config.read_text()))
        model = LogSynergyNet(config)
        model.load_state_dict(torch.load(files.weights, map_location="cpu", weights_only=True))
        settings = DetectorSettings(**json.loads(files.settings.read_text()))
        store = InterpretationStore.load(files.interpretations)
        ids = json.loads(files.embedding_ids.read_text())
        matrix = np.load(files.embeddings)
        detector = cls(
            model, settings, LogParser.load(files.parser_dir), store, dict(zip(ids, matrix, strict=True))
        )
        detector.metrics = read_metrics(files.metrics)
        if settings.scoring not in SCORINGS:
            raise ArtifactError(f"detector artifact {files.root} has an unknown scoring {settings.scoring!r}")
        needed = files.count_model if settings.scoring == COUNT_MODEL else files.count_checks
        if settings.scoring != NETWORK and not needed.is_file():
            raise ArtifactError(
                f"detector artifact {files.root} scores with {settings.scoring!r} but has no {needed.name}"
            )
        if settings.scoring == COUNT_MODEL:
            detector.count_model = CountModel.load(files.count_model)
        elif settings.scoring in CHECK_SCORINGS:
            detector.count_checks = CountChecks.from_dict(json.loads(files.count_checks.read_text()))
        return detector

    # scoring ---------------------------------------------------------------------------------------
    @property
    def embedder(self) -> SentenceEmbedder:
        if self._embedder is None:
            self._embedder = SentenceEmbedder(self.settings.embedding_model)
        return self._embedder

    @embedder.setter
    def embedder(self, embedder: SentenceEmbedder) -> None:
        """Use `embedder` for new templates, e.g. one sentence encoder shared by several detectors."""
        self._embedder = embedder

    @property
    def cache_size(self) -> int:
        return len(self._pattern_cache)

    def set_precision(self, name: str) -> str:
        """Score in 'float32', 'bfloat16' or 'auto' (logsynergy.precision); returns the one in use.
        Judged patterns are forgotten, so every score comes from the new precision."""
        self.precision = resolve_precision(name)
        # a bfloat16 copy of the weights, cast once (autocast would cast them on every forward)
        self._scorer = self.model if self.precision == "float32" else copy.deepcopy(self.model).bfloat16()
        self._pattern_cache.clear()
        return self.precision

    def clear_caches(self) -> None:
        """Forget judged patterns and parsed lines (the next request pays the full cost again)."""
        self._pattern_cache.clear()
        self._projected = ProjectedVectors(self.model.config.embed_dim)
        self.parser.clear_cache()

    def score_records(self, records: Sequence[LogRecord], *, windowing: str | None = None) -> Detection:
        """Parse, window and score records (sessions are honoured when windowing by session)."""
        parsed = self.parser.assign(r.message for r in records)
        self._learn_new(parsed.new_templates)
        log = LoadedLog(list(records), LoadReport(path="<request>"), self.settings.windowing)
        mode = windowing or self.settings.windowing
        if mode == "session" and not any(r.session for r in records):
            mode = "sliding"
        windows = make_windows(
            log,
            parsed.template_ids,
            windowing=mode,
            size=self.settings.window_size,
            step=self.settings.window_step,
        )
        scores, hits, computed = self._score_windows(windows)
        verdicts, reports = [], []
        by_line = {r.line_no: r for r in records}
        threshold = self.settings.threshold
        for window, score in zip(windows, scores, strict=True):
            new = sorted({t for t in window.events if t in parsed.new_templates})
            verdict = WindowVerdict(
                min(window.lines),
                max(window.lines),
                float(score),
                bool(score >= threshold),
                new,
                window.session,
                window.label,
            )
            verdicts.append(verdict)
            if verdict.anomaly:
                reports.append(self.report(window, float(score), by_line))
        return Detection(verdicts, reports, len(records), hits, computed, sorted(parsed.new_templates))

    def score_lines(self, lines: Sequence[str], *, start: int = 1) -> Detection:
        """Score raw lines in the system's log format (headers are stripped as in training)."""
        return self.score_records(records_from_lines(self.settings.format, lines, start))

    def _learn_new(self, new_ids: set[str]) -> None:
        missing = [t for t in new_ids if t not in self.vectors]
        if not missing:
            return
        templates = [self.parser.template(t) for t in missing]
        context = SystemContext(self.settings.system, self.settings.description)
        texts = self.store.ensure(templates, context, self._interpreter)
        self.set_embeddings([t.id for t in templates], self.embedder.embed([texts[t.id] for t in templates]))

    def set_embeddings(self, template_ids: Sequence[str], embeddings: np.ndarray) -> None:
        """New sentence embeddings for templates. With event novelty, a template keeps its novelty; one
        the detector had no vector for is novel (never seen in the normal traffic it was trained on)."""
        if self.model.config.event_novelty:
            kept = [float(self.vectors[t][-1]) if t in self.vectors else NOVEL for t in template_ids]
            embeddings = append_novelty(embeddings, np.array(kept, np.float32))
        for template_id, vector in zip(template_ids, embeddings, strict=True):
            self.vectors[template_id] = vector

    def _score_windows(self, windows: Sequence[Window]) -> tuple[np.ndarray, int, int]:
        scores = np.empty(len(windows), np.float32)
        pending: dict[tuple[str, ...], list[int]] = {}
        cache = self._pattern_cache
        hits = 0
        for i, window in enumerate(windows):
            cached = cache.get(window.events)
            if cached is None:
                pending.setdefault(window.events, []).append(i)
            else:
                scores[i] = cached
                hits += 1
        if pending:
            patterns = list(pending)
            probabilities = self.score_patterns(patterns)
            for pattern, p in zip(patterns, probabilities, strict=True):
                cache[pattern] = float(p)
                scores[pending[pattern]] = p
        return scores, hits, len(pending)

    def score_patterns(self, patterns: Sequence[tuple[str, ...]], batch_size: int = 512) -> np.ndarray:
        """Anomaly scores of template-id sequences (no cache): the network's probabilities, with the
        count checks as the detector's scoring says, or the count model's."""
        if self.count_model is not None and self.settings.scoring == COUNT_MODEL:
            return self.count_model.score(patterns)
        checks, scoring = self.count_checks, self.settings.scoring
        if checks is None or scoring == NETWORK:
            return self.network_scores(patterns, batch_size)
        flagged = np.fromiter((checks.flags(p) for p in patterns), bool, len(patterns))
        if scoring == COUNTS:
            return flagged.astype(np.float32)
        return np.where(flagged, np.float32(1.0), self.network_scores(patterns, batch_size))

    @torch.inference_mode()
    def network_scores(self, patterns: Sequence[tuple[str, ...]], batch_size: int = 512) -> np.ndarray:
        """Anomaly probabilities of template-id sequences from the network alone (no cache)."""
        max_events = self.model.config.max_events
        out = np.empty(len(patterns), np.float32)
        for start in range(0, len(patterns), batch_size):
            chunk = [clip_events(p, max_events) for p in patterns[start : start + batch_size]]
            rows = self._projected_rows(set().union(*chunk))
            width = max(len(p) for p in chunk)
            index = torch.tensor([[rows[t] for t in p] + [0] * (width - len(p)) for p in chunk])
            x = self._projected.table[index]  # == model.project(event vectors), padding: project(0)
            if self.precision == "bfloat16":
                x = x.bfloat16()
            novelty = self._projected.novelty[index] if self.model.novelty_input is not None else None
            logits = self._scorer.forward_projected(x, index != 0, novelty).anomaly_logit
            out[start : start + len(chunk)] = torch.sigmoid(logits.float()).numpy()
        return out

    def _projected_rows(self, ids: set[str]) -> dict[str, int]:
        """Rows of `model.project` applied to template vectors, projected once per vector object."""
        projected = self._projected
        stale = [t for t in ids if projected.sources.get(t) is not self.vectors[t]]
        if stale or len(projected.table) == 0:
            projected.add(self.model, stale, [self.vectors[t] for t in stale])
        return projected.rows

    def report(self, window: Window, score: float, by_line: dict[int, LogRecord]) -> dict[str, Any]:
        """What an operator reads: the window's lines, their templates and interpretations, the score."""
        events = []
        for tid, line_no in zip(window.events, window.lines, strict=True):
            template = self.parser.template(tid)
            entry = self.store.get(tid)
            events.append(
                {
                    "line": line_no,
                    "raw": by_line[line_no].raw if line_no in by_line else "",
                    "message": by_line[line_no].message if line_no in by_line else "",
                    "template_id": tid,
                    "template": template.text,
                    "interpretation": entry.text if entry else "",
                    "new": tid in self.parser.new_templates,
                }
            )
        report: dict[str, Any] = {
            "system": self.settings.system,
            "first_line": min(window.lines),
            "last_line": max(window.lines),
            "session": window.session,
            "score": round(score, 4),
            "threshold": round(self.settings.threshold, 4),
            "events": events,
        }
        if self.count_checks is not None:
            report["findings"] = self.count_checks.findings(
                window.events, lambda tid: self.parser.template(tid).text
            )
        return report


def metrics_json(metrics: TrainingMetrics) -> str:
    """An artifact's metrics.json: every measured field in order, `total_seconds`, `feedback`,
    `scoring`, `count_checks` and `selection` only when known (an older artifact's metrics are written back as
    they were)."""
    optional = ("total_seconds", "feedback", "scoring", "count_checks", "selection")
    skipped = {name for name in optional if getattr(metrics, name) is None}
    return json.dumps(metrics.model_dump(exclude=skipped), indent=1)


def read_metrics(path: Path) -> TrainingMetrics | None:
    """An artifact's metrics, or None when it has none (no file, or `{}` from a detector built by hand)."""
    if not path.is_file():
        return None
    try:
        return TrainingMetrics.model_validate_json(path.read_text())
    except ValidationError:
        return None

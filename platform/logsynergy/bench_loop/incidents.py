"""Incidents as the control plane keeps them, and a simulated operator who judges them.

Flagged windows are grouped by `pattern_id`: the digest of the window's distinct template ids, computed
exactly as `logsynergy_contracts.anomalies.pattern_id` (reimplemented here: the core imports no contract;
a unit test holds the two equal). An incident judged `not_anomaly` suppresses its pattern, as the
endpoint's routing table does: its windows are answered as not anomalous and recorded no more. An
incident's verdict applies to every window recorded into it, before and after the judgement (what the
control plane writes into a training job's feedback file).

The operator judges the K open incidents with the highest scores, each by the majority of the true
labels of the windows recorded into it so far (a tie counts as an anomaly).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ANOMALY = "anomaly"
NOT_ANOMALY = "not_anomaly"


def pattern_id(template_ids: Iterable[str]) -> str:
    """The incident pattern of a window: a digest of its distinct template ids (order-free)."""
    joined = "\n".join(sorted(set(template_ids)))
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()[:24]


@dataclass
class Incident:
    """Windows (indices into the target's windows) flagged with one pattern, and their verdict."""

    pattern: str
    windows: list[int] = field(default_factory=list)
    flagged_by: list[str] = field(default_factory=list)  # per window, the version that flagged it
    max_score: float = 0.0
    verdict: str | None = None
    judged_in: int | None = None  # round of the judgement

    @property
    def open(self) -> bool:
        return self.verdict is None


@dataclass(frozen=True)
class Judgement:
    """One operator action: an incident's verdict, and the true labels it was judged from."""

    pattern: str
    verdict: str
    windows: int
    anomalous: int
    max_score: float


class IncidentBook:
    """Incidents of one system by pattern, in order of first occurrence."""

    def __init__(self) -> None:
        self.incidents: dict[str, Incident] = {}

    @property
    def suppressed(self) -> frozenset[str]:
        """Patterns judged not anomalous: the endpoint answers their windows as normal."""
        return frozenset(p for p, i in self.incidents.items() if i.verdict == NOT_ANOMALY)

    def record(self, window: int, pattern: str, score: float, version: str) -> bool:
        """Record a flagged window (False, nothing recorded, when its pattern is suppressed)."""
        incident = self.incidents.get(pattern)
        if incident is None:
            incident = self.incidents[pattern] = Incident(pattern)
        elif incident.verdict == NOT_ANOMALY:
            return False
        incident.windows.append(window)
        incident.flagged_by.append(version)
        incident.max_score = max(incident.max_score, score)
        return True

    def open_incidents(self) -> list[Incident]:
        """Unjudged incidents, highest score first (then the larger, then the older)."""
        order = {p: i for i, p in enumerate(self.incidents)}
        return sorted(
            (i for i in self.incidents.values() if i.open),
            key=lambda i: (-i.max_score, -len(i.windows), order[i.pattern]),
        )

    def judge(self, pattern: str, verdict: str, round_no: int) -> None:
        if verdict not in (ANOMALY, NOT_ANOMALY):
            raise ValueError(f"unknown verdict {verdict!r}")
        incident = self.incidents[pattern]
        incident.verdict, incident.judged_in = verdict, round_no

    @property
    def judged(self) -> list[Incident]:
        return [i for i in self.incidents.values() if not i.open]


def judge_top(
    book: IncidentBook, k: int, truth: Callable[[int], int | None], round_no: int
) -> list[Judgement]:
    """The operator's turn: the `k` highest-scored open incidents judged from their windows' true labels
    (majority; a tie is an anomaly; unlabelled windows do not vote)."""
    done = []
    for incident in book.open_incidents()[:k]:
        labels = [truth(w) for w in incident.windows]
        known = [label for label in labels if label is not None]
        anomalous = sum(1 for label in known if label == 1)
        verdict = ANOMALY if 2 * anomalous >= len(known) else NOT_ANOMALY
        book.judge(incident.pattern, verdict, round_no)
        size = len(incident.windows)
        done.append(Judgement(incident.pattern, verdict, size, anomalous, incident.max_score))
    return done


def write_feedback(
    book: IncidentBook,
    lines: Callable[[int], Sequence[str]],
    session: Callable[[int], str | None],
    path: Path,
) -> int:
    """Every window of every judged incident as one feedback line, in log order (logsynergy.feedback:
    anomaly_id = the window's index, its sent lines, session, the incident's verdict, the flagging
    version); returns the number of lines written."""
    judged = sorted(
        (window, version, incident.verdict)
        for incident in book.judged
        for window, version in zip(incident.windows, incident.flagged_by, strict=True)
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for window, version, verdict in judged:
            entry = {
                "anomaly_id": window,
                "lines": list(lines(window)),
                "session": session(window),
                "verdict": verdict,
                "flagged_by": version,
            }
            fh.write(json.dumps(entry, ensure_ascii=False) + "\n")
    return len(judged)

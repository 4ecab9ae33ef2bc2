"""Count checks: what a session log's own unlabelled sessions say is normal, for a target without labels.

A session is one unit of work (a block written, an instance booted), so its events come in fixed
proportions: every "Receiving block" has its "Received block", three replicas mean three
"addStoredBlock". Mined from the target's unlabelled sessions, two kinds of check flag a session:
- a broken **count invariant** `a * count(X) == b * count(Y)` (a, b small integers) that held in at
  least `support` of the sessions holding X or Y. It is checked only when both events occur: a session
  still running, or cut short by the end of the log, lacks its later events, and that is no failure;
- a **rare event**: one held by so few of the mined sessions (or none: a template never seen) that
  together with the broken invariants at most `expected_share` of the mined sessions would alarm.
The mined sessions are unlabelled and presumed mostly normal; `expected_share` is the share of them
allowed to be anomalous (the contamination of an unsupervised detector).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

MAX_RATIO = 3  # coefficients 1..3: replicas and request/response pairs; larger ones are chance
MIN_WINDOWS = 20  # sessions holding an event pair before an invariant between them is believed
SUPPORT = 0.98
MAX_FINDINGS = 20  # reasons listed for one session


@dataclass(frozen=True)
class CountInvariant:
    """`left_times * count(left) == right_times * count(right)` wherever both events occur."""

    left: str
    right: str
    left_times: int
    right_times: int
    support: float  # share of the mined sessions holding either event where it held

    def broken(self, counts: Mapping[str, int]) -> bool:
        a, b = counts.get(self.left, 0), counts.get(self.right, 0)
        return a > 0 and b > 0 and self.left_times * a != self.right_times * b

    def describe(self, counts: Mapping[str, int], name: Callable[[str], str] = str) -> str:
        return (
            f'{self.left_times} x count("{name(self.left)}") = {self.right_times} x '
            f'count("{name(self.right)}") in {self.support:.1%} of the sessions mined; here '
            f"{counts.get(self.left, 0)} and {counts.get(self.right, 0)}"
        )


@dataclass
class CountChecks:
    """Invariants and event frequencies mined from one system's unlabelled sessions."""

    invariants: list[CountInvariant]
    frequency: dict[str, float]  # share of the mined sessions holding each template
    rare_at_most: float  # templates held by at most this share of the sessions (or unseen) are rare
    windows: int  # sessions mined
    flagged_share: float  # share of the mined sessions the checks flag
    expected_share: float
    notes: list[str] = field(default_factory=list)

    def findings(self, events: Sequence[str], name: Callable[[str], str] = str) -> list[str]:
        """Why a session is flagged: its rare or unseen templates and broken invariants ([] if none);
        `name` turns a template id into what a reader sees (its template text)."""
        counts = Counter(events)
        found = [
            f'rare event "{name(t)}" (in {self.frequency.get(t, 0.0):.2%} of the sessions mined)'
            for t in sorted(counts)
            if self._rare(t)
        ]
        found += [i.describe(counts, name) for i in self.invariants if i.broken(counts)]
        if len(found) > MAX_FINDINGS:
            found = [*found[: MAX_FINDINGS - 1], f"and {len(found) - MAX_FINDINGS + 1} more"]
        return found

    def _rare(self, template: str) -> bool:
        frequency = self.frequency.get(template)
        return frequency is None or frequency <= self.rare_at_most

    def flags(self, events: Sequence[str]) -> bool:
        counts = Counter(events)
        if any(self._rare(t) for t in counts):
            return True
        return any(i.broken(counts) for i in self.invariants)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CountChecks:
        values = dict(data)
        values["invariants"] = [CountInvariant(**i) for i in values["invariants"]]
        return cls(**values)


def count_matrix(windows: Sequence[Sequence[str]], vocabulary: Sequence[str]) -> np.ndarray:
    """[windows, templates] counts of the vocabulary's templates (others are left out)."""
    column = {t: k for k, t in enumerate(vocabulary)}
    matrix = np.zeros((len(windows), len(vocabulary)), np.int32)
    for row, events in enumerate(windows):
        for template, n in Counter(events).items():
            if template in column:
                matrix[row, column[template]] = n
    return matrix


def mine_invariants(
    counts: np.ndarray, vocabulary: Sequence[str], *, support: float = SUPPORT, min_windows: int = MIN_WINDOWS
) -> list[CountInvariant]:
    """Pairwise invariants holding in at least `support` of the sessions that hold either event."""
    present = (counts > 0).astype(np.int32)
    both = present.T @ present
    held = present.sum(axis=0)
    either = held[:, None] + held[None, :] - both
    candidates = np.argwhere(np.triu((either >= min_windows) & (both >= support * either), k=1))
    found = []
    for i, j in candidates:
        rows = (present[:, i] | present[:, j]).astype(bool)
        left, right = counts[rows, i], counts[rows, j]
        best: tuple[float, int, int] | None = None
        for a in range(1, MAX_RATIO + 1):
            for b in range(1, MAX_RATIO + 1):
                if min(a, b) != 1:
                    continue
                share = float(np.mean(a * left == b * right))
                if share >= support and (best is None or share > best[0]):
                    best = (share, a, b)
        if best is not None:
            found.append(CountInvariant(vocabulary[i], vocabulary[j], best[1], best[2], round(best[0], 4)))
    return found


def mine_count_checks(
    windows: Sequence[Sequence[str]], *, expected_share: float, support: float = SUPPORT
) -> CountChecks:
    """Count checks from unlabelled sessions (event sequences), flagging at most `expected_share` of them."""
    vocabulary = sorted({t for events in windows for t in events})
    counts = count_matrix(windows, vocabulary)
    n = max(len(windows), 1)
    frequency = np.round((counts > 0).sum(axis=0) / n, 6)
    invariants = mine_invariants(counts, vocabulary, support=support)
    column = {t: k for k, t in enumerate(vocabulary)}
    broken = np.zeros(len(windows), bool)
    for inv in invariants:
        left, right = counts[:, column[inv.left]], counts[:, column[inv.right]]
        broken |= (left > 0) & (right > 0) & (inv.left_times * left != inv.right_times * right)
    # each session's rarest template; the cut is the largest frequency keeping the flagged share in budget
    rarest = np.where(counts > 0, frequency[None, :], 1.0).min(axis=1) if len(vocabulary) else np.ones(n)
    rare_at_most, share = 0.0, float(broken.mean()) if len(windows) else 0.0
    notes = []
    if share > expected_share:
        notes.append(
            f"the invariants alone flag {share:.1%} of the mined sessions (more than the expected "
            f"{expected_share:.1%}): no event counts as rare beyond the never-seen ones"
        )
    for cut in np.unique(frequency):
        flagged = float(np.mean(broken | (rarest <= cut)))
        if flagged > expected_share:
            break
        rare_at_most, share = float(cut), flagged
    return CountChecks(
        invariants=invariants,
        frequency={t: float(f) for t, f in zip(vocabulary, frequency, strict=True)},
        rare_at_most=rare_at_most,
        windows=len(windows),
        flagged_share=round(share, 6),
        expected_share=expected_share,
        notes=notes,
    )

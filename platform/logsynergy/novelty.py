"""Event novelty: how unfamiliar a template is from its system's known-normal traffic.

Every event vector gets one more feature, 1 / sqrt(1 + n), n = the number of the system's known-normal
training windows the template occurs in: 1.0 for an event never seen in normal traffic (a new template
at serving time too), falling towards 0 for routine ones. It is relative to each system, so what the
sources' labels teach about it ("an event normal traffic never shows is suspect") carries over to a
target whose anomaly labels are few or none.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

import numpy as np
import torch

from logsynergy.windows import Window

NOVEL = 1.0  # the feature of an event no known-normal window holds


def normal_counts(windows: Iterable[Window], *, labelled: bool = True) -> Counter[str]:
    """In how many presumed-normal windows each template occurs: windows labelled normal and unlabelled
    ones (mostly normal, as a new system's logs are); windows labelled anomalous only when their labels
    are not to be used (`labelled=False`)."""
    counts: Counter[str] = Counter()
    for window in windows:
        if not labelled or window.label != 1:
            counts.update(set(window.events))
    return counts


def novelty(count: int) -> float:
    return NOVEL / (1.0 + count) ** 0.5


def with_novelty_column(
    table: torch.Tensor, rows: list[dict[str, int]], counts: list[Mapping[str, int]]
) -> torch.Tensor:
    """The embedding table with each (system, template) row's novelty appended; padding row 0 gets 0."""
    column = torch.zeros(table.shape[0], 1, dtype=table.dtype)
    for system_rows, system_counts in zip(rows, counts, strict=True):
        for tid, row in system_rows.items():
            column[row, 0] = novelty(system_counts.get(tid, 0))
    return torch.cat([table, column], dim=1)


def append_novelty(vectors: np.ndarray, values: np.ndarray | float) -> np.ndarray:
    """Event vectors [N, D] with their novelty as column D."""
    column = np.broadcast_to(np.asarray(values, np.float32), (len(vectors),)).reshape(-1, 1)
    return np.hstack([vectors.astype(np.float32, copy=False), column])

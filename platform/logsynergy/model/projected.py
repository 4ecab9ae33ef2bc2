"""Template vectors through the network's first layer (`project`), computed once per vector.

`project` (Linear + LayerNorm) acts on each event alone, so a window's projected events are rows of
this table; row 0 is `project` of the zero vector, the padding of shorter windows."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from logsynergy.model.network import LogSynergyNet


class ProjectedVectors:
    """Rows of `model.project(vector)` by template id; `sources` keeps the vector each row came from,
    `novelty` each row's novelty (the vector's last column; read only by `novelty_skip` models)."""

    def __init__(self, embed_dim: int) -> None:
        self.embed_dim = embed_dim
        self.rows: dict[str, int] = {}
        self.sources: dict[str, np.ndarray] = {}
        self.table = torch.empty(0)
        self.novelty = torch.empty(0)

    @torch.inference_mode()
    def add(self, model: LogSynergyNet, ids: Sequence[str], vectors: Sequence[np.ndarray]) -> None:
        """Project `vectors` (of `ids`) and append them; the padding row comes first."""
        batch = np.zeros((len(ids) + (0 if self.rows else 1), self.embed_dim), np.float32)
        offset = len(batch) - len(ids)
        for i, vector in enumerate(vectors):
            batch[offset + i] = vector
        projected = model.project(torch.from_numpy(batch))
        first = len(self.table)
        self.table = projected if first == 0 else torch.cat([self.table, projected])
        novelty = torch.from_numpy(batch[:, -1].copy())
        self.novelty = novelty if first == 0 else torch.cat([self.novelty, novelty])
        for i, (tid, vector) in enumerate(zip(ids, vectors, strict=True)):
            self.rows[tid] = first + offset + i
            self.sources[tid] = vector

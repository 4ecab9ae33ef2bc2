"""The event table a detector trains on: one sentence-embedding row per (system, template)."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import torch

from logsynergy.embedding import SentenceEmbedder
from logsynergy.prepare import PreparedSystem


def template_sentence(template_text: str) -> str:
    """The template itself as text, parameters dropped (the no-LEI ablation embeds this)."""
    return re.sub(r"\s+", " ", template_text.replace("<*>", " ")).strip() or template_text


def embedding_texts(system: PreparedSystem, use_lei: bool) -> dict[str, str]:
    """Per template id, the text to embed: its interpretation (LEI), else the template's sentence."""
    texts = {}
    for tid, template in system.parser.templates.items():
        entry = system.store.get(tid) if use_lei else None
        texts[tid] = entry.text if entry is not None else template_sentence(template.text)
    return texts


def embedding_table(
    systems: Sequence[PreparedSystem], embedder: SentenceEmbedder, use_lei: bool
) -> tuple[torch.Tensor, list[dict[str, int]]]:
    """One embedding row per (system, template), row 0 = padding; per system: template id → row."""
    texts_by_system = [embedding_texts(s, use_lei) for s in systems]
    vectors = embedder.embed([text for texts in texts_by_system for text in texts.values()])
    table = torch.from_numpy(np.vstack([np.zeros((1, vectors.shape[1]), np.float32), vectors]))
    rows: list[dict[str, int]] = []
    offset = 1
    for texts in texts_by_system:
        rows.append({tid: offset + i for i, tid in enumerate(texts)})
        offset += len(texts)
    return table, rows

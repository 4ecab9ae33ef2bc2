"""Drain template mining per system: masking, persisted state and stable template ids."""

from __future__ import annotations

import base64
import json
import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import jsonpickle
from drain3 import TemplateMiner
from drain3.masking import MaskingInstruction
from drain3.template_miner_config import TemplateMinerConfig

from logsynergy.masking import DEFAULT_MASKS, GuardedMasker
from logsynergy.templates import Template, template_id

PARAM = "<*>"
CACHE_LIMIT = 500_000  # entries per assign cache before it stops growing
__all__ = ["DEFAULT_MASKS", "LogParser", "ParseResult"]


def _miner_config(sim_th: float, depth: int, masks: Sequence[str]) -> TemplateMinerConfig:
    config = TemplateMinerConfig()
    config.drain_sim_th = sim_th
    config.drain_depth = depth
    config.drain_max_children = 100
    config.parametrize_numeric_tokens = True
    config.mask_prefix, config.mask_suffix = "<", ">"
    config.masking_instructions = [MaskingInstruction(p, "*") for p in masks]
    config.profiling_enabled = False
    return config


@dataclass
class ParseResult:
    """Template ids per message (input order) and the ids of templates never seen in training."""

    template_ids: list[str]
    new_templates: set[str] = field(default_factory=set)


class LogParser:
    """Drain over one system's messages. `fit` learns templates; `assign` maps without changing them."""

    def __init__(self, sim_th: float = 0.5, depth: int = 4, masks: Sequence[str] = DEFAULT_MASKS) -> None:
        self.sim_th, self.depth, self.masks = sim_th, depth, tuple(masks)
        config = _miner_config(sim_th, depth, self.masks)
        self.miner = TemplateMiner(config=config)
        self.miner.masker = GuardedMasker(config.masking_instructions, config.mask_prefix, config.mask_suffix)
        self.templates: dict[str, Template] = {}
        self._cluster_to_id: dict[int, str] = {}
        self._new: dict[str, Template] = {}
        self._cache: dict[str, str] = {}
        self._shape_cache: dict[tuple[str, ...], str | None] = {}
        self._vocabulary: frozenset[str] | None = None
        self._other = "\x00"
        self._number = re.compile(r"\d")

    def fit(self, messages: Sequence[str]) -> list[str]:
        """Mine templates from all messages, then give each message its final template id."""
        clusters: list[int] = []
        seen: dict[str, int] = {}
        examples: dict[int, str] = {}
        for message in messages:
            cluster_id = seen.get(message)
            if cluster_id is None:
                cluster_id = self.miner.add_log_message(message)["cluster_id"]
                if len(seen) < 2_000_000:
                    seen[message] = cluster_id
            else:
                self.miner.drain.id_to_cluster[cluster_id].size += 1
            clusters.append(cluster_id)
            examples.setdefault(cluster_id, message)
        self._refresh_table(examples)
        ids = [self._cluster_to_id[c] for c in clusters]
        for tid in ids:
            self.templates[tid].count += 1
        return ids

    def _refresh_table(self, examples: dict[int, str]) -> None:
        self._cluster_to_id.clear()
        old = self.templates
        self.templates = {}
        for cluster in self.miner.drain.clusters:
            text = cluster.get_template()
            tid = template_id(text)
            self._cluster_to_id[cluster.cluster_id] = tid
            if tid not in self.templates:
                example = examples.get(cluster.cluster_id) or (old[tid].example if tid in old else text)
                self.templates[tid] = Template(tid, text, example, 0)
        self.clear_cache()

    def assign(self, messages: Iterable[str]) -> ParseResult:
        """Map messages to known templates; an unmatched message gets a new template of its own."""
        ids: list[str] = []
        new: set[str] = set()
        cache = self._cache
        for message in messages:
            tid = cache.get(message)
            if tid is None:
                tid = self._match(message)
                if len(cache) < CACHE_LIMIT:
                    cache[message] = tid
            if tid in self._new:
                new.add(tid)
            ids.append(tid)
        return ParseResult(ids, new)

    def _match(self, message: str) -> str:
        masked = self.miner.masker.mask(message)
        shape = self._shape(masked)
        if shape in self._shape_cache:
            tid = self._shape_cache[shape]
        else:
            cluster = self.miner.drain.match(masked, full_search_strategy="fallback")
            tid = None if cluster is None else self._cluster_to_id[cluster.cluster_id]
            if len(self._shape_cache) < CACHE_LIMIT:
                self._shape_cache[shape] = tid
        if tid is not None:
            return tid
        tokens = [PARAM if self._number.search(t) else t for t in masked.split()]
        text = " ".join(tokens)
        tid = template_id(text)
        if tid not in self._new and tid not in self.templates:
            self._new[tid] = Template(tid, text, message, 0)
        return tid

    def _shape(self, masked: str) -> tuple[str, ...]:
        """The masked tokens, those drain can tell from no tree key or template token made one.

        Drain's `match` compares a token only for equality with tree keys and template tokens, so two
        messages of the same shape match the same cluster (or none)."""
        vocabulary = self._vocabulary
        if vocabulary is None:
            vocabulary = self._vocabulary = self._drain_vocabulary()
            while self._other in vocabulary:
                self._other += "\x00"
        other = self._other
        tokens = self.miner.drain.get_content_as_tokens(masked)
        return tuple([t if t in vocabulary else other for t in tokens])

    def _drain_vocabulary(self) -> frozenset[str]:
        drain = self.miner.drain
        words: set[str] = {drain.param_str}
        nodes = [drain.root_node]
        while nodes:
            node = nodes.pop()
            words.update(node.key_to_child_node)
            nodes.extend(node.key_to_child_node.values())
        for cluster in drain.id_to_cluster.values():
            words.update(cluster.log_template_tokens)
        return frozenset(words)

    def clear_cache(self) -> None:
        """Forget the caches used by `assign` (call after the drain state changes)."""
        self._cache.clear()
        self._shape_cache.clear()
        self._vocabulary = None

    @property
    def new_templates(self) -> dict[str, Template]:
        """Templates first seen after training, keyed by id."""
        return self._new

    def template(self, tid: str) -> Template:
        return self.templates.get(tid) or self._new[tid]

    # persistence -----------------------------------------------------------------------------------
    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        state = base64.b64encode(zlib.compress(jsonpickle.dumps(self.miner.drain, keys=True).encode()))
        (directory / "drain_state.b64").write_bytes(state)
        meta = {
            "sim_th": self.sim_th,
            "depth": self.depth,
            "masks": list(self.masks),
            "cluster_to_id": {str(k): v for k, v in self._cluster_to_id.items()},
            "templates": [
                t.__dict__ if hasattr(t, "__dict__") else _as_dict(t) for t in self.templates.values()
            ],
        }
        (directory / "parser.json").write_text(json.dumps(meta, indent=1))

    @classmethod
    def load(cls, directory: Path) -> LogParser:
        meta = json.loads((directory / "parser.json").read_text())
        parser = cls(meta["sim_th"], meta["depth"], meta["masks"])
        state = zlib.decompress(base64.b64decode((directory / "drain_state.b64").read_bytes()))
        drain = jsonpickle.loads(state, keys=True)
        parser.miner.drain.id_to_cluster = drain.id_to_cluster
        parser.miner.drain.clusters_counter = drain.clusters_counter
        parser.miner.drain.root_node = drain.root_node
        parser._cluster_to_id = {int(k): v for k, v in meta["cluster_to_id"].items()}
        parser.templates = {t["id"]: Template(**t) for t in meta["templates"]}
        parser.clear_cache()
        return parser


def _as_dict(template: Template) -> dict[str, object]:
    return {"id": template.id, "text": template.text, "example": template.example, "count": template.count}

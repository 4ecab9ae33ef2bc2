"""Sentence embeddings with the packaged all-MiniLM-L6-v2 (offline, CPU)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from logsynergy.embedding import DEFAULT_MODEL, SentenceEmbedder, packaged_model_path, resolve_model
from logsynergy.errors import InputError


@pytest.fixture(scope="module")
def embedder() -> SentenceEmbedder:
    return SentenceEmbedder()


def test_vectors_are_384_d_float32_and_unit_length(embedder):
    vectors = embedder.embed(["Disk failure detected.", "Node started normally.", ""])
    assert embedder.name == DEFAULT_MODEL and embedder.dim == 384
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.embed([]).shape == (0, 384)


def test_similar_meanings_are_closer_than_unrelated_ones(embedder):
    disk, storage, login, temperature = embedder.embed(
        [
            "disk failure detected",
            "storage device error",
            "user logged in successfully",
            "the weather is sunny today",
        ]
    )
    assert disk @ storage > disk @ login + 0.1
    assert disk @ storage > disk @ temperature + 0.1


def test_padding_and_batching_do_not_change_vectors(embedder):
    texts = ["a short one", "a much longer sentence about memory errors on a compute node", "x"]
    together = embedder.embed(texts)
    alone = SentenceEmbedder(batch_size=1).embed(texts)
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_cache_means_each_text_is_encoded_once(embedder):
    model = embedder._model if embedder._model is not None else (embedder.embed(["warm"]), embedder._model)[1]
    calls = {"n": 0, "texts": 0}
    forward = model.forward

    def counting(*args, **kwargs):
        calls["n"] += 1
        calls["texts"] += int(kwargs["input_ids"].shape[0])
        return forward(*args, **kwargs)

    model.forward = counting
    try:
        first = embedder.embed(["cache me", "cache me too", "cache me"])
        assert (calls["n"], calls["texts"]) == (1, 2)
        again = embedder.embed(["cache me too", "cache me"])
        assert calls["n"] == 1  # served from the cache: no model call
        np.testing.assert_array_equal(again, first[[1, 0]])
    finally:
        del model.forward  # back to the class's method


def test_model_loads_lazily_and_thread_setting_is_restored():
    import torch

    embedder = SentenceEmbedder(num_threads=1)
    assert embedder._model is None and embedder.dim == 384 and embedder._model is None
    before = torch.get_num_threads()
    embedder.embed(["hello"])
    assert embedder._model is not None and torch.get_num_threads() == before
    assert embedder.encoded == 1 and embedder.cache_size == 1


def test_model_choice(monkeypatch, tmp_path: Path):
    assert resolve_model("sentence-transformers/all-MiniLM-L6-v2")[1] == packaged_model_path().resolve()
    assert resolve_model(str(packaged_model_path()))[0] == str(packaged_model_path())
    with pytest.raises(InputError, match="no-such-model"):
        SentenceEmbedder("/no-such-model")
    with pytest.raises(InputError, match=r"config\.json"):
        SentenceEmbedder(str(tmp_path))
    monkeypatch.setenv("LOGSYNERGY_EMBEDDING_MODEL", str(tmp_path / "from-env"))
    with pytest.raises(InputError, match="from-env"):
        SentenceEmbedder()
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text('{"model_type": "bert"}')
    with pytest.raises(InputError, match="broken"):
        SentenceEmbedder(str(broken)).embed(["x"])

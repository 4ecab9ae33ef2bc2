"""The LogTransfer baseline on synthetic systems, and the word-vector template representation it uses."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import torch

from logsynergy.baselines import BaselineResult, fit_logtransfer
from logsynergy.baselines.logtransfer import LogTransferNet, train_phase
from logsynergy.embedding import SentenceEmbedder
from logsynergy.interpret import make_interpreter
from logsynergy.options import TrainOptions
from logsynergy.prepare import PreparedSystem, prepare_system
from logsynergy.synthetic import write_demo_systems
from logsynergy.systems import load_systems
from logsynergy.windowset import WindowSet

OPTIONS = TrainOptions(target_labelled=300)


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    """A small LSTM gains nothing from threads, and loses a lot when another process holds a core."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def embedder() -> SentenceEmbedder:
    return SentenceEmbedder()


@pytest.fixture(scope="module")
def systems(tmp_path_factory: pytest.TempPathFactory) -> dict[str, PreparedSystem]:
    specs = load_systems(write_demo_systems(tmp_path_factory.mktemp("lt"), n_lines=4000, seed=1))
    interpreter = make_interpreter("offline")
    return {name: prepare_system(specs[name], interpreter) for name in ("storage", "compute", "payments")}


def _fit(systems: dict[str, PreparedSystem], embedder: SentenceEmbedder, **kwargs) -> BaselineResult:
    options = kwargs.pop("options", OPTIONS)
    sources = [systems["storage"], systems["compute"]]
    return fit_logtransfer(systems["payments"], sources, embedder, options, epochs=3, **kwargs)


@pytest.fixture(scope="module")
def fitted(systems: dict[str, PreparedSystem], embedder: SentenceEmbedder) -> BaselineResult:
    return _fit(systems, embedder, keep_model=True)


def test_detects_target_anomalies_from_sources(fitted: BaselineResult):
    assert fitted.f1 > 0.5, fitted
    assert 0 < fitted.threshold < 1 and fitted.train_seconds > 0
    extra = fitted.extra
    assert extra["mode"] == "transfer"
    assert extra["source_windows"] > 0 and extra["target_windows"] > 0
    assert 0 < extra["unique"]["target"] <= extra["target_windows"]
    assert extra["test_anomalies"] > 0


def test_fully_connected_layers_are_frozen_in_the_target_phase(fitted: BaselineResult):
    model, source_head = fitted.extra["model"], fitted.extra["source_head"]
    for name, value in model.head.state_dict().items():
        assert torch.equal(value, source_head[name]), name
    assert not any(p.requires_grad for p in model.head.parameters())


def test_target_phase_tunes_only_the_lstm():
    torch.manual_seed(0)
    net = LogTransferNet(8, hidden=16, fc=24)
    head = {k: v.clone() for k, v in net.head.state_dict().items()}
    lstm = {k: v.clone() for k, v in net.lstm.state_dict().items()}
    rng = np.random.default_rng(0)
    index = rng.integers(1, 5, size=(40, 6))
    index[:10, 3:] = 0  # shorter windows, padded
    labels = (index[:, 0] == 1).astype(np.float32)
    data = WindowSet(index, labels, np.zeros(40, np.int64), np.ones(40, np.int64), np.ones(40, np.float32))
    table = torch.cat([torch.zeros(1, 8), torch.randn(4, 8)])
    for p in net.head.parameters():
        p.requires_grad_(False)
    result = train_phase(net, list(net.lstm.parameters()), table, data, data, epochs=2, seed=0, min_steps=10)
    assert all(torch.equal(v, head[k]) for k, v in net.head.state_dict().items())
    assert any(not torch.equal(v, lstm[k]) for k, v in net.lstm.state_dict().items())
    assert result.calibrated and 1 <= result.best_epoch <= 2 and len(result.history) == 2


def test_same_seed_same_result(systems, embedder, fitted: BaselineResult):
    again = _fit(systems, embedder, keep_model=True)
    assert (again.precision, again.recall, again.f1, again.threshold) == (
        fitted.precision,
        fitted.recall,
        fitted.f1,
        fitted.threshold,
    )
    first, second = fitted.extra["model"].state_dict(), again.extra["model"].state_dict()
    assert all(torch.equal(first[k], second[k]) for k in first)


def test_without_target_labels_the_source_model_is_applied(systems, embedder):
    options = TrainOptions(target_labelled=0)
    result = _fit(systems, embedder, options=options, min_steps=60)
    assert result.extra["mode"] == "source-only" and result.extra["target_windows"] == 0
    assert result.threshold == 0.5 and result.extra["test_anomalies"] > 0


def test_token_vectors_are_plain_means_of_word_piece_embeddings(embedder):
    vectors = embedder.token_vectors(["disk failure detected", "", "[CLS] disk failure detected [SEP]"])
    assert vectors.shape == (3, embedder.dim) and vectors.dtype == np.float32
    assert not vectors[1].any(), "a text without tokens gives a zero row"
    np.testing.assert_array_equal(vectors[0], vectors[2])  # special tokens are left out
    ids = embedder._tokenizer("disk failure detected", add_special_tokens=False)["input_ids"]
    table = embedder._model.get_input_embeddings().weight.detach().numpy()
    np.testing.assert_allclose(vectors[0], table[ids].mean(0), rtol=1e-5, atol=1e-7)
    assert abs(np.linalg.norm(vectors[0]) - 1) > 1e-3, "means are not normalised"
    assert embedder.token_vectors([]).shape == (0, embedder.dim)

import numpy as np
import pytest
import torch

from logsynergy.errors import ConfigError
from logsynergy.model import LogSynergyNet, model_config
from logsynergy.model.daan import grl_coefficient
from logsynergy.training import seed_everything, train_model
from logsynergy.windowset import WindowSet


def test_presets_and_validation():
    paper = model_config("paper")
    assert (paper.layers, paper.heads, paper.ffn, paper.hidden) == (6, 12, 2048, 768)
    with pytest.raises(ConfigError):
        model_config("huge")
    with pytest.raises(ConfigError):
        model_config("cpu", hidden=130, heads=4)


def test_every_head_is_registered_and_club_has_its_own_optimiser():
    net = LogSynergyNet(model_config("cpu", n_systems=3))
    names = {n.split(".")[0] for n, _ in net.named_parameters()}
    assert {"anomaly_head", "system_head", "club", "daan", "encoder"} <= names
    backbone = {id(p) for p in net.backbone_parameters()}
    assert all(id(p) not in backbone for p in net.club.parameters())
    assert any(id(p) in backbone for p in net.daan.parameters())


def test_padding_does_not_change_the_score():
    torch.manual_seed(0)
    net = LogSynergyNet(model_config("cpu", n_systems=2)).eval()
    events = torch.randn(1, 4, 384)
    mask = torch.ones(1, 4, dtype=torch.bool)
    padded = torch.cat([events, torch.zeros(1, 3, 384)], dim=1)
    padded_mask = torch.cat([mask, torch.zeros(1, 3, dtype=torch.bool)], dim=1)
    a = net(events, mask).anomaly_logit
    b = net(padded, padded_mask).anomaly_logit
    assert torch.allclose(a, b, atol=1e-5)


def test_grl_schedule_ramps_from_zero_to_one():
    assert grl_coefficient(0, 100) == 0.0
    assert 0.4 < grl_coefficient(10, 100) < 0.9
    assert grl_coefficient(100, 100) > 0.99


def _toy_set(n: int, system: int, domain: int, seed: int) -> WindowSet:
    rng = np.random.default_rng(seed)
    index = rng.integers(1, 5, size=(n, 6))
    label = rng.random(n) < 0.3
    index[label, 2] = 5  # the anomalous event
    return WindowSet(
        index.astype(np.int64),
        label.astype(np.float32),
        np.full(n, system),
        np.full(n, domain),
        np.ones(n, np.float32),
    )


def test_training_learns_a_separable_toy_problem_and_trains_every_part():
    torch.manual_seed(0)
    table = torch.randn(6, 384)
    table[0] = 0
    train = WindowSet.concat([_toy_set(300, 0, 0, 1), _toy_set(200, 1, 1, 2)])
    val = _toy_set(100, 1, 1, 3)
    config = model_config("cpu", n_systems=2, epochs=4, hidden=64, ffn=128, batch_size=32)
    result = train_model(config, table, train, val, seed=0, show_bars=False)
    assert result.val_f1 > 0.95 and result.calibrated
    assert 0 < result.threshold < 1
    history = result.history
    assert {"loss_anomaly", "loss_system", "loss_mi", "loss_da"} <= set(history[0])
    assert history[-1]["loss_system"] < history[0]["loss_system"]
    assert 0 < history[-1]["omega"] < 1


def test_training_is_reproducible():
    table = torch.randn(6, 384)
    train = _toy_set(200, 0, 0, 1)
    config = model_config("cpu", n_systems=1, epochs=1, hidden=32, ffn=64, use_da=False)
    a = train_model(config, table, train, None, seed=3, show_bars=False)
    b = train_model(config, table, train, None, seed=3, show_bars=False)
    for (ka, va), (_kb, vb) in zip(a.model.state_dict().items(), b.model.state_dict().items(), strict=True):
        assert torch.equal(va, vb), ka


def test_novelty_skip_feeds_the_windows_peak_novelty_to_the_anomaly_head():
    torch.manual_seed(0)
    config = model_config("cpu", n_systems=2, embed_dim=385, event_novelty=True, novelty_skip=True)
    net = LogSynergyNet(config).eval()
    events = torch.randn(2, 5, 385)
    events[..., -1] = 0.1
    events[1, 2, -1] = 1.0  # one never-seen event in the second window
    mask = torch.ones(2, 5, dtype=torch.bool)
    mask[:, 4] = False
    with torch.inference_mode():
        x = net.project(events)
        plain = net(events, mask).anomaly_logit
        masked_off = events[..., -1].clone()
        masked_off[:, 4] = 5.0  # padding never counts
        assert torch.allclose(net.forward_projected(x, mask, masked_off).anomaly_logit, plain)
        flat = torch.full_like(masked_off, 0.1)  # the same events, the second window's peak lowered
        moved = net.forward_projected(x, mask, flat).anomaly_logit
        assert torch.isclose(moved[0], plain[0]) and not torch.isclose(moved[1], plain[1])
        without = LogSynergyNet(model_config("cpu", n_systems=2, embed_dim=385, event_novelty=True))
        assert without.novelty_input is None  # artifacts saved before the skip keep their weights


def test_club_is_fitted_on_each_steps_features_without_a_second_forward(monkeypatch):
    table = torch.randn(6, 384)
    table[0] = 0
    train = WindowSet.concat([_toy_set(64, 0, 0, 1), _toy_set(64, 1, 1, 2)])
    config = model_config("cpu", n_systems=2, epochs=2, hidden=32, ffn=64, min_steps=20, batch_size=32)
    calls = []
    forward = LogSynergyNet.forward_projected

    def counted(self, x, mask, novelty=None):
        calls.append(len(x))
        return forward(self, x, mask, novelty)

    monkeypatch.setattr(LogSynergyNet, "forward_projected", counted)
    seed_everything(5)
    initial = LogSynergyNet(config).club.state_dict()
    result = train_model(config, table, train, None, seed=5, show_bars=False)
    assert len(calls) == 20  # one forward per optimiser step: CLUB reuses its features
    fitted = result.model.club.state_dict()
    assert any(not torch.equal(initial[k], fitted[k]) for k in initial)


def test_lambda_system_weighs_the_system_classifier_loss():
    table = torch.randn(6, 384)
    train = WindowSet.concat([_toy_set(64, 0, 0, 1), _toy_set(64, 1, 1, 2)])
    config = model_config("cpu", n_systems=2, epochs=1, hidden=32, ffn=64, min_steps=20, lambda_system=0.0)
    result = train_model(config, table, train, None, seed=0, show_bars=False)
    assert result.history[0]["loss_system"] == 0.0 and result.history[0]["loss_mi"] != 0.0

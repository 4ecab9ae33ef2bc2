import numpy as np
import pytest
import torch

from logsynergy.novelty import NOVEL, append_novelty, normal_counts, novelty, with_novelty_column
from logsynergy.windows import Window


def test_counts_windows_not_lines_and_leaves_out_only_labelled_anomalies():
    windows = [
        Window(("a", "a", "b"), 0, (1, 2, 3)),
        Window(("a", "c"), 0, (4, 5)),
        Window(("a", "fault"), 1, (6, 7)),
        Window(("d",), None, (8,)),  # unlabelled: presumed normal
    ]
    assert normal_counts(windows) == {"a": 2, "b": 1, "c": 1, "d": 1}
    unused = normal_counts(windows, labelled=False)
    assert unused == {"a": 3, "b": 1, "c": 1, "fault": 1, "d": 1}


def test_novelty_is_one_for_unseen_events_and_falls_with_familiarity():
    assert novelty(0) == NOVEL == 1.0
    assert novelty(3) == pytest.approx(0.5)
    values = [novelty(n) for n in (0, 1, 10, 100, 10_000)]
    assert values == sorted(values, reverse=True) and values[-1] < 0.01


def test_the_table_gets_one_column_per_system_row_and_padding_stays_zero():
    table = torch.ones(6, 4)
    rows = [{"a": 1, "b": 2}, {"a": 3, "x": 4, "y": 5}]  # the same template id in two systems
    counts = [{"a": 99, "b": 0}, {"x": 3}]
    extended = with_novelty_column(table, rows, counts)
    assert extended.shape == (6, 5)
    assert torch.equal(extended[:, :4], table)
    np.testing.assert_allclose(extended[:, 4].numpy(), [0.0, 0.1, 1.0, 1.0, 0.5, 1.0], rtol=1e-6)


def test_append_takes_one_value_or_one_per_vector():
    vectors = np.zeros((3, 2), np.float32)
    assert append_novelty(vectors, NOVEL)[:, 2].tolist() == [1.0, 1.0, 1.0]
    both = append_novelty(vectors, np.array([0.1, 0.2, 0.3], np.float32))
    assert both.shape == (3, 3) and both.dtype == np.float32
    np.testing.assert_allclose(both[:, 2], [0.1, 0.2, 0.3])


def _detector(event_novelty: bool):
    from logsynergy.detector import Detector, DetectorSettings
    from logsynergy.interpret import InterpretationStore
    from logsynergy.model import LogSynergyNet, model_config
    from logsynergy.parsing import LogParser

    config = model_config("cpu", n_systems=2, embed_dim=4 + event_novelty, event_novelty=event_novelty)
    settings = DetectorSettings("s", "", "jsonl", "sliding", 10, 5, 0.5, "none")
    vectors = {"known": np.array([0, 0, 0, 0, 0.25][: config.embed_dim], np.float32)}
    return Detector(LogSynergyNet(config), settings, LogParser(), InterpretationStore(), vectors)


def test_re_embedding_keeps_novelty_and_new_templates_are_novel():
    detector = _detector(event_novelty=True)
    detector.set_embeddings(["known", "new"], np.ones((2, 4), np.float32))
    assert detector.vectors["known"].tolist() == [1, 1, 1, 1, 0.25]
    assert detector.vectors["new"].tolist() == [1, 1, 1, 1, NOVEL]
    scores = detector.score_patterns([("known", "new"), ("new",)])
    assert scores.shape == (2,) and np.isfinite(scores).all()


def test_artifacts_without_novelty_keep_plain_embeddings():
    from logsynergy.model import ModelConfig

    assert ModelConfig.from_dict({"embed_dim": 384}).event_novelty is False  # artifacts saved before it
    detector = _detector(event_novelty=False)
    detector.set_embeddings(["new"], np.ones((1, 4), np.float32))
    assert detector.vectors["new"].shape == (4,)
    assert detector.score_patterns([("known", "new")]).shape == (1,)

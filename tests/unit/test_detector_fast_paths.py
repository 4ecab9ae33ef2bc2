import json

import numpy as np
import pytest
import torch

from logsynergy.detector import Detector, DetectorSettings
from logsynergy.interpret import InterpretationStore
from logsynergy.loaders.jsonl import decode, parse_object
from logsynergy.model import LogSynergyNet, model_config
from logsynergy.parsing import LogParser
from logsynergy.windowset import clip_events


def _detector(n_templates: int = 12, novelty: bool = False) -> Detector:
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    vectors = {f"t{i}": rng.standard_normal(384).astype(np.float32) for i in range(n_templates)}
    if novelty:  # the last column is the event's novelty, in [0, 1]
        vectors = {t: np.append(v[:383], rng.uniform()).astype(np.float32) for t, v in vectors.items()}
    settings = DetectorSettings("s", "", "jsonl", "sliding", 10, 5, 0.5, "none")
    config = model_config("cpu", n_systems=2, max_events=8, event_novelty=novelty, novelty_skip=novelty)
    return Detector(LogSynergyNet(config), settings, LogParser(), InterpretationStore(), vectors)


def _plain_scores(detector: Detector, patterns: list[tuple[str, ...]]) -> np.ndarray:
    """The network on raw event vectors (zero-padded), as `score_patterns` computed it before."""
    chunk = [clip_events(p, detector.model.config.max_events) for p in patterns]
    width = max(len(p) for p in chunk)
    events = np.zeros((len(chunk), width, 384), np.float32)
    mask = np.zeros((len(chunk), width), bool)
    for i, pattern in enumerate(chunk):
        events[i, : len(pattern)] = [detector.vectors[t] for t in pattern]
        mask[i, : len(pattern)] = True
    with torch.inference_mode():
        logits = detector.model(torch.from_numpy(events), torch.from_numpy(mask)).anomaly_logit
    return torch.sigmoid(logits).numpy()


@pytest.mark.parametrize("novelty", [False, True])
def test_projected_scoring_equals_the_plain_forward(novelty: bool):
    detector = _detector(novelty=novelty)
    rng = np.random.default_rng(1)
    ids = list(detector.vectors)
    patterns = [tuple(rng.choice(ids, size=rng.integers(1, 13))) for _ in range(300)]  # padding, clipping
    scores = detector.score_patterns(patterns, batch_size=64)
    np.testing.assert_allclose(scores, _plain_scores(detector, patterns), atol=1e-5)
    assert np.ptp(scores) > 1e-3

    detector.vectors["t3"] = rng.uniform(size=384).astype(np.float32)  # e.g. re-embedded
    detector.vectors["t99"] = rng.uniform(size=384).astype(np.float32)  # a newly learnt template
    patterns = [(*p[:-1], "t99") for p in patterns[:50]] + [("t3",) * 5]
    changed = detector.score_patterns(patterns)
    np.testing.assert_allclose(changed, _plain_scores(detector, patterns), atol=1e-5)


def test_json_lines_decode_exactly_like_json_loads():
    lines = [
        '{"message": "disk full", "label": 1}',
        '{"message": "a", "x": [1, 2.5, NaN, {"y": null}]}',
        "{}",
        '{"a":1}}',
        '{"a":1} x',
        '{"a":1} ',
        ' {"a":1}',
        '{"a":1,}',
        '{"a" 1}',
        "{",
        '{"a": "\\ud800"}',
        '{"a":1}{"b":2}',
        "[1, 2]",
        "plain text",
        "",
        '{"a": 123456789012345678901234567890, "b": -9223372036854775809}',
        '{"a": 1, "a": 2}',
        '{"a": 1e-400, "b": 1.7976931348623157e309, "c": -0.0, "d": 1E5, "e": 0.1}',
        '{"\u00e9": "ü\\u00e9\\n", "t": "\t"}',
        '{"a": Infinity}',
    ]
    for line in lines:
        try:
            expected: object = json.loads(line)
        except ValueError as exc:
            expected = str(exc)
        try:
            got: object = decode(line)
        except ValueError as exc:
            got = str(exc)
        assert repr(got) == repr(expected), line
    assert parse_object('{"a":1} x') == "not JSON (Extra data)"
    record = parse_object('{"message": "m", "session": 7, "timestamp": 1.5}')
    assert not isinstance(record, str) and (record.session, record.timestamp) == ("7", "1.5")

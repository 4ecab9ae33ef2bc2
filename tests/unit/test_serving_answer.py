"""The pool's answer: rendered to JSON once, in the pool, under the name the tenant registered."""

import json

import numpy as np
import torch

from logsynergy.detector import Detection, Detector, DetectorSettings, WindowVerdict
from logsynergy.interpret import InterpretationStore
from logsynergy.model import LogSynergyNet, model_config
from logsynergy.parsing import LogParser
from logsynergy_workers.serving.model_pool import answer, rendered


def _detection() -> tuple[Detector, Detection]:
    settings = DetectorSettings("artifact-name", "", "jsonl", "sliding", 10, 5, 0.5, "none")
    model = LogSynergyNet(model_config("cpu", n_systems=2, max_events=8))
    detector = Detector(model, settings, LogParser(), InterpretationStore(), {})
    windows = [
        WindowVerdict(1, 10, 0.1234567, False, []),
        WindowVerdict(6, 15, 0.9, True, ["t9"], session="s-1"),
    ]
    reports = [{"system": "artifact-name", "first_line": 6, "score": 0.9, "events": [{"raw": 'é "q"'}]}]
    return detector, Detection(windows, reports, 15, cache_hits=1, model_windows=1)


def test_the_rendered_body_is_the_answer_without_stats():
    detector, detection = _detection()
    result = answer(detector, "payments", "3", detection)
    expected = json.loads(json.dumps({k: v for k, v in result.items() if k != "stats"}))
    sent = rendered(result, keep_reports=False)
    body = json.loads(sent["body"])
    assert body == expected
    assert body["system"] == "payments" and body["model_version"] == "3"
    assert body["anomalies"][0]["system"] == "payments"  # not the artifact's own name
    assert body["windows"][0]["score"] == 0.123457 and body["windows"][1]["session"] == "s-1"
    assert body["anomalies"][0]["events"][0]["raw"] == 'é "q"'
    assert sent["stats"] == {"lines": 15, "windows": 2, "cache_hits": 1, "model_windows": 1, "cache_size": 0}
    assert sent["anomalies"] == []  # reports travel as objects only when alert hooks need them


def test_reports_are_kept_for_alert_hooks():
    detector, detection = _detection()
    sent = rendered(answer(detector, "payments", "3", detection), keep_reports=True)
    assert [r["first_line"] for r in sent["anomalies"]] == [6]
    assert sent["anomalies"][0]["system"] == "payments"


def test_bfloat16_scoring_keeps_the_float32_model():
    detector, _ = _detection()
    torch.manual_seed(0)
    detector.vectors = {
        f"t{i}": np.random.default_rng(i).standard_normal(384).astype(np.float32) for i in range(6)
    }
    patterns = [("t0", "t1", "t2"), ("t3", "t4", "t5", "t0"), ("t5",)]
    exact = detector.score_patterns(patterns)
    detector.set_precision("bfloat16")
    fast = detector.score_patterns(patterns)
    assert next(detector.model.parameters()).dtype == torch.float32  # the copy is cast, not the model
    np.testing.assert_allclose(fast, exact, atol=2e-2)
    detector.set_precision("float32")
    np.testing.assert_array_equal(detector.score_patterns(patterns), exact)

"""The pool's answer: rendered to JSON once, in the pool, under the name the tenant registered; flagged
windows carry their incident pattern, and those of a suppressed pattern are answered as not anomalous."""

import json

import numpy as np
import pytest
import torch

from logsynergy.detector import Detection, Detector, DetectorSettings, WindowVerdict
from logsynergy.interpret import InterpretationStore
from logsynergy.model import LogSynergyNet, model_config
from logsynergy.parsing import LogParser
from logsynergy_contracts import RecordedWindow, pattern_id
from logsynergy_workers.serving.model_pool import answer, rendered


def _report(first: int, last: int, template_ids: list[str], raw: str = "x") -> dict:
    events = [{"line": first + i, "raw": raw, "template_id": t} for i, t in enumerate(template_ids)]
    return {
        "system": "artifact-name",
        "first_line": first,
        "last_line": last,
        "session": None,
        "score": 0.9,
        "threshold": 0.5,
        "events": events,
    }


def _detection() -> tuple[Detector, Detection]:
    settings = DetectorSettings("artifact-name", "", "jsonl", "sliding", 10, 5, 0.5, "none")
    model = LogSynergyNet(model_config("cpu", n_systems=2, max_events=8))
    detector = Detector(model, settings, LogParser(), InterpretationStore(), {})
    windows = [
        WindowVerdict(1, 10, 0.1234567, False, []),
        WindowVerdict(6, 15, 0.9, True, ["t9"], session="s-1"),
    ]
    reports = [_report(6, 15, ["t1", "t9", "t1"], raw='é "q"')]
    return detector, Detection(windows, reports, 15, cache_hits=1, model_windows=1)


def _three_flagged() -> tuple[Detector, Detection]:
    """Windows 1-10 (pattern {a, b}), 6-15 (normal), 11-20 ({c}) and 16-25 ({b, a}: the first pattern)."""
    detector, _ = _detection()
    windows = [
        WindowVerdict(1, 10, 0.8, True, []),
        WindowVerdict(6, 15, 0.1, False, []),
        WindowVerdict(11, 20, 0.7, True, []),
        WindowVerdict(16, 25, 0.95, True, []),
    ]
    reports = [_report(1, 10, ["a", "b", "a"]), _report(11, 20, ["c"]), _report(16, 25, ["b", "a"])]
    return detector, Detection(windows, reports, 25)


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
    assert sent["stats"] == {
        "lines": 15,
        "windows": 2,
        "flagged": 1,
        "suppressed": 0,
        "cache_hits": 1,
        "model_windows": 1,
        "cache_size": 0,
    }
    assert sent["anomalies"] == []  # reports travel as objects only when the ingress needs them


def test_reports_are_kept_for_alert_hooks():
    detector, detection = _detection()
    sent = rendered(answer(detector, "payments", "3", detection), keep_reports=True)
    assert [r["first_line"] for r in sent["anomalies"]] == [6]
    assert sent["anomalies"][0]["system"] == "payments"
    assert sent["recorded"] is None  # recording off


def test_the_windows_to_record_are_the_rendered_reports():
    detector, detection = _three_flagged()
    ab = pattern_id(["a", "b"])
    sent = rendered(answer(detector, "payments", "3", detection, frozenset({ab})), False, record=True)
    windows = [RecordedWindow.model_validate(w) for w in json.loads(sent["recorded"])]
    assert [(w.first_line, w.pattern) for w in windows] == [(11, pattern_id(["c"]))]  # not the suppressed
    assert json.loads(sent["recorded"]) == json.loads(sent["body"])["anomalies"]
    assert sent["anomalies"] == []  # no objects without hooks
    everything = frozenset({ab, pattern_id(["c"])})
    quiet = rendered(answer(detector, "payments", "3", _three_flagged()[1], everything), False, record=True)
    assert quiet["recorded"] is None  # nothing flagged: nothing to write


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


def test_flagged_windows_and_their_reports_carry_the_pattern_of_their_distinct_templates():
    detector, detection = _three_flagged()
    body = json.loads(rendered(answer(detector, "payments", "3", detection), keep_reports=False)["body"])
    ab, c = pattern_id(["a", "b"]), pattern_id(["c"])
    assert ab == pattern_id(["b", "a", "b"]) != c  # order and repeats do not matter
    assert [w.get("pattern") for w in body["windows"]] == [ab, None, c, ab]  # normal windows: no pattern
    assert [w["suppressed"] for w in body["windows"]] == [False] * 4
    assert [w["anomaly"] for w in body["windows"]] == [True, False, True, True]
    assert [r["pattern"] for r in body["anomalies"]] == [ab, c, ab]


def test_a_suppressed_pattern_is_answered_not_anomalous_counted_and_loses_its_report():
    detector, detection = _three_flagged()
    ab = pattern_id(["a", "b"])
    result = answer(detector, "payments", "3", detection, suppressed=frozenset({ab, "unrelated"}))
    sent = rendered(result, keep_reports=True)
    body = json.loads(sent["body"])
    marks = [(w["anomaly"], w["suppressed"], w.get("pattern")) for w in body["windows"]]
    c = pattern_id(["c"])
    assert marks == [(False, True, ab), (False, False, None), (True, False, c), (False, True, ab)]
    assert [w["score"] for w in body["windows"]] == [0.8, 0.1, 0.7, 0.95]  # scores as computed
    assert [r["first_line"] for r in body["anomalies"]] == [11]
    assert [r["first_line"] for r in sent["anomalies"]] == [11]  # nothing to record or alert for ab
    assert (sent["stats"]["flagged"], sent["stats"]["suppressed"]) == (1, 2)


def test_reports_out_of_step_with_the_flagged_windows_are_a_bug_not_a_wrong_answer():
    detector, detection = _three_flagged()
    detection.reports.reverse()
    with pytest.raises(RuntimeError, match="out of step"):
        answer(detector, "payments", "3", detection)

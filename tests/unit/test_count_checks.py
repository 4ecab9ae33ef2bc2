"""Count checks mined from unlabelled sessions: invariants, rare events, the flagged-share budget, and a
zero-label fit that serves them through the detector and its artifact."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from logsynergy.count_checks import CountChecks, mine_count_checks

# a write: open once, three replicas each receiving and acknowledging, then (later) a delete
NORMAL = ("open", "recv", "recv", "recv", "ack", "ack", "ack", "delete")
LIVE = NORMAL[:-1]  # still running when the log ends: no delete yet


def sessions(n: int = 400) -> list[tuple[str, ...]]:
    out = [NORMAL if i % 4 else LIVE for i in range(n)]
    out[7] = (*NORMAL, "retry")  # a rare but normal event, in 1 of 400 sessions
    return out


def test_invariants_hold_in_the_mined_sessions_and_catch_a_lost_acknowledgement():
    checks = mine_count_checks(sessions(), expected_share=0.05)
    found = {(i.left, i.right, i.left_times, i.right_times) for i in checks.invariants}
    assert ("ack", "recv", 1, 1) in found and ("ack", "open", 1, 3) in found
    assert not checks.flags(NORMAL) and not checks.flags(LIVE)
    lost = ("open", "recv", "recv", "recv", "ack", "ack", "delete")
    assert checks.flags(lost)
    assert any('count("ack")' in f and "here 2 and 3" in f for f in checks.findings(lost))


def test_a_session_cut_short_is_not_an_anomaly_but_an_unseen_event_is():
    checks = mine_count_checks(sessions(), expected_share=0.05)
    assert not checks.flags(("open", "recv", "recv", "recv"))  # no ack yet: nothing to compare with
    assert checks.flags((*NORMAL, "disk full"))
    assert checks.findings((*NORMAL, "disk full"), str.upper) == [
        'rare event "DISK FULL" (in 0.00% of the sessions mined)'
    ]


def test_rare_events_flag_no_more_than_the_expected_share():
    mined = sessions()
    strict = mine_count_checks(mined, expected_share=0.001)
    assert not strict.flags(mined[7]) and strict.flagged_share <= 0.001
    loose = mine_count_checks(mined, expected_share=0.05)
    assert loose.flags(mined[7]) and loose.flagged_share == pytest.approx(1 / 400)
    assert loose.flagged_share <= 0.05


def test_invariants_that_flag_more_than_the_budget_leave_rare_events_out():
    # a == b holds in 98.5 % of the sessions (an invariant), broken in 1.5 % (over a 1 % budget)
    noisy = [("a", "b", "b") if i < 3 else ("a", "b") for i in range(200)] + [("a", "b", "odd")]
    checks = mine_count_checks(noisy, expected_share=0.01)
    assert [(i.left, i.right) for i in checks.invariants] == [("a", "b")] and checks.notes
    assert checks.rare_at_most == 0.0  # nothing seen counts as rare; unseen templates still flag
    assert not checks.flags(("a", "b", "odd")) and checks.flags(("a", "b", "new"))


def test_round_trip_through_json():
    checks = mine_count_checks(sessions(), expected_share=0.05)
    again = CountChecks.from_dict(json.loads(json.dumps(checks.to_dict())))
    assert again == checks


@pytest.fixture(scope="module")
def zero_label_fit(tmp_path_factory: pytest.TempPathFactory):
    from logsynergy.embedding import SentenceEmbedder
    from logsynergy.fit import fit
    from logsynergy.interpret import make_interpreter
    from logsynergy.options import TrainOptions
    from logsynergy.prepare import prepare_system
    from logsynergy.synthetic import write_demo_systems
    from logsynergy.systems import load_systems

    root = tmp_path_factory.mktemp("zero")
    specs = load_systems(write_demo_systems(root, n_lines=4000, seed=4, sessions=True))
    interpreter = make_interpreter()
    prepared = {name: prepare_system(specs[name], interpreter) for name in ("payments", "storage")}
    options = TrainOptions(
        target_labelled=0, epochs=2, overrides={"hidden": 64, "ffn": 128, "batch_size": 64}
    )
    result = fit(prepared["payments"], [prepared["storage"]], SentenceEmbedder(), options)
    return result, prepared, options


def test_a_zero_label_session_fit_mines_checks_and_serves_them(zero_label_fit, tmp_path: Path):
    from logsynergy.detector import COUNTS, NETWORK_OR_COUNTS, Detector

    result, prepared, _ = zero_label_fit
    metrics, detector = result.metrics, result.detector
    assert metrics.scoring in (COUNTS, NETWORK_OR_COUNTS) and metrics.count_checks is not None
    mined = metrics.count_checks
    assert mined.sessions == len([w for w in prepared["payments"].windows]) // 2
    assert mined.flagged_share <= mined.expected_share == 0.05
    # the served scoring follows from how much of the unlabelled traffic the sources' threshold flags
    assert (metrics.scoring == COUNTS) == (mined.network_flagged_share > 0.05)
    if metrics.scoring == COUNTS:
        assert metrics.calibration == "count checks" and metrics.threshold == 0.5
    saved = detector.save(tmp_path / "det")
    loaded = Detector.load(saved)
    assert loaded.settings.scoring == metrics.scoring and loaded.count_checks == detector.count_checks
    patterns = [w.events for w in prepared["payments"].windows[-200:]]
    np.testing.assert_array_equal(loaded.score_patterns(patterns), detector.score_patterns(patterns))
    flagged = [p for p in patterns if detector.count_checks.flags(p)]
    assert flagged and (loaded.score_patterns(flagged) >= loaded.settings.threshold).all()
    # an artifact that names count checks but lost them is refused, not served as a bare network
    (saved / "count_checks.json").unlink()
    from logsynergy.errors import ArtifactError

    with pytest.raises(ArtifactError, match=r"count_checks\.json"):
        Detector.load(saved)


def test_labels_or_sliding_windows_keep_the_network_alone(zero_label_fit):
    from logsynergy.embedding import SentenceEmbedder
    from logsynergy.fit import fit

    _, prepared, options = zero_label_fit
    target = prepared["payments"]
    labelled = fit(
        target, [prepared["storage"]], SentenceEmbedder(), options.model_copy(update={"target_labelled": 300})
    )
    assert labelled.metrics.scoring is None and labelled.metrics.count_checks is None
    sliding = dataclasses.replace(target, windowing=dataclasses.replace(target.windowing, kind="sliding"))
    unlabelled = fit(sliding, [prepared["storage"]], SentenceEmbedder(), options)
    assert unlabelled.metrics.scoring is None and unlabelled.detector.settings.scoring == "network"
    off = fit(
        target, [prepared["storage"]], SentenceEmbedder(), options.model_copy(update={"count_checks": False})
    )
    assert off.metrics.scoring is None and off.detector.count_checks is None


def test_operators_judgements_keep_the_checks_of_an_unlabelled_session_log(zero_label_fit):
    """Judged windows teach the network (and are suppressed at the endpoint); they are no target labels
    given, so the count checks stay."""
    from logsynergy.embedding import SentenceEmbedder
    from logsynergy.feedback import JudgedWindow
    from logsynergy.fit import fit

    _, prepared, options = zero_label_fit
    target = prepared["payments"]
    judged = [JudgedWindow(w, i, "v1") for i, w in enumerate(target.windows[:40]) if w.label is not None]
    with_judgements = dataclasses.replace(target, judged=judged)
    result = fit(with_judgements, [prepared["storage"]], SentenceEmbedder(), options)
    assert result.metrics.feedback is not None and result.metrics.feedback.judged == len(judged)
    mined = result.metrics.count_checks
    assert mined is not None and mined.invariants > 0
    if mined.judged_f1 is None:  # no anomaly among the judged windows held out: the rule chose
        assert result.metrics.scoring in ("counts", "network+counts") and result.detector.count_checks


def _judged_by(target, verdict, n: int = 60):
    """The target's first `n` windows judged by `verdict(window)` (True: anomaly)."""
    from logsynergy.feedback import JudgedWindow

    return [
        JudgedWindow(dataclasses.replace(w, label=int(verdict(w))), i, "v1")
        for i, w in enumerate(target.windows[:n])
    ]


def test_judged_windows_choose_the_count_checks_when_they_agree_with_them(zero_label_fit):
    """Operators who judge exactly what the count checks flag: on the held-out judged windows the
    checks score F1 1.0, so the served scoring uses them (alone, or beside a network that ties)."""
    from logsynergy.embedding import SentenceEmbedder
    from logsynergy.fit import fit

    result, prepared, options = zero_label_fit
    target = prepared["payments"]
    checks = result.detector.count_checks
    assert checks is not None
    # the held-out part (the last 20 %) must hold a flagged window for F1 to choose
    judged = _judged_by(target, lambda w: checks.flags(w.events), n=len(target.windows) // 2)
    assert any(j.window.label == 1 for j in judged[-len(judged) // 5 :])
    chosen = fit(
        dataclasses.replace(target, judged=judged), [prepared["storage"]], SentenceEmbedder(), options
    )
    mined = chosen.metrics.count_checks
    assert mined is not None and mined.judged_f1 is not None and mined.judged_windows > 0
    assert mined.judged_f1["counts"] == 1.0
    assert chosen.metrics.scoring in ("counts", "network+counts")
    assert mined.judged_f1[chosen.metrics.scoring] == max(mined.judged_f1.values())


def test_judged_windows_drop_the_count_checks_when_they_contradict_them(zero_label_fit):
    """Operators who judge every window the checks flag normal, and one they pass an anomaly: the
    checks score F1 0 on them, so they never serve alone once the network finds that anomaly."""
    from logsynergy.embedding import SentenceEmbedder
    from logsynergy.fit import fit

    result, prepared, options = zero_label_fit
    target = prepared["payments"]
    checks = result.detector.count_checks
    assert checks is not None
    passed = [w for w in target.windows[: len(target.windows) // 2] if not checks.flags(w.events)]
    odd_one = passed[-1].events  # a window in the held-out part the checks do not flag
    judged = _judged_by(target, lambda w: w.events == odd_one, n=len(target.windows) // 2)
    chosen = fit(
        dataclasses.replace(target, judged=judged), [prepared["storage"]], SentenceEmbedder(), options
    )
    mined = chosen.metrics.count_checks
    assert mined is not None and mined.judged_f1 is not None
    assert mined.judged_f1["counts"] == 0.0
    assert mined.judged_f1[chosen.metrics.scoring] == max(mined.judged_f1.values())
    if max(mined.judged_f1.values()) > 0:  # the network found the judged anomaly
        assert chosen.metrics.scoring != "counts"
    if chosen.metrics.scoring == "network":
        assert chosen.detector.count_checks is None

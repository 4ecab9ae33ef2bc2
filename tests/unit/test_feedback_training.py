"""Training from operators' judgements: judged windows become labelled target windows (never test ones),
the detector learns from them, and its metrics report F1 on them before and after."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
import torch

from logsynergy.detector import Detector
from logsynergy.errors import InputError
from logsynergy.feedback import read_judgements
from logsynergy.interpret import make_interpreter
from logsynergy.metrics import prf
from logsynergy.options import TrainOptions
from logsynergy.pipeline import train
from logsynergy.prepare import PreparedSystem, prepare_system
from logsynergy.store import LocalStore
from logsynergy.synthetic import generate_system, write_demo_systems, write_jsonl
from logsynergy.systems import SystemSpec
from logsynergy.training_sets import build_training_sets, split_target, weigh_judged
from logsynergy.windowset import WindowSet
from logsynergy_contracts import SystemInput
from logsynergy_contracts.anomalies import JudgedWindow, Verdict
from logsynergy_workers.job_inputs import download_system

TINY = TrainOptions(
    epochs=3, target_labelled=0, source_windows=1500, overrides={"hidden": 32, "ffn": 64, "batch_size": 64}
)


def judged(anomaly_id: int, lines: Sequence[str], anomalous: bool, version: str = "1") -> JudgedWindow:
    verdict = Verdict.ANOMALY if anomalous else Verdict.NOT_ANOMALY
    return JudgedWindow(anomaly_id=anomaly_id, lines=list(lines), verdict=verdict, flagged_by=version)


def write_feedback(path: Path, windows: Sequence[JudgedWindow]) -> Path:
    """The feedback file as the control plane writes it: one contract `JudgedWindow` a line."""
    path.write_text("".join(w.model_dump_json() + "\n" for w in windows))
    return path


def log_windows(lines: Sequence[str], size: int = 10, step: int = 5) -> list[tuple[list[str], bool]]:
    """Sliding windows of raw synthetic lines with their true label (any fault line)."""
    out = []
    for start in range(0, len(lines) - size + 1, step):
        chunk = list(lines[start : start + size])
        out.append((chunk, any(json.loads(x)["label"] == 1 for x in chunk)))
    return out


@pytest.fixture(scope="module")
def payments(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    path = write_jsonl(generate_system("payments", 800, seed=4), tmp_path_factory.mktemp("p") / "p.jsonl")
    return path, path.read_text().splitlines()


def prepared(log: Path, feedback: Path | None) -> PreparedSystem:
    spec = SystemSpec("payments", "jsonl", log, description="payments", feedback=feedback)
    return prepare_system(spec, make_interpreter("offline"))


# ------------------------------------------------------------------------------------ reading the file
def test_contract_lines_are_read_back_with_their_labels(tmp_path: Path):
    windows = [judged(7, ["a", "b"], True, "3"), judged(9, ["c"], False, "4")]
    file = write_feedback(tmp_path / "f.jsonl", windows)
    file.write_text(file.read_text() + "\n")  # a blank line is skipped
    read = read_judgements(file)
    assert [(j.anomaly_id, j.lines, j.label, j.flagged_by) for j in read] == [
        (7, ["a", "b"], 1, "3"),
        (9, ["c"], 0, "4"),
    ]
    assert [j.label for j in read] == [w.label for w in windows]


GOOD = judged(1, ["x"], True).model_dump_json()


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        ("{not json", "line 2: not JSON"),
        ("[1, 2]", "line 2: expected a JSON object"),
        ('{"anomaly_id": 2, "lines": [], "verdict": "anomaly", "flagged_by": "1"}', "line 2: lines: "),
        ('{"anomaly_id": 2, "lines": ["x"], "verdict": "maybe", "flagged_by": "1"}', "line 2: verdict: "),
        ('{"anomaly_id": 2, "lines": ["x"], "flagged_by": "1"}', "line 2: verdict: Field required"),
    ],
)
def test_a_malformed_line_is_named(tmp_path: Path, bad: str, says: str):
    file = tmp_path / "f.jsonl"
    file.write_text(f"{GOOD}\n{bad}\n{GOOD}\n")
    with pytest.raises(InputError, match=re.escape(f"feedback file {file} {says}")):
        read_judgements(file)


def test_unreadable_or_missing_files_are_input_errors(tmp_path: Path):
    binary = tmp_path / "b.jsonl"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(InputError, match="not UTF-8"):
        read_judgements(binary)
    with pytest.raises(InputError, match=r"feedback file .*nope\.jsonl not found"):
        read_judgements(tmp_path / "nope.jsonl")


def test_the_job_downloads_feedback_and_names_a_bad_line_by_its_key(tmp_path: Path, payments):
    log, lines = payments
    store = LocalStore(tmp_path / "store")
    store.upload_file("d/log", log)
    key = "tenants/acme/jobs/j/inputs/payments.feedback.jsonl"
    store.put_bytes(key, (judged(1, lines[:10], True).model_dump_json() + "\n").encode())
    system = SystemInput(name="payments", format="jsonl", datasets=[{"log_key": "d/log"}], feedback_key=key)
    spec = download_system(store, system, tmp_path / "in")
    assert spec.feedback is not None and [j.label for j in read_judgements(spec.feedback)] == [1]
    store.put_bytes(key, (GOOD + "\n" + '{"anomaly_id": 1}' + "\n").encode())
    with pytest.raises(InputError, match=re.escape(f"feedback file {key} line 2: lines: Field required")):
        download_system(store, system, tmp_path / "again")


# ------------------------------------------------------------------------ judged windows as target data
def test_judged_lines_are_parsed_with_the_target_parser(tmp_path: Path, payments):
    log, lines = payments
    strange = json.dumps({"message": "quantum ledger flux inverted on shard 7", "label": 0})
    feedback = write_feedback(
        tmp_path / "f.jsonl", [judged(1, lines[:10], False), judged(2, [*lines[20:25], strange], True, "2")]
    )
    system = prepared(log, feedback)
    first, second = system.judged
    assert first.window.events == system.windows[0].events, "the log's own first window, same templates"
    assert (first.window.label, second.window.label) == (0, 1)
    assert (first.anomaly_id, second.flagged_by) == (1, "2")
    assert second.window.events[:5] == tuple(system.windows[4].events[:5])
    new = second.window.events[-1]
    assert new in system.parser.templates and system.store.get(new) is not None, "learned and interpreted"
    assert any("2 judged windows from operators (1 anomalous)" in n for n in system.notes)
    assert prepared(log, None).judged == []


def training_sets(system: PreparedSystem, options: TrainOptions):
    tids = list(system.parser.templates)
    rows = [{tid: i + 1 for i, tid in enumerate(tids)}]
    table = torch.zeros((len(tids) + 1, 4))
    return build_training_sets(system, [], table, rows, options, max_events=64)


def test_judged_windows_train_and_validate_but_never_test(tmp_path: Path, payments):
    log, lines = payments
    windows = log_windows(lines)
    chosen = [w for w in windows if w[1]][:6] + [w for w in windows if not w[1]][:6]
    feedback = write_feedback(tmp_path / "f.jsonl", [judged(i, c, a) for i, (c, a) in enumerate(chosen)])
    system = prepared(log, feedback)
    sets = training_sets(system, TINY)
    plain = split_target(system.windows, TINY, 1)
    split = sets.split
    assert split.test == plain.test and split.train == plain.train, "the log's own split is unchanged"
    judged_windows = [j.window for j in system.judged]
    assert not any(w is j for w in split.test for j in judged_windows)
    assert split.judged == judged_windows[:10] and split.val == judged_windows[10:]  # 12: 2 validate
    assert split.judged_val == 2 and not sets.target_labels_used
    labelled = sets.train.label >= 0
    assert sorted(sets.train.label[labelled].tolist()) == sorted(float(w.label) for w in split.judged)
    assert np.isclose(sets.train.weight[labelled].sum(), TINY.feedback_share * sets.train.weight.sum())
    assert (sets.target_val.label >= 0).all() and len(sets.target_val) == 2

    without = prepared(log, None)
    with pytest.raises(InputError, match="no labelled windows to train on"):
        training_sets(without, TINY)


def test_judged_rows_get_their_share_only_beside_unlabelled_target_rows():
    def data(labels: list[float]) -> WindowSet:
        n = len(labels)
        return WindowSet(
            np.ones((n, 2), np.int64),
            np.array(labels, np.float32),
            np.ones(n, np.int64),
            np.ones(n, np.int64),
            np.ones(n, np.float32),
        )

    unlabelled = data([-1.0] * 8 + [1.0, 0.0])
    weigh_judged(unlabelled, judged=2, target=1, share=0.5)
    assert unlabelled.weight[-2:].sum() == pytest.approx(5.0) and unlabelled.weight.sum() == pytest.approx(10)
    labelled = data([0.0] * 8 + [1.0, 0.0])
    weigh_judged(labelled, judged=2, target=1, share=0.5)
    assert labelled.weight.tolist() == [1.0] * 10, "beside labelled windows they weigh as labelled ones"


# -------------------------------------------------------------------------------- training (heavy lock)
@pytest.fixture(scope="module")
def loop(tmp_path_factory: pytest.TempPathFactory):
    """A zero-label detector (v1) ranks windows; an operator judges its 40 highest-scored ones by the true
    labels, as alarms of a threshold low enough to raise false ones; v2 retrains from the judgements."""
    root = tmp_path_factory.mktemp("loop")
    systems = write_demo_systems(root, n_lines=2500, seed=3)
    first = train(systems, "payments", sources=["storage"], options=TINY, say=lambda _m: None)
    lines = (root / "payments.jsonl").read_text().splitlines()
    scored = first.detector.score_lines(lines).windows
    flagged = sorted(scored, key=lambda w: w.score, reverse=True)[:40]
    windows = [
        judged(i, lines[w.first_line - 1 : w.last_line], w.label == 1) for i, w in enumerate(flagged[:40])
    ]
    feedback = write_feedback(root / "feedback.jsonl", windows)
    second = train(
        systems, "payments", sources=["storage"], options=TINY, feedback=feedback, out=root / "v2", say=print
    )
    return first, second, windows, root / "v2"


def test_retraining_on_judgements_clears_judged_false_alarms(loop):
    first, second, windows, _ = loop
    assert first.metrics.feedback is None
    feedback = second.metrics.feedback
    assert feedback is not None
    labels = np.array([w.label for w in windows])
    assert (feedback.judged, feedback.anomalies, feedback.not_anomalies) == (
        len(windows),
        int(labels.sum()),
        int((labels == 0).sum()),
    )
    assert feedback.before == prf(labels, np.ones(len(labels)))
    assert feedback.before.fp > 0, "the zero-label detector raised false alarms to judge"
    assert feedback.after.fp < feedback.before.fp, "judged false alarms are no longer flagged"
    assert feedback.after.f1 >= feedback.before.f1
    assert feedback.flagged_by == ["1"] and feedback.train_windows + feedback.val_windows == len(windows)
    assert "judged F1" in second.metrics.summary()


def test_after_is_what_the_saved_detector_answers(loop):
    _, second, windows, artifact = loop
    detector = Detector.load(artifact)
    assert detector.metrics is not None and detector.metrics.feedback == second.metrics.feedback
    verdicts = []
    for window in windows:
        (scored,) = detector.score_lines(window.lines).windows  # one window of its lines, as served
        verdicts.append(scored.anomaly)
    served = prf(np.array([w.label for w in windows]), np.array(verdicts))
    assert served == second.metrics.feedback.after


def test_judgements_alone_are_enough_target_labels(tmp_path: Path, payments):
    """No source and target_labelled 0: nothing else is labelled, and the judgements train it."""
    log, lines = payments
    systems = tmp_path / "systems.yaml"
    systems.write_text(f"systems:\n- {{name: payments, format: jsonl, path: {log}}}\n")
    windows = log_windows(lines)
    chosen = [w for w in windows if w[1]][:8] + [w for w in windows if not w[1]][:8]
    feedback = write_feedback(tmp_path / "f.jsonl", [judged(i, c, a) for i, (c, a) in enumerate(chosen)])
    result = train(systems, "payments", sources=[], options=TINY, feedback=feedback, say=lambda _m: None)
    metrics = result.metrics
    assert metrics.sources == [] and not metrics.target_labels_used and metrics.target_labelled == 0
    assert metrics.feedback is not None and metrics.feedback.judged == 16
    assert metrics.feedback.after.f1 > metrics.feedback.before.f1
    assert metrics.test_windows > 0


def test_core_cli_names_a_bad_feedback_line(tmp_path: Path, payments):
    log, _ = payments
    systems = tmp_path / "systems.yaml"
    systems.write_text(f"systems:\n- {{name: payments, format: jsonl, path: {log}}}\n")
    bad = tmp_path / "bad.jsonl"
    bad.write_text(GOOD + "\n" + '{"anomaly_id": 3, "lines": ["x"], "verdict": "fine", "flagged_by": "1"}\n')
    command = [sys.executable, "-m", "logsynergy.cli", "train", "--systems", str(systems)]
    command += ["--target", "payments", "--out", str(tmp_path / "o"), "--feedback", str(bad)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"feedback file {bad} line 2: verdict: " in done.stderr.replace("\n", " ")


def test_a_systems_file_may_name_the_feedback(tmp_path: Path):
    from logsynergy.systems import parse_systems

    specs = parse_systems(
        {"systems": [{"name": "a", "format": "jsonl", "path": "a", "feedback": "f"}]}, tmp_path
    )
    assert specs["a"].feedback == tmp_path / "f"

"""The soak driver's bookkeeping (its traffic runs against the platform in `make soak`, not here)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from logsynergy_api.soak.checks import log_errors
from logsynergy_api.soak.memory import command_label
from logsynergy_api.soak.recorder import OK, PROVOKED, UNEXPECTED, Recorder, percentile
from logsynergy_api.soak.traffic import ROUTES_GRACE_S, Soak, SoakConfig, SystemState


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile([], 99) == 0.0


def test_recorder_keeps_phases_and_outcomes_apart() -> None:
    recorder = Recorder()
    recorder.record("upload", 10.0, 201, OK)
    recorder.phase = "soak"
    recorder.record("detect", 5.0, 200, OK)
    recorder.record("detect", 15.0, 200, OK)
    recorder.record("refuse_detect_bad_key", 3.0, 401, PROVOKED)
    recorder.record("detect", 30.0, 500, UNEXPECTED, "internal")
    recorder.unexpected("lost_job", "job x listed twice")
    soak = recorder.summary("soak")
    assert soak["detect"]["requests"] == 3 and soak["detect"]["unexpected"] == 1
    assert soak["detect"]["statuses"] == {"200": 2, "500": 1}
    assert soak["refuse_detect_bad_key"]["provoked_4xx"] == 1
    assert "upload" not in soak and recorder.summary("setup")["upload"]["ok"] == 1
    assert recorder.totals()["soak"] == {OK: 2, PROVOKED: 1, UNEXPECTED: 2}
    assert [e["kind"] for e in recorder.examples] == ["detect", "lost_job"]
    minute = recorder.timeline("soak", "detect")
    assert minute[0]["requests"] == 3 and minute[0]["unexpected"] == 1


def test_system_versions_allowed_around_a_change() -> None:
    state = SystemState("sys-00", "payments")
    state.add_version(1)
    state.set_expected("1")
    state.changed_at -= ROUTES_GRACE_S  # settled
    assert state.allowed() == ({"1"}, None)
    state.add_version(2)
    state.set_expected("2")  # just changed: the endpoint may still answer with 1
    assert state.allowed() == ({"1", "2"}, None)
    state.changed_at = time.monotonic() - ROUTES_GRACE_S
    state.activating = "1"
    assert state.allowed() == ({"1", "2"}, None)
    state.activating, state.pending_job = None, True  # a job may activate any newer version
    assert state.allowed() == ({"2"}, 2)
    assert state.pinnable() == []  # version 1 and 2 are too fresh for the routing table
    state.known_at = {v: t - ROUTES_GRACE_S for v, t in state.known_at.items()}
    assert state.pinnable() == [1, 2]


def test_processes_are_labelled_by_role() -> None:
    assert command_label(["/x/raylet", "--gcs-address=1"], "raylet") == "ray raylet"
    assert (
        command_label(["python", "-m", "logsynergy_workers.train_job"], "python") == "job driver (train_job)"
    )
    assert command_label(["sh", "-c", "python -m logsynergy_workers.train_job"], "sh") == "sh"
    assert command_label(["ray::TrainController.__init__"], "python") == "actor TrainController"
    assert command_label(["ray::DashboardAgent"], "python") == "ray::DashboardAgent"
    assert (
        command_label(["python", "default_worker.py", "--raylet-name=x"], "python") == "ray worker (starting)"
    )


def test_log_errors_counts_tracebacks_and_keeps_the_exception(tmp_path: Path) -> None:
    log = tmp_path / "replica.log"
    log.write_text(
        "INFO fine\n"
        "ERROR scoring failed\n"
        "Traceback (most recent call last):\n"
        '  File "x.py", line 1, in f\n'
        "    g()\n"
        "RuntimeError: boom\n"
        "INFO after\n"
    )
    summary = log_errors([log, tmp_path / "missing.log"])
    assert summary["tracebacks"] == 1 and summary["error_lines"] == 1
    assert "RuntimeError: boom" in summary["traceback_excerpts"][0]


def test_flagged_windows_are_kept_for_the_history_check() -> None:
    soak = Soak(SoakConfig(), "http://127.0.0.1:9", "http://127.0.0.1:9", "k", Recorder())
    windows = [
        {"first_line": 1, "last_line": 10, "anomaly": True, "pattern": "p1"},
        {"first_line": 11, "last_line": 20, "anomaly": False, "suppressed": True, "pattern": "p2"},
        {"first_line": 21, "last_line": 30, "anomaly": False},
        {"first_line": 31, "last_line": 40, "anomaly": True, "pattern": "p1"},
    ]
    answer = httpx.Response(200, json={"system": "sys-00", "model_version": "2", "windows": windows})
    soak.note_flagged(answer, {"json": {"lines": [], "stream_id": "s1"}})
    soak.note_flagged(answer, {"json": {"lines": []}})
    soak.note_flagged(httpx.Response(200, text="not json"), {})
    assert soak.flagged == {
        ("sys-00", "2", "s1", 1, 10, "p1"): 1,
        ("sys-00", "2", "s1", 31, 40, "p1"): 1,
        ("sys-00", "2", None, 1, 10, "p1"): 1,
        ("sys-00", "2", None, 31, 40, "p1"): 1,
    }
    assert soak.detection["flagged_windows"] == 4


def test_a_first_version_settles_before_detection_clients_pick_the_system() -> None:
    state = SystemState("sys-00", "payments")
    assert not state.settling()  # no model: not served at all
    state.add_version(1)
    state.set_expected("1")
    assert state.settling()  # the endpoint may still answer 409 (no active version)
    state.changed_at -= ROUTES_GRACE_S
    assert not state.settling()
    state.add_version(2)
    state.set_expected("2")  # a later version: the endpoint answers with the one before meanwhile
    assert not state.settling()

"""Sliding and session windows, on small hand-made logs and on the real shared datasets."""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import pytest
from helpers.datasets import load_nova_sample

from logsynergy.errors import ConfigError, InputError
from logsynergy.loaders import load_log
from logsynergy.records import LoadedLog, LoadReport, LogRecord
from logsynergy.systems import parse_systems
from logsynergy.windows import (
    WINDOW_SIZE,
    WINDOW_STEP,
    Window,
    WindowSettings,
    make_windows,
    session_windows,
    sliding_windows,
)


def _records(labels: list[int | None], sessions: list[str | None] | None = None) -> list[LogRecord]:
    sessions = sessions or [None] * len(labels)
    return [
        LogRecord(line_no=i + 1, message=f"m{i}", raw=f"m{i}", label=lab, session=s)
        for i, (lab, s) in enumerate(zip(labels, sessions, strict=True))
    ]


def _ids(records: list[LogRecord]) -> list[str]:
    return [f"t{r.line_no}" for r in records]


def _full_window_count(n: int, size: int = 10, step: int = 5) -> int:
    """How the dataset README counts windows: full windows only."""
    return (n - size) // step + 1


def test_window_is_frozen() -> None:
    w = Window(("a",), 0, (1,))
    assert w.session is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        w.label = 1  # type: ignore[misc]


def test_sliding_starts_and_tail() -> None:
    recs = _records([0] * 23)
    windows = sliding_windows(recs, _ids(recs), size=10, step=5)
    # starts 0, 5, 10 (full), 15 (lines 16..23: 21..23 not covered by the window at 10) → kept
    assert [w.lines[0] for w in windows] == [1, 6, 11, 16]
    assert [len(w.lines) for w in windows] == [10, 10, 10, 8]
    assert windows[1].events == tuple(f"t{i}" for i in range(6, 16))
    assert set().union(*(w.lines for w in windows)) == set(range(1, 24))


def test_sliding_no_redundant_tail() -> None:
    recs = _records([0] * 20)
    windows = sliding_windows(recs, _ids(recs), size=10, step=5)
    assert len(windows) == 3  # the window at 15 would only repeat lines of the window at 10
    short = _records([None] * 3)
    assert [w.lines for w in sliding_windows(short, _ids(short))] == [(1, 2, 3)]
    assert sliding_windows([], []) == []


def test_sliding_labels() -> None:
    recs = _records([0, 0, 1, 0, None, None, None, None, 0, None, None, None])
    windows = sliding_windows(recs, _ids(recs), size=4, step=4)
    assert [w.label for w in windows] == [1, None, 0]


def test_sliding_rejects_bad_input() -> None:
    recs = _records([0, 0])
    with pytest.raises(ValueError, match="template ids"):
        sliding_windows(recs, ["a"])
    with pytest.raises(ValueError, match="at least 1"):
        sliding_windows(recs, _ids(recs), size=0)


def test_session_windows_order_and_labels() -> None:
    recs = _records(
        [None, None, None, 1, None, 0, None],
        ["b", "a", None, "c", "b", "d", "a"],
    )
    windows = session_windows(recs, _ids(recs), {"a": 1, "b": 0, "zzz": 1})
    assert [w.session for w in windows] == ["b", "a", "c", "d"]
    assert windows[0].events == ("t1", "t5") and windows[0].lines == (1, 5)
    assert windows[1].lines == (2, 7)
    # a, b from the labels file; c by its anomalous line; d by its normal line
    assert [w.label for w in windows] == [0, 1, 1, 0]
    # without a labels file only line labels count
    assert [w.label for w in session_windows(recs, _ids(recs), None)] == [None, None, 1, 0]


def test_session_line_label_overrides_normal_session_label() -> None:
    recs = _records([None, 1], ["s", "s"])
    assert session_windows(recs, _ids(recs), {"s": 0})[0].label == 1


def test_make_windows_natural_and_override() -> None:
    recs = _records([0] * 12, ["x", "y"] * 6)
    log = LoadedLog(recs, LoadReport("mem"), "session", {"x": 1})
    natural = make_windows(log, _ids(recs))
    assert [(w.session, w.label, len(w.events)) for w in natural] == [("x", 1, 6), ("y", 0, 6)]
    sliding = make_windows(log, _ids(recs), windowing="sliding", size=6, step=6)
    assert len(sliding) == 2 and all(w.session is None for w in sliding)
    with pytest.raises(InputError, match="unknown windowing"):
        make_windows(log, _ids(recs), windowing="tumbling")
    no_sessions = LoadedLog(_records([0, 0]), LoadReport("plain.log"))
    with pytest.raises(InputError, match=r"no line of plain\.log has one"):
        make_windows(no_sessions, ["a", "b"], windowing="session")


@pytest.mark.parametrize(("size", "step"), [(10, 5), (10, 3), (10, 10), (5, 10), (7, 2), (1, 1)])
def test_declared_overlap_is_the_windows_that_share_lines(size: int, step: int) -> None:
    recs = _records([0] * 60)
    windows = sliding_windows(recs, _ids(recs), size, step)
    overlap = WindowSettings("sliding", size, step).overlap
    for i in range(len(windows) - overlap - 1):
        assert not set(windows[i].lines) & set(windows[i + overlap + 1].lines)
        if overlap:
            assert set(windows[i].lines) & set(windows[i + overlap].lines)
    assert WindowSettings("session", size, step).overlap == 0


def test_window_settings_are_checked() -> None:
    assert (WindowSettings().size, WindowSettings().step) == (WINDOW_SIZE, WINDOW_STEP)
    with pytest.raises(ValueError, match="at least 1"):
        WindowSettings("sliding", 0, 5)
    with pytest.raises(ValueError, match="unknown windowing"):
        WindowSettings("tumbling")  # type: ignore[arg-type]


def test_systems_declare_their_windowing(tmp_path: Path) -> None:
    data = {
        "systems": [
            {"name": "a", "format": "jsonl", "path": "a.jsonl"},
            {"name": "b", "format": "bgl", "path": "b.log", "window_size": 20, "window_step": 4},
            {"name": "c", "format": "hdfs", "path": "c.csv", "windowing": "sliding"},
        ]
    }
    specs = parse_systems(data, tmp_path)
    assert specs["a"].window_settings("session") == WindowSettings("session", WINDOW_SIZE, WINDOW_STEP)
    assert specs["b"].window_settings("sliding") == WindowSettings("sliding", 20, 4)
    assert specs["c"].window_settings("session").kind == "sliding", "the declared kind wins"
    for bad in ({"window_size": 0}, {"window_step": "5"}, {"window_size": True}, {"windowing": "x"}):
        entry = {"name": "d", "format": "bgl", "path": "d.log", **bad}
        with pytest.raises(ConfigError, match="window"):
            parse_systems({"systems": [entry]}, tmp_path)


# ---- real data ----------------------------------------------------------------------------------------
# The dataset README counts only full windows ((n - 10) // 5 + 1). Our sliding windows also keep a
# shorter tail window when it holds lines no earlier window covers, so a log whose length is not
# 10 + 5k has one window more. In every labelled slice that tail window is normal, so the anomalous
# counts match the README exactly.


@pytest.mark.shared
@pytest.mark.parametrize(
    ("fmt", "rel", "lines", "windows", "anomalous", "tail"),
    [
        ("bgl", "bgl/alert_slice_2005-11-21/BGL_2005-11-21_slice.log", 6389, 1276, 935, 9),
        ("bgl", "bgl/loghub_2k/BGL_2k.log", 2000, 399, 77, None),
        (
            "thunderbird",
            "thunderbird/alert_slice_2005-11-21/Thunderbird_2005-11-21_slice.log",
            7116,
            1422,
            477,
            6,
        ),
        ("bgl", "bgl/logai_first5000/BGL_5000.log", 5001, 999, 0, 6),
    ],
)
def test_sliding_counts_match_readme(
    shared_datasets: Path, fmt: str, rel: str, lines: int, windows: int, anomalous: int, tail: int | None
) -> None:
    log = load_log(fmt, shared_datasets / rel)
    assert len(log.records) == lines
    result = make_windows(log, [r.message for r in log.records])
    full = [w for w in result if len(w.lines) == 10]
    assert len(full) == windows == _full_window_count(lines)
    assert sum(w.label == 1 for w in full) == anomalous
    assert sum(w.label == 1 for w in result) == anomalous
    assert len(result) == windows + (tail is not None)
    if tail is not None:
        assert len(result[-1].lines) == tail and result[-1].label == 0
        assert result[-1].lines[-1] == lines
    assert all(w.label in (0, 1) for w in result)


@pytest.mark.shared
def test_hdfs_session_windows(shared_datasets: Path) -> None:
    folder = shared_datasets / "hdfs/loglead_2pct"
    log = load_log("hdfs", folder / "hdfs_events_2percent.csv.gz", folder / "hdfs_seqs_2percent_labels.csv")
    result = make_windows(log, [r.message[:20] for r in log.records])
    assert len(result) == 11501
    assert sum(w.label == 1 for w in result) == 350
    assert sum(len(w.events) for w in result) == 222579
    assert sum(len(w.lines) for w in result if w.label == 1) == 5749  # lines in anomalous blocks
    assert result[0].session == log.records[0].session
    assert all(a.lines[0] < b.lines[0] for a, b in itertools.pairwise(result))


@pytest.mark.shared
def test_openstack_session_windows(shared_datasets: Path) -> None:
    log = load_nova_sample(shared_datasets)
    result = make_windows(log, [r.message[:20] for r in log.records])
    assert len(result) == 1162
    labels = [w.label for w in result]
    assert labels.count(1) == 180 and labels.count(0) == 982
    # README: the anomalous instances are the last ones, from the 983rd instance on
    assert labels == [0] * 982 + [1] * 180
    assert sum(len(w.lines) for w in result if w.label == 1) == 4365

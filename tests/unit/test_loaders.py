"""Loaders on the real shared datasets and on bad input."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import pytest
from helpers.datasets import load_nova_sample

from logsynergy.errors import InputError
from logsynergy.loaders import FORMATS, load_log
from logsynergy.loaders.hdfs import parse_raw
from logsynergy.loaders.loghub import parse_bgl, parse_thunderbird
from logsynergy.loaders.openstack import parse_line

BGL_LINE = (
    "- 1117838570 2005.06.03 R02-M1-N0-C:J12-U11 2005-06-03-15.42.50.675872 R02-M1-N0-C:J12-U11 "
    "RAS KERNEL INFO instruction cache parity error corrected"
)
NOVA_LINE = (
    "INFO nova.compute.claims [req-a4498d64-47bb-491f-adde-effccaba43f0] "
    "[instance: 11760334-ac63-4cc8-9086-578422af8c99] Claim successful on node parisaserver"
)


def test_formats_tuple() -> None:
    assert FORMATS == ("bgl", "thunderbird", "spirit", "structured", "hdfs", "openstack", "jsonl")


# ---- line parsers -------------------------------------------------------------------------------------


def test_parse_bgl_line() -> None:
    assert parse_bgl(BGL_LINE) == ("instruction cache parity error corrected", 0, "1117838570")
    assert parse_bgl("KERNDTLB " + BGL_LINE[2:])[1] == 1
    assert isinstance(parse_bgl("- 1117838570 2005.06.03 too short"), str)
    assert isinstance(parse_bgl(BGL_LINE.replace("1117838570", "yesterday")), str)


def test_parse_thunderbird_line() -> None:
    line = "- 1132570797 2005.11.21 bn575 Nov 21 02:59:57 bn575/bn575 kernel: Booting processor 1/6 rip 6000"
    assert parse_thunderbird(line) == ("Booting processor 1/6 rip 6000", 0, "1132570797")
    pid = "VAPI 1132570800 2005.11.21 dn30 Nov 21 03:00:00 dn30/dn30 crond(pam_unix)[2915]: session closed"
    assert parse_thunderbird(pid) == ("session closed", 1, "1132570800")
    # lenient: a component token without ':' keeps the whole remainder
    odd = "- 1132570797 2005.11.21 bn575 Nov 21 02:59:57 bn575/bn575 syslogd 1.4.1: restart."
    assert parse_thunderbird(odd)[0] == "syslogd 1.4.1: restart."


def test_parse_hdfs_raw_line_uses_first_block() -> None:
    line = (
        "081109 204005 35 INFO dfs.FSNamesystem: BLOCK* ask 10.250.14.224:50010 to replicate "
        "blk_-1608999687919862906 to datanode(s) 10.251.215.16:50010 blk_7503483334202473044"
    )
    message, block, ts = parse_raw(line)  # type: ignore[misc]
    assert message.startswith("BLOCK* ask")
    assert block == "blk_-1608999687919862906"
    assert ts == "081109 204005"


def test_parse_openstack_both_forms() -> None:
    assert parse_line(NOVA_LINE) == (
        "Claim successful on node parisaserver",
        "11760334-ac63-4cc8-9086-578422af8c99",
        None,
    )
    loghub = (
        "nova-compute.log.1.2017-05-16_13:55:31 2017-05-16 00:00:04.500 2931 INFO nova.compute.manager "
        "[req-3ea4052c-895d-4b64-9e2d-04d64c4d94ab - - - - -] "
        "[instance: b9000564-fe1a-409b-b8cc-1e88b294cd1d] "
        "VM Resumed (Lifecycle Event)"
    )
    assert parse_line(loghub) == (
        "VM Resumed (Lifecycle Event)",
        "b9000564-fe1a-409b-b8cc-1e88b294cd1d",
        "2017-05-16 00:00:04.500",
    )
    assert parse_line("  9632 INFO oslo.privsep.daemon [-] privsep daemon starting") == (
        "privsep daemon starting",
        None,
        None,
    )
    assert parse_line("and ``live_migration_inbound_addr`` respectively.") is None


# ---- real data ----------------------------------------------------------------------------------------


@pytest.mark.shared
def test_bgl_alert_slice(shared_datasets: Path) -> None:
    log = load_log("bgl", shared_datasets / "bgl/alert_slice_2005-11-21/BGL_2005-11-21_slice.log")
    assert len(log.records) == 6389
    assert sum(r.label == 1 for r in log.records) == 3945
    assert all(r.label in (0, 1) for r in log.records)
    assert log.windowing == "sliding" and log.session_labels is None and log.labelled
    assert log.report.records == 6389 and log.report.malformed == 0
    first = log.records[0]
    assert first.line_no == 1 and first.timestamp == "1132588427"
    assert first.message == "ciod: Received signal 15, code=0, errno=0, address=0x000001b0"
    assert first.raw.startswith("- 1132588427 2005.11.21 R43-M0-N0-I:J18-U01")
    assert [r.line_no for r in log.records[:3]] == [1, 2, 3]


@pytest.mark.shared
def test_bgl_loghub_2k_and_max_lines(shared_datasets: Path) -> None:
    path = shared_datasets / "bgl/loghub_2k/BGL_2k.log"
    log = load_log("bgl", path)
    assert len(log.records) == 2000
    assert sum(r.label == 1 for r in log.records) == 143
    assert log.records[0].message == "instruction cache parity error corrected"
    head = load_log("bgl", str(path), max_lines=50)
    assert len(head.records) == 50 and head.records[-1].line_no == 50
    with pytest.raises(InputError, match="max_lines"):
        load_log("bgl", path, max_lines=0)


@pytest.mark.shared
def test_thunderbird_alert_slice(shared_datasets: Path) -> None:
    log = load_log(
        "thunderbird", shared_datasets / "thunderbird/alert_slice_2005-11-21/Thunderbird_2005-11-21_slice.log"
    )
    assert len(log.records) == 7116
    assert sum(r.label == 1 for r in log.records) == 458
    assert log.records[0].message == "Booting processor 1/6 rip 6000 rsp 100bff05f58"
    alert = next(r for r in log.records if r.label == 1)
    assert alert.raw.startswith("VAPI ")


@pytest.mark.shared
def test_spirit_format_reads_thunderbird_layout(shared_datasets: Path) -> None:
    log = load_log("spirit", shared_datasets / "thunderbird/loghub_2k/Thunderbird_2k.log")
    assert len(log.records) == 2000 and not any(r.label for r in log.records)


@pytest.mark.shared
def test_structured_bgl_2k_matches_raw(shared_datasets: Path) -> None:
    folder = shared_datasets / "bgl/loghub_2k"
    structured = load_log("structured", folder / "BGL_2k.log_structured.csv")
    raw = load_log("bgl", folder / "BGL_2k.log")
    assert len(structured.records) == 2000
    assert [r.label for r in structured.records] == [r.label for r in raw.records]
    assert [r.message for r in structured.records] == [r.message for r in raw.records]
    assert structured.records[0].timestamp == "1117838570"
    assert structured.records[0].raw.startswith("1,-,1117838570,")
    assert structured.records[-1].line_no == 2000


@pytest.mark.shared
def test_structured_without_label_column(shared_datasets: Path) -> None:
    log = load_log("structured", shared_datasets / "hdfs/loghub_2k/HDFS_2k.log_structured.csv")
    assert len(log.records) == 2000 and not log.labelled


@pytest.mark.shared
def test_hdfs_loglead_csv_gz(shared_datasets: Path) -> None:
    folder = shared_datasets / "hdfs/loglead_2pct"
    log = load_log("hdfs", folder / "hdfs_events_2percent.csv.gz", folder / "hdfs_seqs_2percent_labels.csv")
    assert len(log.records) == 222579
    assert log.windowing == "session"
    assert log.session_labels is not None
    assert len(log.session_labels) == 11501
    assert sum(log.session_labels.values()) == 350
    assert len({r.session for r in log.records}) == 11501
    first = log.records[0]
    assert first.session == "blk_4394112519745907149" and first.line_no == 1
    assert first.message.startswith("Receiving block blk_4394112519745907149 src:")
    no_labels = load_log("hdfs", folder / "hdfs_events_2percent.csv.gz", max_lines=1000)
    assert no_labels.session_labels is None and len(no_labels.records) == 1000


@pytest.mark.shared
def test_hdfs_raw_with_loghub_style_labels(shared_datasets: Path, tmp_path: Path) -> None:
    path = shared_datasets / "hdfs/loghub_2k/HDFS_2k.log"
    log = load_log("hdfs", path)
    assert len(log.records) == 2000 and log.session_labels is None
    assert log.records[0].session == "blk_38865049064139660"
    assert log.records[0].message == "PacketResponder 1 for block blk_38865049064139660 terminating"
    labels = tmp_path / "anomaly_label.csv"
    labels.write_text(
        "BlockId,Label\nblk_38865049064139660,Anomaly\nblk_-6952295868487656571,Normal\nblk_9,Anomaly\n"
    )
    labelled = load_log("hdfs", path, labels)
    assert labelled.session_labels == {"blk_38865049064139660": 1, "blk_-6952295868487656571": 0}
    assert any("have no label" in note for note in labelled.report.notes)


@pytest.mark.shared
def test_openstack_nova(shared_datasets: Path) -> None:
    log = load_nova_sample(shared_datasets)
    assert log.windowing == "session"
    assert log.session_labels is not None
    assert len(log.session_labels) == 1162
    assert sum(log.session_labels.values()) == 180
    # 25,659 physical lines (CRLF), 260 of them blank
    assert len(log.records) == 25399
    assert log.records[-1].line_no <= 25659
    without = sum(r.session is None for r in log.records) / len(log.records)
    assert 0.14 < without < 0.20
    first = log.records[0]
    assert first.message == "Claim successful on node parisaserver"
    assert first.session == "11760334-ac63-4cc8-9086-578422af8c99"
    assert not first.raw.endswith("\r")
    # the wrapped deprecation warning's continuation lines are records of their own, without a session
    cont = next(r for r in log.records if r.line_no == 20080)
    assert cont.session is None and cont.message.startswith("allow to change live migration")


@pytest.mark.shared
def test_openstack_loghub_format(shared_datasets: Path) -> None:
    log = load_log("openstack", shared_datasets / "openstack/loghub_2k/OpenStack_2k.log")
    assert len(log.records) == 2000 and log.report.malformed == 0
    assert log.records[0].timestamp == "2017-05-16 00:00:00.008"
    assert log.records[0].message.startswith('10.11.10.1 "GET /v2/')
    assert sum(r.session is not None for r in log.records) == 535
    assert len({r.session for r in log.records if r.session}) == 22


# ---- jsonl --------------------------------------------------------------------------------------------


def _write_jsonl(path: Path, objects: list[object]) -> Path:
    path.write_text("\n".join(o if isinstance(o, str) else json.dumps(o) for o in objects) + "\n")
    return path


def test_jsonl_sessions_and_labels(tmp_path: Path) -> None:
    path = _write_jsonl(
        tmp_path / "a.jsonl",
        [
            {"message": "start", "session": "s1", "label": 0, "timestamp": 17},
            {"message": "boom", "session": "s2", "label": True},
            {"message": "end", "session": "s1"},
        ],
    )
    log = load_log("jsonl", path)
    assert log.windowing == "session"
    assert [r.label for r in log.records] == [0, 1, None]
    assert [r.session for r in log.records] == ["s1", "s2", "s1"]
    assert log.records[0].timestamp == "17" and log.records[2].line_no == 3
    assert log.records[1].raw == json.dumps({"message": "boom", "session": "s2", "label": True})


def test_jsonl_malformed_lines_counted_and_gzip(tmp_path: Path) -> None:
    good = [{"message": f"event {i}"} for i in range(6)]
    bad = ["not json", "[1, 2]", {"message": 3}, {"message": "x", "label": 2}]
    path = _write_jsonl(tmp_path / "b.jsonl", [*good[:3], *bad, *good[3:], ""])
    log = load_log("jsonl", path)
    assert len(log.records) == 6 and log.report.malformed == 4
    assert log.windowing == "sliding"  # no sessions
    assert log.report.malformed_examples[0].startswith("line 4: not JSON")
    assert [r.line_no for r in log.records] == [1, 2, 3, 8, 9, 10]
    gz = tmp_path / "b.jsonl.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    assert [r.message for r in load_log("jsonl", gz).records] == [r.message for r in log.records]


def test_jsonl_mostly_malformed_is_an_error(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "c.jsonl", [{"message": "ok"}, "oops", "nope", '{"msg": "x"}'])
    with pytest.raises(InputError, match="does not look like a jsonl log: 3 of 4 lines"):
        load_log("jsonl", path)


def test_jsonl_rejects_labels_file(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "d.jsonl", [{"message": "ok"}])
    labels = tmp_path / "labels.csv"
    labels.write_text("BlockId,Label\nx,Normal\n")
    with pytest.raises(InputError, match="carry their labels"):
        load_log("jsonl", path, labels)


# ---- bad input ----------------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"log file not found: .*nope\.log"):
        load_log("bgl", tmp_path / "nope.log")


def test_unknown_format_lists_known(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"unknown log format 'syslog'.*bgl, thunderbird, spirit"):
        load_log("syslog", tmp_path / "x.log")


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a directory"):
        load_log("hdfs", tmp_path)


def test_empty_and_blank_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.log"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match=r"empty\.log is empty"):
        load_log("bgl", empty)
    blank = tmp_path / "blank.log"
    blank.write_text("\n   \n\n")
    with pytest.raises(InputError, match="is empty"):
        load_log("jsonl", blank)
    empty_gz = tmp_path / "empty.log.gz"
    empty_gz.write_bytes(gzip.compress(b""))
    with pytest.raises(InputError, match="is empty"):
        load_log("bgl", empty_gz)


def test_binary_garbage(tmp_path: Path) -> None:
    rng = random.Random(7)
    with_nul = tmp_path / "nul.bin"
    with_nul.write_bytes(bytes(rng.randrange(256) for _ in range(4096)))
    with pytest.raises(InputError, match="binary"):
        load_log("bgl", with_nul)
    no_nul = tmp_path / "garbage.log"
    no_nul.write_bytes(bytes(rng.randrange(128, 256) for _ in range(4096)))
    with pytest.raises(InputError, match="binary"):
        load_log("openstack", no_nul)
    not_gzip = tmp_path / "fake.csv.gz"
    not_gzip.write_text("date,time\n")
    with pytest.raises(InputError, match="not a valid gzip file"):
        load_log("hdfs", not_gzip)


def test_nul_line_inside_text_is_malformed(tmp_path: Path) -> None:
    lines = [BGL_LINE] * 600 + ["- 1117838570 \x00\x00 broken"] + [BGL_LINE] * 10
    path = tmp_path / "bgl.log"
    path.write_bytes("\n".join(lines).encode() + b"\n")
    log = load_log("bgl", path)
    assert len(log.records) == 610 and log.report.malformed == 1
    assert log.report.malformed_examples == ["line 601: binary data (NUL bytes)"]


def test_wrong_format_nothing_usable(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    path.write_text("hello world\nsomething else happened\n")
    with pytest.raises(InputError, match=r"no usable bgl records .* all 2 lines are malformed"):
        load_log("bgl", path)
    with pytest.raises(InputError, match="does not look like an OpenStack log"):
        load_log("openstack", path)


def test_labels_missing_or_matching_nothing(tmp_path: Path) -> None:
    log_path = tmp_path / "nova.log"
    log_path.write_text(NOVA_LINE + "\n")
    with pytest.raises(InputError, match="labels file not found"):
        load_log("openstack", log_path, tmp_path / "absent.csv")
    labels = tmp_path / "labels.csv"
    labels.write_text("BlockId,Label\ninstance: 00000000-0000-0000-0000-000000000000,Anomaly\n")
    with pytest.raises(InputError, match="matches no session"):
        load_log("openstack", log_path, labels)
    no_label_col = tmp_path / "ids.csv"
    no_label_col.write_text("BlockId,Kind\nx,y\n")
    with pytest.raises(InputError, match="no label column"):
        load_log("openstack", log_path, no_label_col)
    good = tmp_path / "good.csv"
    good.write_text("BlockId,Label\ninstance: 11760334-ac63-4cc8-9086-578422af8c99,Anomaly\n")
    assert load_log("openstack", log_path, good).session_labels == {"11760334-ac63-4cc8-9086-578422af8c99": 1}


def test_structured_csv_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "mine.csv"
    path.write_text(
        'LineId,Label,Content\n1,-,"disk ok"\n2,ALERT,"disk, failed"\n3,only-two\n\n4,,"multi\nline"\n'
    )
    log = load_log("structured", path)
    assert [r.message for r in log.records] == ["disk ok", "disk, failed", "multi\nline"]
    assert [r.label for r in log.records] == [0, 1, None]
    assert [r.line_no for r in log.records] == [1, 2, 4]
    assert log.records[2].raw == '4,,"multi\nline"'
    assert log.report.malformed == 1
    no_content = tmp_path / "other.csv"
    no_content.write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match="no Content column"):
        load_log("structured", no_content)

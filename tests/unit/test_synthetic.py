"""The synthetic multi-system log generator."""

from __future__ import annotations

import json
import re
import time
from collections import defaultdict
from datetime import datetime
from functools import cache
from itertools import pairwise

import pytest
import yaml

from logsynergy.errors import InputError
from logsynergy.synthetic import (
    CONCEPTS,
    DIALECTS,
    SYSTEMS,
    fault_templates,
    generate_system,
    normal_templates,
    write_demo_systems,
    write_jsonl,
)

NAMES = list(SYSTEMS)


@cache
def _regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{[^{}]*\}", template)
    return re.compile(".+?".join(re.escape(p) for p in parts) + r"\Z")


def _matches(message: str, templates: list[str]) -> bool:
    return any(_regex(t).match(message) for t in templates)


def _abnormal_templates(name: str) -> list[str]:
    return [t for ts in fault_templates(name).values() for t in ts] + list(DIALECTS[name].precursors.values())


def _words(messages) -> set[str]:
    return {w for m in messages for w in re.findall(r"[a-z]{3,}", re.sub(r"\{[^{}]*\}", " ", m).lower())}


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b)


def test_systems_cover_the_four_dialects_with_descriptions():
    assert set(SYSTEMS) == {"storage", "compute", "cloud", "payments"}
    assert all(isinstance(d, str) and len(d) > 20 and "\n" not in d for d in SYSTEMS.values())


@pytest.mark.parametrize("name", NAMES)
def test_event_kind_counts_and_shared_concepts(name):
    assert 15 <= len(normal_templates(name)) <= 40
    faults = fault_templates(name)
    assert 5 <= sum(len(t) for t in faults.values()) <= 10
    assert set(faults) <= set(CONCEPTS)
    assert len(faults) >= 5
    assert "crash_restart" in faults


@pytest.mark.parametrize("name", NAMES)
def test_deterministic_per_seed(name):
    a = generate_system(name, 2000, seed=7)
    assert a == generate_system(name, 2000, seed=7)
    assert [r["message"] for r in a] != [r["message"] for r in generate_system(name, 2000, seed=8)]
    s = generate_system(name, 2000, seed=7, sessions=True)
    assert s == generate_system(name, 2000, seed=7, sessions=True)


def test_systems_differ_for_the_same_seed():
    msgs = {name: _words(r["message"] for r in generate_system(name, 500, seed=1)) for name in NAMES}
    assert msgs["storage"] != msgs["cloud"]


def test_global_random_state_is_not_used():
    import random

    random.seed(1)
    a = generate_system("storage", 300, seed=3)
    random.seed(2)
    assert a == generate_system("storage", 300, seed=3)


@pytest.mark.parametrize("name", NAMES)
def test_records_are_well_formed_and_labels_match_templates(name):
    recs = generate_system(name, 5000, seed=2)
    assert len(recs) == 5000
    normal, abnormal = normal_templates(name), _abnormal_templates(name)
    stamps = [datetime.fromisoformat(r["timestamp"]) for r in recs]
    assert stamps == sorted(stamps)
    for r in recs:
        assert set(r) == {"message", "label", "timestamp"}
        assert r["label"] in (0, 1)
        assert "{" not in r["message"] and "}" not in r["message"], r["message"]
        assert _matches(r["message"], abnormal if r["label"] else normal), r
    assert {0, 1} == {r["label"] for r in recs}


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("rate", [0.01, 0.03, 0.1])
def test_label_rate_follows_anomaly_rate(name, rate):
    recs = generate_system(name, 10000, seed=5, anomaly_rate=rate)
    assert abs(sum(r["label"] for r in recs) / len(recs) - rate) < 0.002


def test_zero_rate_and_zero_lines():
    assert all(r["label"] == 0 for r in generate_system("cloud", 3000, anomaly_rate=0.0))
    assert generate_system("cloud", 0) == []
    assert all(r["label"] == 1 for r in generate_system("cloud", 50, anomaly_rate=1.0))


@pytest.mark.parametrize("name", NAMES)
def test_anomalies_come_in_incidents(name):
    recs = generate_system(name, 20000, seed=4, anomaly_rate=0.03)
    idx = [i for i, r in enumerate(recs) if r["label"]]
    gaps = [b - a for a, b in pairwise(idx)]
    # uniformly scattered faults at 3% would be ~33 lines apart; incidents keep them a few lines apart
    assert sorted(gaps)[len(gaps) // 2] <= 3
    incidents = 1 + sum(g > 5 for g in gaps)
    assert len(idx) / incidents >= 2.5
    assert incidents >= 50
    # an incident is about one thing: consecutive close fault lines mostly share their concept
    concept_of = {t: c for c, ts in fault_templates(name).items() for t in ts}
    concept_of.update({t: c for c, t in DIALECTS[name].precursors.items()})

    def concept(msg):
        return next(c for t, c in concept_of.items() if _regex(t).match(msg))

    close = [(a, b) for a, b in pairwise(idx) if b - a <= 3]
    same = sum(concept(recs[a]["message"]) == concept(recs[b]["message"]) for a, b in close)
    assert same / len(close) > 0.7


def test_fault_wording_differs_across_systems():
    words = {n: _words(t for ts in fault_templates(n).values() for t in ts) for n in NAMES}
    for a in NAMES:
        for b in NAMES:
            if a < b:
                assert _jaccard(words[a], words[b]) < 0.12, (a, b)
    # per concept, the same fault is worded differently in every pair of systems
    for concept in CONCEPTS:
        per = {n: _words(fault_templates(n).get(concept, ())) for n in NAMES}
        for a in NAMES:
            for b in NAMES:
                if a < b and per[a] and per[b]:
                    assert _jaccard(per[a], per[b]) < 0.25, (concept, a, b)


def test_generated_fault_lines_share_few_words_between_storage_and_cloud():
    faults = {
        n: _words(re.sub(r"\S*\d\S*", " ", r["message"]) for r in generate_system(n, 20000) if r["label"])
        for n in ("storage", "cloud")
    }
    assert _jaccard(faults["storage"], faults["cloud"]) < 0.12


@pytest.mark.parametrize("name", NAMES)
def test_sessions_mode_labels_whole_sessions(name):
    recs = generate_system(name, 20000, seed=3, anomaly_rate=0.05, sessions=True)
    abnormal = _abnormal_templates(name)
    by_session: dict[str, list[dict]] = defaultdict(list)
    for r in recs:
        assert set(r) == {"message", "label", "timestamp", "session"}
        assert isinstance(r["session"], str) and r["session"]
        by_session[r["session"]].append(r)
    assert len(by_session) > 1000
    n_bad = 0
    for lines in by_session.values():
        labels = {r["label"] for r in lines}
        assert len(labels) == 1  # a session is anomalous or not as a whole
        has_fault = any(_matches(r["message"], abnormal) for r in lines)
        assert has_fault == (labels == {1})
        n_bad += labels == {1}
    assert abs(n_bad / len(by_session) - 0.05) < 0.015


def test_sessions_ids_appear_in_messages_where_the_dialect_names_them():
    recs = generate_system("storage", 3000, seed=0, sessions=True)
    with_blk = [r for r in recs if "blk_" in r["message"]]
    assert len(with_blk) > len(recs) // 2
    assert all(r["session"] in r["message"] for r in with_blk)


def test_unknown_system_and_bad_arguments_raise_input_error():
    with pytest.raises(InputError) as err:
        generate_system("mainframe", 10)
    assert all(n in str(err.value) for n in NAMES)
    with pytest.raises(InputError):
        generate_system("storage", 10, anomaly_rate=1.5)
    with pytest.raises(InputError):
        generate_system("storage", -1)
    with pytest.raises(InputError):
        fault_templates("mainframe")


def test_write_jsonl_round_trips(tmp_path):
    recs = generate_system("payments", 100, sessions=True)
    path = write_jsonl(recs, tmp_path / "sub" / "p.jsonl")
    assert path.is_file()
    assert [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] == recs


def test_write_demo_systems(tmp_path):
    manifest = write_demo_systems(tmp_path / "demo", n_lines=400, seed=1)
    assert manifest == tmp_path / "demo" / "systems.yaml"
    doc = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    entries = doc["systems"]
    assert [e["name"] for e in entries] == NAMES
    for e in entries:
        assert e["format"] == "jsonl"
        assert e["description"] == SYSTEMS[e["name"]]
        assert e["path"] == f"{e['name']}.jsonl"
        lines = (manifest.parent / e["path"]).read_text(encoding="utf-8").splitlines()
        recs = [json.loads(line) for line in lines]
        assert len(recs) == 400
        assert recs == generate_system(e["name"], 400, seed=1)


def test_fast_enough():
    start = time.perf_counter()
    for name in NAMES:
        generate_system(name, 20000)
    assert time.perf_counter() - start < 4 * 1.5

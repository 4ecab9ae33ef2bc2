from pathlib import Path

from logsynergy.loaders import load_log
from logsynergy.parsing import LogParser
from logsynergy.templates import template_id


def test_template_ids_are_hashes_of_final_template_text():
    messages = [f"Receiving block blk_{i} src: /10.0.0.{i % 9}:5000 dest: /10.0.0.1:50010" for i in range(50)]
    messages += [f"PacketResponder {i % 3} for block blk_{i} terminating" for i in range(50)]
    parser = LogParser()
    ids = parser.fit(messages)
    assert len(parser.templates) == 2
    for tid in set(ids):
        assert tid == template_id(parser.templates[tid].text)
        assert "<*>" in parser.templates[tid].text
    assert sum(t.count for t in parser.templates.values()) == 100


def test_ids_are_stable_across_runs_and_reload(tmp_path: Path, shared_datasets: Path):
    log = load_log("bgl", shared_datasets / "bgl/loghub_2k/BGL_2k.log")
    messages = [r.message for r in log.records]
    first, second = LogParser(), LogParser()
    ids = first.fit(messages)
    assert second.fit(messages) == ids
    assert 50 < len(first.templates) < 400
    first.save(tmp_path / "parser")
    reloaded = LogParser.load(tmp_path / "parser")
    result = reloaded.assign(messages)
    assert result.template_ids == ids
    assert not result.new_templates


def test_unseen_messages_become_new_templates_without_changing_known_ones(shared_datasets: Path):
    log = load_log("bgl", shared_datasets / "bgl/loghub_2k/BGL_2k.log")
    parser = LogParser()
    parser.fit([r.message for r in log.records])
    before = {k: v.text for k, v in parser.templates.items()}
    result = parser.assign(["totally novel subsystem exploded at sector 7", log.records[0].message])
    assert len(result.new_templates) == 1
    new_id = next(iter(result.new_templates))
    assert parser.template(new_id).text == "totally novel subsystem exploded at sector <*>"
    assert result.template_ids[1] in parser.templates
    assert {k: v.text for k, v in parser.templates.items()} == before


def test_examples_are_real_lines_of_their_template():
    messages = ["user alice logged in from 10.1.1.1", "user bob logged in from 10.1.1.2", "disk sda1 full"]
    parser = LogParser()
    parser.fit(messages)
    examples = {t.example for t in parser.templates.values()}
    assert examples <= set(messages)

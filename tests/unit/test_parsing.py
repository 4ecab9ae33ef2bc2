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


def _reference_ids(parser: LogParser, messages: list[str]) -> list[str]:
    """What `assign` returned before its caches: drain3's masker and `TemplateMiner.match`, uncached."""
    from drain3.masking import LogMasker, MaskingInstruction

    masker = LogMasker([MaskingInstruction(p, "*") for p in parser.masks], "<", ">")
    ids = []
    for message in messages:
        masked = masker.mask(message)
        cluster = parser.miner.drain.match(masked, full_search_strategy="fallback")
        if cluster is not None:
            ids.append(parser._cluster_to_id[cluster.cluster_id])
        else:
            text = " ".join("<*>" if any(c.isdigit() for c in t) else t for t in masked.split())
            ids.append(template_id(text))
    return ids


def _perturbed(messages: list[str], seed: int) -> list[str]:
    """Fresh variants: digits and letters swapped inside tokens, tokens dropped or duplicated."""
    import random

    rng = random.Random(seed)
    out = []
    for message in messages:
        tokens = message.split()
        for i, token in enumerate(tokens):
            roll = rng.random()
            if roll < 0.3:
                tokens[i] = "".join(rng.choice("0123456789") if c.isdigit() else c for c in token)
            elif roll < 0.35:
                tokens[i] = token + rng.choice(["7", "x", "_a1"])
        if tokens and rng.random() < 0.1:
            tokens.pop(rng.randrange(len(tokens)))
        out.append(" ".join(tokens))
    return out


def test_cached_assign_matches_uncached_drain(shared_datasets: Path):
    for fmt, path in [("bgl", "bgl/loghub_2k/BGL_2k.log"), ("hdfs", "hdfs/loghub_2k/HDFS_2k.log")]:
        messages = [r.message for r in load_log(fmt, shared_datasets / path).records]
        parser = LogParser()
        parser.fit(messages[:1500])
        fresh = messages[1500:] + _perturbed(messages, seed=1) + _perturbed(messages, seed=2)
        assert parser.assign(fresh).template_ids == _reference_ids(parser, fresh)
        assert parser.assign(fresh).template_ids == _reference_ids(parser, fresh)  # from the caches


def test_tokens_kept_literally_in_a_template_still_decide_the_match():
    parser = LogParser()
    parser.fit(["job rid=abc123 done", "disk sda1 full", "disk sdb2 full"])
    messages = ["job rid=abc123 done", "job rid=abc124 done", "disk sdc9 full", "job rid=abc123 done x"]
    result = parser.assign(messages)
    assert result.template_ids == _reference_ids(parser, messages)
    assert result.template_ids[0] in parser.templates and result.template_ids[2] in parser.templates
    assert result.template_ids[1] in result.new_templates
    assert parser.template(result.template_ids[1]).example == "job rid=abc124 done"

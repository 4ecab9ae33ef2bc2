"""LEI without a network: offline sentences, answer validation, the store, and importing real
externally written interpretations onto our templates."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from logsynergy.errors import ArtifactError, InputError
from logsynergy.interpret import (
    FormatProblem,
    InterpretationStore,
    OfflineInterpreter,
    WildcardPattern,
    clean_interpretation,
    interpret_offline,
    make_interpreter,
    messages_for,
)
from logsynergy.interpret.matching import ImportedEntry, match_imported
from logsynergy.interpret.store import Interpretation
from logsynergy.templates import SystemContext, Template, template_id

SYSTEM = SystemContext("bgl", "IBM BlueGene/L supercomputer")


def tpl(text: str, example: str = "") -> Template:
    return Template(template_id(text), text, example)


# -- offline ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("<*> ddr errors(s) detected and corrected on rank <*>, symbol <*>, bit <*>",
         "Memory errors detected and corrected on rank symbol bit."),
        ("ciod: LOGIN chdir(<*>) failed: No such file or directory",
         "Ciod login chdir failed no such file or directory."),
        ("Receiving block blk_<*> src: /<*> dest: /<*>", "Receiving block source destination."),
        ("[instance: 3edec1e4-9678-4a3a-a21b-a145a4ee5e61] VM Started (Lifecycle Event)",
         "Instance virtual machine started lifecycle event."),
        ("org.apache.hadoop.hdfs.server.datanode.DataNode: conn refused by 10.0.0.1:50010 at 0x1f",
         "Data node connection refused."),
        ("MailboxMonitor::serviceMailboxes() lib_ido_error: -1114 unexpected socket error",
         "Mailbox monitor service mailboxes lib ido error unexpected socket error."),
        ("BGLERR_IDO_PKT_TIMEOUT connection lost to node/link/service card",
         "Bglerr ido packet timeout connection lost to node link service card."),
        ("failed to open /var/log/app.log for user@example.com via https://x.org/a?b=1",
         "Failed to open for via."),
    ],
)  # fmt: skip
def test_offline_sentences(template, expected):
    assert interpret_offline(template) == expected


def test_offline_is_one_capped_sentence_and_never_empty():
    long = " ".join(f"word{c}" for c in "abcdefghijklmnopqrstuvwxyz") + " " + " ".join(["alpha"] * 3)
    sentence = interpret_offline("Alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi "
                                 "omicron pi rho sigma " + long)  # fmt: skip
    assert len(sentence.split()) == 16 and sentence.endswith(".") and sentence[0].isupper()
    assert interpret_offline("<*>:<*> <*>:<*>") == "Log event."
    assert interpret_offline("<*> <*>", example="kernel panic 0x12") == "Kernel panic."
    assert clean_interpretation(interpret_offline("Some Thing happened")) == "Some thing happened."


def test_offline_interpreter_maps_ids_and_names_nothing_system_specific():
    templates = [tpl("instruction cache parity error corrected"), tpl("generating core.<*>")]
    out = OfflineInterpreter().interpret(templates, SYSTEM)
    assert out == {
        templates[0].id: "Instruction cache parity error corrected.",
        templates[1].id: "Generating core.",
    }
    assert make_interpreter("offline").name == "offline"


# -- prompt and validation -------------------------------------------------------------------------


def test_prompt_follows_fig2():
    template = tpl("ciod: failed to read message prefix on <*>", "ciod: failed to read message prefix on x")
    messages = messages_for(template, SystemContext("bgl", "a supercomputer"))
    prompt = messages[-1]["content"]
    for part in ('"bgl"', "a supercomputer", "16 words", "single sentence", "stability", template.example):
        assert part in prompt
    again = messages_for(template, SYSTEM, previous="A. B.", problem="2 sentences instead of one")
    assert [m["role"] for m in again] == ["system", "user", "assistant", "user"]
    assert "2 sentences" in again[-1]["content"]


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("Disk failure detected on a storage node.", "Disk failure detected on a storage node."),
        ('  "disk failure detected"  ', "Disk failure detected."),
        ("1. Disk failure detected, e.g. on a node!", "Disk failure detected, e.g. on a node!"),
        ("Interpretation: Version 2.5 of the driver loaded.", "Version 2.5 of the driver loaded."),
        ("```\nNetwork link down; jobs may fail.\n```", "Network link down; jobs may fail."),
    ],
)
def test_clean_accepts_one_sentence(answer, expected):
    assert clean_interpretation(answer) == expected


@pytest.mark.parametrize(
    "answer",
    [None, "", "   ", "One. Two.", "Line one\nLine two", " ".join(["word"] * 17) + ".", "1. 2."],
)
def test_clean_rejects(answer):
    with pytest.raises(FormatProblem):
        clean_interpretation(answer)


# -- wildcard patterns and matching ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "message", "matches"),
    [
        ("CE sym <*> at <*> mask <*>", "CE sym 2, at 0x0b85eee0, mask 0x05", True),
        ("<*> TLB error interrupt", "data TLB error interrupt", True),
        ("<*> TLB error interrupt", "TLB error interrupt", True),
        ("generating <*>", "generating", True),
        ("a <*> b", "a   b", True),
        ("a <*> b", "ab", False),
        ("x <*> y", "x 1 y z", False),
        ("force load/store alignment......<*>", "force load/store alignment......0", True),
        ("(a+b) [c] <*>", "(a+b) [c] ?*", True),
    ],
)
def test_wildcard_pattern(pattern, message, matches):
    assert WildcardPattern(pattern).matches(message) is matches


def test_matching_rules_and_precedence():
    ours = [
        tpl("node <*> up", "node 7 up"),  # exact text
        tpl("disk <*> failed on host<*>", "disk sda failed on host3"),  # example, most literal wins
        tpl("fan <*> slow"),  # no example: imported pattern vs our text
        tpl("kernel <*> panic", "kernel 1 panic"),  # reverse: our pattern vs their example
        tpl("totally new <*>", "totally new 1"),
    ]
    imported = [
        ImportedEntry("node <*> up", "Node came up."),
        ImportedEntry("disk <*>", "Disk event."),
        ImportedEntry("disk <*> failed on <*>", "Disk failed."),
        ImportedEntry("fan <*>", "Fan event."),
        ImportedEntry("kernel oops <*>", "Kernel problem.", example="kernel oops panic"),
        ImportedEntry("<*>", "Anything."),
        ImportedEntry("unrelated <*>", "Unrelated."),
    ]
    result = match_imported(ours, imported)
    got = {m.ours.text: (m.entry.interpretation, m.rule) for m in result.matches.values()}
    assert got == {
        "node <*> up": ("Node came up.", "id"),
        "disk <*> failed on host<*>": ("Disk failed.", "example"),
        "fan <*> slow": ("Fan event.", "template"),
        "kernel <*> panic": ("Kernel problem.", "reverse"),
    }
    assert [t.text for t in result.unmatched] == ["totally new <*>"]
    assert {e.template for e in result.unused} == {"disk <*>", "<*>", "unrelated <*>"}


# -- store ------------------------------------------------------------------------------------------


class CountingInterpreter(OfflineInterpreter):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def interpret(self, templates, system):
        self.seen.extend(t.id for t in templates)
        return super().interpret(templates, system)


def test_store_interprets_only_what_is_missing_and_keeps_reviews(tmp_path: Path):
    a, b, c = tpl("alpha <*> started", "alpha 1 started"), tpl("beta stopped"), tpl("gamma err")
    store = InterpretationStore()
    interpreter = CountingInterpreter()
    assert store.ensure([a, b, a], SYSTEM, interpreter) == {
        a.id: "Alpha started.",
        b.id: "Beta stopped.",
    }
    assert store.missing([a, b, c]) == [c]
    store.edit(b.id, "  The beta service stopped;  check it. ")
    texts = store.ensure([a, b, c], SYSTEM, interpreter)
    assert interpreter.seen == [a.id, b.id, c.id]
    assert texts[b.id] == "The beta service stopped; check it." and texts[c.id] == "Gamma error."
    assert store.get(b.id).reviewed and store.get(b.id).provider == "offline"
    assert len(store) == 3 and [e.template_id for e in store] == [a.id, b.id, c.id]
    with pytest.raises(InputError):
        store.edit("nope", "x")
    with pytest.raises(InputError):
        store.edit(a.id, "   ")

    for name in ("store.jsonl", "store.json", "artifact_dir"):
        path = store.save(tmp_path / name)
        loaded = InterpretationStore.load(tmp_path / name)
        assert [e.to_json() for e in loaded] == [e.to_json() for e in store], path
    assert (tmp_path / "artifact_dir" / "interpretations.jsonl").is_file()
    with pytest.raises(ArtifactError):
        InterpretationStore.load(tmp_path / "missing")

    store.regenerate([b], SYSTEM, interpreter)
    assert store.get(b.id).text == "Beta stopped." and not store.get(b.id).reviewed


def test_export_then_import_round_trip(tmp_path: Path):
    a, b = tpl("alpha <*>", "alpha 1"), tpl("beta")
    store = InterpretationStore([Interpretation(a.id, a.text, a.example, "Alpha happened.", "openai")])
    store.put(Interpretation(b.id, b.text, b.example, "Beta happened.", "offline", reviewed=True))
    path = store.export_jsonl(tmp_path / "out.jsonl")
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert set(rows[0]) == {"template_id", "template", "example", "interpretation", "provider", "reviewed"}

    fresh = InterpretationStore()
    result = fresh.import_jsonl(path)
    assert result.matched == 2 and fresh.get(b.id).reviewed and fresh.get(a.id).provider == "imported"

    target = InterpretationStore([Interpretation(a.id, a.text, "", "Operator wording.", "openai", True)])
    result = target.import_jsonl(path, [a, b, tpl("gamma")])
    assert (result.matched, result.unmatched_ours, result.unused_imported, result.kept_reviewed) == (
        1,
        1,
        0,
        1,
    )
    assert target.get(a.id).text == "Operator wording." and target.get(b.id).text == "Beta happened."


def test_import_errors_name_the_file(tmp_path: Path):
    with pytest.raises(InputError, match="not found"):
        InterpretationStore().import_jsonl(tmp_path / "none.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"template": "a", "interpretation": "A."}\n{oops\n')
    with pytest.raises(InputError, match=r"bad\.jsonl:2"):
        InterpretationStore().import_jsonl(bad)
    partial = tmp_path / "partial.jsonl"
    partial.write_text('{"template": "a", "interpretation": "A."}\n{"template": "b"}\n')
    assert InterpretationStore().import_jsonl(partial).invalid == 1


# -- real data: Loghub BGL templates and the shared interpretations --------------------------------


def _bgl_rows(shared_datasets: Path) -> list[dict[str, str]]:
    with open(shared_datasets / "bgl/loghub_2k/BGL_2k.log_structured.csv", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.shared
def test_import_bgl_maps_real_lines_to_the_right_sentences(shared_datasets, shared_interpretations):
    rows = _bgl_rows(shared_datasets)

    def example(startswith: str) -> str:
        return next(r["Content"] for r in rows if r["Content"].startswith(startswith))

    # Our templates, written as a drain3 parse would (not Loghub's text), with real example lines.
    ours = {
        "ce": tpl("CE sym <*>, at <*>, mask <*>", example("CE sym")),
        "ddr": tpl("<*> ddr errors(s) detected and corrected on rank <*>, symbol <*>, bit <*>",
                   example("1 ddr errors(s) detected and corrected on rank")),
        "core": tpl("generating core.<*>", example("generating core.")),
        "tlb": tpl("data TLB error interrupt", example("data TLB error interrupt")),
        "parity": tpl("instruction cache parity error corrected", example("instruction cache parity")),
        "ciod": tpl("ciod: failed to read message prefix on control stream (CioStream socket to <*>:<*>",
                    example("ciod: failed to read message prefix on control stream")),
        "new": tpl("made up event <*> never seen", "made up event 1 never seen"),
    }  # fmt: skip
    sentences = {
        json.loads(line)["template"]: json.loads(line)["interpretation"]
        for line in (shared_interpretations / "bgl.jsonl").read_text().splitlines()
    }
    expected = {
        "ce": sentences["CE sym <*> at <*> mask <*>"],
        "ddr": sentences["<*> ddr errors(s) detected and corrected on rank <*> symbol <*>, bit <*>"],
        "core": sentences["generating <*>"],
        "tlb": sentences["<*> TLB error interrupt"],
        "parity": sentences["instruction cache parity error corrected"],
        "ciod": sentences["ciod: failed to read message prefix on control stream (CioStream socket to <*>"],
    }
    store = InterpretationStore()
    result = store.import_jsonl(shared_interpretations / "bgl.jsonl", list(ours.values()))
    for key, sentence in expected.items():
        entry = store.get(ours[key].id)
        assert entry is not None and entry.text == sentence, key
        assert entry.provider == "imported" and entry.template == ours[key].text
    assert result.unmatched_ids == [ours["new"].id]
    assert result.matched == 6 and result.unused_imported == 377 - 6


@pytest.mark.shared
def test_import_bgl_covers_the_loghub_2k_templates(shared_datasets, shared_interpretations):
    examples: dict[str, str] = {}
    for row in _bgl_rows(shared_datasets):
        examples.setdefault(row["EventTemplate"], row["Content"])
    ours = [tpl(text, content) for text, content in examples.items()]
    result = InterpretationStore().import_jsonl(shared_interpretations / "bgl.jsonl", ours)
    assert len(ours) == 120
    assert result.match_rate > 0.95, result.as_dict()

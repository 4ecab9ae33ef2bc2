import random
from pathlib import Path

import pytest
from drain3.masking import LogMasker, MaskingInstruction

from logsynergy.loaders import load_log
from logsynergy.masking import DEFAULT_MASKS, GuardedMasker

TRICKY = [
    "",
    "no digits at all here",
    "aa:bb:cc:dd:ee:ff and AA:BB:CC:DD:EE:F0 mac without digits",
    "deadbeefdeadbeef deadbeefdeadbee x_deadbeefdeadbeefdead",
    "instance-abcdefab instance-0000002a instance-xyz",
    "0XFF 0x1g 0x 10x20 a0xff",
    "blk_-1608999687919862906 blk_38 blk_ blk_-",
    "2024-06-03 00:50:00.123+02:00 2024-06-03T00:50:00Z 2024-06-03T00:50",
    "req-a4498d64-47bb-491f-adde-effccaba43f0 req-12 req-abcdef12",
    "11760334-ac63-4cc8-9086-578422af8c99 a-b-c-d-e",
    "from /10.0.0.1:5000 to 10.251.42.84 and 1.2.3 and 1.2.3.4.5",
    "amount=42.98 -7 +3 1.2.3 v2 x.5 5. 3e4 ٣٤ ١٢٣٤-٠٥-٠٦",
    "already <*> masked <*>:<*> 12<*>34",
    "rid=f84ea913c8c8 ch_4201df770d7e045a user=svc_etl (2/20 in use)",
    "mac aa:bb:cc:dd:ee:ff",
    "mac 00:1b:44:11:3a:b7",
    "ip 10.0.0.1",
    "to /10.0.0.1:5000",
    "uuid abcdefab-abcd-abcd-abcd-abcdefabcdef",
    "at 2024-06-03 00:50:00",
    "  two  spaces 12  3 ",
    "tab\t12\t0x1f and 10.0.0.1\t5",
    "x 12:30 y-z",
]


def drain3_masker(masks=DEFAULT_MASKS, mask_with="*") -> LogMasker:
    return LogMasker([MaskingInstruction(p, mask_with) for p in masks], "<", ">")


def guarded(masks=DEFAULT_MASKS, mask_with="*") -> GuardedMasker:
    return GuardedMasker([MaskingInstruction(p, mask_with) for p in masks], "<", ">")


def fuzz(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    pieces = [*"0123456789abcdefxXg-:._/ +=<*>", "req-", "blk_", "instance-", " ", "٣", "T"]
    return ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 60))) for _ in range(n)]


def shaped(n: int, seed: int) -> list[str]:
    """Near-misses of every mask: hex/digit groups of random lengths, separators and prefixes."""
    rng = random.Random(seed)
    alphabets = ["0123456789", "abcdef", "0123456789abcdefABCDEF", "xyz"]
    prefixes = ["", "", "req-", "blk_", "blk_-", "instance-", "0x", "0X", "/", "-", "+", "a", "_", "."]
    texts = []
    for _ in range(n):
        tokens = []
        for _ in range(rng.randint(1, 4)):
            sep = rng.choice("-:. T")
            groups = [
                "".join(rng.choice(rng.choice(alphabets)) for _ in range(rng.randint(1, 17)))
                for _ in range(rng.randint(1, 7))
            ]
            tokens.append(
                rng.choice(prefixes) + sep.join(groups) + rng.choice(["", "", ":80", "Z", ".", "x"])
            )
        texts.append(" ".join(tokens))
    return texts


def test_guarded_masking_equals_drain3_on_tricky_and_random_text():
    reference, fast = drain3_masker(), guarded()
    texts = TRICKY + fuzz(10_000, seed=1) + shaped(20_000, seed=3)
    expected = [reference.mask(t) for t in texts]
    assert [fast.mask(t) for t in texts] == expected
    assert sum(e != t for e, t in zip(expected, texts, strict=True)) > 10_000  # the masks did act


def test_other_mask_lists_take_the_generic_path_with_the_same_output():
    texts = TRICKY + fuzz(2_000, seed=2) + shaped(3_000, seed=4)
    for masks, mask_with in [
        (DEFAULT_MASKS[::-1], "*"),
        (DEFAULT_MASKS[4:], "*"),
        (DEFAULT_MASKS, "N1"),  # a mask string with a digit: the digit shortcut must be off
        ((r"\d+", *DEFAULT_MASKS), "*"),
    ]:
        reference, fast = drain3_masker(masks, mask_with), guarded(masks, mask_with)
        assert [fast.mask(t) for t in texts] == [reference.mask(t) for t in texts], masks


@pytest.mark.parametrize(
    "fmt,path",
    [
        ("bgl", "bgl/loghub_2k/BGL_2k.log"),
        ("hdfs", "hdfs/loghub_2k/HDFS_2k.log"),
        ("openstack", "openstack/loghub_2k"),
    ],
)
def test_guarded_masking_equals_drain3_on_real_logs(shared_datasets: Path, fmt: str, path: str):
    source = shared_datasets / path
    if source.is_dir():
        source = next(p for p in sorted(source.iterdir()) if p.suffix == ".log")
    records = load_log(fmt, source).records
    texts = [r.message for r in records] + [r.raw for r in records]
    reference, fast = drain3_masker(), guarded()
    assert [fast.mask(t) for t in texts] == [reference.mask(t) for t in texts]


def test_token_cache_overflow_keeps_the_output(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr("logsynergy.masking.TOKEN_CACHE_LIMIT", 50)
    reference, fast = drain3_masker(), guarded()
    texts = TRICKY + fuzz(3_000, seed=5) + shaped(3_000, seed=6)
    assert [fast.mask(t) for t in texts] == [reference.mask(t) for t in texts]
    assert 0 < len(fast._tokens) <= 50

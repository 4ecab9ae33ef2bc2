"""Drain's masking with cheap literal guards: the same output as drain3's `LogMasker`, fewer regex passes.

Each default mask is skipped when a literal it cannot match without is absent from the current text
(e.g. a uuid needs four '-'). When no mask string holds a digit (`<*>`), the passes never bring one in,
so "the message has no digit" is checked once for all the masks that need one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection

from drain3.masking import AbstractMaskingInstruction, LogMasker, MaskingInstruction

# Order matters: the most specific patterns first. Each is replaced by the wildcard.
UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
REQUEST_ID = r"req-[0-9a-fA-F-]{8,}"
ISO_TIME = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?"
MAC = r"(?:[0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}"
IPV4 = r"/?\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?::\d+)?"
BLOCK = r"blk_-?\d+"
HEX = r"0[xX][0-9a-fA-F]+"
LONG_HEX = r"\b[0-9a-fA-F]{16,}\b"
INSTANCE = r"instance-[0-9a-fA-F]{8}"
NUMBER = r"(?<![\w.])[-+]?\d+(?:\.\d+)*(?![\w.])"
DEFAULT_MASKS: tuple[str, ...] = (
    UUID,
    REQUEST_ID,
    ISO_TIME,
    MAC,
    IPV4,
    BLOCK,
    HEX,
    LONG_HEX,
    INSTANCE,
    NUMBER,
)

Guard = Callable[[str], bool]
# Necessary conditions for a match in the text; `None`: no cheap condition, always run the regex.
GUARDS: dict[str, Guard | None] = {
    UUID: lambda s: s.count("-") >= 4,
    REQUEST_ID: lambda s: "req-" in s,
    ISO_TIME: lambda s: "-" in s and ":" in s,
    MAC: lambda s: s.count(":") >= 5,
    IPV4: lambda s: s.count(".") >= 3,
    BLOCK: lambda s: "blk_" in s,
    HEX: lambda s: "0x" in s or "0X" in s,
    LONG_HEX: None,
    INSTANCE: lambda s: "instance-" in s,
    NUMBER: None,
}
NEEDS_DIGIT = frozenset({ISO_TIME, IPV4, BLOCK, HEX, NUMBER})
# The one default mask that can match across a space ("date time"); every other one matches inside a
# space-separated token, and its lookarounds see the same at a token's edge as at the text's ends.
SPANS_SPACE = frozenset({ISO_TIME})
_DIGIT = re.compile(r"\d")
WILDCARD = "<*>"
TOKEN_CACHE_LIMIT = 100_000  # masked tokens remembered (most tokens of a system's lines recur)


class GuardedMasker(LogMasker):
    """drain3's `LogMasker` whose `mask` skips regexes that provably cannot match, and masks recurring
    space-separated tokens once."""

    def __init__(
        self, masking_instructions: Collection[AbstractMaskingInstruction], mask_prefix: str, mask_suffix: str
    ) -> None:
        super().__init__(masking_instructions, mask_prefix, mask_suffix)
        self._steps: list[tuple[re.Pattern[str], str, Guard | None, bool]] = []
        self._generic = any(type(mi) is not MaskingInstruction for mi in masking_instructions)
        all_known = not self._generic
        for mi in masking_instructions if not self._generic else ():
            mask = mask_prefix + mi.mask_with + mask_suffix
            known = mask == WILDCARD and mi.pattern in GUARDS  # guards are for the patterns as written
            all_known = all_known and known
            guard = GUARDS[mi.pattern] if known else None
            self._steps.append((mi.regex, mask, guard, known and mi.pattern in NEEDS_DIGIT))
        # "no digit" survives the passes only when no mask string brings one in
        self._digit_check = not any(_DIGIT.search(step[1]) for step in self._steps)
        # Known masks only: token by token, recurring tokens from a cache, unless a mask that can span a
        # space might match the text (then the whole-text loop).
        self._by_token = all_known
        self._spanning = [
            guard for regex, _, guard, _ in self._steps if guard and regex.pattern in SPANS_SPACE
        ]
        self._tokens: dict[str, str] = {}

    def mask(self, content: str) -> str:
        if self._generic:  # an instruction of another kind: drain3's own loop
            return super().mask(content)
        if not self._by_token:
            return self._mask_text(content)
        for guard in self._spanning:
            if guard(content):
                return self._mask_text(content)
        cache, out = self._tokens, []
        for token in content.split(" "):
            masked = cache.get(token)
            if masked is None:
                masked = self._mask_text(token)
                if len(cache) >= TOKEN_CACHE_LIMIT:
                    cache.clear()
                cache[token] = masked
            out.append(masked)
        return " ".join(out)

    def _mask_text(self, content: str) -> str:
        no_digit = self._digit_check and _DIGIT.search(content) is None
        for regex, mask, guard, needs_digit in self._steps:
            if (needs_digit and no_digit) or (guard is not None and not guard(content)):
                continue
            content = regex.sub(mask, content)
        return content

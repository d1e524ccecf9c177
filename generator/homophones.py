"""Homophones of the characters in published names, for the search's typo suggestions.

A citizen who types 康闰 means 康润: both read ``run``. The search page loads this table only when a
query finds nothing, swaps one character of the query for a homophone that occurs in the index and
offers the variant that finds records (您是不是要找：康润). The table is made at build time with
pypinyin (docs/dependencies.md) from the readings of the characters of the published subjects'
names: which of them a common character (GB 2312) may have been typed for. It holds nothing that
is not already public.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

HOMOPHONES_VERSION = 1
_HAN_RANGES = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF))  # as the tokenizer's Han runs


def _is_han(char: str) -> bool:
    code = ord(char)
    return any(lo <= code <= hi for lo, hi in _HAN_RANGES)


def _common_characters() -> list[str]:
    """The 6,763 characters of GB 2312 (levels 1 and 2): what an input method offers first, so
    where most typos come from."""
    chars = []
    for high in range(0xB0, 0xF8):
        for low in range(0xA1, 0xFF):
            try:
                chars.append(bytes((high, low)).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return chars


def homophone_groups(names: Iterable[str] | str) -> list[str]:
    """For every reading without tones that a Han character of ``names`` has (every reading of a
    character with several): ``"<its characters in names>|<other common characters>"``. The names'
    characters come from the most to the least frequent in the names (then by code point); the
    others are GB 2312's, by code point. A query character found anywhere in a group may be meant
    as any of the group's first part. Only groups of two or more characters; sorted."""
    from pypinyin import Style, pinyin  # lazily: only a build that writes the search imports it

    counts = Counter("".join(names))
    readings: dict[str, list[str]] = {}
    for char in sorted(set(c for c in counts if _is_han(c)) | set(_common_characters())):
        for reading in dict.fromkeys(pinyin(char, style=Style.NORMAL, heteronym=True)[0]):
            if reading != char:  # pypinyin returns a character it cannot read as itself
                readings.setdefault(reading, []).append(char)
    groups = []
    for chars in readings.values():
        known = sorted((c for c in chars if c in counts), key=lambda c: (-counts[c], c))
        if known and len(chars) > 1:
            groups.append("".join(known) + "|" + "".join(c for c in chars if c not in counts))
    return sorted(groups)


def homophone_table(names: Iterable[str] | str) -> dict[str, Any]:
    """The ``search/homophones.json`` document."""
    return {"version": HOMOPHONES_VERSION, "groups": homophone_groups(names)}

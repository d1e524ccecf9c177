"""Personal data in text: resident ID, mobile and bank card numbers, in any spelling.

The one detector of the tool (docs/data.md#personal-data): ingest masks what it finds in free
text and refuses it in a record's key or link, batch metadata is masked before it is stored, and
``disclose verify`` looks for it in every output file as a reader would see the file.

A number is read through separators (white space, hyphens, dots), digits of other widths that
read as ASCII ones (full-width ``３``, mathematical ``𝟑``) and characters that show nothing
between the digits (format and bidi controls, soft hyphens, combining marks, fillers). It is made
of whole *digit groups*: an ID inside a longer run of digits (a 20-digit 承诺编码) is not an ID.
"""

from __future__ import annotations

import html
import re
import unicodedata
import zlib
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any, Callable

from stdnum import luhn

from .checkdigits import is_valid_rid, rid_birth_date
from .errors import UserError

ID, MOBILE, CARD = "id", "mobile", "card"
LABELS = {ID: "身份证号码", MOBILE: "手机号码", CARD: "银行卡号"}
# A 15-digit first-generation ID, or a card number, counts only this close after one of its words.
ID15_KEYWORDS = ("身份证", "身份号码", "证件", "证号")
CARD_KEYWORDS = ("卡号", "银行卡", "账号", "帐号", "账户", "帐户")
KEYWORD_WINDOW = 16

# Digits (categories Nd and No) whose compatibility form is one ASCII digit: full-width,
# mathematical, superscript, subscript and circled ones; checked in the tests against the Unicode
# database of the running Python.
SUPERSCRIPT, SUBSCRIPT, CIRCLED = "⁰¹²³⁴⁵⁶⁷⁸⁹", "₀₁₂₃₄₅₆₇₈₉", "⓪①②③④⑤⑥⑦⑧⑨"
DIGITS = ("0-9\uff10-\uff19\U0001d7ce-\U0001d7ff\U0001fbf0-\U0001fbf9\u00b2\u00b3\u00b9\u2070\u2074-\u2079"
          "\u2080-\u2089\u2460-\u2468\u24ea")
CHECK_X = "Xx\uff38\uff58"
# Between the digit groups of one number: white space within a line, hyphens and dashes, dots.
# A line break only where the text is shown in a page (:func:`find`'s ``lines_join``): in a file,
# a line's last number and the next line's first are two numbers (a CSV's "…,17285\r\n2026-01,…"
# is not the mobile number 172 8520 2601).
SEPARATORS = (" \t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000\\-.\u00b7\u2010-\u2015\u2022\u2024\u2027\u2212\u2219\u22c5\u2800\u2e3a\u2e3b"
              "\u30fb\ufe58\ufe63\uff0d\uff0e\uff65")
FILLERS = "\u115f\u1160\u3164\uffa0"  # Hangul fillers: letters that show nothing
LINE_BREAKS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"
_LINE_BREAKS_AS_SPACES = str.maketrans(LINE_BREAKS, " " * len(LINE_BREAKS))

_FOLD = str.maketrans({**{chr(0xFF10 + i): str(i) for i in range(10)},
                       **{chr(base + i): str(i) for base in range(0x1D7CE, 0x1D800, 10) for i in range(10)},
                       **{chr(0x1FBF0 + i): str(i) for i in range(10)},
                       **{char: str(i) for digits in (SUPERSCRIPT, SUBSCRIPT, CIRCLED) for i, char in enumerate(digits)}})
_ENOUGH_DIGITS = re.compile(f"(?:[^{DIGITS}]*[{DIGITS}]){{11}}")
_CHAIN = re.compile(f"[{DIGITS}]+[{CHECK_X}]?(?:[{SEPARATORS}]+[{DIGITS}]+[{CHECK_X}]?)*")
_GROUP = re.compile(f"([{DIGITS}]+)([{CHECK_X}]?)")
_MOBILE = re.compile(r"(?:0086|86)?1[3-9][0-9]{9}")


def is_transparent(char: str) -> bool:
    """A character that shows nothing between two digits: a format or control character (other
    than white space), a combining mark, a filler."""
    category = unicodedata.category(char)
    return category in ("Cf", "Mn", "Me") or (category == "Cc" and not char.isspace()) or char in FILLERS


@cache
def _transparent_pattern() -> re.Pattern[str]:
    """Any transparent character of the Basic Multilingual Plane, or any character beyond it (those
    are checked one by one): a class the regular expression engine tests in constant time."""
    ranges, start = [], None
    for cp in range(0x10000):
        if is_transparent(chr(cp)):
            start = cp if start is None else start
        elif start is not None:
            ranges.append((start, cp - 1))
            start = None
    body = "".join(re.escape(chr(a)) + ("-" + re.escape(chr(b)) if b > a else "") for a, b in ranges)
    return re.compile(f"[{body}\U00010000-\U0010ffff]")


@dataclass(frozen=True)
class Finding:
    """A number found in a text: its kind, where it is (``text[start:end]``, separators and
    invisible characters included) and its digits (ASCII, ``X`` upper-case)."""

    kind: str
    start: int
    end: int
    number: str

    @property
    def label(self) -> str:
        return LABELS[self.kind]


@dataclass(frozen=True)
class MaskRules:
    """How many characters each kind of number keeps at its start and end (settings
    ``ID_MASK_*``, ``MOBILE_MASK_*``, ``CARD_MASK_*``) and the character hiding the rest."""

    id_keep: tuple[int, int] = (4, 4)
    mobile_keep: tuple[int, int] = (3, 4)
    card_keep: tuple[int, int] = (0, 4)
    char: str = "*"

    def __post_init__(self) -> None:
        # Every masked number must hide a digit, or masking would not end (and would hide nothing).
        for name, (start, end), shortest in (("ID", self.id_keep, 15), ("MOBILE", self.mobile_keep, 11), ("CARD", self.card_keep, 16)):
            if start < 0 or end < 0 or start + end >= shortest:
                raise ValueError(f"{name}_MASK_KEEP_START + {name}_MASK_KEEP_END 应小于 {shortest}（脱敏后至少隐去一位）")
        if len(self.char) != 1 or re.fullmatch(f"[{DIGITS}{CHECK_X}{SEPARATORS}]", self.char) or is_transparent(self.char):
            raise ValueError("ID_MASK_CHAR 应为一个既不是数字、也不是分隔符或不可见字符的字符，例如 *")

    @classmethod
    def from_config(cls, cfg: Any) -> "MaskRules":
        """The site's rules (:class:`generator.settings.Config`); a one-line error for a rule that hides
        nothing. Asked for once per cell at ingest, so remembered per configuration object."""
        known = _RULES_OF.get(id(cfg))
        if known is not None and known[0] is cfg:
            return known[1]
        rules = _rules(cfg.ID_MASK_KEEP_START, cfg.ID_MASK_KEEP_END, cfg.MOBILE_MASK_KEEP_START, cfg.MOBILE_MASK_KEEP_END,
                       cfg.CARD_MASK_KEEP_START, cfg.CARD_MASK_KEEP_END, cfg.ID_MASK_CHAR)
        if len(_RULES_OF) > 64:
            _RULES_OF.clear()
        _RULES_OF[id(cfg)] = (cfg, rules)  # the configuration is kept, so its id is not reused while here
        return rules

    def masked(self, finding: Finding) -> str:
        """``320902198503057774`` → ``3209**********7774``, ``13812345678`` → ``138****5678``."""
        start, end = {ID: self.id_keep, MOBILE: self.mobile_keep, CARD: self.card_keep}[finding.kind]
        number = finding.number
        return number[:start] + self.char * (len(number) - start - end) + (number[len(number) - end:] if end else "")


DEFAULT_RULES = MaskRules()
_RULES_OF: dict[int, tuple[Any, MaskRules]] = {}


@lru_cache(maxsize=16)
def _rules(*values: Any) -> MaskRules:
    try:
        return MaskRules(tuple(values[0:2]), tuple(values[2:4]), tuple(values[4:6]), values[6])  # type: ignore[arg-type]
    except (ValueError, TypeError) as exc:
        raise UserError(f"pelicanconf.py 的脱敏设置无效：{exc}") from None


def find(text: str, lines_join: bool = True) -> list[Finding]:
    """Every ID, mobile and card number in ``text``, in order, not overlapping.

    A cell, a name or a reason is shown in a page's text, where a line break reads as a space: by
    default a line break separates a number's digit groups like a space does. A whole file's lines
    (``lines_join=False``, :func:`find_in_file`) are read one by one."""
    if len(text) < 11 or _ENOUGH_DIGITS.match(text) is None:  # each number has 11 digits at least
        return []
    if lines_join:
        text = text.translate(_LINE_BREAKS_AS_SPACES)  # same length: positions stay
    view, where = _view(text)
    return [Finding(kind, where[a], where[b - 1] + 1, number) for kind, a, b, number in _numbers(view)]


def mask(text: str, rules: MaskRules = DEFAULT_RULES) -> str:
    """``text`` with every number found replaced by its masked form (separators and invisible
    characters inside it dropped), until nothing is found: the digits a mask keeps can meet
    other digits and make a new number, which the next round masks too."""
    while found := find(text):
        parts, last = [], 0
        for finding in found:
            parts += [text[last:finding.start], rules.masked(finding)]
            last = finding.end
        text = "".join(parts) + text[last:]
    return text


def _view(text: str) -> tuple[str, list[int] | range]:
    """``text`` without its transparent characters, and each remaining character's index in ``text``."""
    gone = [m.start() for m in _transparent_pattern().finditer(text) if is_transparent(m.group())]
    if not gone:
        return text, range(len(text))
    kept = list(zip([0] + [i + 1 for i in gone], gone + [len(text)]))
    return "".join(text[begin:end] for begin, end in kept), [i for begin, end in kept for i in range(begin, end)]


_PRIORITY = {ID: 0, CARD: 1, MOBILE: 2}
Number = tuple[str, int, int, str]  # kind, start, end (in the view), digits


def _numbers(view: str) -> list[Number]:
    """The numbers in a text without transparent characters: for each run of digit groups joined by
    separators, every run of whole groups that is a number; an ID wins over a card, a card over a mobile."""
    candidates: list[Number] = []
    for chain in _CHAIN.finditer(view):
        if chain.end() - chain.start() < 11:
            continue
        where: list[int] = []  # each digit's index in the view
        groups = []  # (index of its first digit in ``where``, of the one after its last, of its check character or -1)
        for group in _GROUP.finditer(view, chain.start(), chain.end()):
            first = len(where)
            where += range(group.start(1), group.end(1))
            groups.append((first, len(where), group.start(2) if group.group(2) else -1))
        digits = "".join(view[i] for i in where).translate(_FOLD)
        for n, (first, _, _) in enumerate(groups):
            for _, last, check in groups[n:]:
                if last - first > 19:
                    break
                candidates += _candidates(view, digits[first:last], where[first:last], check)
                if check >= 0:
                    break
    chosen: list[Number] = []
    for found in sorted(set(candidates), key=lambda c: (_PRIORITY[c[0]], c[1], -c[2])):
        if all(found[2] <= c[1] or found[1] >= c[2] for c in chosen):
            chosen.append(found)
    return sorted(chosen, key=lambda c: c[1])


def _candidates(view: str, digits: str, where: list[int], check: int) -> list[Number]:
    """What ``digits`` (at ``where`` in the view, followed by a check character at ``check`` unless
    it is -1) can be."""
    found: list[Number] = []
    start, end, length = where[0], where[-1] + 1, len(digits)
    if check >= 0 and length == 17 and is_valid_rid(digits + "X"):
        found.append((ID, start, check + 1, digits + "X"))
    if length == 18 and is_valid_rid(digits):
        found.append((ID, start, end, digits))
    if length == 15 and rid_birth_date(digits) and _near(view, start, ID15_KEYWORDS):
        found.append((ID, start, end, digits))
    if 16 <= length <= 19 and luhn.is_valid(digits) and _near(view, start, CARD_KEYWORDS):
        found.append((CARD, start, end, digits))
    if length in (11, 13, 15) and _MOBILE.fullmatch(digits) and not _touches_letter(view, start, end):
        found.append((MOBILE, where[length - 11], end, digits[length - 11:]))  # after +86 or 0086: the last 11
    return found


def _touches_letter(view: str, start: int, end: int) -> bool:
    """Digits glued to a Latin letter are part of an identifier (a record id ``49fbf18621974513``),
    not a mobile number."""
    return (start > 0 and view[start - 1].isascii() and view[start - 1].isalpha()) or (
        end < len(view) and view[end].isascii() and view[end].isalpha())


def _near(view: str, start: int, keywords: tuple[str, ...]) -> bool:
    before = view[max(0, start - KEYWORD_WINDOW):start]
    return any(word in before for word in keywords)


# -- what a reader sees in an output file ----------------------------------------------------

MARKUP_SUFFIXES = (".html", ".htm", ".xml", ".svg")
MAX_GZIP_BYTES = 1 << 30  # a .gz file that inflates past this is not read (a decompression bomb)
# Tags are replaced in three passes, on the bytes: those whose text flows on (a reader sees
# ``3<b></b>2`` as 32), comments, doctypes and processing instructions vanish; ``br`` is a line
# break; any other tag ends a block or a cell, so the numbers on either side are not one number.
_INLINE = "a abbr b bdi bdo cite code data del dfn em font i ins kbd mark q s samp small span strike strong sub sup time tt u var wbr"


def _by_first_letter(names: list[str]) -> str:
    """``a(?:bbr)?|b(?:di|do)?|…``: a third faster to match than one alternative per name."""
    heads: dict[str, list[str]] = {}
    for name in names:
        heads.setdefault(name[0], []).append(name[1:])
    return "|".join(head + (f"(?:{'|'.join(sorted(filter(None, tails), key=len, reverse=True))})" + ("?" if "" in tails else "")
                            if any(tails) else "") for head, tails in sorted(heads.items()))


# Tag names in lower or upper case (what HTML writers and sanitisers produce): matching them 3×
# faster than ignoring case. A mixed-case ``<Span>`` counts as a tag that ends a block.
_NAMES = _INLINE.split() + _INLINE.upper().split()
_INLINE_TAG = re.compile(rb"<(?:/?(?:" + _by_first_letter(_NAMES).encode() + rb")(?=[\s/>])[^>]*|[!?][^>]*)>")
_BR_TAG = re.compile(rb"<(?:br|BR)(?=[\s/>])[^>]*>")
_ANY_TAG = re.compile(rb"<[A-Za-z/][^>]*>")
_JS_ESCAPE = re.compile(r"\\(?:u\{([0-9A-Fa-f]{1,6})\}|u([0-9A-Fa-f]{4})|x([0-9A-Fa-f]{2})|(.))")
_JS_SIMPLE = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}


def reader_views(name: str, raw: bytes) -> list[str]:
    """The texts a reader can see in file ``name`` (the reference :func:`find_in_file` is pinned to
    by the tests): JSON and JavaScript string escapes read; for markup, its text without tags and
    with character references decoded; for anything else, its text as it is and as a page would
    show it were it markup (a JSON string is often shown in a page). ``.gz`` files are inflated."""
    if name.endswith(".gz"):
        raw, name = _gunzip(raw), name[:-3]
    return [view.decode("utf-8", "replace") if plain else html.unescape(view.decode("utf-8", "replace"))
            for plain, view in _views(name, raw)]


def find_in_file(name: str, raw: bytes) -> list[Finding]:
    """The numbers a reader could see in output file ``name`` (:func:`reader_views`; ``.gz``
    inflated), found fast: in each view only the stretches around a run of 11 digit-like characters
    (:data:`_RUN`) are decoded, from the breaker before it to the breaker after it (a character no
    number runs through), with the text before it that a keyword may be in. Positions are within
    those stretches, not the file. Raises ValueError for a .gz file that cannot be read."""
    if name.endswith(".gz"):
        raw, name = _gunzip(raw), name[:-3]
    found: list[Finding] = []
    for plain, view in _views(name, raw):
        classes = view.translate(_BYTE_CLASSES)
        run = _RUN if plain or b"&" not in view else _RUN_REFERENCES
        windows: list[tuple[int, int]] = []
        for match in run.finditer(classes):
            if windows and match.start() < windows[-1][1]:
                continue
            end = classes.find(b"|", match.end())
            windows.append((max(classes.rfind(b"|", 0, match.start()), 0), len(classes) if end < 0 else end))
        for start, end in windows:
            found += _in_window(_shown(view, classes, start, plain), view[start:end], plain)
    return found


# The same stretches recur on every page (a footer's phone number, an ICP number): remembered.
@lru_cache(maxsize=4096)
def _in_window(before: str, window: bytes, plain: bool) -> tuple[Finding, ...]:
    return tuple(f for f in find(before + _text(window, plain), lines_join=False) if f.start >= len(before))


def _views(name: str, raw: bytes) -> list[tuple[bool, bytes]]:
    """(plain, bytes) of each view before decoding: escapes read, tags replaced."""
    if name.endswith((".json", ".js")) and b"\\" in raw:
        text = _JS_ESCAPE.sub(_js_char, raw.decode("utf-8", "replace"))
        raw = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace").encode("utf-8")
    if name.endswith(MARKUP_SUFFIXES):  # a line break in a page's text shows as a space
        raw = raw.replace(b"\r", b" ").replace(b"\n", b" ")
        return [(False, _markup(raw) if b"<" in raw else raw)]
    if b"<" not in raw and b"&" not in raw:
        return [(True, raw)]  # the markup view is the same text
    return [(True, raw), (False, _markup(raw))]


def _markup(raw: bytes) -> bytes:
    text = _INLINE_TAG.sub(b"", raw)
    if b"<br" in text or b"<BR" in text:
        text = _BR_TAG.sub(b"\n", text)
    return _ANY_TAG.sub(b"|", text)


def _text(view: bytes, plain: bool) -> str:
    text = view.decode("utf-8", "replace")
    return text if plain else html.unescape(text)


def _shown(view: bytes, classes: bytes, at: int, plain: bool) -> str:
    """The text before ``at`` from an earlier breaker, long enough to hold the keyword window of
    a number right after ``at``, or from the start."""
    reach = 64
    while True:
        start = max(classes.rfind(b"|", 0, at - reach), 0) if at > reach else 0
        text, enough = _context(view[start:at], plain)
        if start == 0 or enough:
            return text
        reach *= 4


@lru_cache(maxsize=4096)
def _context(before: bytes, plain: bool) -> tuple[str, bool]:
    """The decoded text, and whether it shows enough characters for a keyword window."""
    text = _text(before, plain)
    return text, len(_view(text)[0]) >= KEYWORD_WINDOW


def _js_char(match: re.Match[str]) -> str:
    braced, four, two, other = match.groups()
    if other is not None:
        return _JS_SIMPLE.get(other, other)
    code = int(braced or four or two, 16)
    return chr(code) if code <= 0x10FFFF else "\ufffd"


def _gunzip(raw: bytes) -> bytes:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(raw, MAX_GZIP_BYTES)
    except zlib.error as exc:
        raise ValueError(f"无法解压（{exc}）") from None
    if inflater.unconsumed_tail:
        raise ValueError(f"解压后超过 {MAX_GZIP_BYTES >> 20} MiB，未核验")
    return data


# Each byte of a view → its class: ``0`` an ASCII digit, or the lead byte of a character that may
# be a digit (U+0080–U+00BF: superscripts; U+2000–U+2FFF: superscripts, subscripts, circled;
# U+F000–U+FFFF, U+10000–U+3FFFF: full-width and mathematical digits); `` `` white
# space, ``-``, ``.``, controls and every other non-ASCII byte (separators and invisible
# characters are among them); ``|`` a *breaker*, always seen and never a digit, separator or
# invisible: ASCII punctuation and the lead bytes of U+4000–U+9FFF (CJK ideographs). Letters and
# ``&#;`` keep classes of their own, for character references: ``x``, ``h`` (hex letters), ``a``.
def _byte_class(byte: int) -> int:
    char = chr(byte)
    if "0" <= char <= "9" or byte in (0xC2, 0xE2, 0xEF, 0xF0):
        return ord("0")
    if char in "xX":
        return ord("x")
    if char.isascii() and char.isalpha():
        return ord("h" if char in "abcdefABCDEF" else "a")
    if char in "&#;":
        return byte
    if 0xE4 <= byte <= 0xE9 or (char.isascii() and char.isprintable() and char not in " -."):
        return ord("|")
    return ord(" ")


_BYTE_CLASSES = bytes(_byte_class(b) for b in range(256))
# 11 digit-like items with only separators and invisible characters between them; in a markup
# view a character reference is an item too (it may be a digit, an invisible character or a
# separator: counting it as a digit only finds more).
_RUN = re.compile(rb"0(?:[ ]*+0){10}(?:[ ]*+0)*+")
_REFERENCE = rb"(?>0|&(?:#(?:0++|[xX][0h]++)|[ahx]++);?+)"
_RUN_REFERENCES = re.compile(_REFERENCE + rb"(?:[ ]*+" + _REFERENCE + rb"){10}(?:[ ]*+" + _REFERENCE + rb")*+")

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
from typing import Any
from urllib.parse import unquote_to_bytes

from stdnum import luhn

from .checkdigits import is_valid_rid, rid_birth_date
from .errors import UserError

ID, MOBILE, CARD = "id", "mobile", "card"
LABELS = {ID: "身份证号码", MOBILE: "手机号码", CARD: "银行卡号"}
# A 15-digit first-generation ID, or a card number, counts only this close after one of its words.
ID15_KEYWORDS = ("身份证", "身份号码", "证件", "证号", "身份證", "身份號碼", "證件", "證號")
CARD_KEYWORDS = (
    "卡号",
    "银行卡",
    "信用卡",
    "借记卡",
    "储蓄卡",
    "工资卡",
    "账号",
    "帐号",
    "账户",
    "帐户",
    "卡號",
    "銀行卡",
    "信用卡",
    "借記卡",
    "儲蓄卡",
    "賬號",
    "帳號",
    "賬戶",
    "帳戶",
)
KEYWORD_WINDOW = 16

# Digits (categories Nd and No) whose compatibility form is one ASCII digit: full-width,
# mathematical, superscript, subscript and circled ones; checked in the tests against the Unicode
# database of the running Python.
SUPERSCRIPT, SUBSCRIPT, CIRCLED = "⁰¹²³⁴⁵⁶⁷⁸⁹", "₀₁₂₃₄₅₆₇₈₉", "⓪①②③④⑤⑥⑦⑧⑨"
DIGITS = (
    "0-9\uff10-\uff19\U0001d7ce-\U0001d7ff\U0001fbf0-\U0001fbf9\u00b2\u00b3\u00b9\u2070\u2074-\u2079"
    "\u2080-\u2089\u2460-\u2468\u24ea"
)
# A check character: every character whose compatibility form is X or x (full-width, superscript,
# Roman numeral, circled, mathematical …) and the letters that look like it (Cyrillic, Greek).
CHECK_X = (
    "Xx\u02e3\u2093\u2169\u2179\u24cd\u24e7\uff38\uff58\U0001d417\U0001d431\U0001d44b\U0001d465\U0001d47f"
    "\U0001d499\U0001d4b3\U0001d4cd\U0001d4e7\U0001d501\U0001d51b\U0001d535\U0001d54f\U0001d569\U0001d583"
    "\U0001d59d\U0001d5b7\U0001d5d1\U0001d5eb\U0001d605\U0001d61f\U0001d639\U0001d653\U0001d66d\U0001d687"
    "\U0001d6a1\U0001f147\u0425\u0445\u03a7\u03c7"
)
# Between the digit groups of one number: white space within a line, hyphens and dashes, dots.
# A line break only where the text is shown in a page (:func:`find`'s ``lines_join``): in a file,
# a line's last number and the next line's first are two numbers (a CSV's "…,17285\r\n2026-01,…"
# is not the mobile number 172 8520 2601).
# Every dash (Unicode category Pd), the middle dots, box-drawing and katakana long-vowel lines.
SEPARATORS = (
    " \t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000\\-.\u00b7\u2010-\u2015\u2022\u2024\u2027"
    "\u2212\u2219\u22c5\u2800\u2e3a\u2e3b"
    "\u30fb\ufe58\ufe63\uff0d\uff0e\uff65\u058a\u05be\u1400\u1806\u2e17\u2e1a\u2e40\u2e5d\u301c\u3030\u30a0"
    "\ufe31\ufe32\U00010ead\u0387\u16eb\u2e31\ua78f\u2500\u2501\u30fc\uff70"
)
FILLERS = "\u115f\u1160\u3164\uffa0"  # Hangul fillers: letters that show nothing
# Unicode's Default_Ignorable_Code_Point: what a browser draws as nothing, assigned or not (U+2065,
# U+FFF0–U+FFF8 and most of the tag plane are unassigned, and still invisible).
DEFAULT_IGNORABLE = (
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f"
    "\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff"
)
_IGNORABLE = re.compile(f"[{DEFAULT_IGNORABLE}]")
LINE_BREAKS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"
_LINE_BREAKS_AS_SPACES = str.maketrans(LINE_BREAKS, " " * len(LINE_BREAKS))

# Characters whose compatibility form holds several digits or a digit with a mark (⑩ 10, ⑴ (1),
# ⒈ 1., ㉑ 21, ¼ 1⁄4, ㏠ 1日): not read digit by digit, but a text holding one is also read in its
# compatibility form (:func:`find_folded`). Checked in the tests against the Unicode database.
EXPANDING = (
    "\u00bc-\u00be\u2150-\u215f\u2189\u2469-\u249b\u3251-\u325f\u32b1-\u32cb\u3358-\u3370\u3378-\u3379"
    "\u339f-\u33a6\u33a8\u33af\u33e0-\u33fe\U0001f100-\U0001f10a"
)
_EXPANDING = re.compile(f"[{EXPANDING}]")

_FOLD = str.maketrans(
    {
        **{chr(0xFF10 + i): str(i) for i in range(10)},
        **{chr(base + i): str(i) for base in range(0x1D7CE, 0x1D800, 10) for i in range(10)},
        **{chr(0x1FBF0 + i): str(i) for i in range(10)},
        **{
            char: str(i)
            for digits in (SUPERSCRIPT, SUBSCRIPT, CIRCLED)
            for i, char in enumerate(digits)
        },
    }
)
_ENOUGH_DIGITS = re.compile(f"(?:[^{DIGITS}]*[{DIGITS}]){{11}}")
# A check character may follow its digits after separators (``…5555-X``).
_CHAIN = re.compile(
    f"[{DIGITS}]+(?:[{SEPARATORS}]*[{CHECK_X}])?(?:[{SEPARATORS}]+[{DIGITS}]+(?:[{SEPARATORS}]*[{CHECK_X}])?)*"
)
_GROUP = re.compile(f"([{DIGITS}]+)(?:[{SEPARATORS}]*([{CHECK_X}]))?")
_MOBILE = re.compile(r"(?:0086|86|0)?1[3-9][0-9]{9}")  # also dialled with a trunk 0
# Letters glued to digits make an identifier (a record id ``49fbf18621974513``, a licence
# ``JY13209020012``), unless they are a contact word (``Tel13812345678``, ``wx…``).
CONTACT_WORDS = (
    "tel",
    "phone",
    "mobile",
    "mob",
    "cell",
    "call",
    "wx",
    "vx",
    "wechat",
    "weixin",
    "qq",
    "whatsapp",
    "sms",
    "fax",
    "v",
)


def is_transparent(char: str) -> bool:
    """A character that shows nothing between two digits: a format or control character (other
    than white space), a combining mark, a filler."""
    category = unicodedata.category(char)
    return (
        category in ("Cf", "Mn", "Me")
        or (category == "Cc" and not char.isspace())
        or char in FILLERS
        or _IGNORABLE.match(char) is not None
    )


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
    body = "".join(
        re.escape(chr(a)) + ("-" + re.escape(chr(b)) if b > a else "") for a, b in ranges
    )
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
        for name, (start, end), shortest in (
            ("ID", self.id_keep, 15),
            ("MOBILE", self.mobile_keep, 11),
            ("CARD", self.card_keep, 16),
        ):
            if start < 0 or end < 0 or start + end >= shortest:
                raise ValueError(
                    f"{name}_MASK_KEEP_START + {name}_MASK_KEEP_END 应小于 {shortest}（脱敏后至少隐去一位）"
                )
        if (
            len(self.char) != 1
            or re.fullmatch(f"[{DIGITS}{CHECK_X}{SEPARATORS}]", self.char)
            or is_transparent(self.char)
        ):
            raise ValueError(
                "ID_MASK_CHAR 应为一个既不是数字、也不是分隔符或不可见字符的字符，例如 *"
            )

    @classmethod
    def from_config(cls, cfg: Any) -> MaskRules:
        """The site's rules (:class:`generator.settings.Config`); a one-line error for a rule that hides
        nothing. Asked for once per cell at ingest, so remembered per configuration object."""
        known = _RULES_OF.get(id(cfg))
        if known is not None and known[0] is cfg:
            return known[1]
        rules = _rules(
            cfg.ID_MASK_KEEP_START,
            cfg.ID_MASK_KEEP_END,
            cfg.MOBILE_MASK_KEEP_START,
            cfg.MOBILE_MASK_KEEP_END,
            cfg.CARD_MASK_KEEP_START,
            cfg.CARD_MASK_KEEP_END,
            cfg.ID_MASK_CHAR,
        )
        if len(_RULES_OF) > 64:
            _RULES_OF.clear()
        # The configuration is kept, so its id is not reused while here
        _RULES_OF[id(cfg)] = (
            cfg,
            rules,
        )
        return rules

    def masked(self, finding: Finding) -> str:
        """``320902198503057774`` → ``3209**********7774``, ``13812345678`` → ``138****5678``."""
        start, end = {ID: self.id_keep, MOBILE: self.mobile_keep, CARD: self.card_keep}[
            finding.kind
        ]
        number = finding.number
        return (
            number[:start]
            + self.char * (len(number) - start - end)
            + (number[len(number) - end :] if end else "")
        )


DEFAULT_RULES = MaskRules()
_RULES_OF: dict[int, tuple[Any, MaskRules]] = {}


@lru_cache(maxsize=16)
def _rules(*values: Any) -> MaskRules:
    try:
        return MaskRules(tuple(values[0:2]), tuple(values[2:4]), tuple(values[4:6]), values[6])
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
    return [
        Finding(kind, where[a], where[b - 1] + 1, number) for kind, a, b, number in _numbers(view)
    ]


def find_folded(text: str) -> list[Finding]:
    """The numbers of ``text`` in its compatibility form when it holds an :data:`EXPANDING`
    character (``3⑳902198503057774`` is an ID there), else none; positions are in the folded text.
    Such a number cannot be masked in place: ingest rejects its row."""
    if _EXPANDING.search(text) is None:
        return []
    return find(unicodedata.normalize("NFKC", text))


def mask(text: str, rules: MaskRules = DEFAULT_RULES) -> str:
    """``text`` with every number found replaced by its masked form (separators and invisible
    characters inside it dropped), until nothing is found: the digits a mask keeps can meet
    other digits and make a new number, which the next round masks too."""
    while found := find(text):
        parts, last = [], 0
        for finding in found:
            parts += [text[last : finding.start], rules.masked(finding)]
            last = finding.end
        text = "".join(parts) + text[last:]
    return text


def _view(text: str) -> tuple[str, list[int] | range]:
    """``text`` without its transparent characters, and each remaining character's index in ``text``."""
    gone = [m.start() for m in _transparent_pattern().finditer(text) if is_transparent(m.group())]
    if not gone:
        return text, range(len(text))
    kept = list(zip([0] + [i + 1 for i in gone], gone + [len(text)]))
    return "".join(text[begin:end] for begin, end in kept), [
        i for begin, end in kept for i in range(begin, end)
    ]


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
    if (
        length in (11, 12, 13, 15)
        and _MOBILE.fullmatch(digits)
        and not _touches_letter(view, start, end)
    ):
        # After +86, 0086 or 0: the last 11
        found.append((MOBILE, where[length - 11], end, digits[length - 11 :]))
    return found


def _touches_letter(view: str, start: int, end: int) -> bool:
    """Digits glued to a Latin letter are part of an identifier (a record id ``49fbf18621974513``),
    not a mobile number, unless the letters before them are a contact word and none follow."""
    after = end < len(view) and view[end].isascii() and view[end].isalpha()
    if not (start > 0 and view[start - 1].isascii() and view[start - 1].isalpha()):
        return after
    word = start
    while word > 0 and view[word - 1].isascii() and view[word - 1].isalpha():
        word -= 1
    return after or view[word:start].lower() not in CONTACT_WORDS


def _near(view: str, start: int, keywords: tuple[str, ...]) -> bool:
    """One of ``keywords`` ends within :data:`KEYWORD_WINDOW` characters before ``start``, white
    space not counted (``卡 号`` is 卡号)."""
    before = _WHITE.sub("", view[max(0, start - 4 * KEYWORD_WINDOW) : start])[-KEYWORD_WINDOW:]
    return any(word in before for word in keywords)


_WHITE = re.compile(r"\s+")


# -- what a reader sees in an output file ----------------------------------------------------

MARKUP_SUFFIXES = (".html", ".htm", ".xml", ".svg")
MAX_GZIP_BYTES = 1 << 30  # a .gz file that inflates past this is not read (a decompression bomb)
# Tags are replaced in three passes, on the bytes: those whose text flows on (a reader sees
# ``3<b></b>2`` as 32), comments, doctypes and processing instructions vanish; ``br`` is a line
# break; any other tag ends a block or a cell, so the numbers on either side are not one number.
_INLINE = (
    "a abbr b bdi bdo cite code data del dfn em font i ins kbd mark q s samp small span "
    "strike strong sub sup time tt u var wbr"
)


def _by_first_letter(names: list[str]) -> str:
    """``a(?:bbr)?|b(?:di|do)?|…``: faster to match than one alternative per name."""
    heads: dict[str, list[str]] = {}
    for name in names:
        heads.setdefault(name[0], []).append(name[1:])
    return "|".join(
        head
        + (
            f"(?:{'|'.join(sorted(filter(None, tails), key=len, reverse=True))})"
            + ("?" if "" in tails else "")
            if any(tails)
            else ""
        )
        for head, tails in sorted(heads.items())
    )


# Tag names in lower or upper case (what HTML writers and sanitisers produce): matching them is
# much faster than ignoring case. A mixed-case ``<Span>`` counts as a tag that ends a block.
_NAMES = _INLINE.split() + _INLINE.upper().split()
_INLINE_TAG = re.compile(
    rb"<(?:/?(?:" + _by_first_letter(_NAMES).encode() + rb")(?=[\s/>])[^>]*|[!?][^>]*)>"
)
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
    return [
        view.decode("utf-8", "replace") if plain else html.unescape(view.decode("utf-8", "replace"))
        for plain, view in _views(name, raw)
    ]


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
            windows.append(
                (max(classes.rfind(b"|", 0, match.start()), 0), len(classes) if end < 0 else end)
            )
        for start, end in windows:
            found += _in_window(_shown(view, classes, start, plain), view[start:end], plain)
    return found


# The same stretches recur on every page (a footer's phone number, an ICP number): remembered.
@lru_cache(maxsize=4096)
def _in_window(before: str, window: bytes, plain: bool) -> tuple[Finding, ...]:
    return tuple(
        f for f in find(before + _text(window, plain), lines_join=False) if f.start >= len(before)
    )


def _views(name: str, raw: bytes) -> list[tuple[bool, bytes]]:
    """(plain, bytes) of each view before decoding: escapes read, tags replaced."""
    if name.endswith((".json", ".js")) and b"\\" in raw:
        text = _JS_ESCAPE.sub(_js_char, raw.decode("utf-8", "replace"))
        raw = (
            text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace").encode("utf-8")
        )
    if name.endswith(MARKUP_SUFFIXES):  # a line break in a page's text shows as a space
        raw = raw.replace(b"\r", b" ").replace(b"\n", b" ")
        if b"<" not in raw:
            return [(False, raw)]
        shown = _attributes(raw)  # links' addresses (status bar) and titles (tooltips)
        return [(False, _markup(raw))] + ([(False, shown)] if shown else [])
    if b"<" not in raw and b"&" not in raw:
        return [(True, raw)]  # the markup view is the same text
    return [(True, raw), (False, _markup(raw))]


_ATTRIBUTE = re.compile(
    rb"""\s(?:href|src|title|alt)\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE
)


def _attributes(raw: bytes) -> bytes:
    """The values of a page's ``href``, ``src``, ``title`` and ``alt`` attributes, each a block of
    its own, and, where one holds a ``%``, percent-decoded too (character references are decoded
    with the rest of the markup view)."""
    values = [double or single for double, single in _ATTRIBUTE.findall(raw)]
    encoded = [unquote_to_bytes(v) for v in values if b"%" in v]
    return b"|".join(values + encoded)


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
_RUN_REFERENCES = re.compile(
    _REFERENCE + rb"(?:[ ]*+" + _REFERENCE + rb"){10}(?:[ ]*+" + _REFERENCE + rb")*+"
)

"""Pure normalisation rules for export cells: widths, whitespace, dates, amounts, document numbers.

Each function takes a cell as text and either returns the normalised value or raises
:class:`CellError` with a Chinese reason. Nothing here is ever "fixed silently": a value that
is not clearly one form is refused.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from math import isfinite

# Characters that show nothing, removed from every cell (docs/data.md#invisible-characters): C0 and
# C1 controls but tab and line feed; every format character (category Cf: soft hyphen, zero-width
# space, joiners, bidi marks, embeddings, overrides and isolates, word joiner, BOM, tags) except the
# prepended concatenation marks, which are seen (U+0600–0605, 06DD, 070F, 0890–0891, 08E2, 110BD,
# 110CD); and the printable ones: the combining grapheme joiner U+034F, the Hangul fillers, the Khmer
# inherent vowels, the Mongolian free variation selectors, line and paragraph separators. Variation
# selectors stay: they choose a Han character's glyph in a name. tests/test_normalize.py checks the
# list against the Unicode database.
INVISIBLE = (
    "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f"
    "\u2028-\u202e\u2060-\u206f\u3164\ufeff\ufff0-\ufffb\uffa0\U00013430-\U00013438"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e00ff\U000e01f0-\U000e0fff"
)
_INVISIBLE = re.compile(f"[{INVISIBLE}]")
_PRINTABLE_INVISIBLE = re.compile("[\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180d\u180f\u3164\uffa0]")
_SPACES = re.compile(r"[ \t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")


class CellError(ValueError):
    """A cell that cannot be normalised; ``str()`` is the Chinese reason."""


def clean_text(value: str) -> str:
    """Remove invisible characters (:data:`INVISIBLE`), unify line ends and spaces, trim each line and the cell."""
    if not value:
        return ""
    # Fast path (most cells): printable (no control, format or separator character), no edge or
    # double spaces, and, beyond ASCII, none of the few invisible characters that count as printable.
    if (
        value.isprintable()
        and value[0] != " "
        and value[-1] != " "
        and "  " not in value
        and (value.isascii() or not _PRINTABLE_INVISIBLE.search(value))
    ):
        return value
    text = _INVISIBLE.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return "\n".join(lines).strip()


def half_width(value: str) -> str:
    """Full-width digits, letters and punctuation to half-width (NFKC), for codes and headers."""
    return value if value.isascii() else unicodedata.normalize("NFKC", value)


def normalize_code(value: str) -> str:
    """A code (credit code, registration number): half-width, upper-case, no spaces."""
    text = half_width(value)
    if " " in text or not text.isprintable():
        text = re.sub(r"\s+", "", text)
    return text.upper()


_HEADER_DROP = re.compile(r"[\s_\-—:：*＊]+")


def normalize_header(value: str) -> str:
    """Header cell → comparison key: half-width, no spaces/underscores/asterisks, unified brackets."""
    text = half_width(clean_text(str(value)))
    text = text.replace("[", "(").replace("]", ")").replace("【", "(").replace("】", ")")
    text = text.replace("〔", "(").replace("〕", ")")
    return _HEADER_DROP.sub("", text).lower()


# -- dates -------------------------------------------------------------------------------

_EXCEL_EPOCH = dt.date(1899, 12, 30)
_DATE_PATTERNS = [
    re.compile(
        r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]?\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
    ),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
]
MIN_DATE = dt.date(1949, 10, 1)
MAX_DATE = dt.date(2099, 12, 31)


def excel_serial_to_date(serial: float) -> dt.date:
    """Excel's 1900 date system (with its 1900-02-29 bug, hence the 1899-12-30 epoch)."""
    return _EXCEL_EPOCH + dt.timedelta(days=int(serial))


def parse_date(value: object) -> dt.date:
    """Any date form seen in exports → :class:`datetime.date`.

    Accepts ``2026/03/05``, ``2026-03-05``, ``2026.3.5``, ``2026年3月5日``, ``20260305``,
    date/datetime cells, and Excel serial numbers (as numbers or as text).
    """
    result: dt.date | None
    if isinstance(value, dt.datetime):
        result = value.date()
    elif isinstance(value, dt.date):
        result = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        result = _serial(float(value))
    else:
        written = clean_text(str(value))  # what messages quote (see parse_amount_wan)
        text = half_width(written).replace(" ", "")
        if not text:
            raise CellError("日期为空")
        result = None
        for pattern in _DATE_PATTERNS:
            match = pattern.match(text)
            if match:
                year, month, day = (int(g) for g in match.groups())
                try:
                    result = dt.date(year, month, day)
                except ValueError:
                    raise CellError(f"日期不存在：{written}") from None
                break
        if result is None:
            if re.fullmatch(r"\d{4,5}(\.0+)?", text):
                result = _serial(float(text))
            else:
                raise CellError(
                    f"无法识别的日期格式：{written}（应为 2026-03-05、2026/03/05 或 2026年3月5日）"
                )
    if not (MIN_DATE <= result <= MAX_DATE):
        raise CellError(f"日期超出合理范围：{result.isoformat()}")
    return result


def _serial(serial: float) -> dt.date:
    if not (1 <= serial < 80_000) or serial != int(serial):
        raise CellError(f"无法识别的日期：{serial:g}")
    return excel_serial_to_date(serial)


# -- amounts -----------------------------------------------------------------------------


def parse_amount_wan(value: object) -> float:
    """An amount in 万元 → float ≥ 0. ``2000元`` is refused: the column's unit is 万元."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = Decimal(str(value))
    else:
        # Messages quote the cell as written, never the digits joined by dropping its commas and
        # spaces: ``320902200001010001，6`` is a masked ID and a 6, not one 19-digit amount.
        written = clean_text(str(value))
        text = half_width(written).replace(",", "").replace(" ", "")
        if text.endswith("万元"):
            text = text[:-2]
        elif text.endswith("元"):
            raise CellError(f"金额单位应为万元：{written}")
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise CellError(f"金额不是数字：{written}") from None
    if not number.is_finite():
        raise CellError("金额不是数字")
    if number < 0:
        raise CellError(f"金额不能为负数：{value if isinstance(value, (int, float)) else written}")
    if number > Decimal("10000000"):
        raise CellError(
            f"金额超出合理范围（万元）：{value if isinstance(value, (int, float)) else written}"
        )
    return float(number)


# -- years and scores --------------------------------------------------------------------

_YEAR = re.compile(r"(\d{4})(?:年度|年)?")
_SCORE = re.compile(r"([+-]?(?:\d+(?:\.\d*)?|\.\d+))分?")
SCORE_MAX = Decimal(100)


def _number_text(value: int | float) -> str:
    """A number cell as the editor sees it: ``2025`` for 2025.0, else its shortest form."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def parse_year(value: object) -> str:
    """A year (评价年度) → its four digits as text: ``2025``, ``2025年``, ``2025年度``, full-width
    digits or a number cell. Between 1949 and 2099, like dates."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        written = _number_text(value)
    else:
        written = clean_text(str(value))
    match = _YEAR.fullmatch(half_width(written).replace(" ", ""))
    if not match or not (MIN_DATE.year <= int(match.group(1)) <= MAX_DATE.year):
        raise CellError(f"年度应为4位数字的年份（如 2025 或 2025年度）：{written}")
    return match.group(1)


def parse_score(value: object) -> float:
    """A score (评价得分) → a number from 0 to 100: ``92.5``, ``92.5分``, full-width digits or a
    number cell. Refused, never rounded or capped, when it is anything else."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        written = _number_text(value)
        number = Decimal(value) if isinstance(value, int) or isfinite(value) else None
    else:
        written = clean_text(str(value))
        match = _SCORE.fullmatch(half_width(written).replace(" ", ""))
        number = Decimal(match.group(1)) if match else None
    if number is None:
        raise CellError(f"得分不是数字：{written}")
    if not (0 <= number <= SCORE_MAX):
        raise CellError(f"得分应在 0 到 100 之间：{written}")
    return float(number)


# -- document numbers --------------------------------------------------------------------

_OPEN = "〔[(（【［﹝〈<《{｛"
_CLOSE = "〕])）】］﹞〉>》}｝"
_BRACKETS = str.maketrans({**{c: "〔" for c in _OPEN}, **{c: "〕" for c in _CLOSE}})


def normalize_docno(value: str) -> str:
    """Document number → matching key: half-width digits, brackets unified to 〔〕, no spaces,
    no trailing 号. ``盐市监罚[2024]123号`` and ``盐市监罚（2024）123`` give the same key."""
    text = half_width(clean_text(value))
    # NFKC turns 〔〕 into themselves but （） into (); unify all brackets afterwards.
    text = text.translate(_BRACKETS)
    text = re.sub(r"\s+", "", text).upper()
    return text[:-1] if text.endswith("号") else text

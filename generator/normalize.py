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

# Control characters other than tab and newline are never legitimate in an export cell.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2064\ufeff]")
_SPACES = re.compile(r"[ \t\u00a0\u3000]+")


class CellError(ValueError):
    """A cell that cannot be normalised; ``str()`` is the Chinese reason."""


def clean_text(value: str) -> str:
    """Strip control/bidi characters, unify line ends, trim each line and the whole cell."""
    if not value:
        return ""
    # Fast path (most cells): printable, no edge or double spaces, nothing to clean.
    if value.isprintable() and value[0] != " " and value[-1] != " " and "  " not in value:
        return value
    text = _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))
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
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]?\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"),
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
    if isinstance(value, dt.datetime):
        result = value.date()
    elif isinstance(value, dt.date):
        result = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        result = _serial(float(value))
    else:
        text = half_width(clean_text(str(value))).replace(" ", "")
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
                    raise CellError(f"日期不存在：{text}") from None
                break
        if result is None:
            if re.fullmatch(r"\d{4,5}(\.0+)?", text):
                result = _serial(float(text))
            else:
                raise CellError(f"无法识别的日期格式：{text}（应为 2026-03-05、2026/03/05 或 2026年3月5日）")
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
        text = half_width(clean_text(str(value))).replace(",", "").replace(" ", "")
        if text.endswith("万元"):
            text = text[:-2]
        elif text.endswith("元"):
            raise CellError(f"金额单位应为万元：{text}")
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise CellError(f"金额不是数字：{text}") from None
    if not number.is_finite():
        raise CellError("金额不是数字")
    if number < 0:
        raise CellError(f"金额不能为负数：{number}")
    if number > Decimal("10000000"):
        raise CellError(f"金额超出合理范围（万元）：{number}")
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

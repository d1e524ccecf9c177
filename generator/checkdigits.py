"""Check digits of 统一社会信用代码 (GB 32100-2015) and 居民身份证号码 (GB 11643-1999).

The arithmetic comes from python-stdnum (``stdnum.cn.uscc`` / ``stdnum.cn.ric``), a maintained
library with published test vectors. We wrap it because the standard is wider than stdnum's
format check (GB 32100 allows letters in positions 1–2, e.g. ``Y1`` 其他) and because real
exports need the 个体工商户 placeholder and a region-independent ID check (stdnum also checks
the birth place against its own region table, which rejects valid IDs of abolished counties).
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache

from stdnum.cn import ric, uscc

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_PLACEHOLDER = "00000000000000000X"  # 个体工商户 without a code; fails the checksum on purpose
_USCC_FORMAT = re.compile(rf"^[{USCC_ALPHABET}]{{2}}\d{{6}}[{USCC_ALPHABET}]{{10}}$")
_RID_FORMAT = re.compile(r"^\d{17}[\dX]$")
_RID15_FORMAT = re.compile(r"^\d{15}$")
# Birth years an 18-digit ID can hold. Without a clock (the detector reads text, not the date) the
# upper bound is fixed: an open one let 18 digits of a hex digest with a year such as 9251 pass.
BIRTH_YEARS = range(1900, 2100)


def uscc_check_char(first17: str) -> str:
    """The 18th character for the first 17 of a credit code."""
    return uscc.calc_check_digit(first17)


@lru_cache(maxsize=65_536)  # authority and source codes repeat on every row of an export
def is_valid_uscc(code: str) -> bool:
    """True when ``code`` is 18 characters of the GB 32100 alphabet with a correct check character."""
    return bool(_USCC_FORMAT.match(code)) and uscc_check_char(code[:17]) == code[17]


def rid_check_char(first17: str) -> str:
    """The 18th character of a resident ID for its first 17 digits."""
    return ric.calc_check_digit(first17 + "0")


def rid_birth_date(number: str) -> dt.date | None:
    """Birth date encoded in an 18- or 15-digit ID, or None when it is not a real date."""
    try:
        if len(number) == 18:
            return dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
        if len(number) == 15:
            return dt.date(1900 + int(number[6:8]), int(number[8:10]), int(number[10:12]))
    except ValueError:
        return None
    return None


def rid_problem(number: str, today: dt.date | None = None) -> str | None:
    """Why ``number`` is not a valid resident ID (Chinese), or None when it is."""
    if _RID15_FORMAT.match(number):
        # First-generation IDs (before 1999) have no check digit.
        return None if rid_birth_date(number) else "身份证号码中的出生日期无效"
    if not _RID_FORMAT.match(number):
        return "身份证号码应为18位（17位数字加校验位）"
    if rid_check_char(number[:17]) != number[17]:
        return "身份证号码校验位错误"
    birth = rid_birth_date(number)
    if birth is None or birth.year not in BIRTH_YEARS or (today is not None and birth > today):
        return "身份证号码中的出生日期无效"
    return None


def is_valid_rid(number: str) -> bool:
    """True for an 18-digit resident ID with a correct check digit and a real birth date."""
    return len(number) == 18 and rid_problem(number) is None

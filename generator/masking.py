"""Masking of personal ID numbers: full numbers never reach ``content/`` or the site."""

from __future__ import annotations

from .checkdigits import FULL_WIDTH_DIGITS, RID_CANDIDATE, is_valid_rid


def mask_id(value: str, keep_start: int = 4, keep_end: int = 4, char: str = "*") -> str:
    """``320902199001014410`` → ``3209**********4410``; short values are hidden entirely."""
    value = value.strip()
    if not value:
        return ""
    if len(value) <= keep_start + keep_end:
        return char * len(value)
    hidden = len(value) - keep_start - keep_end
    return value[:keep_start] + char * hidden + (value[-keep_end:] if keep_end else "")


def mask_ids_in_text(text: str, keep_start: int = 4, keep_end: int = 4, char: str = "*") -> str:
    """Mask every valid resident ID number found inside free text (e.g. in 违法事实)."""
    if not text or len(text) < 18:
        return text
    text = text.translate(FULL_WIDTH_DIGITS)  # ３２０９… is an ID number too

    def repl(match):
        number = match.group(1)
        if is_valid_rid(number.upper()):
            return mask_id(number, keep_start, keep_end, char)
        return number

    return RID_CANDIDATE.sub(repl, text)

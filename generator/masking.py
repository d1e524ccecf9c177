"""Masking of an ID column's value (证件号码): numbers inside any text are :mod:`generator.pii`'s."""

from __future__ import annotations


def mask_id(value: str, keep_start: int = 4, keep_end: int = 4, char: str = "*") -> str:
    """``320902199001014410`` → ``3209**********4410``; short values are hidden entirely."""
    value = value.strip()
    if not value:
        return ""
    if len(value) <= keep_start + keep_end:
        return char * len(value)
    hidden = len(value) - keep_start - keep_end
    return value[:keep_start] + char * hidden + (value[-keep_end:] if keep_end else "")

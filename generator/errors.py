"""Error types that map to the command-line contract's exit codes."""

from __future__ import annotations


class DiscloseError(Exception):
    """Base class: a failure we can explain in one Chinese line."""

    exit_code = 1


class UserError(DiscloseError):
    """The input cannot be used (bad file, unknown batch, ambiguous key): exit 2, nothing written."""

    exit_code = 2


class BuildError(DiscloseError):
    """The build or a check failed (tampered batch, verify finding): exit 1, output untouched."""

    exit_code = 1


_UNPRINTABLE = str.maketrans({c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))} | {0x2028: "\\u2028", 0x2029: "\\u2029"})


def one_line(message: object) -> str:
    """An error's text as the one line it must be: a file name, a cell or an argument quoted in it
    may hold line breaks or control characters, which are shown escaped (``a\\x0ab.csv``), and
    personal numbers, which are masked."""
    from . import pii

    return pii.mask(str(message)).translate(_UNPRINTABLE)

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

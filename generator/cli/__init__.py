"""The ``disclose`` command: one module per sub-command, errors mapped to exit codes.

Exit codes (the command-line contract): 0 done; 2 the input cannot be used (nothing
written); 1 anything else. A user error is one Chinese line on stderr, never a traceback.
"""

from __future__ import annotations

# Re-exported: the shared parts live in .common, below the sub-commands.
from .common import (
    DiscloseGroup,
    Site,
    cli,
    handle_errors,
    key_option,
    one_line,
    parse_today,
    pass_site,
    pin_environment,
    today_option,
)


def main() -> None:
    cli(prog_name="disclose")


# Each sub-command lives in its own module and registers itself on ``cli``.
from . import (
    approve,
    build,
    desk,
    editor,
    ingest,
    log,
    migrate,
    repin,
    review,
    serve,
    status,
    verify,
    withdraw,
)

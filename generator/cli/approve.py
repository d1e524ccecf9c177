"""``disclose approve BATCH_ID --editor NAME``: approve a staged batch for publication."""

from __future__ import annotations

import click

from ..batches import BatchStore
from . import Site, cli, handle_errors, pass_site


@cli.command()
@click.argument("batch_id")
@click.option("--editor", required=True, help="Name of the approving editor (recorded with the time and checksum).")
@pass_site
@handle_errors
def approve(site: Site, batch_id: str, editor: str) -> None:
    """Approve BATCH_ID: record editor, time and the sha256 of its records.

    Refuses an unknown batch or one whose records changed since staging.
    """
    _, message = BatchStore(site.root, site.cfg).approve(batch_id, editor)
    click.echo(message)

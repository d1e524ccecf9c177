"""``disclose approve BATCH_ID --editor NAME [--key FILE]``: sign a staged batch's approval into the publication log."""

from __future__ import annotations

from pathlib import Path

import click

from ..batches import BatchStore
from ..signing import load_signer
from .common import Site, cli, handle_errors, key_option, pass_site


@cli.command()
@click.argument("batch_id")
@click.option(
    "--editor",
    required=True,
    help="The approving editor: a trusted editor whose key is in the key folder.",
)
@key_option
@pass_site
@handle_errors
def approve(site: Site, batch_id: str, editor: str, key_file: Path | None) -> None:
    """Approve BATCH_ID: append an entry signed with the editor's key to the publication log.

    The entry holds the batch id, its kind, the BLAKE3 of its records, the SHA-256 of its manifest,
    the editor, the time and the hash of the previous entry. Refuses (exit 2, nothing written) an
    unknown batch, one whose records changed since staging, a missing key or an untrusted editor.
    """
    signer = load_signer(editor, key_file)
    _, message = BatchStore(site.root, site.cfg).approve(batch_id, signer)
    click.echo(message)

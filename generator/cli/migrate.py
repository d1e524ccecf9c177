"""``disclose migrate --editor NAME [--editor NAME …]``: sign a site's old ``approval.json`` approvals
into the publication log."""

from __future__ import annotations

from pathlib import Path

import click

from ..batches import BatchStore
from ..clock import now_iso
from ..editors import Editors
from ..migrate import migrate as run_migrate
from ..signing import load_signer
from .common import Site, cli, handle_errors, key_option, pass_site


@cli.command(name="migrate")
@click.option(
    "--editor",
    "names",
    multiple=True,
    required=True,
    help="A trusted editor who signs the migrated approvals (give it APPROVALS_REQUIRED times, different editors).",
)
@key_option
@pass_site
@handle_errors
def migrate(site: Site, names: tuple[str, ...], key_file: Path | None) -> None:
    """Re-sign every batch approved in an old approval.json into the signed publication log.

    Checks each batch against the digests it was approved with (a changed one stops the migration,
    nothing written); keeps the old approval times and approvers; on a site with no trusted editor
    the first --editor is trusted on first use. Safe to run again.
    """
    signers = [load_signer(name, key_file if i == 0 else None) for i, name in enumerate(names)]
    editors = Editors(site.root, site.cfg)
    if not editors.paths.log.exists():
        editors.trust(signers[0].name, signers[0].public_key(), signers[0], now_iso(site.cfg))
        click.echo(f"首次信任（trust on first use）：{signers[0].name} 成为本站第一位受信任的编辑")
    result = run_migrate(BatchStore(site.root, site.cfg), signers)
    for batch_id in result.signed:
        click.echo(f"批次 {batch_id} 的审核已签名写入发布日志")
    for batch_id in result.unapproved:
        click.echo(f"批次 {batch_id} 旧审核人数不足，已回到待审核")
    click.echo(f"迁移完成：{len(result.signed)} 个批次，{len(result.unapproved)} 个回到待审核")

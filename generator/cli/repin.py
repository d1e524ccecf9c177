"""``disclose repin``: pin batches staged before BLAKE3 by their BLAKE3 digest too."""

from __future__ import annotations

import click

from ..batches import BatchStore
from ..errors import UserError
from .common import Site, cli, handle_errors, pass_site


@cli.command(name="repin")
@pass_site
@handle_errors
def repin(site: Site) -> None:
    """Add the BLAKE3 digest of their records to batches pinned only by sha256.

    Each batch's sha256 is checked against its manifest and every approval first; a tampered batch
    is left as it is and named (exit 2). Builds then check the batch faster. Safe to run again.
    """
    repinned, refused = BatchStore(site.root, site.cfg).repin()
    for batch_id in repinned:
        click.echo(f"批次 {batch_id} 已加记 BLAKE3 校验值")
    if not repinned and not refused:
        click.echo("所有批次都已有 BLAKE3 校验值")
    if refused:
        raise UserError(
            f"批次 {'、'.join(refused)} 的数据与暂存或审核时的 sha256 不符（已被修改），未加记校验值；"
            "请查明原因后删除该批次并重新导入"
        )

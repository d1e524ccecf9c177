"""``disclose withdraw KEY --kind KIND --reason TEXT --editor NAME``: stage a withdrawal."""

from __future__ import annotations

import click

from ..batches import BatchStore
from ..schema import KIND_NAMES, KINDS
from ..withdrawals import stage_withdrawal
from .common import Site, cli, handle_errors, pass_site, today_option


@cli.command()
@click.argument("key")
@click.option("--kind", required=True, type=click.Choice(KIND_NAMES), help="Record kind.")
@click.option(
    "--reason", required=True, help="信用修复, 异议更正, 决定撤销, … (setting WITHDRAW_REASONS)."
)
@click.option("--editor", required=True, help="Name of the editor requesting the withdrawal.")
@today_option
@pass_site
@handle_errors
def withdraw(site: Site, key: str, kind: str, reason: str, editor: str, today: str | None) -> None:
    """Stage a withdrawal of the record KEY (record id or document number, any bracket style).

    The withdrawal is a batch: it takes effect once approved. Last line: ``batch: <BATCH_ID>``.
    """
    store = BatchStore(site.root, site.cfg)
    batch_id, target, created = stage_withdrawal(
        store, KINDS[kind], key, reason, editor, site.cfg, site.today(today)
    )
    click.echo(f"撤下申请：{target.subject}（{target.docno}，记录 {target.id}），原因：{reason}")
    if not created:
        click.echo("同一撤下申请已存在，未重复创建")
    click.echo(
        f"下一步：disclose approve {batch_id} --editor 姓名，审核后下一次构建即从网站各处撤下"
    )
    click.echo(f"batch: {batch_id}")

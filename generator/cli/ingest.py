"""``disclose ingest FILE --kind KIND``: stage a department export as a batch."""

from __future__ import annotations

from pathlib import Path

import click

from ..ingest import ingest as run_ingest
from ..ingest import rejection_summary
from ..progress import StageProgress
from ..schema import KIND_NAMES, KINDS
from .common import Site, cli, handle_errors, pass_site, today_option


@cli.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--kind", required=True, type=click.Choice(KIND_NAMES), help="Record kind of the export."
)
@click.option("--source", help="Name of the sending department (default: the file name).")
@today_option
@pass_site
@handle_errors
def ingest(site: Site, file: Path, kind: str, source: str | None, today: str | None) -> None:
    """Read, validate, mask and stage FILE (CSV/XLSX/XLS) as a batch awaiting approval.

    Prints a summary, the rejection report's path and, as the last line, ``batch: <BATCH_ID>``.
    """
    day = site.today(today)
    bar = StageProgress("导入", None, "行")
    try:
        result = run_ingest(
            file, KINDS[kind], source, site.cfg, site.root, day, bar.advance if bar.mode else None
        )
    finally:
        bar.close()
    c = result.counts
    for message in result.messages:
        click.echo(message)
    click.echo(
        f"{KINDS[kind].label}：共 {c['rows']} 行，接收 {c['accepted']} 行，"
        f"拒绝 {c['rejected']} 行，重复 {c['duplicates']} 行，不予公开 {c['withheld']} 行"
    )
    if c["rejected"]:
        click.echo(f"拒绝原因见 {result.rejections_path.relative_to(site.root)}：")
        for line in rejection_summary(result.rejections_path, source=result.source_file):
            click.echo(line)
    click.echo(
        f"下一步：disclose review {result.batch_id}，核对后 disclose approve {result.batch_id} --editor 姓名"
    )
    click.echo(f"batch: {result.batch_id}")

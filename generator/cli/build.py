"""``disclose build [--today DATE] [--output DIR]``: build the static site atomically."""

from __future__ import annotations

import time
from pathlib import Path

import click

from ..build import build as run_build
from .common import Site, cli, handle_errors, pass_site, today_option


@cli.command()
@today_option
@click.option(
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("output"),
    show_default=True,
    help="Output folder; updated only when the build succeeds.",
)
@click.option(
    "--full",
    is_flag=True,
    help="Render every page and swap in a new folder, ignoring the last build's page keys.",
)
@click.option(
    "--published-head",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The deployed site's log-head.json: refuse a publication log that does not extend it (rollback protection).",
)
@pass_site
@handle_errors
def build(
    site: Site, today: str | None, output: Path, full: bool, published_head: Path | None
) -> None:
    """Build the site from approved, untampered, in-period batches (a Pelican build).

    After a first build only pages whose inputs changed are rendered and moved into place;
    unchanged files keep their bytes and modification times. A failure exits 1 and leaves the
    previous output exactly as it was.
    """
    day = site.today(today)
    started = time.monotonic()
    result = run_build(site.root, site.cfg, day, output, full=full, published_head=published_head)
    total = result.total
    how = "全量"
    applied = result.applied
    if applied is not None:
        how = f"增量：新增或更新 {applied.written} 个文件，删除 {applied.deleted} 个"
    click.echo(
        f"已构建 {output}（{day.isoformat()}，{how}）：公示 {total} 条记录，用时 {time.monotonic() - started:.1f} 秒"
    )

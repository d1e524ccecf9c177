"""``disclose build [--today DATE] [--output DIR]``: build the static site atomically."""

from __future__ import annotations

import time
from pathlib import Path

import click

from ..build import build as run_build
from . import Site, cli, handle_errors, pass_site, today_option


@cli.command()
@today_option
@click.option("--output", type=click.Path(file_okay=False, path_type=Path), default=Path("output"), show_default=True,
              help="Output folder; replaced atomically only when the build succeeds.")
@pass_site
@handle_errors
def build(site: Site, today: str | None, output: Path) -> None:
    """Build the site from approved, untampered, in-period batches (a Pelican build).

    A failure exits 1 and leaves the previous output exactly as it was.
    """
    day = site.today(today)
    started = time.monotonic()
    total = run_build(site.root, site.cfg, day, output)
    click.echo(f"已构建 {output}（{day.isoformat()}）：公示 {total} 条记录，用时 {time.monotonic() - started:.1f} 秒")

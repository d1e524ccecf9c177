"""``disclose review BATCH_ID``: write the HTML review report for a batch."""

from __future__ import annotations

import click

from ..review import write_review
from .common import Site, cli, handle_errors, pass_site, today_option


@cli.command()
@click.argument("batch_id")
@today_option
@pass_site
@handle_errors
def review(site: Site, batch_id: str, today: str | None) -> None:
    """Write reports/review-BATCH_ID.html (never published): counts, rejected rows, what is new,
    changed or withdrawn against what is approved today, late records, and a sample as on the site."""
    path = write_review(site.root, site.cfg, batch_id, site.today(today))
    click.echo(f"审核报告已生成：{path.relative_to(site.root)}（用浏览器打开）")

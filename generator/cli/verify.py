"""``disclose verify OUTPUT_DIR [--today DATE]``: check a built site against the batches."""

from __future__ import annotations

import time
from pathlib import Path

import click

from ..errors import BuildError, UserError
from ..verify import verify_site
from .common import Site, cli, handle_errors, pass_site, today_option


@cli.command()
@click.argument("output_dir", type=click.Path(path_type=Path), default=Path("output"))
@today_option
@click.option(
    "--demo",
    is_flag=True,
    help="Accept a site that trusts the demo-only signing key (the demo site and its tests).",
)
@click.option(
    "--full",
    is_flag=True,
    help="A cold check: build the shadow copy from scratch and read every file, trusting no earlier verify.",
)
@pass_site
@handle_errors
def verify(site: Site, output_dir: Path, today: str | None, demo: bool, full: bool) -> None:
    """Check a built site independently: exactly the published records (pages, archives, search,
    downloads), no full ID number in any file, no broken internal link, well-formed sitemap and
    feeds. Each finding is one line; exit 1 on any finding.

    Use the same --today as the build.
    """
    day = site.today(today)
    output = output_dir if output_dir.is_absolute() else Path.cwd() / output_dir
    if not output.is_dir() and (site.root / output_dir).is_dir():
        output = site.root / output_dir
    if not output.is_dir():
        raise UserError(f"找不到要核验的网站目录：{output_dir}（先运行 disclose build）")
    started = time.monotonic()
    report = verify_site(site.root, site.cfg, output, day, allow_demo_key=demo, full=full)
    for line in report.lines():
        click.echo(line)
    if not report.ok:
        count = sum(len(v) for v in report.findings.values())
        raise BuildError(f"核验未通过：{output_dir} 有 {count} 处问题（见上）；不要发布这个目录")
    click.echo(
        f"核验通过：{output_dir}（{day.isoformat()}）共 {report.files} 个文件、公示 {report.records} 条记录，"
        f"用时 {time.monotonic() - started:.1f} 秒"
    )

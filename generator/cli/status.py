"""``disclose status``: list batches and their state, and every problem the build would refuse on."""

from __future__ import annotations

import click

from ..batches import STATE_LABELS, BatchStore
from ..build import rollback_problem
from .common import Site, cli, handle_errors, pass_site


@cli.command()
@pass_site
@handle_errors
def status(site: Site) -> None:
    """List batches: id, kind, source, rows, state, approvers, date; pending withdrawals; then every
    problem of the publication log or of an approved batch that would stop the build (exit 1)."""
    store = BatchStore(site.root, site.cfg)
    publication = store.publication()
    rollback = rollback_problem(publication.ledger, site.root / "output")
    if rollback:
        publication.problems.insert(0, rollback)
    batches = store.all()
    for line in store.damaged():  # cannot be approved; the build does not read them
        click.echo(f"问题：{line}", err=True)
    if not batches and not publication.problems:
        click.echo("还没有任何批次。用 disclose ingest 导入数据。")
        return
    withdrawn_by: dict[str, list[str]] = {}
    for batch in batches:
        if batch.is_withdrawal and publication.states.get(batch.id) == "approved":
            for entry in batch.iter_records():
                withdrawn_by.setdefault(entry["id"], []).append(batch.id)
    click.echo("批次\t类型\t来源\t行数\t状态\t审核人\t日期\t被撤下记录")
    for batch in sorted(batches, key=lambda b: (str(b.manifest.get("staged_at", "")), b.id)):
        state = publication.states.get(batch.id, "staged")
        entries = publication.ledger.approvals.get(batch.id, [])
        editors = "、".join(e["by"] for e in entries) or "-"
        date = str(entries[-1]["at"] if entries else batch.manifest.get("staged_at", ""))[:10]
        label = STATE_LABELS[state]
        hit = ""
        if not batch.is_withdrawal and withdrawn_by and batch.records_path.exists():
            ids = {r["id"] for r in batch.iter_records()} & withdrawn_by.keys()
            if ids:
                by = sorted({w for rid in ids for w in withdrawn_by[rid]})
                hit = f"{len(ids)}（由 {'、'.join(by)}）"
                label += "，部分已撤下"
        rows = batch.manifest.get("counts", {}).get("accepted", "")
        click.echo(
            f"{batch.id}\t{batch.manifest.get('kind_label', batch.kind)}\t"
            f"{batch.manifest.get('source', '')}\t{rows}\t{label}\t{editors}\t{date}\t"
            f"{hit or '-'}"
        )
    head = publication.ledger.head
    click.echo(
        f"发布日志：{head.entries} 条，日志头 {head.hash[:16] or '-'}；受信任的编辑 "
        f"{len(publication.ledger.editors)} 位"
    )
    if publication.problems:
        click.echo(f"构建会因以下 {len(publication.problems)} 个问题停止：")
        for problem in publication.problems:
            click.echo(f"  - {problem}")
        raise SystemExit(1)

"""``disclose status``: list batches and their state."""

from __future__ import annotations

import click

from ..batches import STATE_LABELS, BatchStore
from . import Site, cli, handle_errors, pass_site


@cli.command()
@pass_site
@handle_errors
def status(site: Site) -> None:
    """List batches: id, kind, source, rows, state, approvers, date; and pending withdrawals."""
    store = BatchStore(site.root, site.cfg)
    batches = store.all()
    if not batches:
        click.echo("还没有任何批次。用 disclose ingest 导入数据。")
        return
    withdrawn_by: dict[str, list[str]] = {}
    approved_ids = set()
    for batch in batches:
        state, _ = batch.approval_state(site.cfg)
        if batch.is_withdrawal and state == "approved":
            approved_ids.update(r["id"] for r in batch.iter_records())
            for entry in batch.iter_records():
                withdrawn_by.setdefault(entry["id"], []).append(batch.id)
    click.echo("批次\t类型\t来源\t行数\t状态\t审核人\t日期\t被撤下记录")
    for batch in sorted(batches, key=lambda b: (b.manifest.get("staged_at", ""), b.id)):
        state, _ = batch.approval_state(site.cfg)
        approvals = batch.approvals()
        editors = "、".join(dict.fromkeys(a["editor"] for a in approvals)) or "-"
        date = (approvals[-1]["approved_at"] if approvals else batch.manifest.get("staged_at", ""))[:10]
        label = STATE_LABELS[state]
        hit = ""
        if not batch.is_withdrawal and approved_ids and batch.records_path.exists():
            ids = {r["id"] for r in batch.iter_records()} & approved_ids
            if ids:
                by = sorted({w for rid in ids for w in withdrawn_by[rid]})
                hit = f"{len(ids)}（由 {'、'.join(by)}）"
                label += "，部分已撤下"
        rows = batch.manifest.get("counts", {}).get("accepted", "")
        click.echo(f"{batch.id}\t{batch.manifest.get('kind_label', batch.kind)}\t{batch.manifest.get('source', '')}\t{rows}\t{label}\t{editors}\t{date}\t{hit or '-'}")

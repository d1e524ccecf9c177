"""The review report: an HTML page (outside ``output/``) an editor opens before approving.

Shows counts, rejected rows with reasons, what becomes new / changed / withdrawn against what
is approved today, late records (双公示 7 working days) and a sample rendered as on the site.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any

import jinja2

from .batches import REJECTIONS, WARNINGS, Batch, BatchStore
from .fileio import atomic_write_text
from .markup import format_amount, format_date
from .publication import PublishedRecord, compute_state, publication_end
from .schema import KINDS
from .settings import Config
from .sitemodel import display_rows
from .workdays import working_days_between

SAMPLE_SIZE = 5
LIST_LIMIT = 500


def _read_report(path: Path) -> list[list[str]]:
    """A batch's rejection or warning report (not pinned by any digest: a damaged one shows as it is)."""
    if not path.is_file():
        return []
    try:
        rows = list(
            csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig", errors="replace")))
        )[1:]
    except csv.Error:
        rows = [["", "", f"{path.name} 已损坏，无法读取"]]
    return [[*row, "", "", "", ""][:4] for row in rows]  # 行号, 列, 原因, 原值


def review_context(store: BatchStore, batch: Batch, cfg: Config, today: dt.date) -> dict[str, Any]:
    # Why long: the review report's context, section by section as the template shows them.
    state = compute_state(store, cfg, today, strict=False)
    publication = store.publication()
    current = {rid: latest for rid, latest in state.latest.items() if latest.batch.id != batch.id}
    published = state.published_ids()
    ctx: dict[str, Any] = {
        "batch": batch,
        "manifest": batch.manifest,
        "today": today.isoformat(),
        "rejections": _read_report(batch.path / REJECTIONS)[:LIST_LIMIT],
        "warnings": _read_report(batch.path / WARNINGS)[:LIST_LIMIT],
        "state": publication.states.get(batch.id, "staged"),
        "approvals": [
            {"editor": e["by"], "approved_at": e["at"]}
            for e in publication.ledger.approvals.get(batch.id, [])
        ],
        "approvals_required": cfg.APPROVALS_REQUIRED,
    }
    if batch.is_withdrawal:
        ctx["withdrawals"] = [
            {**e, "published": e["id"] in published} for e in batch.iter_records()
        ]
        return ctx
    kind = KINDS[batch.kind]
    sample: list[dict[str, Any]]
    new, changed, same, late, withheld, expired, sample, republish = [], [], 0, [], [], [], [], []
    for record in batch.iter_records():
        fields = record["fields"]
        item = {
            "id": record["id"],
            "row": record["row"],
            "subject": fields.get(kind.subject, ""),
            "docno": fields.get(kind.docno, ""),
            "date": fields.get(kind.date, ""),
        }
        if record["id"] in state.withdrawn:
            w = state.withdrawn[record["id"]]
            republish.append(
                {
                    **item,
                    "reason": w.get("reason", ""),
                    "withdrawal": w.get("batch_id", ""),
                    "at": w.get("approved_at", "")[:10],
                }
            )
        latest = current.get(record["id"])
        previous = latest.record()["fields"] if latest is not None else None
        if previous is None:
            new.append(item)
        elif previous != fields:
            item["changes"] = sorted(
                k for k in set(fields) | set(previous) if fields.get(k) != previous.get(k)
            )
            changed.append(item)
        else:
            same += 1
        delay = working_days_between(
            dt.date.fromisoformat(item["date"]), today, cfg.HOLIDAYS, cfg.MAKEUP_WORKDAYS
        )
        if kind.timeliness and delay > cfg.TIMELINESS_WORKING_DAYS:
            late.append({**item, "delay": delay})
        ends, basis = publication_end(kind, fields, cfg)
        if not record.get("public", True):
            withheld.append({**item, "reason": record.get("withheld", "")})
        elif ends is not None and ends < today:
            expired.append({**item, "ends": ends.isoformat(), "basis": basis})
        elif len(sample) < SAMPLE_SIZE:
            pub = PublishedRecord(
                kind.name,
                record["id"],
                fields,
                batch.id,
                "",
                "",
                ends.isoformat() if ends else None,
                basis,
            )
            sample.append({"record": pub, "rows": display_rows(kind, pub, cfg.LONG_TERM_DATE)})
    ctx.update(
        kind=kind,
        republish=republish[:LIST_LIMIT],
        new=new[:LIST_LIMIT],
        new_count=len(new),
        changed=changed[:LIST_LIMIT],
        changed_count=len(changed),
        same=same,
        late=late[:LIST_LIMIT],
        late_count=len(late),
        withheld=withheld[:LIST_LIMIT],
        expired=expired[:LIST_LIMIT],
        sample=sample,
        list_limit=LIST_LIMIT,
    )
    return ctx


def render_report(root: Path, cfg: Config, template: str, **context: Any) -> str:
    """An editors' report page (review, build): our templates plus the theme's macros, with the
    site's stylesheet inlined so the single file opens anywhere."""
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(
            [
                jinja2.PackageLoader("generator", "templates"),
                jinja2.FileSystemLoader(str(root / "theme" / "templates")),
            ]
        ),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(
        {"cn_date": lambda value: format_date(value, cfg.LONG_TERM_DATE), "amount": format_amount}
    )
    css_path = root / "theme" / "static" / "css" / "site.css"
    return env.get_template(template).render(
        **context,
        cfg=cfg,
        site_css=css_path.read_text(encoding="utf-8") if css_path.exists() else "",
    )


def write_review(root: Path, cfg: Config, batch_id: str, today: dt.date) -> Path:
    store = BatchStore(root, cfg)
    batch = store.get(batch_id)
    batch.untouched()  # what the editor reviews is what was staged
    html = render_report(root, cfg, "review.html", **review_context(store, batch, cfg, today))
    target = root / cfg.REPORTS_DIR / f"review-{batch.id}.html"
    atomic_write_text(target, html)
    return target

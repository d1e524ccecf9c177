"""The build report: what a build published, corrected and took down since the last one, and why.

Written after a successful build only, under ``REPORTS_DIR/build/`` (never published): a JSON
file for machines and CI artifacts, an HTML page for editors, and ``last-published.tsv``, the
list the next build compares with (record id, kind, batch of the version shown).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .batches import atomic_write_text
from .publication import State, why_not_published
from .schema import KINDS
from .settings import Config

REPORT_MAX_ITEMS = 5_000  # per list; the counts are always complete
LAST = "last-published.tsv"


def _read_last(path: Path) -> dict[str, tuple[str, str]]:
    if not path.exists():
        return {}
    result = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        rid, kind, batch = (line.split("\t") + ["", ""])[:3]
        result[rid] = (kind, batch)
    return result


def _describe(state: State, rid: str, kind: str) -> dict[str, Any]:
    latest = state.latest.get(rid)
    brief = latest.brief if latest is not None else {}
    schema = KINDS.get(kind)
    return {"id": rid, "kind": kind, "kind_label": schema.label if schema else kind,
            "subject": str(brief.get(schema.subject, "")) if schema else "",
            "docno": str(brief.get(schema.docno, "")) if schema else ""}


def build_report(state: State, previous: dict[str, tuple[str, str]]) -> dict[str, Any]:
    current = {r.id: (r.kind, r.batch_id) for records in state.published.values() for r in records}
    unknown = ("", None)
    # Only the records that differ are sorted, and only the listed ones described: 10^6 ids would
    # take seconds every night, and a first build lists everything as new.
    differing = sorted(rid for rid, (_kind, batch) in current.items() if previous.get(rid, unknown)[1] != batch)
    new_ids = [rid for rid in differing if rid not in previous]
    updated_ids = [rid for rid in differing if rid in previous]
    removed_ids = sorted(previous.keys() - current.keys())
    new = [{**_describe(state, rid, current[rid][0]), "batch": current[rid][1]} for rid in new_ids[:REPORT_MAX_ITEMS]]
    updated = [{**_describe(state, rid, current[rid][0]), "batch": current[rid][1], "previous_batch": previous[rid][1]}
               for rid in updated_ids[:REPORT_MAX_ITEMS]]
    removed = []
    for rid in removed_ids[:REPORT_MAX_ITEMS]:
        reason, detail, batch = why_not_published(state, rid)
        removed.append({**_describe(state, rid, previous[rid][0]), "reason": f"{reason}：{detail}" if detail else reason, "batch": batch})
    counts = {"new": len(new_ids), "updated": len(updated_ids), "removed": len(removed_ids)}
    return {
        "today": state.today.isoformat(),
        "published": state.total,
        "by_kind": {kind: len(records) for kind, records in state.published.items()},
        "counts": counts,
        "truncated": any(count > REPORT_MAX_ITEMS for count in counts.values()),
        "changes": {"new": new, "updated": updated, "removed": removed},
    }


def _report_name(folder: Path, day: str) -> str:
    """``2026-11-28`` for the day's first build, then ``2026-11-28-2`` … (an urgent rebuild keeps the
    nightly report)."""
    name, number = day, 1
    while (folder / f"{name}.json").exists():
        number += 1
        name = f"{day}-{number}"
    return name


def write_build_report(root: Path, cfg: Config, state: State, output: Path) -> Path:
    """Compare with the last successful build, write the report, remember this build."""
    from .review import render_report

    folder = root / cfg.REPORTS_DIR / "build"
    folder.mkdir(parents=True, exist_ok=True)
    report = build_report(state, _read_last(folder / LAST))
    report["output"] = str(output)
    day = _report_name(folder, state.today.isoformat())
    atomic_write_text(folder / f"{day}.json", json.dumps(report, ensure_ascii=False, indent=1, sort_keys=True) + "\n")
    labels = {kind: schema.label for kind, schema in KINDS.items()}
    atomic_write_text(folder / f"{day}.html", render_report(root, cfg, "build_report.html", report=report, labels=labels,
                                                            max_items=REPORT_MAX_ITEMS))
    # In the state's order (by kind, then newest first, then by id): deterministic, and not sorted again.
    atomic_write_text(folder / LAST, "".join(f"{r.id}\t{r.kind}\t{r.batch_id}\n" for records in state.published.values() for r in records))
    return folder / f"{day}.html"

"""The build report: what a build published, corrected and took down since the last one, and why.

Written after a successful build only, under ``REPORTS_DIR/build/`` (never published): a JSON
file for machines and CI artifacts, an HTML page for editors, and ``last-published.msgpack``, what
the next build compares with: the ids published from each (kind, batch), in the state's order
(data only and authenticated, :mod:`generator.cache`).
"""

from __future__ import annotations

import json
import operator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import cache
from .fileio import atomic_write_text
from .publication import State, why_not_published
from .schema import KINDS
from .settings import Config

REPORT_MAX_ITEMS = 5_000  # per list; the counts are always complete
LAST = "last-published.msgpack"
LEGACY_LAST = "last-published.tsv"  # written by builds before 2026-11-28: id, kind, batch per line
# Written before 2026-12-07: never read (a pickle runs code), deleted
PICKLED_LAST = "last-published.pickle"

# (kind, batch of the version shown) → its record ids in approval order, newline-joined
Groups = dict[tuple[str, str], str]


def published_groups(state: State) -> Groups:
    """The published ids of each (kind, batch), one string each: made, compared, saved and read
    back at C speed, so that a batch whose published records did not change costs a ``memcmp``."""
    return {
        (kind, batch_id): "\n".join(map(_ID, records))
        for batch_id, kind, records in state.by_source()
        if records
    }


_ID = operator.attrgetter("id")


MEMORY_PURPOSE = "published-groups/3"  # 3: data only, authenticated


def memory(groups: Groups) -> bytes:
    """What :data:`LAST` holds: [kind, batch, ids] per group."""
    return cache.pack([[kind, batch, ids] for (kind, batch), ids in groups.items()])


def _memory_entry(folder: Path) -> cache.Entry:
    return cache.Entry(folder / LAST, MEMORY_PURPOSE, b"")


def _ids(group: str | None) -> list[str]:
    return group.split("\n") if group else []


def _read_last(folder: Path) -> Groups:
    """The last build's groups; {} when there is none (every record is then new) or it is damaged
    or not authentic. A memory a build before 2026-11-28 left (:data:`LEGACY_LAST`) is read once;
    one pickled before 2026-12-07 is not (the first report after that lists every record as new)."""
    if (folder / LAST).exists():
        try:
            payload = cache.read(_memory_entry(folder))
            if payload is None:
                return {}
            groups = {(kind, batch): ids for kind, batch, ids in cache.unpack(payload)}
        except Exception:  # noqa: BLE001 - damaged or not authentic: this report lists everything as new
            return {}
        valid = all(type(part) is str for key, ids in groups.items() for part in (*key, ids))
        return groups if valid else {}
    lists: dict[tuple[str, str], list[str]] = {}
    if (folder / LEGACY_LAST).exists():
        for line in (folder / LEGACY_LAST).read_text(encoding="utf-8").splitlines():
            rid, kind, batch = (line.split("\t") + ["", ""])[:3]
            lists.setdefault((kind, batch), []).append(rid)
    return {k: "\n".join(v) for k, v in lists.items()}


def _where(groups: dict[tuple[str, str], set[str]], ids: list[str]) -> dict[str, tuple[str, str]]:
    """(kind, batch) of each of ``ids``, found with set intersections (C speed), not a dict of 10^6."""
    wanted, found = set(ids), {}
    for key, members in groups.items():
        for rid in wanted.intersection(members):
            found[rid] = key
    return found


def _describe(state: State, rid: str, kind: str) -> dict[str, Any]:
    latest = state.find_latest(rid)
    brief = latest.brief if latest is not None else {}
    schema = KINDS.get(kind)
    return {
        "id": rid,
        "kind": kind,
        "kind_label": schema.label if schema else kind,
        "subject": str(brief.get(schema.subject, "")) if schema else "",
        "docno": str(brief.get(schema.docno, "")) if schema else "",
    }


def build_report(state: State, previous: Groups, current: Groups | None = None) -> dict[str, Any]:
    """New, updated (another batch's version shown) and removed records since ``previous``.

    Set operations on the ids of each (kind, batch), at C speed, so a nightly build at 10^6
    records compares them quickly; only the records that differ are sorted, and only the listed
    ones described."""
    # Why long: one comparison of two builds' groups, step by step; each step reads the sets the one
    # before made.
    current = published_groups(state) if current is None else current
    # Only the groups that differ can hold a record that came, went or moved: a record id is
    # published from one batch at a time.
    differ = [
        key
        for key in sorted(current.keys() | previous.keys())
        if current.get(key) != previous.get(key)
    ]
    now_groups = {key: set(_ids(current.get(key))) for key in differ}
    before_groups = {key: set(_ids(previous.get(key))) for key in differ}
    current_ids: set[str] = set().union(*now_groups.values())
    previous_ids: set[str] = set().union(*before_groups.values())
    moved: set[str] = set()
    for key, ids in now_groups.items():
        moved.update(ids.difference(before_groups[key]))
    appeared = current_ids - previous_ids
    new_ids = sorted(appeared)
    updated_ids = sorted(moved - appeared)
    removed_ids = sorted(previous_ids - current_ids)
    # Each listed id is described once; a removed one is also explained (why_not_published).
    state.expect_lookups(
        sum(
            min(len(ids), REPORT_MAX_ITEMS)
            for ids in (new_ids, updated_ids, removed_ids, removed_ids)
        )
    )
    now = _where(now_groups, new_ids[:REPORT_MAX_ITEMS] + updated_ids[:REPORT_MAX_ITEMS])
    before = _where(before_groups, updated_ids[:REPORT_MAX_ITEMS] + removed_ids[:REPORT_MAX_ITEMS])
    new = [
        {**_describe(state, rid, now[rid][0]), "batch": now[rid][1]}
        for rid in new_ids[:REPORT_MAX_ITEMS]
    ]
    updated = [
        {
            **_describe(state, rid, now[rid][0]),
            "batch": now[rid][1],
            "previous_batch": before[rid][1],
        }
        for rid in updated_ids[:REPORT_MAX_ITEMS]
    ]
    removed = []
    for rid in removed_ids[:REPORT_MAX_ITEMS]:
        reason, detail, batch = why_not_published(state, rid)
        removed.append(
            {
                **_describe(state, rid, before[rid][0]),
                "reason": f"{reason}：{detail}" if detail else reason,
                "batch": batch,
            }
        )
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


@dataclass
class PreparedReport:
    """A report computed before the build is live (while the page workers finish), written after."""

    state: State
    report: dict[str, Any]
    current: Groups | bytes  # what the next build compares with, or already packed (:func:`memory`)


def prepare_build_report(root: Path, cfg: Config, state: State) -> PreparedReport:
    """Compare ``state`` with the last successful build; nothing is written."""
    current = published_groups(state)
    return PreparedReport(
        state, build_report(state, _read_last(root / cfg.REPORTS_DIR / "build"), current), current
    )


def write_build_report(
    root: Path, cfg: Config, state: State, output: Path, prepared: PreparedReport | None = None
) -> Path:
    """Write the report (``prepared`` for ``state``, or computed now) and remember this build.
    Called once the build is live: a failed build leaves the last report and its memory alone."""
    from .review import render_report

    folder = root / cfg.REPORTS_DIR / "build"
    folder.mkdir(parents=True, exist_ok=True)
    if prepared is None or prepared.state is not state:
        prepared = prepare_build_report(root, cfg, state)
    report, current = dict(prepared.report), prepared.current
    report["output"] = str(output)
    # The head this build published (rollback protection)
    report["publication_log"] = state.log_head.as_json()
    day = _report_name(folder, state.today.isoformat())
    atomic_write_text(
        folder / f"{day}.json",
        json.dumps(report, ensure_ascii=False, indent=1, sort_keys=True) + "\n",
    )
    labels = {kind: schema.label for kind, schema in KINDS.items()}
    atomic_write_text(
        folder / f"{day}.html",
        render_report(
            root, cfg, "build_report.html", report=report, labels=labels, max_items=REPORT_MAX_ITEMS
        ),
    )
    # Per (kind, batch) in approval order (published_groups): deterministic, and not sorted again.
    if not cache.write(
        _memory_entry(folder), [current if isinstance(current, bytes) else memory(current)]
    ):
        raise OSError(f"memory of this build not written: {folder / LAST}")
    (folder / LEGACY_LAST).unlink(missing_ok=True)
    (folder / PICKLED_LAST).unlink(missing_ok=True)
    return folder / f"{day}.html"

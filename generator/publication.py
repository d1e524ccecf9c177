"""Publication state for a given day: approved ∧ untampered ∧ latest ∧ not withdrawn ∧ public ∧ in period.

Pure rules (:func:`publication_end`, :func:`add_months`) plus :func:`compute_state`, which
replays approved batches in approval order: a later record version replaces an earlier one
(a correction), a withdrawal removes it, a later re-publication restores it.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from .batches import Batch, BatchStore
from .errors import BuildError
from .schema import KINDS, Kind
from .settings import Config

SEVERITY_ORDER = {"轻微": 0, "一般": 1, "严重": 2}


def add_months(day: dt.date, months: int) -> dt.date:
    """Calendar month arithmetic, clamping to the month's last day (1-31 + 1 month → 2-28/29)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def penalty_severity(categories: str, severity: Mapping[str, str]) -> str:
    """Most severe class of a ``;``-joined 处罚类别 (a decision with several types takes the longest)."""
    levels = [severity.get(part, "一般") for part in categories.split(";") if part]
    return max(levels or ["一般"], key=SEVERITY_ORDER.__getitem__)


def rule_in_force(rules: Iterable[Mapping[str, Any]], decided: dt.date) -> Mapping[str, Any]:
    """The dated rule set whose ``from`` is the latest not after ``decided``."""
    applicable = [r for r in rules if dt.date.fromisoformat(r["from"]) <= decided]
    if not applicable:
        raise BuildError(f"没有适用于 {decided.isoformat()} 的公示期限规则（PUBLICATION_RULES）")
    return max(applicable, key=lambda r: r["from"])


def publication_end(kind: Kind, fields: Mapping[str, Any], cfg: Config) -> tuple[dt.date | None, str]:
    """Last day a record may be shown, and the basis (公示截止期 wins; else the dated rule).

    ``None`` means no fixed end. An end before the decision date means never published.
    """
    decided = dt.date.fromisoformat(fields[kind.date])
    if kind.deadline and fields.get(kind.deadline):
        return dt.date.fromisoformat(fields[kind.deadline]), "公示截止期"
    rule = rule_in_force(cfg.PUBLICATION_RULES, decided)
    months = rule["months"].get(kind.name)
    basis = rule["basis"]
    if isinstance(months, Mapping):
        level = penalty_severity(str(fields.get("处罚类别", "")), cfg.PENALTY_SEVERITY)
        months, basis = months[level], f"{basis}（{level}）"
    if months is None:
        return None, basis
    return add_months(decided, int(months)) - dt.timedelta(days=1), basis


@dataclass(frozen=True)
class PublishedRecord:
    """A record as the site shows it."""

    kind: str
    id: str
    fields: dict[str, Any]
    batch_id: str
    source: str
    approved_at: str
    ends: str | None  # ISO date or None (no fixed end)
    basis: str

    @property
    def date(self) -> str:
        return self.fields[KINDS[self.kind].date]


@dataclass
class State:
    """Everything the build and the editors' tools need to know for one day."""

    today: dt.date
    published: dict[str, list[PublishedRecord]] = field(default_factory=dict)
    withdrawn: dict[str, dict[str, Any]] = field(default_factory=dict)  # id → withdrawal entry
    expired: dict[str, str] = field(default_factory=dict)  # id → kind
    withheld: dict[str, str] = field(default_factory=dict)  # id → kind
    latest: dict[str, tuple[str, dict[str, Any], Batch]] = field(default_factory=dict)  # id → (kind, record, batch)

    def published_ids(self) -> set[str]:
        return {r.id for records in self.published.values() for r in records}

    @property
    def total(self) -> int:
        return sum(len(v) for v in self.published.values())


def sort_key(record: PublishedRecord) -> tuple:
    """Newest first, then by id: a total order, so output never depends on input order."""
    return (_neg_date(record.date), record.id)


def _neg_date(iso: str) -> int:
    return -int(iso.replace("-", ""))


def compute_state(store: BatchStore, cfg: Config, today: dt.date, *, strict: bool = True) -> State:
    """Replay approved batches; raise :class:`BuildError` naming every tampered batch."""
    approved, tampered = store.approved_in_order()
    if tampered and strict:
        names = "、".join(b.id for b in tampered)
        raise BuildError(f"批次 {names} 的数据在审核后被修改（与审核时的 sha256 不符），已停止构建，网站保持不变")
    state = State(today)
    for batch, approval in approved:
        if batch.is_withdrawal:
            for entry in batch.iter_records():
                state.withdrawn[entry["id"]] = {**entry, "batch_id": batch.id, "approved_at": approval["approved_at"]}
            continue
        for record in batch.iter_records():
            state.latest[record["id"]] = (batch.kind, record, batch)
            state.withdrawn.pop(record["id"], None)
            record["_approved_at"] = approval["approved_at"]

    published: dict[str, list[PublishedRecord]] = {name: [] for name in KINDS}
    for rid, (kind_name, record, batch) in state.latest.items():
        if rid in state.withdrawn:
            continue
        if not record.get("public", True):
            state.withheld[rid] = kind_name
            continue
        kind = KINDS[kind_name]
        fields = record["fields"]
        ends, basis = publication_end(kind, fields, cfg)
        decided = fields[kind.date]
        if decided > today.isoformat() or (ends is not None and ends < today):
            state.expired[rid] = kind_name
            continue
        published[kind_name].append(PublishedRecord(
            kind=kind_name, id=rid, fields=fields, batch_id=batch.id,
            source=str(fields.get(kind.source or "", "") or batch.manifest.get("source", "")),
            approved_at=record["_approved_at"], ends=ends.isoformat() if ends else None, basis=basis,
        ))
    for records in published.values():
        records.sort(key=sort_key)
    state.published = published
    return state

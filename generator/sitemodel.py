"""What the site shows, derived from the publication state: URLs, display rows, entities, lists.

Pure functions over :class:`~generator.publication.State`; the Pelican generator only renders.
Every URL derives from a stable id (record id, entity key hash, authority hash), never from a
title, so pages are permanent and Chinese names never go through a slugifier.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from .entities import entity_key, short_hash  # noqa: F401 - entity_key re-exported: it lives below publication
from .markup import format_amount, format_date, format_score, render_markdown
from .publication import VALIDITY_FIELDS, PublishedRecord, State
from .schema import EVALUATED_CATEGORIES, KINDS, Kind, T

if TYPE_CHECKING:
    from .directory import Namesakes


def record_url(kind: str, rid: str) -> str:
    return f"records/{kind}/{rid[:2]}/{rid}.html"


def kind_url(kind: str, page: int = 1) -> str:
    return f"kinds/{kind}/index.html" if page == 1 else f"kinds/{kind}/page-{page}.html"


def authority_id(name: str) -> str:
    return short_hash("authority\x1f" + name, 12)


def group_url(kind: str, group: str, key: str, page: int = 1) -> str:
    base = f"kinds/{kind}/{group}/{key}"
    return f"{base}/index.html" if page == 1 else f"{base}/page-{page}.html"


def entity_url(eid: str) -> str:
    return f"entities/{eid[:2]}/{eid}.html"


def record_entity(kind: Kind, record: PublishedRecord) -> tuple[str, str] | None:
    """The record's entity (id, key): computed with its state at replay, else now."""
    return (record.entity or None) if record.entity is not None else entity_key(kind, record.brief)


def display_rows(
    kind: Kind, record: PublishedRecord, long_term: str = "2099-12-31"
) -> list[tuple[str, Any]]:
    """(label, value) for every public, filled field; Markdown as sanitised HTML (Markup)."""
    rows: list[tuple[str, Any]] = []
    fields = record.fields  # read from the batch file once
    for name, label, type_ in kind.display_fields:
        value = fields.get(name)
        if value is None or value == "":
            continue
        if type_ is T.MARKDOWN:
            value = Markup(render_markdown(str(value)))
        elif type_ is T.DATE:
            value = format_date(value, long_term)
        elif type_ is T.AMOUNT:
            value = format_amount(value)
        elif type_ is T.SCORE:
            value = format_score(value)
        elif type_ is T.MULTI_ENUM:
            value = "、".join(str(value).split(";"))
        rows.append((label, value))
    return rows


@dataclass(slots=True)
class RecordPage:
    """What a record page prints, every value ready to print (``record.html``): the page is
    filled from a stencil by these values (see :mod:`generator.stencils`)."""

    subject: Any
    docno: Any
    authority: Any
    ends: str  # the end of the publication period as text; "" for long-term publication
    basis: str
    source: str
    published: str
    id: str
    entity_url: str  # "" for a natural person (no archive)
    rows: list[tuple[Any, Any]]


RECORD_PAGE_HEAD = len(RecordPage.__slots__) - 1  # values before the rows' (label, value) pairs


def record_page_values(
    kind: Kind, record: PublishedRecord, long_term: str, archive_url: str
) -> tuple[Any, ...]:
    """A record page's values: :class:`RecordPage`'s fields, then its rows' labels and values."""
    brief = record.brief
    values = [
        brief.get(kind.subject, ""),
        brief.get(kind.docno, ""),
        brief.get(kind.authority) or "",
        format_date(record.ends, long_term) if record.ends else "",
        record.basis,
        record.source,
        format_date(record.approved_at[:10], long_term),
        record.id,
        archive_url,
    ]
    for row in display_rows(kind, record, long_term):
        values += row
    return tuple(values)


def record_page(values: tuple[Any, ...]) -> RecordPage:
    head = RECORD_PAGE_HEAD
    # values[:head] are exactly the fields before rows (RECORD_PAGE_HEAD): mypy cannot count them
    return RecordPage(*values[:head], rows=list(zip(values[head::2], values[head + 1 :: 2])))  # type: ignore[misc]


@dataclass(slots=True)
class EntityPage:
    """What an archive page prints (``entity.html``, as ``entity``), filled like a record page: a
    信用档案 that prints as a 信用报告 (theme/static/css/print.css)."""

    name: str
    is_government: bool
    code: str
    total: int
    data_date: str  # 数据截至: the latest approval (发布日期) of its records, as text
    data_date_iso: str
    address: str  # the page's own absolute URL (printed on every page of the report)
    latest_url: str  # its newest record (by decision date)
    latest_label: str  # "行政处罚 盐市监罚〔2026〕12号"
    latest_date: str
    namesakes: Any  # Markup: the other archives of the same name, as list items ("" for none)
    namesakes_more: int  # how many more than it lists (0 for none)
    namesakes_url: str  # the 名录 page where they all are ("" when none is left out)


ENTITY_PAGE_HEAD = len(EntityPage.__slots__)  # values before each section's values
SECTION_VALUES = 4  # a section's count, what is in force, its newest decision date, its entries


def record_label(kind: Kind, record: PublishedRecord) -> str:
    """How an archive names a record: its kind and document number (行政处罚 盐市监罚〔2026〕12号);
    the subject is the archive's heading."""
    return f"{kind.label} {record.brief.get(kind.docno, '')}"


def data_date(records: Iterable[PublishedRecord]) -> str:
    """An archive's 数据截至: the latest approval day (the 发布日期 of its record pages) among its
    records, never the build's day, so the page changes only when its records do. A record that
    left later (withdrawn, out of its period) takes its own day with it: the page still holds
    every record published up to this day that is still published."""
    return max(r.approved_at[:10] for r in records)


def in_force_text(kind: Kind, records: list[PublishedRecord], as_of: str) -> str:
    """What of a kind's records is still in force on ``as_of`` (the archive's 数据截至), by the
    kind's validity field; "" for a kind that has none (in force while published)."""
    name = VALIDITY_FIELDS.get(kind.name)
    if name is None:
        return ""
    valid = expired = unknown = 0
    for record in records:
        value = str(record.brief.get(name) or "")
        if not value:
            unknown += 1
        elif value >= as_of:
            valid += 1
        else:
            expired += 1
    parts = [f"有效期内 {valid} 条"]
    if expired:
        parts.append(f"已过有效期 {expired} 条")
    if unknown:
        parts.append(f"未注明有效期 {unknown} 条")
    return "，".join(parts)


def validity_label(kind: Kind) -> str:
    """The label of the kind's validity field as its record pages show it ("" for none)."""
    name = VALIDITY_FIELDS.get(kind.name)
    return kind.field(name).display if name else ""


def newest(records: Iterable[PublishedRecord]) -> PublishedRecord:
    """The newest record by decision date (then approval, then id: a total order)."""
    return max(records, key=lambda r: (r.date, r.approved_at, r.id))


# A summary's per-record keys
CARD_VALUES = (
    "id",
    "url",
    "subject",
    "docno",
    "date",
    "date_text",
    "authority",
    "extra",
)


def summary(kind: Kind, record: PublishedRecord) -> dict[str, Any]:
    """The few fields a list row, a feed entry or a search result shows."""
    fields = record.brief
    return {
        "id": record.id,
        "kind": kind.name,
        "kind_label": kind.label,
        "url": record_url(kind.name, record.id),
        "subject": str(fields.get(kind.subject, "")),
        "docno": str(fields.get(kind.docno, "")),
        "date": record.date,
        "date_text": format_date(record.date),
        "authority": str(fields.get(kind.authority, "") or ""),
        "extra": kind.summary_line(fields),
    }


@dataclass(slots=True)
class Entity:
    """A 信用档案: a legal person's or government body's published records across kinds.
    Slotted: a city has ~10^6 of them, built on every build."""

    id: str
    key: str
    name: str
    code: str
    category: str
    records: dict[str, list[PublishedRecord]] = field(default_factory=dict)
    # The 名录 entries of the archives of its name (generator.directory.Namesakes, shared by
    # them), set by the plan; None when no other archive has its name
    namesakes: Namesakes | None = None

    def __reduce__(self) -> Any:
        """Pickled as its fields (770,000 archives travel to the page workers at 10^6 records):
        faster to write and to read than a slotted dataclass's state. Its namesakes travel as
        their head (:class:`~generator.directory.Namesakes`): one string of 11 entries at most."""
        return (
            Entity,
            (self.id, self.key, self.name, self.code, self.category, self.records, self.namesakes),
        )

    @property
    def url(self) -> str:
        return entity_url(self.id)

    @property
    def is_government(self) -> bool:
        return self.category in GOVERNMENT_CATEGORIES or self.code[:1] == "1"

    @property
    def total(self) -> int:
        return sum(len(v) for v in self.records.values())


# The evaluated bodies' categories are government bodies too, whatever their credit code says
GOVERNMENT_CATEGORIES = ("政府机关", "事业单位", *EVALUATED_CATEGORIES)


def build_entities(state: State, only: set[str] | None = None) -> dict[str, Entity]:
    """Group published records by entity (credit code, else name); natural persons excluded.
    ``only``: just these entities (an incremental build groups the few archives it renders)."""
    entities: dict[str, Entity] = {}
    for kind_name in KINDS:
        kind = KINDS[kind_name]
        records = state.published.get(kind_name, [])
        if only is not None:
            # r.entity, computed at replay, is () for none; None only for a record made outside the state.
            records = [
                r
                for r in records
                if ((e := r.entity) and e[0] in only)
                or (e is None and (f := record_entity(kind, r)) and f[0] in only)
            ]
        for record in records:
            found = record_entity(kind, record)
            if not found:
                continue
            eid, key = found
            entity = entities.get(eid)
            if entity is None:
                code = key[5:] if key.startswith("code:") else ""
                entity = entities[eid] = Entity(
                    eid,
                    key,
                    str(record.brief.get(kind.subject, "")),
                    code,
                    str(record.brief.get(kind.subject_category or "", "") or ""),
                )
            entity.records.setdefault(kind_name, []).append(record)
    return entities


def entity_ids(state: State) -> set[str]:
    """The ids of the entities :func:`build_entities` makes, without grouping their records."""
    return {
        found[0]
        for kind_name in KINDS
        for record in state.published.get(kind_name, [])
        if (found := record_entity(KINDS[kind_name], record))
    }


def groups(
    records: Iterable[PublishedRecord], kind: Kind, by: str
) -> dict[str, list[PublishedRecord]]:
    """Records grouped by authority name or by decision month ('YYYY-MM'); input order kept."""
    result: dict[str, list[PublishedRecord]] = {}
    for record in records:
        if by == "authority":
            key = str(record.brief.get(kind.authority) or "未填写")
        else:
            key = record.date[:7]
        result.setdefault(key, []).append(record)
    return result


def paginate(count: int, size: int) -> int:
    return max(1, -(-count // size))

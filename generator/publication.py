"""Publication state for a given day: approved ∧ untampered ∧ latest ∧ not withdrawn ∧ public ∧ in period.

Pure rules (:func:`publication_end`, :func:`add_months`) plus :func:`compute_state`, which
replays approved batches in approval order: a later record version replaces an earlier one
(a correction), a withdrawal removes it, a later re-publication restores it.

The measurements behind this module's shortcuts are in docs/scaling.md, "Measurements behind the
code".
"""

from __future__ import annotations

import bisect
import calendar
import collections
import datetime as dt
import hashlib
import itertools
import json
import operator
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import orjson

from . import cache
from .batches import Batch, BatchStore
from .entities import entity_key
from .errors import BuildError, UserError
from .fileio import dumps_line
from .incremental import digest
from .ledger import Head
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


def publication_end(
    kind: Kind, fields: Mapping[str, Any], cfg: Config
) -> tuple[dt.date | None, str]:
    """Last day a record may be shown, and the basis (公示截止期 wins; else the dated rule).

    ``None`` means no fixed end. An end before the decision date means never published.
    """
    decided = dt.date.fromisoformat(fields[kind.date])
    if kind.deadline and fields.get(kind.deadline):
        return dt.date.fromisoformat(fields[kind.deadline]), "公示截止期"
    rule = rule_in_force(cfg.PUBLICATION_RULES, decided)
    if kind.name not in rule["months"]:
        # A rule set written before a kind existed must not publish that kind for ever: a missing
        # entry is an error, only an explicit None means no fixed end.
        raise UserError(
            f"公示期限规则（PUBLICATION_RULES，自 {rule['from']} 起）没有“{kind.label}”（{kind.name}）的期限："
            "请补上（不设期限的写 None）"
        )
    months = rule["months"][kind.name]
    basis = kind.notice.basis if kind.notice and kind.notice.basis else rule["basis"]
    if isinstance(months, Mapping):
        level = penalty_severity(str(fields.get("处罚类别", "")), cfg.PENALTY_SEVERITY)
        months, basis = months[level], f"{basis}（{level}）"
    if months is None:
        return None, basis
    return add_months(decided, int(months)) - dt.timedelta(days=1), basis


# The field that says until when a record is in force (a penalty's 处罚有效期, a licence's 有效期至 …):
# an archive's summary counts what is still in force (sitemodel.in_force_text). Kinds without one
# (judgments, dishonesty records) are in force while they are published.
VALIDITY_FIELDS = {
    "penalty": "处罚有效期",
    "license": "有效期至",
    "pledge": "承诺有效期",
    "commendation": "有效期至",
}


def brief_names(kind: Kind) -> tuple[str, ...]:
    """The few fields every page, list, archive and search entry needs; the rest stay on disk."""
    names = [
        kind.subject,
        kind.subject_category,
        kind.subject_code,
        kind.docno,
        kind.authority,
        kind.date,
        kind.source,
        *kind.summary_fields,
        *kind.search_fields,
        VALIDITY_FIELDS.get(kind.name),
    ]
    return tuple(dict.fromkeys(n for n in names if n))


_BRIEF = {name: brief_names(kind) for name, kind in KINDS.items()}


def brief_of(kind: Kind, fields: dict[str, Any]) -> dict[str, Any]:
    brief = {}
    for name in _BRIEF[kind.name]:
        value = fields.get(name)
        if value is not None:
            # Authorities, categories and types repeat on most records: share one string object.
            brief[name] = sys.intern(value) if isinstance(value, str) and len(value) < 64 else value
    return brief


_HANDLES: dict[tuple[int, str], Any] = {}


def loads_line(line: bytes) -> Any:
    """A records.jsonl line, parsed. Each record line is parsed two or three times a clean build
    (the state, its page, its download row), and orjson reads a line much faster than the
    standard library. Our lines hold strings, booleans, small integers and amounts ≤ 10^7, which
    both read alike (a property test compares them). ``json`` reads what orjson refuses (NaN,
    1e400) and any line with a run of 19 digits: orjson reads an integer past 64 bits as a float,
    silently."""
    if _LONG_DIGITS(line) is None:
        try:
            return orjson.loads(line)
        except ValueError:
            pass
    return json.loads(line)


_LONG_DIGITS = re.compile(rb"[0-9]{19}").search


def load_line(path: str, offset: int) -> dict[str, Any]:
    """The record stored at ``offset`` of a batch's records.jsonl (one open handle per process)."""
    key = (os.getpid(), path)
    handle = _HANDLES.get(key)
    if handle is None:
        handle = _HANDLES[key] = open(path, "rb")  # noqa: SIM115 - kept open for the build
    handle.seek(offset)
    return loads_line(handle.readline())


class PublishedRecord:
    """A record as the site shows it, and where the build keeps track of it.

    What pages show: ``kind``, ``id``, ``brief`` (subject, document number, authority, date, codes:
    what lists, archives and the search index need), ``fields`` (the full record, reloaded from its
    batch file on demand, so a million records fit in a few GB), ``source``, ``approved_at``,
    ``ends`` and ``basis``. The build's bookkeeping: ``batch_id``, ``seq``, ``entity``, ``key``,
    ``order`` and the batch file's ``path`` and ``offset``. Both live in one slotted object: a
    second object per record would cost memory and a pickling step for each of a million records.
    Built from a full ``fields`` dict (tests, review), it keeps that dict.
    """

    __slots__ = (
        # what pages show
        "kind",
        "id",
        "brief",
        "source",
        "approved_at",
        "ends",
        "basis",
        "_fields",
        # the build's bookkeeping
        "batch_id",
        "seq",
        "entity",
        "key",
        "order",
        "path",
        "offset",
    )

    def __init__(
        self,
        kind: str,
        id: str,
        fields: dict[str, Any] | None,
        batch_id: str,
        source: str,
        approved_at: str,
        ends: str | None,
        basis: str,
        *,
        brief: dict[str, Any] | None = None,
        path: str | None = None,
        offset: int = 0,
        seq: int = 0,
        entity: tuple[str, str] | tuple[()] | None = None,
        key: bytes = b"",
        order: int | None = None,
    ):
        self.kind, self.id, self.batch_id, self.source = kind, id, batch_id, source
        self.seq = seq  # position of this version among all approved rows, in approval order (search segments)
        # (entity id, key) of its 信用档案, () for none, None when not computed yet
        self.entity = entity
        # The input key of its page and its archive's id (see record_key), b"" until known
        self.key = key
        # Its place in its kind's lists (see newest_first_order), None if unknown
        self.order = order
        self.approved_at, self.ends, self.basis = approved_at, ends, basis
        self._fields = fields
        self.brief = brief if brief is not None else (fields or {})
        self.path, self.offset = path, offset

    @property
    def fields(self) -> dict[str, Any]:
        if self._fields is not None:
            return self._fields
        assert self.path is not None  # a record without its fields was made from a line in a file
        return load_line(self.path, self.offset)["fields"]

    @property
    def date(self) -> str:
        return self.brief[KINDS[self.kind].date]

    def __repr__(self) -> str:
        return f"PublishedRecord({self.kind}, {self.id})"

    def __reduce__(self) -> Any:
        """Pickled as :func:`make_record`'s arguments: a million of them travel to the page workers
        (record pages, then again inside the archives). The default pickling of a slotted object
        (a state dict per record) is slower both to write and to read."""
        return (
            make_record,
            (
                self.kind,
                self.id,
                self.batch_id,
                self.source,
                self.approved_at,
                self.ends,
                self.basis,
                self.brief,
                self.path,
                self.offset,
                self.seq,
                self.entity,
                self.key,
                self.order,
                self._fields,
            ),
        )


def make_record(
    kind: str,
    rid: str,
    batch_id: str,
    source: str,
    approved_at: str,
    ends: str | None,
    basis: str,
    brief: dict[str, Any],
    path: str,
    offset: int,
    seq: int,
    entity: tuple[str, str] | tuple[()],
    key: bytes,
    order: int | None,
    fields: dict[str, Any] | None = None,
) -> PublishedRecord:
    """A :class:`PublishedRecord` of a replayed row (or of a download row, or unpickled), its slots
    set directly: much faster than ``__init__`` with keywords, once for every row the state
    replays."""
    record = _NEW(PublishedRecord)
    record.kind, record.id, record.batch_id, record.source, record.approved_at = (
        kind,
        rid,
        batch_id,
        source,
        approved_at,
    )
    record.ends, record.basis, record.brief, record._fields, record.path, record.offset = (
        ends,
        basis,
        brief,
        fields,
        path,
        offset,
    )
    record.seq, record.entity, record.key, record.order = seq, entity, key, order
    return record


_NEW = object.__new__


class Row(NamedTuple):
    """One parsed row of an approved batch (:func:`parse_rows`). The state's cache keeps rows by
    column and gives them back as plain tuples in this order; the replay unpacks them by position."""

    offset: int  # of the line in records.jsonl: with the batch, an immutable version of the record
    id: str
    brief: dict[str, Any]  # the fields pages and lists show
    public: bool
    withheld: str  # why it is never published, if so
    docno_key: str  # the document number, normalised for lookup
    ends: str | None  # publication end (ISO date), None: no fixed end
    basis: str  # the rule the end follows from
    source: str  # 信息来源
    entity: tuple  # the archive's (id, key) of the subject, () for none
    key: bytes  # the record's page key (publication.record_key)
    order: int | None  # sorts a kind's records newest first, then by id


class Source(NamedTuple):
    """An approved records batch in the state: its span of approval sequence numbers and what
    identifies it (the search segments' universes and the statistics' cache keys use it)."""

    first: int
    stop: int  # one past its last row
    batch_id: str
    digest: str  # its records' checked digest
    approved_at: str
    kind: str


@dataclass(slots=True)
class Latest:
    """The latest approved version of a record: where it is, and what is needed without reading it.
    Slotted: one exists per approved record id, 10^6 of them at a city's scale."""

    kind: str
    batch: Batch
    offset: int
    public: bool
    withheld: str
    docno_key: str
    brief: dict[str, Any]
    approved_at: str
    first_approved_at: str = ""  # when this record id was first approved (双公示 timeliness)

    def record(self) -> dict[str, Any]:
        return load_line(str(self.batch.records_path), self.offset)

    @staticmethod
    def of_row(batch: Batch, approved_at: str, row: tuple, previous: Latest | None) -> Latest:
        """The version in ``row`` (a :func:`start_batch_rows` row), after ``previous`` of the same id."""
        here, _rid, brief, public, withheld, docno_key, *_ = row
        return Latest(
            batch.kind,
            batch,
            here,
            public,
            withheld,
            docno_key,
            brief,
            approved_at,
            previous.first_approved_at if previous is not None else approved_at,
        )


@dataclass
class State:
    """Everything the build and the editors' tools need to know for one day.

    ``latest``, ``withheld`` and ``expired`` (about every approved record id, published or not)
    are made from the replayed rows when first asked for: a build needs them for a few ids
    (:meth:`find_latest`), and making them for 10^6 ids was a large part of every nightly
    build's state."""

    today: dt.date
    published: dict[str, list[PublishedRecord]] = field(default_factory=dict)
    withdrawn: dict[str, dict[str, Any]] = field(default_factory=dict)  # id → withdrawal entry
    # The public rows of approved batches that are not published on `today` (superseded, withdrawn,
    # out of period), as (seq, kind, id, brief) by seq, and a Source per records batch: with the
    # published records, the search segments' universes (generator.search.SegmentLayout).
    unpublished: list[tuple[int, str, str, dict[str, Any]]] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)
    # Every published record once, in approval order (by seq): a batch's records are one slice of
    # it (see by_source), so what is kept per batch (the manifest's record keys, the build
    # report's memory) is compared batch by batch instead of record by record.
    in_order: list[PublishedRecord] = field(default_factory=list)
    # (batch, approval time, its rows from start_batch_rows) per approved records batch, in approval order.
    replayed_rows: list[tuple[Batch, str, list[tuple]]] = field(default_factory=list)
    _latest: dict[str, Latest] | None = None
    _kinds_not_shown: tuple[dict[str, str], dict[str, str]] | None = None
    _row_ids: list[list[str]] | None = None  # each replayed batch's row ids (find_latest)
    _row_index: list[dict[str, int]] | None = None
    _lookups: int = 0
    _published_ids: set[str] | None = None
    log_head: Head = field(default_factory=Head)  # where the publication log ended for this state

    @property
    def latest(self) -> dict[str, Latest]:
        """The latest approved version of every record id (one pass over the replayed rows)."""
        if self._latest is None:
            latest: dict[str, Latest] = {}
            get = latest.get
            for batch, approved_at, rows in self.replayed_rows:
                for row in rows:
                    latest[row[1]] = Latest.of_row(batch, approved_at, row, get(row[1]))
            self._latest = latest
        return self._latest

    @property
    def withheld(self) -> dict[str, str]:
        """id → kind of the records whose latest version is not public (and not withdrawn)."""
        return self._not_shown()[0]

    @property
    def expired(self) -> dict[str, str]:
        """id → kind of the public records not published on ``today`` (out of period, not withdrawn)."""
        return self._not_shown()[1]

    def _not_shown(self) -> tuple[dict[str, str], dict[str, str]]:
        if self._kinds_not_shown is None:
            withheld: dict[str, str] = {}
            expired: dict[str, str] = {}
            shown, withdrawn = self.published_id_set(), self.withdrawn
            for rid, found in self.latest.items():
                if rid in withdrawn:
                    continue
                if not found.public:
                    withheld[rid] = found.kind
                elif rid not in shown:
                    expired[rid] = found.kind
            self._kinds_not_shown = withheld, expired
        return self._kinds_not_shown

    def published_id_set(self) -> set[str]:
        if self._published_ids is None:
            self._published_ids = self.published_ids()
        return self._published_ids

    def find_latest(self, rid: str) -> Latest | None:
        """``latest.get(rid)`` without making ``latest``: for the few ids a build report or a
        check names. The first :data:`FIND_BY_SCAN` lookups scan each batch's ids at C speed
        (after copying the ids out of the rows once: one withdrawal's report looks up one id
        twice); later ones (or all, see :meth:`expect_lookups`) index them (dearer than a scan,
        once, then a dict lookup per batch)."""
        if self._latest is not None:
            return self._latest.get(rid)
        self.expect_lookups(1)
        found: Latest | None = None
        for number, (batch, approved_at, rows) in enumerate(self.replayed_rows):
            if self._row_index is not None:
                i = self._row_index[number].get(rid)
            else:
                assert self._row_ids is not None  # expect_lookups made the index or the ids
                i = _last_index(self._row_ids[number], rid)
            if i is not None:
                found = Latest.of_row(batch, approved_at, rows[i], found)
        return found

    def expect_lookups(self, count: int) -> None:
        """Say that ``count`` more :meth:`find_latest` calls follow (a build report describing
        5,000 new records): past :data:`FIND_BY_SCAN` lookups in all the rows are indexed first,
        as many scans of every id cost more than indexing them once."""
        if self._latest is not None or self._row_index is not None:
            return
        self._lookups += count
        if self._lookups > FIND_BY_SCAN:
            self._row_index = [
                {row[1]: i for i, row in enumerate(rows)}
                for _batch, _at, rows in self.replayed_rows
            ]
            self._row_ids = None  # the scans' copy of the ids is no longer needed
        elif self._row_ids is None:
            self._row_ids = [list(map(_ROW_ID, rows)) for _batch, _at, rows in self.replayed_rows]

    def by_source(self) -> list[tuple[str, str, list[PublishedRecord]]]:
        """(batch id, kind, its published records in approval order) per approved records batch,
        in approval order: two binary searches a batch. A state made without its batches (tests)
        groups its records by their batch, in seq order."""
        if not self.sources:
            groups: dict[tuple[str, str], list[PublishedRecord]] = {}
            for record in sorted(
                (r for records in self.published.values() for r in records),
                key=lambda r: (r.seq, r.id),
            ):
                groups.setdefault((record.batch_id, record.kind), []).append(record)
            return [(batch_id, kind, records) for (batch_id, kind), records in groups.items()]
        ordered, found = self.in_order, []
        for first, stop, batch_id, _sha, _approved_at, kind in self.sources:
            lo = bisect.bisect_left(ordered, first, key=_SEQ)
            found.append(
                (batch_id, kind, ordered[lo : bisect.bisect_left(ordered, stop, lo, key=_SEQ)])
            )
        return found

    def published_ids(self) -> set[str]:
        return {r.id for records in self.published.values() for r in records}

    @property
    def total(self) -> int:
        return sum(len(v) for v in self.published.values())


FIND_BY_SCAN = 4  # State.find_latest lookups answered by scanning before the ids are indexed
_ROW_ID = operator.itemgetter(1)


def _last_index(ids: list[str], rid: str) -> int | None:
    """The position of the last ``rid`` in ``ids`` (a later row of one batch wins, as in a dict)."""
    found = None
    try:
        while True:
            found = ids.index(rid, 0 if found is None else found + 1)
    except ValueError:
        return found


def why_not_published(state: State, rid: str) -> tuple[str, str, str]:
    """(reason, detail, batch id) for a record id that is not published on ``state.today``."""
    if rid in state.withdrawn:
        entry = state.withdrawn[rid]
        return "已撤下", str(entry.get("reason", "")), str(entry.get("batch_id", ""))
    latest = state.find_latest(rid)
    if latest is None:
        return "不属于任何已审核的批次（或批次审核后被修改）", "", ""
    if not latest.public:
        return "不予公开（容错纠错或不可公开）", "", latest.batch.id
    if rid not in state.published_id_set():
        return "已过公示期", "", ""
    return "不在公示范围内", "", latest.batch.id


def sort_newest_first(records: list[PublishedRecord]) -> None:
    """Sort one kind's records in place newest first, then by id: a total order, so output never
    depends on input order. Two stable sorts on C-speed keys (by id, then by decision date
    descending; ISO dates compare as text, and a reversed sort keeps equal dates in id order) are
    much faster than one sort by a (−date, id) tuple at 10^6 records."""
    records.sort(key=_ID)
    if records:
        date = KINDS[records[0].kind].date
        records.sort(key=lambda r: r.brief[date], reverse=True)


_ID = operator.attrgetter("id")
_SEQ = operator.attrgetter("seq")
_ORDER = operator.attrgetter("order")
_HEX_ID = re.compile(r"[0-9a-f]{16}")


def newest_first_order(date: str, rid: str) -> int | None:
    """An integer that sorts like :func:`sort_newest_first` (decision date descending, then id):
    computed once per record when its batch is parsed (and cached), so that the state sorts a
    million records by a C-speed key instead of two sorts by a Python one. None for an id that is
    not the 16 hex digits :mod:`generator.records` makes (the state then sorts the slow way)."""
    if not _HEX_ID.fullmatch(rid):
        return None
    return (99_999_999 - int(date.replace("-", ""))) << 64 | int(rid, 16)


def published_years(records: list[PublishedRecord]) -> set[int]:
    """The decision years of one kind's records in the state's order (newest first): one binary
    search per year instead of a pass over a million records."""
    years: set[int] = set()
    if not records:
        return years
    date, lo = KINDS[records[0].kind].date, 0
    while lo < len(records):
        year = records[lo].brief[date][:4]
        years.add(int(year))
        # The first record decided before that year: "2024-05-01" < "2024" is False, "2023-12-31" < "2024" True.
        # mypy cannot infer a lambda whose default argument binds the loop's year
        lo = bisect.bisect_left(records, True, lo, key=lambda r, y=year: r.brief[date] < y)  # type: ignore[misc]
    return years


def sort_records(records: list[PublishedRecord]) -> None:
    """:func:`sort_newest_first`, by the records' precomputed order when every one has it."""
    if records and None not in map(_ORDER, records):
        records.sort(key=_ORDER)
    else:
        sort_newest_first(records)


CACHE_DIR = ".cache/state"  # under the site root; git-ignored, safe to delete
# A batch's parsed rows, as written by pack_rows (2: MessagePack, authenticated)
ROWS_PURPOSE = "state-rows/2"
# What a batch's cached rows are made by (this module and what it imports, see cache.code_digest):
# read when this module is imported, so the digest describes the code that runs, even if the files
# change meanwhile.
_CODE_DIGEST = cache.code_digest("publication", libraries=("orjson",))


def rows_entry(batch: Batch, cfg: Config, folder: Path, approved_at: str) -> cache.Entry:
    """The cache entry of an approved batch's rows, keyed by everything they are made from: the
    batch's id, its records' checked digest, its manifest (its ``source`` is every record's
    信息来源 unless the record names one), its approval time, the period rules and this code."""
    manifest = hashlib.blake2b(
        dumps_line(batch.manifest).encode("utf-8"), digest_size=16
    ).hexdigest()
    rules = repr((cfg.PUBLICATION_RULES, cfg.PENALTY_SEVERITY, _BRIEF))
    return cache.entry(
        folder,
        ROWS_PURPOSE,
        batch.id,
        batch.algorithm,
        batch.checked_digest,
        manifest,
        approved_at,
        rules,
        _CODE_DIGEST,
        prefix=f"{batch.id}-",
    )


def record_key(
    batch_id: str,
    offset: int,
    ends: str | None,
    basis: str,
    approved_day: str,
    source: str,
    entity: tuple[str, str] | tuple[()] | None,
) -> bytes:
    """A published record's input key (:mod:`generator.incremental`): what its page, its list
    entries, its archive entry, its download rows and its search entry are made from, then the id
    of its archive, so that the next build knows which archive a changed or removed record left."""
    key = digest(batch_id, offset, ends, basis, approved_day, source)
    return key + entity[0].encode() if entity else key


def start_batch_rows(
    batch: Batch,
    cfg: Config,
    folder: Path | None,
    start_chunks: ChunkStart | None = None,
    approved_at: str = "",
) -> Callable[[], list[tuple]]:
    """Start reading an approved batch's rows; the returned call waits for them.

    A row per record line: (offset, id, brief, public, withheld, docno_key, ends, basis, source,
    entity, key, order), the ends as an ISO date or None, the entity as (id, key) or () for none,
    the key (:func:`record_key`, for the approval day of ``approved_at``) b"" and the order
    (:func:`newest_first_order`) None unless public.

    Parsing a million JSON lines is most of the publication state's cost, and an approved batch
    never changes (its digest is pinned), so the rows are cached per batch under ``folder``
    (:func:`rows_entry`): a nightly build reads them back instead of the JSON. A cache file that
    is not authentic for exactly these inputs is parsed again (:mod:`generator.cache`).
    On a miss the file is parsed in chunks of :data:`PARSE_CHUNK_BYTES`, through ``start_chunks``
    when given (the site build passes its worker pool: a clean build's workers idle otherwise).
    :func:`compute_state` starts every batch before it replays the first, so the workers parse
    the next batches while this process replays one.
    """
    # Why long: the three ways a batch's rows arrive (the cache, the workers, this process) share
    # the batch's cache entry and chunks.
    found_entry = None
    if folder is not None and batch.checked_digest:
        found_entry = rows_entry(batch, cfg, folder, approved_at)
        cached = _load_rows(found_entry)
        if cached is not None:
            return lambda: cached
    source = batch.manifest.get("source", "")
    chunks = [
        (str(batch.records_path), batch.kind, source, start, end, batch.id, approved_at[:10])
        for start, end in line_chunks(batch.records_path)
    ]
    if start_chunks is not None and len(chunks) > 1:
        parts = start_chunks(chunks)
    else:
        parts = lambda: [parse_rows(cfg, *chunk) for chunk in chunks]  # noqa: E731 - parsed when waited for

    def rows() -> list[tuple]:
        found: list[tuple] = []
        packed: list[bytes] | None = []
        for part in parts():
            # A worker's rows, packed there: the cache takes the bytes as they are
            if isinstance(part, bytes):
                if packed is not None:
                    packed.append(part)
                found.extend(unpack_rows(part))
                continue
            found.extend(part)
            if found_entry is not None and packed is not None:
                try:
                    packed.append(pack_rows(part))
                except (TypeError, ValueError, OverflowError):
                    # Rows that are not plain data (see pack_rows): parsed again next time
                    packed = None
        if found_entry is not None and packed is not None:
            cache.write(found_entry, cache.join_parts(packed))
        return found

    return rows


def _load_rows(found: cache.Entry) -> list[tuple] | None:
    """A batch's cached rows (one packed part per chunk, each packed by the worker that parsed
    it), or None when the entry is missing, not authentic or unreadable."""
    payload = cache.read(found)
    if payload is None:
        return None
    try:
        rows: list[tuple] = []
        for part in cache.split_parts(payload):
            rows.extend(unpack_rows(part))
        return rows
    except Exception:  # noqa: BLE001 - authentic but not rows (another version's): parsed again
        return None


# The columns of packed rows, each a list: a row's tuple is one zip of them. Strings that repeat
# (a brief's authority, dates and categories; basis, source) are written once per part and shared
# by every row again when read, as interned strings are when parsed; a brief is its shape (its
# field names) and its values.
_PACKED_ROWS = "rows/1"


def pack_rows(rows: Sequence[tuple]) -> bytes:
    """:func:`start_batch_rows`' rows as data (:func:`generator.cache.pack`); :func:`unpack_rows`
    makes the same rows again, value for value and type for type."""
    if not rows:
        return cache.pack([_PACKED_ROWS, 0])
    (
        offsets,
        ids,
        briefs,
        public,
        withheld,
        docno_keys,
        ends,
        basis,
        sources,
        entities,
        keys,
        orders,
    ) = map(list, zip(*rows))
    shapes: dict[tuple[str, ...], int] = {}
    shape_of, values = [], []
    for brief in briefs:
        shape_of.append(shapes.setdefault(tuple(brief), len(shapes)))
        values.extend(brief.values())
    no_order = [i for i, order in enumerate(orders) if order is None]
    orders = [
        b"" if order is None else order.to_bytes((order.bit_length() + 7) // 8, "big")
        for order in orders
    ]
    return cache.pack(
        [
            _PACKED_ROWS,
            len(rows),
            offsets,
            ids,
            [list(shape) for shape in shapes],
            shape_of,
            _shared(values),
            public,
            _shared(withheld),
            docno_keys,
            _shared(ends),
            _shared(basis),
            _shared(sources),
            [list(entity) for entity in entities],
            keys,
            orders,
            no_order,
        ]
    )


def unpack_rows(data: Any) -> list[tuple]:
    """The rows :func:`pack_rows` packed (ValueError or TypeError for anything else)."""
    head, count, *columns = cache.unpack(data)
    if head != _PACKED_ROWS:
        raise ValueError(f"not packed rows: {head!r}")
    if not count:
        return []
    (
        offsets,
        ids,
        shapes,
        shape_of,
        values,
        public,
        withheld,
        docno_keys,
        ends,
        basis,
        sources,
        entities,
        keys,
        orders,
        no_order,
    ) = columns
    names = [tuple(map(sys.intern, shape)) for shape in shapes]
    if sum(len(names[shape]) * n for shape, n in collections.Counter(shape_of).items()) != len(
        values[1]
    ):
        raise ValueError("packed rows' briefs do not add up")
    flat = iter(_unshared(values))
    # Each brief takes its shape's count of values from the one iterator (zip stops at the names).
    briefs = list(map(dict, map(zip, map(names.__getitem__, shape_of), itertools.repeat(flat))))
    orders = list(map(int.from_bytes, orders))
    for i in no_order:
        orders[i] = None
    rows = list(
        zip(
            offsets,
            ids,
            briefs,
            public,
            _unshared(withheld),
            docno_keys,
            _unshared(ends),
            _unshared(basis),
            _unshared(sources),
            map(tuple, entities),
            keys,
            orders,
            strict=True,
        )
    )
    if len(rows) != count:
        raise ValueError("packed rows do not add up")
    return rows


def _shared(column: list) -> list:
    """[distinct values, each value's index]: a column whose values repeat, each written once.
    Values are told apart by type too (``1``, ``1.0`` and ``True`` are equal keys of a dict)."""
    index: dict[Any, int] = {}
    distinct: list[Any]
    positions: list[int]
    distinct, positions = [], []
    for value in column:
        key = value if type(value) is str else (type(value).__name__, repr(value))
        at = index.get(key)
        if at is None:
            at = index[key] = len(distinct)
            distinct.append(value)
        positions.append(at)
    return [distinct, positions]


def _unshared(shared: list) -> list:
    distinct, positions = shared
    return list(map(distinct.__getitem__, positions))


Chunk = tuple[str, str, str, int, int, str, str]  # parse_rows' arguments after the config
# Starts parsing chunks (in worker processes); the returned call waits for their rows, in order:
# each chunk's rows as a list, or packed (pack_rows) as bytes.
ChunkStart = Callable[[list[Chunk]], Callable[[], list[Sequence[tuple] | bytes]]]
PARSE_CHUNK_BYTES = 16 << 20  # ~18,000 record lines: enough to outweigh packing the rows back


def line_chunks(path: Path, size: int | None = None) -> list[tuple[int, int]]:
    """[start, end) byte spans of about ``size`` bytes that cover the file, each ending after a
    newline (or at the end): every line starts in exactly one span."""
    size = size or PARSE_CHUNK_BYTES
    total = path.stat().st_size
    bounds = [0]
    with open(path, "rb") as fh:
        while bounds[-1] + size < total:
            fh.seek(bounds[-1] + size - 1)
            fh.readline()  # to the end of the line holding the byte before the cut
            if fh.tell() >= total:
                break
            bounds.append(fh.tell())
    bounds.append(total)
    return list(zip(bounds, bounds[1:]))


def parse_rows(
    cfg: Config,
    path: str,
    kind_name: str,
    batch_source: str,
    start: int = 0,
    end: int | None = None,
    batch_id: str = "",
    approved_day: str = "",
) -> list[Row]:
    """:func:`start_batch_rows`' rows for the lines that start in ``[start, end)`` of a records.jsonl."""
    kind = KINDS[kind_name]
    rows = []
    with open(path, "rb") as fh:
        fh.seek(start)
        offset = start
        for line in fh:
            if end is not None and offset >= end:
                break
            here, offset = offset, offset + len(line)
            if not line.strip():
                continue
            record = loads_line(line)
            fields = record["fields"]
            public = record.get("public", True)
            ends, basis = publication_end(kind, fields, cfg) if public else (None, "")
            brief = brief_of(kind, fields)
            iso_ends, source, entity = (
                ends.isoformat() if ends else None,
                sys.intern(str(fields.get(kind.source or "", "") or batch_source)),
                entity_key(kind, brief) or (),
            )
            key = (
                record_key(batch_id, here, iso_ends, basis, approved_day, source, entity)
                if public
                else b""
            )
            order = newest_first_order(fields[kind.date], record["id"]) if public else None
            rows.append(
                Row(
                    here,
                    record["id"],
                    brief,
                    public,
                    record.get("withheld", ""),
                    record.get("docno_key", ""),
                    iso_ends,
                    sys.intern(basis),
                    source,
                    entity,
                    key,
                    order,
                )
            )
    return rows


def refuse_problems(problems: list[str]) -> None:
    """Stop the build, output untouched, when the publication log or an approved batch does not check out."""
    if problems:
        more = (
            f"（另有 {len(problems) - 1} 个问题，disclose status 可列出全部）"
            if len(problems) > 1
            else ""
        )
        raise BuildError(f"{problems[0]}{more}；已停止构建，网站保持不变")


def compute_state(
    store: BatchStore,
    cfg: Config,
    today: dt.date,
    *,
    strict: bool = True,
    start_chunks: ChunkStart | None = None,
) -> State:
    """Replay approved batches; raise :class:`BuildError` naming every tampered batch.
    ``start_chunks``: how to parse uncached batches in parallel (see :func:`start_batch_rows`)."""
    # Why long: the replay loop over every approved row (10^6) keeps its state in locals; split, it
    # would travel through attributes.
    publication = store.publication()
    if publication.problems and strict:
        refuse_problems(publication.problems)
    approved = publication.approved
    state = State(today)
    state.log_head = publication.ledger.head
    iso_today = today.isoformat()
    published: dict[str, list[PublishedRecord]] = {name: [] for name in KINDS}
    pending: dict[str, PublishedRecord] = {}  # id → its latest version, if publishable on `today`
    row = -1  # approved rows so far, in approval order: never renumbered by a later batch
    unpublished = state.unpublished.append
    withdrawn, pending_pop = state.withdrawn, pending.pop  # locals: ~10^6 rows
    # Every batch's rows started before the first is replayed: the workers parse ahead.
    folder = store.root / CACHE_DIR
    started = {
        batch.id: start_batch_rows(
            batch, cfg, folder, start_chunks, sys.intern(approval["approved_at"])
        )
        for batch, approval in approved
        if not batch.is_withdrawal
    }
    cache.prune(
        folder,
        [
            rows_entry(batch, cfg, folder, approval["approved_at"]).path
            for batch, approval in approved
            if not batch.is_withdrawal and batch.checked_digest
        ],
    )
    for batch, approval in approved:
        if batch.is_withdrawal:
            for entry in batch.iter_records():
                state.withdrawn[entry["id"]] = {
                    **entry,
                    "batch_id": batch.id,
                    "approved_at": approval["approved_at"],
                }
                dropped = pending.pop(entry["id"], None)
                if dropped is not None:
                    unpublished((dropped.seq, dropped.kind, dropped.id, dropped.brief))
            continue
        kind = KINDS[batch.kind]
        path, batch_id, kind_name, date = str(batch.records_path), batch.id, kind.name, kind.date
        approved_at = sys.intern(approval["approved_at"])
        first_row = row + 1
        rows = started.pop(batch.id)()
        state.replayed_rows.append((batch, approved_at, rows))
        for (
            here,
            rid,
            brief,
            public,
            _withheld,
            _docno_key,
            ends,
            basis,
            source,
            entity,
            key,
            order,
        ) in rows:
            row += 1
            if withdrawn:
                withdrawn.pop(rid, None)
            dropped = pending_pop(rid, None)
            if dropped is not None:  # superseded by this version
                unpublished((dropped.seq, dropped.kind, rid, dropped.brief))
            if not public:
                continue
            if brief[date] > iso_today or (ends is not None and ends < iso_today):
                unpublished((row, kind_name, rid, brief))
                continue
            pending[rid] = make_record(
                kind_name,
                rid,
                batch_id,
                source,
                approved_at,
                ends,
                basis,
                brief,
                path,
                here,
                row,
                entity,
                key,
                order,
            )
        state.sources.append(
            Source(first_row, row + 1, batch_id, batch.checked_digest, approved_at, kind_name)
        )
    # `pending` holds each record once, inserted when its row was replayed: in approval order.
    state.in_order = list(pending.values())
    for record in state.in_order:
        published[record.kind].append(record)
    for records in published.values():
        sort_records(records)
    state.published = published
    state.unpublished.sort(key=operator.itemgetter(0))
    return state

"""The build's plan: what changed since the live site was built, and so what to write.

Every unit of output (a list, a search segment, a kind's downloads, a sitemap part, an archive)
has a key: a digest of everything its bytes come from (:mod:`generator.incremental`). The plan
compares each key with the last build's manifest: a unit whose key is unchanged is kept as the
live site has it, any other is written. The first build, ``--full``, or a change of code, theme or
setting (the manifest's fingerprint) plans everything. The plan fills this build's manifest as it
goes; the tasks it returns are run by :mod:`generator.parallel`.
"""

from __future__ import annotations

import bisect
import dataclasses
import operator
from pathlib import Path
from typing import Any

import numpy as np

from . import directory, incremental, search
from .incremental import KEY_SIZE, Manifest, batch_entry, digest_keys
from .outputs import RowIndex
from .progress import timing
from .publication import PublishedRecord, State
from .schema import KINDS
from .settings import Config
from .sitemodel import Entity, build_entities
from .tasks import ArchivePages, KindDownloads, RecordPages, SearchSegment, chunks_of

RECORD_KEY = operator.attrgetter("key")
SEQ = operator.attrgetter("seq")


def templates_read(cfg: Config, settings: dict[str, Any], base: str) -> dict[str, Any]:
    """The settings the templates read: a change to any of them changes every page."""
    return {
        **dataclasses.asdict(cfg),
        "SITENAME": settings.get("SITENAME"),
        "SITEURL": settings.get("SITEURL"),
        "BASE": base,
    }


class BuildPlan:
    """The manifest of this build (``manifest``) against the live site's (``old``, None on a clean
    build).

    Its steps run in this order, each asserting the one before ran: :meth:`record_tasks` (which
    records changed: the archives they touch, the kinds nothing happened to), then
    :meth:`download_tasks` and :meth:`search_tasks` (any order; they use the unchanged kinds),
    :meth:`group_entities` (uses the touched archives), :meth:`archive_tasks`. The page families
    then record their own units with :meth:`keep` (lists, group indexes, sitemap parts) and read
    ``segments`` and ``entity_ids``."""

    def __init__(
        self, root: Path, cfg: Config, state: State, manifest: Manifest, old: Manifest | None
    ):
        self.root, self.cfg, self.state = root, cfg, state
        self.manifest, self.old = manifest, old
        # Archives that can have changed: those of a changed record's new and old version and of a
        # removed record's (None: all of them, on a clean build).
        self.affected: set[str] | None = None if old is None else set()
        self.unchanged_kinds: set[str] = set()  # kinds none of whose records changed, came or went
        self.entities: dict[str, Entity] = {}
        self.entity_ids: list[str] = []  # every archive of the site, sorted
        # Search segments: name, published members
        self.segments: list[tuple[str, list[PublishedRecord]]] = []
        self.segment_keys: dict[str, bytes] = {}  # also the keys of the sitemap's parts of records
        # Segment → universe key, first seq, end seq
        self.universes: dict[str, tuple[str, int, int]] = {}
        self.kept_downloads: dict[str, tuple[list, RowIndex | None]] = {}
        self.directory = directory.Directory()  # the 主体名录 (group_entities)
        self.entity_todo: list[str] = []  # the archives to key (and write if their key changed)
        self._done: set[str] = set()  # the steps that ran

    def _step(self, name: str, *after: str) -> None:
        missing = [step for step in after if step not in self._done]
        assert not missing, f"BuildPlan.{name} needs {', '.join(missing)} first"
        self._done.add(name)

    @classmethod
    def load(
        cls,
        root: Path,
        cfg: Config,
        state: State,
        templates_read: dict[str, Any],
        context: list[Any],
        previous_output: str | None,
        full: bool,
    ) -> BuildPlan:
        """The plan against the live site at ``previous_output``, if its manifest still applies
        (same fingerprint: code, theme, ``templates_read`` settings and the pages' ``context``)."""
        fingerprint = incremental.fingerprint(root, templates_read, context)
        old = (
            None
            if not previous_output or full
            else incremental.load(Path(previous_output), fingerprint)
        )
        timing(f"manifest: {'incremental' if old else 'clean'} build")
        return cls(root, cfg, state, Manifest(fingerprint), old)

    @property
    def incremental(self) -> bool:
        return self.old is not None

    def keep(self, unit: str, key: bytes, files: tuple[str, ...] | None = None) -> bool:
        """Record a keyed unit of output; True when the live site already has it, unchanged.

        ``files=None``: the unit's files are known only once it is written (a search segment);
        a kept unit takes them from the last manifest, a written one fills them in afterwards."""
        old = self.old.units.get(unit) if self.old is not None else None
        if old is not None and old[0] == key and (files is None or old[1] == files):
            self.manifest.units[unit] = old
            return True
        self.manifest.units[unit] = (key, files or ())
        return False

    def keep_as_before(self, unit: str) -> tuple[str, ...]:
        """Keep ``unit`` as the last build made it; its files."""
        assert self.old is not None
        self.manifest.units[unit] = old = self.old.units[unit]
        return old[1]

    # -- record pages ------------------------------------------------------------------------------

    def record_tasks(self) -> list[RecordPages]:
        """The record pages to write: every one on a clean build; else those of the records that
        came or changed. Also notes the archives they touch and the kinds nothing happened to."""
        self._step("record_tasks")
        # What the next build compares with, per approved batch (incremental.batch_entry): a
        # record's input key (publication.record_key, archive id included) comes with the state's
        # cached rows.
        by_source = self.state.by_source()
        entries = self.manifest.batches = {
            batch_id: batch_entry(kind_name, records) for batch_id, kind_name, records in by_source
        }
        if self.old is None:
            return [
                RecordPages(kind_name, chunk)
                for kind_name, records in self.state.published.items()
                for chunk in chunks_of(records)
            ]
        # Only the batches whose entries differ can hold a record that came, went or changed.
        before, now = self.manifest.record_changes(self.old)
        differ = set(incremental.differing_batches(self.old.batches, entries))
        changed_by_kind: dict[str, list[PublishedRecord]] = {}
        for batch_id, kind_name, records in by_source:
            if batch_id in differ:
                old = before.get(kind_name, {})
                changed_by_kind.setdefault(kind_name, []).extend(
                    r for r in records if old.get(r.id) != r.key
                )
        tasks = []
        assert self.affected is not None
        for kind_name in self.state.published:
            old, keys = before.get(kind_name, {}), now.get(kind_name, {})
            changed = changed_by_kind.get(kind_name, [])
            tasks += [RecordPages(kind_name, chunk) for chunk in chunks_of(changed)]
            gone = old.keys() - keys.keys()
            if not changed and not gone:
                # Its records, in the same order (ids and dates are in the keys)
                self.unchanged_kinds.add(kind_name)
            touched = (
                [r.key for r in changed]
                + [old[r.id] for r in changed if r.id in old]
                + [old[rid] for rid in gone]
            )
            self.affected.update(
                entry[KEY_SIZE:].decode() for entry in touched if len(entry) > KEY_SIZE
            )
        return tasks

    # -- archives (信用档案) --------------------------------------------------------------------------

    def group_entities(self) -> None:
        """Group the records into archives: all of them on a clean build; else only those a changed
        record touches and the government bodies' (统计与监测): every other archive keeps all its
        records, so it still exists, and keeps its key."""
        self._step("group_entities", "record_tasks")
        old_government = self.old.data.get("government") if self.old is not None else None
        if old_government is None or self.affected is None or self.old is None:
            self.entities = build_entities(self.state)
            self.entity_ids = self.entity_todo = sorted(self.entities)
            government = {eid for eid, entity in self.entities.items() if entity.is_government}
        else:
            affected = self.affected
            self.entities = build_entities(self.state, affected | old_government)
            # In id order, then those added since
            kept = self.manifest.entities = dict(self.old.entities)
            for eid in affected:
                kept.pop(eid, None)
            present = affected.intersection(self.entities)
            self.entity_todo = sorted(present)
            # Sorted runs: Timsort merges them in linear time
            self.entity_ids = sorted([*kept, *present])
            government = (old_government - affected) | {
                eid for eid in present if self.entities[eid].is_government
            }
        self.manifest.data["government"] = government
        timing(f"entities: {len(self.entity_ids)}, {len(self.entities)} grouped")
        place_subjects(self)

    def archive_tasks(self) -> list[ArchivePages]:
        """The archive pages whose key changed (:meth:`group_entities` first)."""
        self._step("archive_tasks", "group_entities")
        old = self.old.entities if self.old else {}
        changed = []
        keys = self.manifest.entities  # those of unchanged archives already there (group_entities)
        for eid in self.entity_todo:
            entity = self.entities[eid]
            head = (
                entity.name,
                entity.code,
                entity.category,
                [(k, len(entity.records[k])) for k in KINDS if k in entity.records],
                directory.shown(entity.namesakes, eid),
            )
            keys[eid] = key = digest_keys(
                head, (r.key for k in KINDS for r in entity.records.get(k, ()))
            )
            if old.get(eid) != key:
                changed.append(entity)
        return [ArchivePages(chunk) for chunk in chunks_of(changed)]

    # -- downloads ---------------------------------------------------------------------------------

    def download_tasks(self) -> list[KindDownloads]:
        """Each kind's downloads, unless its records and their keys are the same as last time."""
        self._step("download_tasks", "record_tasks")
        tasks: list[KindDownloads] = []
        kept = self.old.data.get("downloads", {}) if self.old else {}
        rows = self.old.data.get("download_rows", {}) if self.old else {}
        for kind_name, records in self.state.published.items():
            files = (f"downloads/{kind_name}.csv", f"downloads/{kind_name}.json")
            unit = f"downloads/{kind_name}"
            if (
                self.old is not None
                and kind_name in self.unchanged_kinds
                and unit in self.old.units
            ):
                key = self.old.units[unit][0]  # the same records with the same keys: the same files
            else:
                key = digest_keys(kind_name, map(RECORD_KEY, records))
            if self.keep(unit, key, files) and kind_name in kept:
                self.kept_downloads[kind_name] = (kept[kind_name], rows.get(kind_name))
            else:  # with the live files' row index: unchanged records' rows are copied, not formatted
                # A row's index key is its record's page key (KEY_SIZE bytes): the archive id is not in the row.
                tasks.append(
                    KindDownloads(
                        kind_name,
                        [
                            (r.id, r.ends, r.basis, r.path, r.offset, r.key[:KEY_SIZE])
                            for r in records
                        ],
                        rows.get(kind_name),
                    )
                )
        return tasks

    # -- search ------------------------------------------------------------------------------------

    def search_tasks(self) -> list[SearchSegment]:
        """The search segments whose published rows are not what the live site has.

        A segment's key is its universe (:func:`search.universe_key`) and which of its rows are
        published. When only the latter changed, its task carries the rows published before, and
        the worker rewrites only the files those that came or went are in; the universe's rows
        travel with a task only when their layout is not cached."""
        self._step("search_tasks", "record_tasks")
        tasks: list[SearchSegment] = []
        # The state's records in approval order: a segment is a slice of them, its seqs a slice of these.
        ordered = self.state.in_order
        seqs = np.fromiter(map(SEQ, ordered), dtype=np.int64, count=len(ordered))
        spans = search.segment_cuts(
            [(source.first, source.stop) for source in self.state.sources],
            search.segment_capacity(self.cfg),
        )
        bounds = np.searchsorted(seqs, [seq for span in spans for seq in span]).tolist()
        # (name, first seq, end seq, its records' slice of the state's order); a segment none of
        # whose rows is published has no files.
        listed = [
            (f"s{number}", start, stop, bounds[2 * number], bounds[2 * number + 1])
            for number, (start, stop) in enumerate(spans)
            if bounds[2 * number] < bounds[2 * number + 1]
        ]
        self.segments = [(name, ordered[lo:hi]) for name, _start, _stop, lo, hi in listed]
        old = self.old.data.get("search", {}) if self.old is not None else {}
        kept = self.manifest.data["search"] = {}
        for (name, _members), (_name, start, stop, lo, hi) in zip(self.segments, listed):
            universe = search.universe_key(
                self.state.sources, start, stop, self.manifest.fingerprint
            )
            published = seqs[lo:hi] - start  # ascending, as the state's order is
            mask = np.zeros(stop - start, dtype=bool)
            mask[published] = True
            bits = np.packbits(mask).tobytes()
            kept[name] = (universe, bits)
            self.universes[name] = (universe, start, stop)
            key = self.segment_keys[name] = digest_keys((name, universe), [bits])
            if self.keep(f"search/{name}", key):
                continue
            before = old.get(name)
            previous = (
                np.flatnonzero(
                    np.unpackbits(np.frombuffer(before[1], dtype=np.uint8))[: stop - start]
                )
                if before is not None and before[0] == universe
                else None
            )
            # Else the worker asks (SegmentMissing)
            cached = search.layout_entry(self.root, universe).path.is_file()
            rows = None if cached else self.universe_rows(name)
            tasks.append(SearchSegment(name, universe, published, previous, rows, stop - start))
        return tasks

    def universe_rows(self, name: str) -> list[tuple]:
        """The universe of search segment ``name`` (seqs [start, stop)): (seq - start, kind, id,
        brief) per public row, published or not."""
        members = next(m for n, m in self.segments if n == name)
        _universe, start, stop = self.universes[name]
        unpublished = self.state.unpublished
        lo = bisect.bisect_left(unpublished, start, key=operator.itemgetter(0))
        hi = bisect.bisect_left(unpublished, stop, key=operator.itemgetter(0))
        return [(r.seq - start, r.kind, r.id, r.brief) for r in members] + [
            (seq - start, kind, rid, brief) for seq, kind, rid, brief in unpublished[lo:hi]
        ]

    def segment_written(self, name: str, files: list[str]) -> None:
        """A written segment's files, for the manifest."""
        unit = f"search/{name}"
        self.manifest.units[unit] = (
            self.manifest.units[unit][0],
            tuple(f"search/{name}/{rel}" for rel in files),
        )

    def search_layouts_used(self) -> list[Path]:
        return [
            search.layout_entry(self.root, universe).path
            for universe, *_span in self.universes.values()
        ]


def place_subjects(plan: BuildPlan) -> None:
    """The 主体名录 (:mod:`generator.directory`), for :meth:`BuildPlan.group_entities`: every
    archive placed on a clean build; else the last build's, with the touched archives taken out
    and put back. An archive whose namesakes changed (one of its name came or went) is grouped
    and keyed again: its page lists them (the first :data:`~generator.directory.NAMESAKES_SHOWN`
    and a link to the 名录 for the rest: what it shows, :func:`~generator.directory.shown`, is in
    its key)."""
    kept = plan.old.data.get("directory") if plan.old is not None else None
    if kept is None or plan.affected:
        directory.load_tables(plan.root / directory.CACHE_DIR)
    if kept is None or plan.affected is None:
        everything = plan.entities if plan.old is None else build_entities(plan.state)
        plan.directory = directory.build(
            directory.entry(e.name, e.code, eid) for eid, e in everything.items()
        )
    else:
        touched = plan.affected
        plan.directory = directory.update(
            kept,
            touched,
            {
                eid: directory.entry(e.name, e.code, eid)
                for eid in touched
                if (e := plan.entities.get(eid)) is not None
            },
        )
        around = plan.directory.renamed_around
        missing = around - plan.entities.keys()
        if missing:
            plan.entities.update(build_entities(plan.state, missing))
        plan.entity_todo = sorted(set(plan.entity_todo) | (around & plan.entities.keys()))
    # An archive of no run placed has no namesakes, or is not keyed again (update)
    shared = 0
    for eid, found in plan.directory.namesakes():
        entity = plan.entities.get(eid)
        if entity is not None:
            entity.namesakes = found
            shared += 1
    data = plan.manifest.data["directory"] = plan.directory.data()
    plan.directory.keep_data_only(data)
    timing(f"directory: {plan.directory.total} subjects, {shared} with namesakes placed")

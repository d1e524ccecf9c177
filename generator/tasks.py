"""The work a build hands to its page workers, as typed tasks, and the :class:`TaskRunner` that
does it (in a worker, or in the main process when it takes a task back).

Each task carries all its data (pickled to the worker) and writes files no other task writes:
a slice of record pages, a slice of archives, one kind's downloads, one search segment; or it
parses a chunk of a batch file for the publication state. Its result is plain data.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import search
from .outputs import DownloadRecords, RowIndex, write_downloads
from .proof import Prover
from .publication import Chunk, PublishedRecord, pack_rows, parse_rows
from .render import Renderer
from .schema import KINDS
from .search import write_segment
from .settings import Config
from .sitemodel import Entity
from .writers import DisclosureWriter

log = logging.getLogger(__name__)

RENDER_CHUNK = 1_000  # pages per task


@dataclass
class ParseChunk:
    """Rows ``chunk`` of a batch file, parsed (and packed as data for the state's cache)."""

    chunk: Chunk
    pages = 0


@dataclass
class RecordPages:
    kind: str
    records: list[PublishedRecord]
    prove_against: str = (
        ""  # a clean shadow build's: the live site (:class:`generator.proof.Prover`)
    )

    @property
    def pages(self) -> int:
        return len(self.records)


@dataclass
class ArchivePages:
    entities: list[Entity]
    prove_against: str = ""

    @property
    def pages(self) -> int:
        return len(self.entities)


@dataclass
class KindDownloads:
    """A kind's CSV and JSON downloads: per record (id, ends, basis, batch file, offset, page key),
    and the live files' row index (unchanged records' rows are copied from them, not formatted)."""

    kind: str
    rows: list[tuple]
    index: RowIndex | None
    pages = 0

    @property
    def cost(self) -> int:
        """The rows weighted by their measured CPU per row (docs/scaling.md, "Measurements behind
        the code"), as :attr:`SearchSegment.cost` is: the queue's order."""
        return 12 * len(self.rows)


@dataclass
class SearchSegment:
    """A search segment's files: its universe (cache key of its layout) and size, which of its rows
    are published now and before (None: written in full), and the universe's rows when the layout
    is not cached (None: the worker loads it, or answers :class:`SegmentMissing`)."""

    name: str
    universe: str
    published: np.ndarray
    previous: np.ndarray | None
    rows: list[tuple] | None
    size: int
    pages = 0

    @property
    def cost(self) -> int:
        return 17 * self.size


@dataclass
class DownloadsWritten:
    kind: str
    catalog: list[dict[str, Any]]
    index: RowIndex | None


@dataclass
class SegmentWritten:
    name: str
    files: list[str]


@dataclass
class SegmentMissing:
    """The segment's layout was not in the cache (gone, or not authentic): the main process sends its rows."""

    name: str


def chunks_of(items: list, size: int = RENDER_CHUNK) -> list[list]:
    return [items[i : i + size] for i in range(0, len(items), size)]


class TaskRunner:
    """Runs tasks against one output folder. ``previous_output``: the live site an incremental
    build copies unchanged download rows from."""

    def __init__(
        self,
        cfg: Config,
        root: Path,
        output: Path,
        settings: dict[str, Any],
        renderer: Renderer,
        previous_output: str | None,
        base: str,
    ):
        self.cfg, self.root, self.output, self.settings = cfg, root, output, settings
        self.renderer, self.previous_output, self.base = renderer, previous_output, base

    def run(self, task: Any, setup: dict[str, Any] | None = None) -> Any:
        if isinstance(task, ParseChunk):
            return self.parse(task)
        if setup is not None:  # in a worker forked before the context existed
            self.renderer.page_context = {**setup, "KINDS": KINDS, "SITE": self.cfg}
        if isinstance(task, KindDownloads):
            return self.downloads(task)
        if isinstance(task, SearchSegment):
            return self.search(task)
        # Each slice gets its own Pelican writer: a writer remembers every file it wrote (to warn
        # about overwrites), which at 10^6 pages grows by hundreds of MB per worker. Slices never
        # share a file, so a fresh writer per slice loses no check.
        prover = Prover(task.prove_against) if getattr(task, "prove_against", "") else None
        writer = DisclosureWriter(str(self.output), settings=self.settings, prover=prover)
        if isinstance(task, RecordPages):
            pages = self.renderer.record_pages(
                writer, task.kind, task.records, self.cfg.LONG_TERM_DATE
            )
        elif isinstance(task, ArchivePages):
            pages = self.renderer.archive_pages(
                writer, task.entities, self.base, self.cfg.LONG_TERM_DATE
            )
        else:
            raise TypeError(f"not a build task: {type(task).__name__}")
        return pages if prover is None else prover.result(pages)

    def parse(self, task: ParseChunk) -> Sequence[tuple] | bytes:
        """Packed as data (see :func:`publication.pack_rows`), else as they are (not cached)."""
        rows = parse_rows(self.cfg, *task.chunk)
        try:
            return pack_rows(rows)
        except (TypeError, ValueError, OverflowError):
            return rows

    def downloads(self, task: KindDownloads) -> DownloadsWritten:
        records = DownloadRecords(task.kind, task.rows)
        live = self.previous_output
        catalog, index, copied = write_downloads(
            self.output,
            KINDS[task.kind],
            records,
            self.base,
            (Path(live), task.index) if live and task.index is not None else None,
        )
        log.debug(
            "downloads/%s: %d of %d records' rows copied from the live files",
            task.kind,
            copied,
            len(records),
        )
        return DownloadsWritten(task.kind, catalog, index)

    def search(self, task: SearchSegment) -> SegmentWritten | SegmentMissing:
        found = search.layout_entry(self.root, task.universe)
        layout = search.load_layout(found) if task.rows is None else None
        if layout is None:
            if task.rows is None:
                return SegmentMissing(task.name)
            layout = search.segment_layout(task.rows, task.size, self.cfg)
            search.save_layout(found, layout)
        files = write_segment(
            self.output / "search" / task.name, layout, task.published, task.previous, self.cfg
        )
        return SegmentWritten(task.name, files)

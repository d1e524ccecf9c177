"""Pelican plugin: a custom Generator that writes the disclosure site from the batches.

Registered through ``signals.get_generators``. Records are not Articles or Pages (the stock
machinery loops over all of them on every page); each record page is written once with
``writer.write_file``. ``pelican content -s pelicanconf.py`` and ``disclose build`` run the same
code; the setting ``DISCLOSE_TODAY`` is the clock (default: today in Asia/Shanghai).
"""

from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import gc
import heapq
import logging
import multiprocessing
import operator
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Callable
from zoneinfo import ZoneInfo

from markupsafe import Markup
from pelican import signals
from pelican.utils import get_relative_path, path_to_url
from pelican.generators import Generator

from . import cache, incremental
from .buildreport import PreparedReport
from .batches import BatchStore
from .forked import Forked
from .incremental import KEY_SIZE, Manifest, batch_entry, digest_keys
from .markup import PAGE_ATTRIBUTES, PAGE_TAGS, clean_html, format_amount, format_date
from .outputs import (DownloadRecords, RowIndex, sitemap_part_files, write_downloads, write_feed, write_log_head, write_robots, write_sitemap, write_sitemap_index,
                      write_sitemap_part, write_table_csv)
from .progress import StageProgress, timing
from .publication import Chunk, PublishedRecord, State, compute_state, pack_rows, parse_rows, published_years
from .schema import KINDS
from . import search
from .search import write_search_top, write_segment
from .stats import STATS_CACHE_DIR, STATS_PAGES
from .settings import Config
from .stencils import Stencils
from .writers import DisclosureWriter
from .sitemodel import (
    GOVERNMENT_CATEGORIES,
    CARD_VALUES,
    ENTITY_PAGE_HEAD,
    EntityPage,
    authority_id,
    build_entities,
    record_entity,
    record_page,
    record_page_values,
    entity_url,
    group_url,
    groups,
    kind_url,
    paginate,
    record_url,
    summary,
)

log = logging.getLogger(__name__)
GROUPS = {"authority": "authorities", "month": "months"}


def site_root(settings: dict[str, Any]) -> Path:
    """The folder holding pelicanconf.py (Pelican's PATH is its content/ folder)."""
    return Path(settings["PATH"]).resolve().parent


def build_today(settings: dict[str, Any]) -> dt.date:
    """The build's clock: the date ``disclose`` made (or an ISO date given to ``pelican -e``),
    else today in the site's time zone (a plain ``pelican`` run)."""
    value = settings.get("DISCLOSE_TODAY")
    if isinstance(value, dt.date):
        return value
    if value:
        return dt.date.fromisoformat(str(value))
    return dt.datetime.now(ZoneInfo(settings.get("TIMEZONE") or "Asia/Shanghai")).date()


class DisclosureGenerator(Generator):
    """Writes record pages, entity archives, lists, home, search page, downloads, feeds, sitemap."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.cfg = Config.from_mapping(self.settings)
        self.root = site_root(self.settings)
        self.base = (self.settings.get("SITEURL") or self.cfg.SITEURL_FALLBACK).rstrip("/")
        self.sitemap: list[tuple[str, str | None]] = []
        self._chrome_cache: dict[str, dict[str, Markup]] = {}
        self._roots: dict[int, str] = {}
        self._stencil_cache: dict[str, Stencils] = {}
        self._card: Callable[[PublishedRecord], str] | None = None  # see _card_maker

    def generate_context(self) -> None:
        from .build import BuildResult

        # What this build makes, for the caller (disclose build, verify's shadow build); a plain
        # ``pelican`` run gets one of its own that nobody reads.
        self.result: BuildResult = self.settings.get("DISCLOSE_RESULT") or BuildResult()
        self.result.abort = self.abort
        store = BatchStore(self.root, self.cfg)
        self._fork_workers(store)
        today = build_today(self.settings)
        # Tampered batches raise here: Pelican stops before writing anything of ours.
        try:
            with long_lived():
                self.state: State = compute_state(store, self.cfg, today, start_chunks=self._start_chunks if self._pool else None)
        except BaseException:
            self._close_pool()
            raise
        self.result.state = self.state
        timing(f"publication state: {self.state.total} records")
        pages = sorted(self.context.get("pages", []), key=lambda p: p.slug)
        self.context.update({
            # Precomputed once: every page's header and footer use them (Pelican's Page.url is costly).
            "NAV_KINDS": [(name, kind.label) for name, kind in KINDS.items()],
            "GUIDE_LINKS": [(p.title, p.url) for p in pages],
            "KINDS": KINDS,
            "KIND_COUNTS": {k: len(v) for k, v in self.state.published.items()},
            "TOTAL_RECORDS": self.state.total,
            "TODAY": today.isoformat(),
            "SITE": self.cfg,
        })
        # Our pages get only what our templates use: Pelican and Jinja copy the context for every
        # page (three times), and Pelican's holds every setting.
        self.page_context = {key: self.context.get(key) for key in PAGE_CONTEXT_KEYS}
        self._load_manifest()
        self._yield_workers()
        self._side = self._start_side()
        # Record pages need nothing more: the workers start on them while the archives are grouped.
        self._tasks_list: list = []
        self._futures: list = []
        with long_lived():  # a key and an archive id per record, and the archives: they live until the end
            records = self._record_tasks()
            self._submit(records[: self._workers])  # the workers start at once, while the rest is queued
            # Longest first: a kind's downloads (500,000 licences at 10^6, about a minute of one
            # core) and a search segment (up to 200,000 rows) cannot be split. Queued after the
            # record pages they were a clean build's last ~30 s, one core idle (run TL1); after a
            # withdrawal, its longest path. They need only the records' keys, not the archives.
            self._submit(sorted(self._download_tasks() + self._search_tasks(), key=_task_cost, reverse=True))
            self._submit(records[self._workers :])
            old_government = self.old.data.get("government") if self.old is not None else None
            if old_government is None:
                self.entities = build_entities(self.state)
                self.entity_ids = self._entity_todo = sorted(self.entities)
                government = {eid for eid, entity in self.entities.items() if entity.is_government}
            else:
                # Only the archives a changed record touches and the government bodies' (统计与监测)
                # are grouped: every other archive keeps all its records, so it still exists, and
                # keeps its key.
                affected = self._affected
                self.entities = build_entities(self.state, affected | old_government)
                kept = self.manifest.entities = dict(self.old.entities)  # in id order, then those added since
                for eid in affected:
                    kept.pop(eid, None)
                present = affected.intersection(self.entities)
                self._entity_todo = sorted(present)
                self.entity_ids = sorted([*kept, *present])  # sorted runs: Timsort merges them in linear time
                government = (old_government - affected) | {eid for eid in present if self.entities[eid].is_government}
            self.manifest.data["government"] = government
        timing(f"entities: {len(self.entity_ids)}, {len(self.entities)} grouped")

    def _start_chunks(self, chunks: list[Chunk]) -> Callable[[], list[list[tuple] | bytes]]:
        """Queue chunks of an uncached batch (:func:`publication.start_batch_rows`) for the workers;
        the returned call waits for their rows, this process parsing the chunks no worker has
        started, from the back, as in :meth:`_wait_for_pages`."""
        futures = [self._pool.submit(_render_in_worker, ("parse", "", chunk)) for chunk in chunks]

        def rows() -> list[list[tuple] | bytes]:
            done = {i: parse_rows(self.cfg, *chunks[i]) for i in range(len(futures) - 1, -1, -1) if futures[i].cancel()}
            return [done[i] if i in done else future.result() for i, future in enumerate(futures)]

        return rows

    def _load_manifest(self) -> None:
        """The last build's page keys (see :mod:`generator.incremental`), if they still apply."""
        import dataclasses

        templates_read = {**dataclasses.asdict(self.cfg), "SITENAME": self.settings.get("SITENAME"),
                          "SITEURL": self.settings.get("SITEURL"), "BASE": self.base}
        fingerprint = incremental.fingerprint(self.root, templates_read, [self.context["NAV_KINDS"], self.context["GUIDE_LINKS"]])
        self.manifest = Manifest(fingerprint)
        previous = self.settings.get("DISCLOSE_PREVIOUS_OUTPUT")
        self.old = None if not previous or self.settings.get("DISCLOSE_FULL") else incremental.load(Path(previous), fingerprint)
        self.result.old_manifest, self.result.manifest = self.old, self.manifest
        timing(f"manifest: {'incremental' if self.old else 'clean'} build")

    def _keep(self, unit: str, key: bytes, files: tuple[str, ...] | None = None) -> bool:
        """Record a keyed unit of output; True when the live site already has it, unchanged.

        ``files=None``: the unit's files are known only once it is written (a search segment);
        a kept unit takes them from the last manifest, a written one fills them in afterwards."""
        old = self.old.units.get(unit) if self.old is not None else None
        kept = old is not None and old[0] == key and (files is None or old[1] == files)
        self.manifest.units[unit] = old if kept else (key, files or ())
        return kept

    # -- helpers -------------------------------------------------------------------------------

    def _root(self, name: str) -> str:
        """The relative site root of a page at ``name`` ('.', '..', '../..' …), once per depth."""
        depth = name.count("/")
        if depth not in self._roots:
            self._roots[depth] = path_to_url(get_relative_path(name))
        return self._roots[depth]

    def _chrome(self, name: str, relative: bool) -> dict[str, Markup]:
        """Header and footer HTML for a page at ``name``: identical for every page at the same
        folder depth, so rendered once per depth instead of once per page."""
        return self._chrome_at(self._root(name) if relative else self.settings.get("SITEURL", ""))

    def _chrome_at(self, root: str) -> dict[str, Markup]:
        if root not in self._chrome_cache:
            context = {**self.page_context, "SITEURL": root}
            self._chrome_cache[root] = {part: Markup(self.get_template(f"_{part}").render(context)) for part in ("header", "footer")}
        return self._chrome_cache[root]

    def _write(self, name: str, template: str, lastmod: str | None = None, relative: bool = True, in_sitemap: bool = True,
               **kwargs: Any) -> None:
        self.writer.write_file(name, self.get_template(template.removesuffix(".html")), self.page_context, relative_urls=relative,
                               CHROME=self._chrome(name, relative), **kwargs)
        if in_sitemap and name.endswith(".html") and name != "404.html":
            self.sitemap.append((name, lastmod))

    def _card_maker(self) -> Callable[[PublishedRecord], str]:
        """A function record → its list entry's HTML (``result_item`` in ``_macros.html``), with
        :data:`ROOT_MARK` where the page's relative site root goes. A record appears in three lists
        and one archive; its entry is made once per process instead of once per page, filled from
        a stencil of the macro per kind (:mod:`generator.stencils`): 10^6 entries are made in the
        main process for the lists and again in the workers for the archives."""
        if self._card is not None:
            return self._card
        macro = self.get_template("_macros").module.result_item
        stencils = Stencils(lambda context: str(macro(context["it"], ROOT_MARK, False)), enabled=self._stencils_on())
        contexts = {name: (lambda values, base={"kind": name, "kind_label": kind.label}: {"it": {**base, **dict(zip(CARD_VALUES, values))}})
                    for name, kind in KINDS.items()}

        def card(record: PublishedRecord) -> str:
            it = summary(KINDS[record.kind], record)
            return stencils.page(record.kind, tuple(map(it.__getitem__, CARD_VALUES)), contexts[record.kind])

        self._card = card
        return card

    def _cards_html(self, cards: str, name: str) -> Markup:
        """Prerendered entries for the page at ``name``, the site root put in. The mark follows
        ``href="``, where escaped export text (``"`` becomes ``&#34;``) can never put it."""
        return Markup(cards.replace(HREF_MARK, f'href="{self._root(name)}'))

    def _write_list(self, base_url: callable, records: list, card: callable, template: str, title: str, max_pages: int = 0,
                    **extra: Any) -> str:
        """A paginated list, newest first, as one keyed unit named by its first page (returned);
        ``max_pages`` > 0 keeps only that many pages (the month lists hold every record; a kind's
        or an authority's list shows the newest)."""
        size = self.cfg.LIST_PAGE_SIZE
        pages = paginate(len(records), size)
        if max_pages:
            pages = min(pages, max_pages)
        shown = min(len(records), pages * size)
        names = tuple(base_url(page) for page in range(1, pages + 1))
        self.sitemap += [(name, None) for name in names]
        # One key for the whole list: its page count and total are on every page, so a record
        # that comes or goes changes all its pages anyway; an unchanged list costs one digest.
        extra_key = sorted((k, getattr(v, "name", v)) for k, v in extra.items())
        key = digest_keys((template, title, len(records), size, extra_key), map(RECORD_KEY, records[:shown]))
        if self._keep(names[0], key, names):
            return names[0]
        for page, name in enumerate(names, start=1):
            chunk = records[(page - 1) * size : page * size]
            params = dict(title=title, page_no=page, page_count=pages, page_urls={p: names[p - 1] for p in _page_window(page, pages)},
                          prev_url=names[page - 2] if page > 1 else None, next_url=names[page] if page < pages else None,
                          first_url=names[0], last_url=names[-1], total=len(records), shown=shown)
            self._write(name, template, cards=self._cards_html(b"".join(map(card, chunk)).decode("utf-8"), name), in_sitemap=False,
                        **params, **extra)
        return names[0]

    # -- output --------------------------------------------------------------------------------

    def generate_output(self, writer: Any) -> None:
        timing("output: start")
        self.writer = writer
        out = Path(self.output_path)
        state = self.state
        # Record and archive pages render in worker processes while this process writes the rest.
        self._start_pages()
        timing("workers started")
        # = sorted(every record, reverse=True)[:N], from the part of each kind that can hold them.
        candidates = [r for records in state.published.values() for r in _newest_days(records, self.cfg.HOME_NEWEST)]
        newest = heapq.nlargest(self.cfg.HOME_NEWEST, candidates, key=lambda r: (r.date, r.id))
        today = self.context["TODAY"]
        self._write("index.html", "index.html", newest=[summary(KINDS[r.kind], r) for r in newest],
                    DATA_DATE=today)
        self._write("search/index.html", "search.html", DATA_DATE=today)
        self._write("404.html", "404.html", relative=False)  # served at any depth: root-absolute links

        side = self._side  # forked once the state and the manifest were there (generate_context)
        try:
            authorities = self._write_lists()
            timing("lists written")
            # The statistics pages are listed by their fixed names, whichever process writes them.
            self.sitemap += [(f"stats/{slug}.html", None) for slug in STATS_PAGES]
            write_search_top(out, self._search_segments, authorities, self.cfg,
                             years=set().union(*map(published_years, state.published.values())))
            timing("search manifest written")
            # The sitemap and the build report need no worker's result: made while the workers finish.
            self.sitemap.append(("downloads/index.html", None))  # written once the downloads are (below)
            for page in self.context.get("pages", []):
                self.sitemap.append((page.save_as, None))
            self._write_sitemap(out)
            write_robots(out, self.base)
            write_log_head(out, state.log_head)
            self.sitemap = []
            timing("sitemap written")
            if side is None:
                self.result.report = self._stats_feeds_report()
            else:
                # The report here, on the core this process would leave idle, while the side
                # process writes the statistics and the feeds.
                self.result.report = self._prepare_report(packed=True)
                side.result()
                self._side = None
                timing("side process done")
        except BaseException:
            if side is not None:
                side.kill()
            raise
        self._wait_for_pages()
        timing("record and archive pages, downloads, search segments written")
        self._finish_search(out)
        written = dict(self._kept_downloads)
        written.update(r[1] for r in self._results if isinstance(r, tuple) and r[0] == "downloads")
        catalogs = {kind_name: catalog for kind_name, (catalog, _index) in written.items()}
        self.manifest.data["downloads"] = catalogs
        self.manifest.data["download_rows"] = {kind_name: index for kind_name, (_catalog, index) in written.items() if index is not None}
        catalog = [entry for kind_name in KINDS for entry in catalogs[kind_name]]
        self._write("downloads/index.html", "downloads.html", files=catalog, DATA_DATE=today, in_sitemap=False)
        timing("downloads page written")

    def _write_sitemap(self, out: Path) -> None:
        """``sitemap.xml``: one file for a small site; past ``SITEMAP_MAX_URLS`` an index over parts
        that keep their bytes from night to night. The pages other than records and archives
        (lists, statistics, guides) are one part, written on every build; the records are cut
        like the search segments (by approval sequence: a new batch is in the last ones) and
        keyed like them; the archives are cut by the first character of their id, and a part is
        written again only when an archive in it came or went."""
        limit = self.cfg.SITEMAP_MAX_URLS
        pages = list(dict.fromkeys(self.sitemap))
        def record_urls(members: list[PublishedRecord]) -> list[tuple[str, str]]:
            return [(record_url(r.kind, r.id), r.approved_at[:10]) for r in members]

        if len(pages) + self.state.total + len(self.entity_ids) <= limit:
            urls = pages + [url for _name, members in self._search_segments for url in record_urls(members)]
            write_sitemap(out, self.base, urls + [(entity_url(eid), None) for eid in self.entity_ids], limit)
            return
        files = list(write_sitemap_part(out, self.base, "pages", pages, limit))
        for name, members in self._search_segments:
            part = f"records-{name}"
            names = sitemap_part_files(part, len(members), limit)
            if not self._keep(f"sitemaps/{part}", self._segment_keys[name], names):
                write_sitemap_part(out, self.base, part, record_urls(members), limit)
            files += names
        ids = self.entity_ids
        changed = None if self._affected is None else {eid[:1] for eid in self._affected}
        start = 0
        while start < len(ids):
            first = ids[start][:1]
            end = bisect.bisect_left(ids, chr(ord(first) + 1), start)
            unit, part = f"sitemaps/entities-{first}", f"entities-{first}"
            old = self.old.units.get(unit) if self.old is not None else None
            if old is not None and changed is not None and first not in changed:
                key, names = old  # no archive in it came or went: its ids, so its key and files, are the last build's
            else:
                names = sitemap_part_files(part, end - start, limit)
                key = digest_keys(part, (eid.encode() for eid in ids[start:end]))
            if not self._keep(unit, key, names):
                write_sitemap_part(out, self.base, part, [(entity_url(eid), None) for eid in ids[start:end]], limit)
            files += names
            start = end
        write_sitemap_index(out, self.base, files)

    def _write_lists(self) -> list[dict[str, Any]]:
        """Every kind's list, its authority and month groups and their lists; the authorities (for search).

        A kind none of whose records came, went or changed since the last build has the same lists,
        page for page: they are kept as they are, without grouping its records again."""
        state = self.state
        authorities: list[dict[str, Any]] = []
        make_card = self._card_maker()
        lists = self.manifest.data["lists"] = {}  # kind → its units, in sitemap order, and its authorities
        old_lists = self.old.data.get("lists", {}) if self.old is not None else {}
        for kind_name, kind in KINDS.items():
            kept = old_lists.get(kind_name)
            if kind_name in self._unchanged_kinds and kept is not None and all(u in self.old.units for u in kept["units"]):
                for unit in kept["units"]:
                    self.manifest.units[unit] = old = self.old.units[unit]
                    self.sitemap += [(name, None) for name in old[1]]
                authorities += kept["authorities"]
                lists[kind_name] = kept
                continue
            records = state.published[kind_name]
            cards: dict[str, bytes] = {}  # one kind at a time, as UTF-8 (half the memory of str), made when a page needs it

            def card(record: PublishedRecord, cards: dict[str, bytes] = cards) -> bytes:
                found = cards.get(record.id)
                if found is None:
                    found = cards[record.id] = make_card(record).encode("utf-8")
                return found

            units = [self._write_list(lambda p, k=kind_name: kind_url(k, p), records, card, "list.html",
                                      f"{kind.label}信息", self.cfg.LIST_MAX_PAGES, kind=kind, section="all")]
            own: list[dict[str, Any]] = []
            for by, folder in GROUPS.items():
                grouped = groups(records, kind, by)
                keys = sorted(grouped, reverse=(by == "month"))
                index = [{"name": key, "count": len(grouped[key]),
                          "url": group_url(kind_name, folder, authority_id(key) if by == "authority" else key)} for key in keys]
                name = f"kinds/{kind_name}/{folder}/index.html"
                units.append(name)
                self.sitemap.append((name, None))
                if not self._keep(name, digest_keys(("groups.html", kind_name, by), [repr(index).encode("utf-8")]), (name,)):
                    self._write(name, "groups.html", kind=kind, by=by, groups=index, in_sitemap=False)
                if by == "authority":
                    own += [{"name": g["name"], "kind": kind.label, "count": g["count"], "url": g["url"]} for g in index]
                for key in keys:
                    slug = authority_id(key) if by == "authority" else key
                    label = key if by == "authority" else f"{key[:4]}年{int(key[5:7])}月"
                    units.append(self._write_list(lambda p, k=kind_name, s=slug: group_url(k, folder, s, p), grouped[key], card, "list.html",
                                                  f"{kind.label}信息：{label}", self.cfg.LIST_MAX_PAGES if by == "authority" else 0,
                                                  kind=kind, section=by, group_label=label))
            authorities += own
            lists[kind_name] = {"units": units, "authorities": own}
        return authorities

    def _stats_feeds_report(self) -> PreparedReport | None:
        """The statistics and the feeds, written; the build report, prepared (``disclose build``
        writes it once the build is live). None when no report is asked for."""
        self._stats_feeds()
        return self._prepare_report()

    def _stats_feeds(self) -> None:
        out = Path(self.output_path)
        self._write_stats(out)
        timing("statistics written")
        self._write_feeds(out)
        timing("feeds written")

    def _prepare_report(self, packed: bool = False) -> PreparedReport | None:
        """The build report, compared with the last build's (None when none is asked for);
        ``packed``: its memory of this build packed now, while this process would wait anyway."""
        if not self.settings.get("DISCLOSE_BUILD_REPORT"):
            return None
        from .buildreport import memory, prepare_build_report

        prepared = prepare_build_report(self.root, self.cfg, self.state)
        if packed:
            prepared.current = memory(prepared.current)
        timing("build report prepared")
        return prepared

    def _start_side(self) -> Forked | None:
        """In an incremental build of a big site the statistics and the feeds
        run in a forked side process (:mod:`generator.forked`), at the workers' priority, from the
        moment the state and the manifest exist: beside this process's keys, archives, lists and
        sitemap and the workers' pages. It needs nothing else: it groups the government bodies'
        archives (the statistics' third page) itself."""
        if self._pool is None or self.old is None or not self.cfg.BUILD_SIDE_PROCESS:
            return None
        try:
            return Forked(self._side_work, nice=max(0, min(19, self.cfg.BUILD_WORKER_NICE)))
        except OSError as error:  # no memory or processes left to fork: only slower in-process
            log.warning("side process not started (%s): statistics and feeds in-process", error)
            return None

    def _government_entities(self) -> dict[str, Any]:
        """The government bodies' archives, grouped from the state alone: every entity one of whose
        records could make it a government body (:attr:`~generator.sitemodel.Entity.is_government`
        reads its credit code and its first record's category), grouped in full, then kept if it is one."""
        candidates = set()
        for kind_name, kind in KINDS.items():
            field = kind.subject_category or ""
            records = self.state.published[kind_name]
            # One comprehension a kind, with the entity computed at replay (10^6 records a build).
            candidates.update(e[0] for r in records if (e := r.entity if r.entity is not None else record_entity(kind, r))
                              and (e[1][:6] == "code:1" or (field and str(r.brief.get(field, "") or "") in GOVERNMENT_CATEGORIES)))
        return {eid: entity for eid, entity in build_entities(self.state, candidates).items() if entity.is_government}

    def _side_work(self) -> None:
        """The statistics and the feeds, in the side process of an incremental build (see
        :mod:`generator.forked`); the main process prepares the build report meanwhile."""
        self.writer = DisclosureWriter(self.output_path, settings=self.settings)
        self.entities = self._government_entities()
        self._stats_feeds()

    # -- record and archive pages: the bulk, rendered across worker processes --------------------

    def _record_tasks(self) -> list[tuple[str, str, list]]:
        """Work for the workers, with its data: a first slice of record pages per worker (queued
        as soon as the state exists), then each changed kind's downloads and search segments
        (:meth:`_download_tasks`, :meth:`_search_tasks`), longest first, then the other record
        pages, then archive pages (:meth:`_archive_tasks`). The data
        travels pickled, so a worker never touches the parent's objects. Tasks at the end of the
        queue are taken back by the parent when it runs out of its own work (see
        :meth:`_wait_for_pages`)."""
        size = RENDER_CHUNK
        tasks = []
        # Archives that can have changed: those of a changed record's new and old version and of a
        # removed record's (None: all of them, on a clean build).
        self._affected: set[str] | None = None if self.old is None else set()
        self._unchanged_kinds: set[str] = set()  # kinds none of whose records changed, came or went
        # What the next build compares with, per approved batch (incremental.batch_entry): a
        # record's input key (publication.record_key, archive id included) comes with the state's
        # cached rows.
        by_source = self.state.by_source()
        entries = self.manifest.batches = {batch_id: batch_entry(kind_name, records) for batch_id, kind_name, records in by_source}
        if self.old is None:
            for kind_name, records in self.state.published.items():
                tasks += [("record", kind_name, records[i : i + size]) for i in range(0, len(records), size)]
            return tasks
        # Only the batches whose entries differ can hold a record that came, went or changed.
        before, now = self.manifest.record_changes(self.old)
        differ = set(incremental.differing_batches(self.old.batches, entries))
        changed_by_kind: dict[str, list[PublishedRecord]] = {}
        for batch_id, kind_name, records in by_source:
            if batch_id in differ:
                old = before.get(kind_name, {})
                changed_by_kind.setdefault(kind_name, []).extend(r for r in records if old.get(r.id) != r.key)
        for kind_name in self.state.published:
            old, keys = before.get(kind_name, {}), now.get(kind_name, {})
            changed = changed_by_kind.get(kind_name, [])
            tasks += [("record", kind_name, changed[i : i + size]) for i in range(0, len(changed), size)]
            gone = old.keys() - keys.keys()
            if not changed and not gone:
                self._unchanged_kinds.add(kind_name)  # its records, in the same order (ids and dates are in the keys)
            touched = [r.key for r in changed] + [old[r.id] for r in changed if r.id in old] + [old[rid] for rid in gone]
            self._affected.update(entry[KEY_SIZE:].decode() for entry in touched if len(entry) > KEY_SIZE)
        return tasks

    def _search_tasks(self) -> list[tuple[str, str, Any]]:
        """The search segments whose published rows are not what the live site has.

        A segment's key is its universe (:func:`search.universe_key`) and which of its rows are
        published. When only the latter changed, its task carries the rows published before, and
        the worker rewrites only the files those that came or went are in; the universe's rows
        travel with a task only when their layout is not cached."""
        import numpy as np

        tasks: list[tuple[str, str, Any]] = []
        # The state's records in approval order: a segment is a slice of them, its seqs a slice of these.
        ordered = self.state.in_order
        seqs = np.fromiter(map(SEQ, ordered), dtype=np.int64, count=len(ordered))
        spans = search.segment_cuts([(first, stop) for first, stop, *_ in self.state.sources], search.segment_capacity(self.cfg))
        bounds = np.searchsorted(seqs, [seq for span in spans for seq in span]).tolist()
        # (name, first seq, end seq, its records' slice of the state's order); a segment none of
        # whose rows is published has no files.
        listed = [(f"s{number}", start, stop, bounds[2 * number], bounds[2 * number + 1])
                  for number, (start, stop) in enumerate(spans) if bounds[2 * number] < bounds[2 * number + 1]]
        self._search_segments = [(name, ordered[lo:hi]) for name, _start, _stop, lo, hi in listed]
        self._segment_keys: dict[str, bytes] = {}  # also the keys of the sitemap's parts of records
        old = self.old.data.get("search", {}) if self.old is not None else {}
        kept = self.manifest.data["search"] = {}
        self._search_universes: dict[str, tuple[str, int, int]] = {}
        for (name, members), (_name, start, stop, lo, hi) in zip(self._search_segments, listed):
            universe = search.universe_key(self.state.sources, start, stop, self.manifest.fingerprint)
            published = seqs[lo:hi] - start  # ascending, as the state's order is
            mask = np.zeros(stop - start, dtype=bool)
            mask[published] = True
            bits = np.packbits(mask).tobytes()
            kept[name] = (universe, bits)
            self._search_universes[name] = (universe, start, stop)
            key = self._segment_keys[name] = digest_keys((name, universe), [bits])
            if self._keep(f"search/{name}", key):
                continue
            before = old.get(name)
            previous = np.flatnonzero(np.unpackbits(np.frombuffer(before[1], dtype=np.uint8))[: stop - start]) \
                if before is not None and before[0] == universe else None
            cached = search.layout_entry(self.root, universe).path.is_file()  # else the worker asks (search-miss)
            rows = None if cached else self._universe_rows(members, start, stop)
            tasks.append(("search", name, (universe, published, previous, rows, stop - start)))
        return tasks

    def _universe_rows(self, members: list[PublishedRecord], start: int, stop: int) -> list[tuple]:
        """The universe of the segment of seqs [``start``, ``stop``) with published ``members``:
        (seq - start, kind, id, brief) per public row."""
        unpublished = self.state.unpublished
        lo = bisect.bisect_left(unpublished, start, key=operator.itemgetter(0))
        hi = bisect.bisect_left(unpublished, stop, key=operator.itemgetter(0))
        return [(r.seq - start, r.kind, r.id, r.brief) for r in members] + \
            [(seq - start, kind, rid, brief) for seq, kind, rid, brief in unpublished[lo:hi]]

    def _finish_search(self, out: Path) -> None:
        """Segments whose layout a worker found gone are written here; each written segment's
        files go in the manifest; layouts no build has used for a day are deleted."""
        for index, result in enumerate(self._results):
            if isinstance(result, tuple) and result[0] == "search-miss":
                name = result[1]
                universe, published, previous, _rows, size = self._tasks_list[index][2]
                members = next(m for n, m in self._search_segments if n == name)
                _universe, start, stop = self._search_universes[name]
                rows = self._universe_rows(members, start, stop)
                self._results[index] = self.render_task(("search", name, (universe, published, previous, rows, size)))
        for result in self._results:
            if isinstance(result, tuple) and result[0] == "search":
                name = result[1]
                self.manifest.units[f"search/{name}"] = (self.manifest.units[f"search/{name}"][0],
                                                         tuple(f"search/{name}/{rel}" for rel in result[2]))
        used = [search.layout_entry(self.root, universe).path for universe, *_span in self._search_universes.values()]
        cache.prune(self.root / search.CACHE_DIR, used)

    def _archive_tasks(self) -> list[tuple[str, str, list]]:
        """Archive pages whose key changed."""
        tasks: list[tuple[str, str, list]] = []
        size = RENDER_CHUNK
        old = self.old.entities if self.old else {}
        changed = []
        keys = self.manifest.entities  # those of unchanged archives already there (generate_context)
        for eid in self._entity_todo:
            entity = self.entities[eid]
            head = (entity.name, entity.code, entity.category, [(k, len(entity.records[k])) for k in KINDS if k in entity.records])
            keys[eid] = key = digest_keys(head, (r.key for k in KINDS for r in entity.records.get(k, ())))
            if old.get(eid) != key:
                changed.append(entity)
        tasks += [("entity", "", changed[i : i + size]) for i in range(0, len(changed), size)]
        return tasks

    def _download_tasks(self) -> list[tuple[str, str, list]]:
        """Each kind's downloads, unless its records and their keys are the same as last time."""
        tasks: list[tuple[str, str, list]] = []
        self._kept_downloads: dict[str, tuple[list, RowIndex | None]] = {}
        kept = self.old.data.get("downloads", {}) if self.old else {}
        rows = self.old.data.get("download_rows", {}) if self.old else {}
        for kind_name, records in self.state.published.items():
            files = (f"downloads/{kind_name}.csv", f"downloads/{kind_name}.json")
            unit = f"downloads/{kind_name}"
            if kind_name in self._unchanged_kinds and unit in self.old.units:
                key = self.old.units[unit][0]  # the same records with the same keys: the same files
            else:
                key = digest_keys(kind_name, map(RECORD_KEY, records))
            if self._keep(unit, key, files) and kind_name in kept:
                self._kept_downloads[kind_name] = (kept[kind_name], rows.get(kind_name))
            else:  # with the live files' row index: unchanged records' rows are copied, not formatted
                # A row's index key is its record's page key (KEY_SIZE bytes): the archive id is not in the row.
                tasks.append(("downloads", kind_name, ([(r.id, r.ends, r.basis, r._path, r._offset, r.key[:KEY_SIZE]) for r in records],
                                                       rows.get(kind_name))))
        return tasks

    def _submit(self, tasks: list[tuple[str, str, list]]) -> None:
        """Queue tasks for the workers; without workers they wait for :meth:`_start_pages`."""
        if self._pool is not None and self.state.total < self.cfg.BUILD_PARALLEL_MIN_RECORDS:
            self._close_pool()  # fewer published records than the batches suggested
        setup = {k: v for k, v in self.page_context.items() if k not in ("KINDS", "SITE")}
        for task in tasks:
            self._tasks_list.append(task)
            if self._pool is not None:
                self._futures.append(self._pool.submit(_render_in_worker, (*task, setup)))

    def render_task(self, task: tuple[str, str, list]) -> Any:
        """Render one slice of record or archive pages, one kind's downloads or one search segment,
        or parse a chunk of a batch file (in a worker, or in-process).

        Each slice gets its own Pelican ``Writer``: a writer remembers every file it wrote (to warn
        about overwrites), which at 10^6 pages grows by hundreds of MB per worker. Slices never
        share a file, so a fresh writer per slice loses no check.
        """
        what, kind_name, items = task[:3]
        if what == "parse":  # a chunk of a batch file, for the publication state and its cache (packed here, as data)
            rows = parse_rows(self.cfg, *items)
            try:
                return pack_rows(rows)
            except (TypeError, ValueError, OverflowError):
                return rows  # not plain data (see pack_rows): sent as it is over the pipe, and not cached
        if len(task) > 3 and task[3] is not None:  # in a worker forked before the context existed
            self.page_context = {**task[3], "KINDS": KINDS, "SITE": self.cfg}
        if what == "downloads":
            rows, index = items
            records = DownloadRecords(kind_name, rows)
            live = self.settings.get("DISCLOSE_PREVIOUS_OUTPUT")
            catalog, index, copied = write_downloads(Path(self.output_path), KINDS[kind_name], records, self.base,
                                                      (Path(live), index) if live and index is not None else None)
            log.debug("downloads/%s: %d of %d records' rows copied from the live files", kind_name, copied, len(records))
            return ("downloads", (kind_name, (catalog, index)))
        if what == "search":  # kind_name is the segment's name here
            universe, published, previous, rows, size = items
            found = search.layout_entry(self.root, universe)
            layout = search.load_layout(found) if rows is None else None
            if layout is None:
                if rows is None:
                    return ("search-miss", kind_name)  # the cache is gone or not authentic: the parent sends the rows
                layout = search.segment_layout(rows, size, self.cfg)
                search.save_layout(found, layout)
            return ("search", kind_name, write_segment(Path(self.output_path) / "search" / kind_name, layout, published, previous, self.cfg))
        self.writer = writer = DisclosureWriter(self.output_path, settings=self.settings)
        if what == "record":
            kind, long_term, stencils = KINDS[kind_name], self.cfg.LONG_TERM_DATE, self._stencils("record")
            contexts: dict[Any, Callable] = {}
            for record in items:
                name, found = record_url(kind_name, record.id), record_entity(kind, record)
                values = record_page_values(kind, record, long_term, entity_url(found[0]) if found else "")
                shape = (kind_name, self._root(name))
                context_of = contexts.get(shape) or contexts.setdefault(shape, self._record_context(shape[1], kind))
                writer.write_html(name, stencils.page(shape, values, context_of))
        else:
            make_card, stencils = self._card_maker(), self._stencils("entity")
            contexts = {}
            for entity in items:
                name = entity.url
                shape = (tuple(k for k in KINDS if k in entity.records), self._root(name))
                values = [entity.name, entity.is_government, entity.code, entity.total]
                for k in shape[0]:
                    values += (len(entity.records[k]), self._cards_html("".join(map(make_card, entity.records[k])), name))
                context_of = contexts.get(shape) or contexts.setdefault(shape, self._entity_context(shape[1], shape[0]))
                writer.write_html(name, stencils.page(shape, values, context_of))
        return len(items)

    def _stencils_on(self) -> bool:
        """Stencils escape every value, as autoescape does: off for a theme environment that
        does not autoescape everything (``JINJA_ENVIRONMENT``)."""
        return self.cfg.RENDER_STENCILS and self.env.autoescape is True

    def _stencils(self, template: str) -> Stencils:
        """This process's stencils of a page template (:mod:`generator.stencils`)."""
        found = self._stencil_cache.get(template)
        if found is None:
            render = self.get_template(template).render
            found = self._stencil_cache[template] = Stencils(render, enabled=self._stencils_on())
        return found

    def _page_base(self, root: str) -> dict[str, Any]:
        """What a stencilled page's context holds besides its values: the same for every page at
        relative root ``root``."""
        return {**self.page_context, "SITEURL": root, "localsiteurl": root, "CHROME": self._chrome_at(root)}

    def _record_context(self, root: str, kind: Any) -> Callable[[tuple], dict[str, Any]]:
        """``values → context`` of a record page at relative root ``root`` (for its stencil: the
        context holds nothing but what the shape fixes and what the values give)."""
        base = {**self._page_base(root), "kind": kind}
        return lambda values: {**base, "page": record_page(values)}

    def _entity_context(self, root: str, kinds: tuple[str, ...]) -> Callable[[list], dict[str, Any]]:
        """``values → context`` of an archive page with sections ``kinds``: (name,
        is_government, code, total), then each section's count and entries."""
        base, head = self._page_base(root), ENTITY_PAGE_HEAD
        return lambda values: {**base, "entity": EntityPage(*values[:head]),
                               "sections": [(KINDS[k], *values[head + 2 * i : head + 2 * i + 2]) for i, k in enumerate(kinds)]}

    def _fork_workers(self, store: BatchStore) -> None:
        """Fork the page workers now, before the publication state exists: they inherit a small
        heap, so nothing of the parent's million records is copied on write into them. Their
        work and its data arrive pickled with each task (see :meth:`_tasks`)."""
        self._pool = None
        self._workers = 0
        workers = self.cfg.BUILD_WORKERS or os.cpu_count() or 1
        approved, _ = store.approved_in_order()
        rows = sum(int(b.manifest.get("counts", {}).get("accepted", 0) or 0) for b, _ in approved)  # an upper bound
        if workers <= 1 or rows < self.cfg.BUILD_PARALLEL_MIN_RECORDS or "fork" not in multiprocessing.get_all_start_methods():
            return
        self._workers = workers
        # Each worker gets this generator through the fork (initargs are not pickled with it).
        self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"),
                                         initializer=_bind_worker, initargs=(self,))
        self._pool.submit(int).result()  # a fork pool starts all its processes on the first task

    def _yield_workers(self) -> None:
        """In an incremental build the main process's stages are the longest path and the workers'
        few pages can wait: lower their priority by ``BUILD_WORKER_NICE``, once the manifest says
        the build is incremental. A full build (no manifest, ``--full``, or a changed theme, code
        or setting) keeps equal priority: its longest path is the workers' pages (at 10^5, full
        builds took 79-92 s with niced workers and 69-89 s without: no gain to show)."""
        nice = max(0, min(19, self.cfg.BUILD_WORKER_NICE))
        if self._pool is None or self.old is None or not nice:
            return
        # The executor keeps its processes in a private mapping; without it the workers just keep
        # their priority (the build's bytes do not depend on it).
        for process in list(getattr(self._pool, "_processes", {}).values()):
            with contextlib.suppress(OSError):
                os.setpriority(os.PRIO_PROCESS, process.pid, min(19, os.getpriority(os.PRIO_PROCESS, 0) + nice))

    def _start_pages(self) -> None:
        """Start rendering record and archive pages in the workers (or here, for a small site).

        Every page depends only on its own data, so the bytes are the same as a single-process
        build; the sitemap is assembled here from the same sorted lists, not from the workers.
        """
        self._submit(self._archive_tasks())
        tasks = self._tasks_list
        self._progress = StageProgress("记录页与信用档案", sum(_pages(t) for t in tasks), "页")
        if self._pool is None:
            self._results = []
            for task in tasks:
                self._results.append(self.render_task(task))
                self._progress.advance(_pages(task))
            self._progress.close()
            return
        for future, task in zip(self._futures, tasks):
            future.add_done_callback(lambda f, n=_pages(task): None if f.cancelled() else self._progress.advance(n))
        self._results = []

    def _close_pool(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
        self._pool = None

    def abort(self) -> None:
        """Stop the page workers and the side process of a failed build (before its temporary
        folder is removed): :func:`generator.build.build` calls it through its result."""
        side, self._side = getattr(self, "_side", None), None
        if side is not None:
            side.kill()
        self._close_pool()

    def _wait_for_pages(self) -> None:
        if self._pool is None:
            return
        try:
            # Work stealing with the standard API: a task no worker has started yet can be
            # cancelled; this process then runs it, from the back of the queue, instead of idling.
            results: dict[int, Any] = {}
            for index in range(len(self._futures) - 1, -1, -1):
                if self._futures[index].cancel():
                    results[index] = self.render_task(self._tasks_list[index])
                    self._progress.advance(_pages(self._tasks_list[index]))
            # result() re-raises a worker's error: the build fails, the old site stays.
            self._results = [results[i] if i in results else future.result() for i, future in enumerate(self._futures)]
        finally:
            self._progress.close()
            self._close_pool()

    def _write_stats(self, out: Path) -> None:
        """统计与监测: three pages, each chart a static SVG beside its data table and CSV."""
        from .charts import hbar_svg, line_svg, vbar_svg
        from .stats import all_pages

        pages = all_pages(self.state, self.entities, self.cfg, self.root / STATS_CACHE_DIR, self.manifest.fingerprint)
        charts = out / "stats" / "charts"
        charts.mkdir(parents=True, exist_ok=True)
        for page in pages:
            for section in page.sections:
                write_table_csv(out / "stats" / f"{section.name}.csv", section.table.columns, section.table.rows)
                if section.chart == "hbar":
                    svg = hbar_svg(section.labels, section.values, percent=section.percent, alert=section.alert, threshold=section.threshold)
                elif section.chart == "vbar":
                    svg = vbar_svg(section.labels, section.values, percent=section.percent)
                else:
                    svg = line_svg(section.labels, section.values, threshold=section.threshold)
                (charts / f"{section.name}.svg").write_bytes(svg)
        nav = [(p.slug, p.title) for p in pages]
        for page in pages:
            self._write(f"stats/{page.slug}.html", "stats.html", page=page, stats_nav=nav, DATA_DATE=self.context["TODAY"],
                        in_sitemap=False)  # listed by STATS_PAGES in generate_output

    def _write_feeds(self, out: Path) -> None:
        size = self.cfg.FEED_SIZE

        def newest(records: list) -> list:
            return heapq.nlargest(size, records, key=lambda r: (r.approved_at, r.date, r.id))  # = sorted(…)[:N]

        def entries(ordered: list) -> list[dict[str, Any]]:
            result = []
            for r in ordered:
                s = summary(KINDS[r.kind], r)
                result.append({"url": f"{self.base}/{s['url']}", "title": f"{s['kind_label']}：{s['subject']} {s['docno']}",
                               "summary": f"{s['authority']} {s['date_text']} {s['extra']}".strip(), "published": r.approved_at})
            return result

        # The newest of all are among each kind's newest (ids are unique: a total order), so every
        # record is keyed once, not twice; and a kind's newest are in its newest batches.
        per_kind = {kind_name: newest(records) for kind_name, records in _newest_batches(self.state, size).items()}
        everything = newest([r for records in per_kind.values() for r in records])
        write_feed(out / "feeds/all.atom.xml", f"{self.cfg.SITENAME}：最新公示", f"{self.base}/feeds/all.atom.xml", self.base, entries(everything))
        for kind_name, kind in KINDS.items():
            write_feed(out / f"feeds/{kind_name}.atom.xml", f"{self.cfg.SITENAME}：{kind.label}", f"{self.base}/feeds/{kind_name}.atom.xml",
                       self.base, entries(per_kind[kind_name]))


RENDER_CHUNK = 1_000  # pages per worker task
RECORD_KEY = operator.attrgetter("key")
SEQ = operator.attrgetter("seq")
ROOT_MARK = "\x00root\x00"  # cleaned out of every export cell at ingest (control characters)
HREF_MARK = f'href="{ROOT_MARK}'
PAGE_CONTEXT_KEYS = ("SITENAME", "SITEURL", "SITE", "KINDS", "NAV_KINDS", "GUIDE_LINKS", "KIND_COUNTS", "TOTAL_RECORDS",
                     "TODAY", "localsiteurl")


@contextlib.contextmanager
def long_lived() -> Any:
    """Build objects that live until the build ends (the state, the archives) without the cyclic
    garbage collector, then freeze them out of its scans. Its full collections would otherwise
    walk millions of them again and again: 35–50 % of the state's and the archives' time at 10^5
    records, more at 10^6. Nothing built here forms reference cycles."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
        gc.freeze()




def _pages(task: tuple[str, str, list]) -> int:
    return 0 if task[0] in ("downloads", "search") else len(task[2])


def _task_cost(task: tuple[str, str, Any]) -> int:
    """A download or search task's rows, weighted by their measured CPU per row at 10^5 records
    (~120 µs a download row, ~170 µs a search row): the order the workers take them in."""
    if task[0] == "downloads":
        return 12 * len(task[2][0])
    return 17 * task[2][4]  # a search segment: its universe's size


class _Worker:
    """What a page worker process renders for: bound once, when the pool forks it."""

    generator: "DisclosureGenerator | None" = None


def _bind_worker(generator: "DisclosureGenerator") -> None:
    _Worker.generator = generator


def _render_in_worker(task: tuple[str, str, list]) -> Any:
    assert _Worker.generator is not None
    return _Worker.generator.render_task(task)


def _newest_days(records: list[PublishedRecord], count: int) -> list[PublishedRecord]:
    """The shortest prefix of one kind's records (newest first, the state's order) that holds
    every record decided on or after the day of its ``count``-th: all of its ``count`` newest by
    (date, id), whatever the order within a day."""
    if len(records) <= count or count <= 0:
        return records if count > 0 else []
    day, end = records[count - 1].date, count
    while end < len(records) and records[end].date == day:
        end += 1
    return records[:end]


def _newest_batches(state: State, count: int) -> dict[str, list[PublishedRecord]]:
    """Per kind, the published records of its latest approved batches: every one approved at or
    after the approval time of the batch that brings its count to ``count``. A record's batch gives
    its approval time, so its ``count`` newest by (approval time, date, id), the feeds' order, are
    among them, found without a key for each of a million records."""
    found: dict[str, list[PublishedRecord]] = {kind_name: [] for kind_name in KINDS}
    cutoff: dict[str, str] = {}
    for _batch_id, kind_name, records in reversed(state.by_source()):
        if not records or (kind_name in cutoff and records[0].approved_at < cutoff[kind_name]):
            continue
        found[kind_name].extend(records)
        if kind_name not in cutoff and len(found[kind_name]) >= count:
            cutoff[kind_name] = records[0].approved_at
    return found


def _page_window(page: int, pages: int, width: int = 2) -> list[int]:
    """Page numbers to link: first, last and ``width`` around the current page."""
    return sorted({1, pages, *range(max(1, page - width), min(pages, page + width) + 1)})


def get_generators(pelican: Any) -> type:
    return DisclosureGenerator


def get_writer(pelican: Any) -> type:
    return DisclosureWriter


def add_filters(pelican: Any) -> None:
    """Our Jinja filters for every generator (Pelican's pages use the same base template)."""
    filters = dict(pelican.settings.get("JINJA_FILTERS") or {})
    long_term = Config.from_mapping(pelican.settings).LONG_TERM_DATE
    filters.update({"cn_date": lambda value: format_date(value, long_term), "amount": format_amount})
    pelican.settings["JINJA_FILTERS"] = filters


def harden_page(content: Any) -> None:
    """A guide page (``content/pages/*.md``) is a file in the repository that no editor signs: it
    keeps the path and template every page has, and its HTML passes the same nh3 allow-list as a
    record's Markdown fields (no script, no raw HTML, no links but http/https/mailto)."""
    for attribute in ("override_save_as", "override_url"):
        if hasattr(content, attribute):
            delattr(content, attribute)
    content.template = "page"
    content._content = clean_html(content._content or "", PAGE_TAGS, PAGE_ATTRIBUTES)


def register() -> None:
    signals.content_object_init.connect(harden_page)
    signals.initialized.connect(add_filters)
    signals.get_generators.connect(get_generators)
    signals.get_writer.connect(get_writer)

"""Pelican plugin: a custom Generator that writes the disclosure site from the batches.

Registered through ``signals.get_generators``. Records are not Articles or Pages (the stock
machinery loops over all of them on every page); each record page is written once with
``writer.write_file``. ``pelican content -s pelicanconf.py`` and ``disclose build`` run the same
code; the setting ``DISCLOSE_TODAY`` is the clock (default: today in Asia/Shanghai).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pelican import signals
from pelican.generators import Generator

from . import clock, families
from .batches import BatchStore
from .buildreport import PreparedReport
from .families import Output
from .forked import Forked
from .markup import PAGE_ATTRIBUTES, PAGE_TAGS, clean_html, format_amount, format_date
from .parallel import Workers, fork_side, long_lived
from .plan import BuildPlan, templates_read
from .progress import timing
from .proof import PagesProved
from .publication import Chunk, State, compute_state, parse_rows
from .render import PAGE_CONTEXT_KEYS, Renderer, site_nav
from .schema import KINDS
from .settings import Config
from .tasks import ArchivePages, ParseChunk, RecordPages, SegmentMissing, TaskRunner
from .writers import DisclosureWriter

log = logging.getLogger(__name__)


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
    return clock.today(settings.get("TIMEZONE") or "Asia/Shanghai")


class DisclosureGenerator(Generator):
    """Writes the site from the batches: the plan (what changed), the workers (the bulk of the
    pages) and the page families this process writes meanwhile. ``generate_output`` reads as the
    table of contents of a build."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.cfg = Config.from_mapping(self.settings)
        self.root = site_root(self.settings)
        self.base = (self.settings.get("SITEURL") or self.cfg.SITEURL_FALLBACK).rstrip("/")
        self._side: Forked | None = None

    def generate_context(self) -> None:
        from .build import BuildResult

        # What this build makes, for the caller (disclose build, verify's shadow build); a plain
        # ``pelican`` run gets one of its own that nobody reads.
        self.result: BuildResult = self.settings.get("DISCLOSE_RESULT") or BuildResult()
        self.result.abort = self.abort
        store = BatchStore(self.root, self.cfg)
        # Forked before the state exists: the workers inherit a small heap.
        self.workers = self._start_workers(store)
        today = build_today(self.settings)
        # Tampered batches raise here, before anything is written.
        self.state = self._compute_state(store, today)
        self._fill_context(today)
        self.plan = self._load_plan()
        if self.plan.incremental:
            # The main process's stages are the longest path: the workers yield.
            self.workers.lower_priority(max(0, min(19, self.cfg.BUILD_WORKER_NICE)))
        self.out = Output(
            self.cfg,
            self.root,
            Path(self.output_path),
            self.base,
            self.settings.get("SITEURL", ""),
            self.context["TODAY"],
            self.state,
            self.plan,
            self.renderer,
            self.context.get("pages", []),
        )
        self._side = self._start_side()
        # A key and an archive id per record, and the archives: they live until the end.
        with long_lived():
            self._queue_work()
            self.plan.group_entities()
        self.out.entities = self.plan.entities

    def generate_output(self, writer: Any) -> None:
        timing("output: start")
        out = self.out
        out.writer = writer
        self._submit(self.plan.archive_tasks())
        # Record pages and archives render in the workers meanwhile.
        self.workers.start("记录页与信用档案")
        timing("workers started")
        try:
            families.generate_home(out)
            authorities = families.generate_lists(out)
            timing("lists written")
            families.generate_directory(out)
            families.generate_guides(out)
            families.stats_in_sitemap(out)
            families.generate_search_top(out, authorities)
            timing("search manifest written")
            # Needs no worker's result: made while the workers finish
            families.generate_sitemap(out)
            timing("sitemap written")
            self.result.report = self._state_families_and_report()
        except BaseException:
            self.abort()
            raise
        results = self._search_misses(self.workers.wait())
        self.result.proved = [r for r in results if isinstance(r, PagesProved)]
        timing("record and archive pages, downloads, search segments written")
        families.finish_search(out, results)
        families.generate_downloads_page(out, results)

    # -- the steps ---------------------------------------------------------------------------------

    def _start_workers(self, store: BatchStore) -> Workers:
        stencils = self.cfg.RENDER_STENCILS and self.env.autoescape is True
        self.renderer = Renderer(self.get_template, {}, stencils=stencils)
        runner = TaskRunner(
            self.cfg,
            self.root,
            Path(self.output_path),
            self.settings,
            self.renderer,
            self.settings.get("DISCLOSE_PREVIOUS_OUTPUT"),
            self.base,
        )
        return Workers(runner, self._worker_count(store))

    def _load_plan(self) -> BuildPlan:
        plan = BuildPlan.load(
            self.root,
            self.cfg,
            self.state,
            templates_read(self.cfg, self.settings, self.base),
            [self.context["NAV"], self.context["GUIDE_LINKS"]],
            self.settings.get("DISCLOSE_PREVIOUS_OUTPUT"),
            bool(self.settings.get("DISCLOSE_FULL")),
        )
        self.result.old_manifest, self.result.manifest = plan.old, plan.manifest
        return plan

    def _worker_count(self, store: BatchStore) -> int:
        """``BUILD_WORKERS`` (default: every core), or none for a site smaller than
        ``BUILD_PARALLEL_MIN_RECORDS`` (its batches' accepted rows: an upper bound)."""
        workers = self.cfg.BUILD_WORKERS or os.cpu_count() or 1
        approved, _ = store.approved_in_order()
        rows = sum(int(b.manifest.get("counts", {}).get("accepted", 0) or 0) for b, _ in approved)
        return workers if workers > 1 and rows >= self.cfg.BUILD_PARALLEL_MIN_RECORDS else 0

    def _compute_state(self, store: BatchStore, today: dt.date) -> State:
        """The publication state; the workers parse an uncached batch's chunks meanwhile."""

        def start_chunks(chunks: list[Chunk]) -> Callable[[], list[Sequence[tuple] | bytes]]:
            return self.workers.run_now(
                [ParseChunk(chunk) for chunk in chunks],
                lambda task: parse_rows(self.cfg, *task.chunk),
            )

        try:
            with long_lived():
                state = compute_state(
                    store,
                    self.cfg,
                    today,
                    start_chunks=start_chunks if self.workers.parallel else None,
                )
        except BaseException:
            self.workers.close()
            raise
        self.result.state = state
        timing(f"publication state: {state.total} records")
        return state

    def _fill_context(self, today: dt.date) -> None:
        pages = sorted(self.context.get("pages", []), key=lambda p: p.slug)
        self.context.update(
            {
                # Precomputed once: every page's header and footer use them (Pelican's Page.url is costly).
                "NAV": site_nav(KINDS, {p.slug: p.url for p in pages}),
                "GUIDE_LINKS": [(p.title, p.url) for p in pages],
                "KINDS": KINDS,
                "KIND_COUNTS": {k: len(v) for k, v in self.state.published.items()},
                "TOTAL_RECORDS": self.state.total,
                "TODAY": today.isoformat(),
                "SITE": self.cfg,
            }
        )
        self.renderer.page_context = {key: self.context.get(key) for key in PAGE_CONTEXT_KEYS}

    def _queue_work(self) -> None:
        """The workers' queue: a first slice of record pages per worker (they start at once), then
        the downloads and search segments, longest first (a kind's downloads or a segment cannot be
        split: queued after the record pages they would be a clean build's tail, one core idle),
        then the other record pages. Archives are queued once grouped (:meth:`generate_output`)."""
        if self.workers.parallel and self.state.total < self.cfg.BUILD_PARALLEL_MIN_RECORDS:
            self.workers.close()  # fewer published records than the batches suggested
        records = self.plan.record_tasks()
        first = max(self.workers.count, 0)
        self._submit(records[:first])
        self._submit(
            sorted(
                self.plan.download_tasks() + self.plan.search_tasks(),
                key=lambda task: task.cost,
                reverse=True,
            )
        )
        self._submit(records[first:])

    def _submit(self, tasks: list[Any]) -> None:
        live = self.settings.get("DISCLOSE_PROVE_AGAINST")
        if live and not self.plan.incremental:  # verify's shadow, built anew: prove, do not copy
            tasks = [
                dataclasses.replace(t, prove_against=live)
                if isinstance(t, RecordPages | ArchivePages)
                else t
                for t in tasks
            ]
        setup = {k: v for k, v in self.renderer.page_context.items() if k not in ("KINDS", "SITE")}
        self.workers.submit(tasks, setup)

    def _search_misses(self, results: list[Any]) -> list[Any]:
        """Write here the segments whose cached layout a worker found gone, from their rows."""
        for index, result in enumerate(results):
            if isinstance(result, SegmentMissing):
                task = self.workers.tasks[index]
                results[index] = self.workers.runner.run(
                    dataclasses.replace(task, rows=self.plan.universe_rows(task.name))
                )
        return results

    def _state_families_and_report(self) -> PreparedReport | None:
        """The families that need only the state (the statistics, the feeds, the search's homophone
        table), written (by the side process when there is one); the build report, prepared
        (``disclose build`` writes it once the build is live)."""
        wanted = bool(self.settings.get("DISCLOSE_BUILD_REPORT"))
        side = self._side
        if side is None:
            self._state_families(self.out)
            return families.prepare_report(self.out, wanted)
        # The report here, on the core this process would leave idle, while the side process
        # writes the state's families.
        report = families.prepare_report(self.out, wanted, packed=True)
        side.result()
        self._side = None
        timing("side process done")
        return report

    def _start_side(self) -> Forked | None:
        """In an incremental build of a big site the statistics, the feeds and the homophone table
        run in a forked side process, at the workers' priority, from the moment the state and the
        plan exist. It needs nothing else: it groups the government bodies' archives (the
        statistics' third page) itself."""
        if (
            not self.workers.parallel
            or not self.plan.incremental
            or not self.cfg.BUILD_SIDE_PROCESS
        ):
            return None
        return fork_side(self._side_work, self.cfg.BUILD_WORKER_NICE)

    def _side_work(self) -> None:
        out = dataclasses.replace(
            self.out,
            writer=DisclosureWriter(self.output_path, settings=self.settings),
            entities=families.government_entities(self.state),
        )
        self._state_families(out)

    @staticmethod
    def _state_families(out: Output) -> None:
        families.generate_stats(out)
        families.generate_feeds(out)
        families.generate_homophones(out)

    def abort(self) -> None:
        """Stop the page workers and the side process of a failed build (before its temporary
        folder is removed): :func:`generator.build.build` calls it through its result."""
        side, self._side = self._side, None
        if side is not None:
            side.kill()
        if hasattr(self, "workers"):
            self.workers.close()


def get_generators(pelican: Any) -> type:
    return DisclosureGenerator


def get_writer(pelican: Any) -> type:
    return DisclosureWriter


def add_filters(pelican: Any) -> None:
    """Our Jinja filters for every generator (Pelican's pages use the same base template)."""
    filters = dict(pelican.settings.get("JINJA_FILTERS") or {})
    long_term = Config.from_mapping(pelican.settings).LONG_TERM_DATE
    filters.update(
        {"cn_date": lambda value: format_date(value, long_term), "amount": format_amount}
    )
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

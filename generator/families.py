"""The page families the main process writes, one short ``generate_*`` each, while the workers
write the record pages, archives, downloads and search segments (:mod:`generator.tasks`).

Every function takes the :class:`Output` of the build: the renderer and the writer, the plan
(what is kept, what is written), the state, and the sitemap's list of pages it fills in.
"""

from __future__ import annotations

import functools
import heapq
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import cache, directory
from .buildreport import PreparedReport
from .incremental import digest_keys
from .outputs import (
    sitemap_part_files,
    write_feed,
    write_log_head,
    write_robots,
    write_sitemap,
    write_sitemap_index,
    write_sitemap_part,
    write_table_csv,
)
from .plan import RECORD_KEY, BuildPlan
from .progress import timing
from .publication import PublishedRecord, State, published_years
from .render import Renderer
from .schema import KINDS
from .search import CACHE_DIR as SEARCH_CACHE_DIR
from .search import write_homophones, write_search_top
from .settings import Config
from .sitemodel import (
    GOVERNMENT_CATEGORIES,
    Entity,
    authority_id,
    build_entities,
    entity_url,
    group_url,
    groups,
    kind_url,
    paginate,
    record_entity,
    record_url,
    summary,
)
from .stats import STATS_CACHE_DIR, STATS_PAGES
from .tasks import DownloadsWritten, SegmentWritten

GROUPS = {"authority": "authorities", "month": "months"}


@dataclass
class Output:
    """What the page families write with. ``entities``: the archives grouped for this build (all of
    them on a clean build); ``sitemap``: the pages written so far, (path, lastmod)."""

    cfg: Config
    root: Path
    path: Path
    base: str  # the site's absolute URL, without the trailing slash
    site_url: str  # SITEURL as set (the root of the pages that are not relative: 404.html)
    today: str
    state: State
    plan: BuildPlan
    renderer: Renderer
    guide_pages: list[Any]  # Pelican's pages (content/pages/*.md)
    writer: Any = None
    entities: dict[str, Entity] = field(default_factory=dict)
    sitemap: list[tuple[str, str | None]] = field(default_factory=list)

    def page(
        self,
        name: str,
        template: str,
        lastmod: str | None = None,
        relative: bool = True,
        in_sitemap: bool = True,
        **kwargs: Any,
    ) -> None:
        self.renderer.write(
            self.writer, name, template, relative=relative, site_url=self.site_url, **kwargs
        )
        if in_sitemap and name.endswith(".html") and name != "404.html":
            self.sitemap.append((name, lastmod))


# -- home, search page, 404 ----------------------------------------------------------------------


def generate_home(out: Output) -> None:
    # = sorted(every record, reverse=True)[:N], from the part of each kind that can hold them.
    candidates = [
        r
        for records in out.state.published.values()
        for r in newest_days(records, out.cfg.HOME_NEWEST)
    ]
    newest = heapq.nlargest(out.cfg.HOME_NEWEST, candidates, key=lambda r: (r.date, r.id))
    out.page(
        "index.html",
        "index.html",
        newest=[summary(KINDS[r.kind], r) for r in newest],
        DATA_DATE=out.today,
    )
    out.page("search/index.html", "search.html", DATA_DATE=out.today)
    out.page("404.html", "404.html", relative=False)  # served at any depth: root-absolute links


def newest_days(records: list[PublishedRecord], count: int) -> list[PublishedRecord]:
    """The shortest prefix of one kind's records (newest first, the state's order) that holds
    every record decided on or after the day of its ``count``-th: all of its ``count`` newest by
    (date, id), whatever the order within a day."""
    if len(records) <= count or count <= 0:
        return records if count > 0 else []
    day, end = records[count - 1].date, count
    while end < len(records) and records[end].date == day:
        end += 1
    return records[:end]


# -- lists -------------------------------------------------------------------------------------


def generate_lists(out: Output) -> list[dict[str, Any]]:
    """Every kind's list, its authority and month groups and their lists; the authorities (for
    search). A kind none of whose records came, went or changed since the last build has the same
    lists, page for page: they are kept as they are, without grouping its records again."""
    plan = out.plan
    authorities: list[dict[str, Any]] = []
    make_card = out.renderer.card_maker()
    # Kind → its units, in sitemap order, and its authorities
    lists = plan.manifest.data["lists"] = {}
    old_lists = plan.old.data.get("lists", {}) if plan.old is not None else {}
    for kind_name in KINDS:
        kept = old_lists.get(kind_name)
        if (
            plan.old is not None
            and kind_name in plan.unchanged_kinds
            and kept is not None
            and all(u in plan.old.units for u in kept["units"])
        ):
            for unit in kept["units"]:
                out.sitemap += [(name, None) for name in plan.keep_as_before(unit)]
            authorities += kept["authorities"]
            lists[kind_name] = kept
            continue
        # One kind at a time, as UTF-8 (half the memory of str), made when a page needs it
        cards: dict[str, bytes] = {}

        def card(record: PublishedRecord, cards: dict[str, bytes] = cards) -> bytes:
            found = cards.get(record.id)
            if found is None:
                found = cards[record.id] = make_card(record).encode("utf-8")
            return found

        units, own = _kind_lists(out, kind_name, card)
        authorities += own
        lists[kind_name] = {"units": units, "authorities": own}
    return authorities


def _kind_lists(
    out: Output, kind_name: str, card: Callable[[PublishedRecord], bytes]
) -> tuple[list[str], list[dict[str, Any]]]:
    """One kind's list, its group indexes and the groups' lists: their units, and its authorities."""
    # Why long: one kind's list, its two group indexes and their lists, in sitemap order; the pieces
    # share the grouping.
    kind, records = KINDS[kind_name], out.state.published[kind_name]
    units = [
        write_list(
            out,
            lambda p: kind_url(kind_name, p),
            records,
            card,
            "list.html",
            f"{kind.label}信息",
            out.cfg.LIST_MAX_PAGES,
            kind=kind,
            section="all",
        )
    ]
    own: list[dict[str, Any]] = []
    for by, folder in GROUPS.items():
        grouped = groups(records, kind, by)
        keys = sorted(grouped, reverse=(by == "month"))
        index = [
            {
                "name": key,
                "count": len(grouped[key]),
                "url": group_url(
                    kind_name, folder, authority_id(key) if by == "authority" else key
                ),
            }
            for key in keys
        ]
        name = f"kinds/{kind_name}/{folder}/index.html"
        units.append(name)
        out.sitemap.append((name, None))
        if not out.plan.keep(
            name,
            digest_keys(("groups.html", kind_name, by), [repr(index).encode("utf-8")]),
            (name,),
        ):
            out.page(name, "groups.html", kind=kind, by=by, groups=index, in_sitemap=False)
        if by == "authority":
            own += [
                {"name": g["name"], "kind": kind.label, "count": g["count"], "url": g["url"]}
                for g in index
            ]
        for key in keys:
            slug = authority_id(key) if by == "authority" else key
            label = key if by == "authority" else f"{key[:4]}年{int(key[5:7])}月"
            units.append(
                write_list(
                    out,
                    functools.partial(group_url, kind_name, folder, slug),
                    grouped[key],
                    card,
                    "list.html",
                    f"{kind.label}信息：{label}",
                    out.cfg.LIST_MAX_PAGES if by == "authority" else 0,
                    kind=kind,
                    section=by,
                    group_label=label,
                )
            )
    return units, own


def write_list(
    out: Output,
    base_url: Callable[[int], str],
    records: list,
    card: Callable,
    template: str,
    title: str,
    max_pages: int = 0,
    **extra: Any,
) -> str:
    """A paginated list, newest first, as one keyed unit named by its first page (returned);
    ``max_pages`` > 0 keeps only that many pages (the month lists hold every record; a kind's
    or an authority's list shows the newest)."""
    size = out.cfg.LIST_PAGE_SIZE
    pages = paginate(len(records), size)
    if max_pages:
        pages = min(pages, max_pages)
    shown = min(len(records), pages * size)
    names = tuple(base_url(page) for page in range(1, pages + 1))
    out.sitemap += [(name, None) for name in names]
    # One key for the whole list: its page count and total are on every page, so a record
    # that comes or goes changes all its pages anyway; an unchanged list costs one digest.
    extra_key = sorted((k, getattr(v, "name", v)) for k, v in extra.items())
    key = digest_keys(
        (template, title, len(records), size, extra_key), map(RECORD_KEY, records[:shown])
    )
    if out.plan.keep(names[0], key, names):
        return names[0]
    for page, name in enumerate(names, start=1):
        chunk = records[(page - 1) * size : page * size]
        params: dict[str, Any] = dict(
            title=title,
            page_no=page,
            page_count=pages,
            page_urls={p: names[p - 1] for p in page_window(page, pages)},
            prev_url=names[page - 2] if page > 1 else None,
            next_url=names[page] if page < pages else None,
            first_url=names[0],
            last_url=names[-1],
            total=len(records),
            shown=shown,
        )
        cards = out.renderer.cards_html(b"".join(map(card, chunk)).decode("utf-8"), name)
        out.page(name, template, cards=cards, in_sitemap=False, **params, **extra)
    return names[0]


def page_window(page: int, pages: int, width: int = 2) -> list[int]:
    """Page numbers to link: first, last and ``width`` around the current page."""
    return sorted({1, pages, *range(max(1, page - width), min(pages, page + width) + 1)})


# -- 主体名录, the HTML sitemap and the feeds' page -------------------------------------------------


def generate_directory(out: Output) -> None:
    """主体名录 (:mod:`generator.directory`): a page of letters, each letter's landing page and
    its pages of subjects. A letter none of whose entries came, went or changed keeps its pages as
    the last build made them; in another, a page is written when its key (its entries and its
    neighbours' names) changed."""
    plan, found = out.plan, out.plan.directory
    pages: list[str] = []  # into the sitemap in one order, whether kept or written
    old_units: dict[str, list[str]] = {}
    if plan.old is not None:
        for unit in plan.old.units:
            if unit.startswith("directory/"):
                old_units.setdefault(unit.split("/")[1], []).append(unit)
    letters = []
    for letter in directory.LETTERS:
        entries = found.letters.get(letter)
        if entries is None or not entries.count:
            continue
        letters.append(
            {"letter": letter, "label": directory.letter_label(letter), "count": entries.count}
        )
        kept = old_units.get(letter)
        if not entries.changed and kept:
            for unit in kept:
                pages += plan.keep_as_before(unit)
            continue
        lines = entries.lines if entries.lines is not None else entries.blob.split(directory.RS)
        pages += _write_letter(out, letter, lines)
    out.page("directory/index.html", "directory.html", letters=letters, total=found.total)
    out.sitemap += [(name, None) for name in sorted(pages)]
    timing("directory written")


def _write_letter(out: Output, letter: str, lines: list[str]) -> list[str]:
    """A letter's pages: one at its ``index.html`` when they fit on one, else its landing page
    (the pages by their first and last names) and the pages, each named by its first entry.
    Their names."""
    label = directory.letter_label(letter)
    pages = directory.pages_of(letter, lines)
    landing = directory.letter_url(letter)
    single = len(pages) == 1
    names = [landing] if single else [page.url for page in pages]
    for at, (page, name) in enumerate(zip(pages, names)):
        values = (
            letter,
            label,
            directory.entry_name(page.lines[0]),
            directory.entry_name(page.lines[-1]),
            len(page.lines),
            None,  # the entries, made only when the page is written
            names[at - 1] if at else "",
            names[at + 1] if at + 1 < len(names) else "",
            single,
        )
        key = digest_keys(("directory", values), [directory.RS.join(page.lines).encode()])
        unit = f"directory/{letter}/{'index' if single else page.id}"
        if not out.plan.keep(unit, key, (name,)):
            entries = out.renderer.directory_entries(page.lines, name)
            out.renderer.directory_page(out.writer, name, (*values[:5], entries, *values[6:]))
    if single:
        return names
    ranges = [
        {
            "url": page.url,
            "first": directory.entry_name(page.lines[0]),
            "last": directory.entry_name(page.lines[-1]),
            "count": len(page.lines),
        }
        for page in pages
    ]
    key = digest_keys(("directory-letter", letter, len(lines)), [repr(ranges).encode()])
    if not out.plan.keep(f"directory/{letter}/index", key, (landing,)):
        out.page(
            landing,
            "directory.html",
            letter={"letter": letter, "label": label, "count": len(lines)},
            ranges=ranges,
            in_sitemap=False,
        )
    return [*names, landing]


def generate_guides(out: Output) -> None:
    """The pages that explain how to browse and follow the site: the HTML sitemap (网站地图, which
    links the XML one for machines) and the feeds' page (订阅更新)."""
    out.page("sitemap.html", "sitemap.html")
    out.page("feeds/index.html", "feeds.html")


# -- search --------------------------------------------------------------------------------------


def generate_search_top(out: Output, authorities: list[dict[str, Any]]) -> None:
    """The search's manifest and its lists of authorities and years (the segments: workers)."""
    years = set().union(*map(published_years, out.state.published.values()))
    write_search_top(out.path, out.plan.segments, authorities, out.cfg, years=years)


def generate_homophones(out: Output) -> None:
    """The search's homophone table, from the published subjects' names (needs only the state:
    made beside the statistics and the feeds)."""
    write_homophones(
        out.path,
        (
            record.brief.get(KINDS[kind].subject, "")
            for kind, records in out.state.published.items()
            for record in records
        ),
    )


def finish_search(out: Output, results: list[Any]) -> None:
    """Note each written segment's files in the manifest, and delete the layouts no build has used
    for a day. (Segments whose layout a worker found gone were written again by the caller.)"""
    for result in results:
        if isinstance(result, SegmentWritten):
            out.plan.segment_written(result.name, result.files)
    cache.prune(out.root / SEARCH_CACHE_DIR, out.plan.search_layouts_used())


# -- sitemap, robots.txt, the log head -----------------------------------------------------------


def generate_sitemap(out: Output) -> None:
    """``sitemap.xml``: one file for a small site; past ``SITEMAP_MAX_URLS`` an index over parts
    that keep their bytes from night to night. The pages other than records and archives
    (lists, statistics, guides) are one part, written on every build; the records are cut
    like the search segments (by approval sequence: a new batch is in the last ones) and
    keyed like them; the archives are cut by the first character of their id, and a part is
    written again only when an archive in it came or went. Also robots.txt and the log head."""
    out.sitemap.append(("downloads/index.html", None))  # written once the downloads are
    out.sitemap += [(page.save_as, None) for page in out.guide_pages]
    plan, limit = out.plan, out.cfg.SITEMAP_MAX_URLS
    pages = list(dict.fromkeys(out.sitemap))
    if len(pages) + out.state.total + len(plan.entity_ids) <= limit:
        urls = pages + [url for _name, members in plan.segments for url in _record_urls(members)]
        write_sitemap(
            out.path, out.base, urls + [(entity_url(eid), None) for eid in plan.entity_ids], limit
        )
    else:
        files = list(write_sitemap_part(out.path, out.base, "pages", pages, limit))
        for name, members in plan.segments:
            part = f"records-{name}"
            names = sitemap_part_files(part, len(members), limit)
            if not plan.keep(f"sitemaps/{part}", plan.segment_keys[name], names):
                write_sitemap_part(out.path, out.base, part, _record_urls(members), limit)
            files += names
        files += _entity_sitemaps(out)
        write_sitemap_index(out.path, out.base, files)
    write_robots(out.path, out.base)
    write_log_head(out.path, out.state.log_head)
    out.sitemap = []


def _record_urls(members: list[PublishedRecord]) -> list[tuple[str, str]]:
    return [(record_url(r.kind, r.id), r.approved_at[:10]) for r in members]


def _entity_sitemaps(out: Output) -> list[str]:
    """The archives' sitemap parts, one per first character of their ids; their files."""
    files: list[str]
    plan, limit, files = out.plan, out.cfg.SITEMAP_MAX_URLS, []
    ids = plan.entity_ids
    changed = None if plan.affected is None else {eid[:1] for eid in plan.affected}
    start = 0
    while start < len(ids):
        first = ids[start][:1]
        end = bisect_left(ids, chr(ord(first) + 1), start)
        unit, part = f"sitemaps/entities-{first}", f"entities-{first}"
        old = plan.old.units.get(unit) if plan.old is not None else None
        if old is not None and changed is not None and first not in changed:
            # No archive in it came or went: its ids, so its key and files, are the last build's
            key, names = old
        else:
            names = sitemap_part_files(part, end - start, limit)
            key = digest_keys(part, (eid.encode() for eid in ids[start:end]))
        if not plan.keep(unit, key, names):
            write_sitemap_part(
                out.path, out.base, part, [(entity_url(eid), None) for eid in ids[start:end]], limit
            )
        files += names
        start = end
    return files


# -- statistics and feeds (in the side process of an incremental build) ----------------------------


def generate_stats(out: Output) -> None:
    """统计与监测: three pages, each chart (HTML, in the page) beside its data table and CSV (a
    section with nothing to draw has its table and CSV alone)."""
    from .charts import grades_html, hbar_html, line_html, vbar_html
    from .stats import all_pages

    pages = all_pages(
        out.state, out.entities, out.cfg, out.root / STATS_CACHE_DIR, out.plan.manifest.fingerprint
    )
    (out.path / "stats").mkdir(parents=True, exist_ok=True)
    for page in pages:
        for section in page.sections:
            write_table_csv(
                out.path / "stats" / f"{section.name}.csv",
                section.table.columns,
                section.table.rows,
            )
            if section.chart == "hbar":
                section.html = hbar_html(
                    section.labels,
                    section.values,
                    alt=section.alt,
                    percent=section.percent,
                    alert=section.alert,
                    threshold=section.threshold,
                )
            elif section.chart == "vbar":
                section.html = vbar_html(
                    section.labels, section.values, alt=section.alt, percent=section.percent
                )
            elif section.chart == "line":
                section.html = line_html(
                    section.labels, section.values, alt=section.alt, threshold=section.threshold
                )
            elif section.chart == "grades":
                section.html = grades_html(
                    section.labels,
                    section.columns,
                    section.values,
                    alt=section.alt,
                    alert=section.alert,
                )
    nav = [(p.slug, p.title) for p in pages]
    # In the sitemap by STATS_PAGES (stats_in_sitemap), whichever process writes them
    for page in pages:
        out.page(
            f"stats/{page.slug}.html",
            "stats.html",
            page=page,
            stats_nav=nav,
            DATA_DATE=out.today,
            in_sitemap=False,
        )
    timing("statistics written")


def stats_in_sitemap(out: Output) -> None:
    out.sitemap += [(f"stats/{slug}.html", None) for slug in STATS_PAGES]


def government_entities(state: State) -> dict[str, Entity]:
    """The government bodies' archives, grouped from the state alone (the statistics' third page,
    in a side process that has not grouped the archives): every entity one of whose records could
    make it a government body (:attr:`~generator.sitemodel.Entity.is_government` reads its credit
    code and its first record's category), grouped in full, then kept if it is one."""
    candidates: set[str] = set()
    for kind_name, kind in KINDS.items():
        field_name = kind.subject_category or ""
        records = state.published[kind_name]
        # One comprehension a kind, with the entity computed at replay (10^6 records a build).
        candidates.update(
            e[0]
            for r in records
            if (e := r.entity if r.entity is not None else record_entity(kind, r))
            and (
                e[1][:6] == "code:1"
                or (field_name and str(r.brief.get(field_name, "") or "") in GOVERNMENT_CATEGORIES)
            )
        )
    return {
        eid: entity
        for eid, entity in build_entities(state, candidates).items()
        if entity.is_government
    }


def generate_feeds(out: Output) -> None:
    """Atom feeds of the newest records: of all kinds, and of each."""
    size = out.cfg.FEED_SIZE

    def newest(records: list) -> list:
        # = sorted(…)[:N]
        return heapq.nlargest(size, records, key=lambda r: (r.approved_at, r.date, r.id))

    def entries(ordered: list) -> list[dict[str, Any]]:
        result = []
        for r in ordered:
            s = summary(KINDS[r.kind], r)
            result.append(
                {
                    "url": f"{out.base}/{s['url']}",
                    "title": f"{s['kind_label']}：{s['subject']} {s['docno']}",
                    "summary": f"{s['authority']} {s['date_text']} {s['extra']}".strip(),
                    "published": r.approved_at,
                }
            )
        return result

    # The newest of all are among each kind's newest (ids are unique: a total order), so every
    # record is keyed once, not twice; and a kind's newest are in its newest batches.
    per_kind = {
        kind_name: newest(records) for kind_name, records in newest_batches(out.state, size).items()
    }
    everything = newest([r for records in per_kind.values() for r in records])
    name = out.cfg.SITENAME
    write_feed(
        out.path / "feeds/all.atom.xml",
        f"{name}：最新公示",
        f"{out.base}/feeds/all.atom.xml",
        out.base,
        entries(everything),
    )
    for kind_name, kind in KINDS.items():
        write_feed(
            out.path / f"feeds/{kind_name}.atom.xml",
            f"{name}：{kind.label}",
            f"{out.base}/feeds/{kind_name}.atom.xml",
            out.base,
            entries(per_kind[kind_name]),
        )
    timing("feeds written")


def newest_batches(state: State, count: int) -> dict[str, list[PublishedRecord]]:
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


# -- the downloads' catalog, once the workers wrote the downloads ----------------------------------


def generate_downloads_page(out: Output, results: list[Any]) -> None:
    written = dict(out.plan.kept_downloads)
    written.update(
        (r.kind, (r.catalog, r.index)) for r in results if isinstance(r, DownloadsWritten)
    )
    catalogs = {kind_name: catalog for kind_name, (catalog, _index) in written.items()}
    out.plan.manifest.data["downloads"] = catalogs
    out.plan.manifest.data["download_rows"] = {
        kind_name: index for kind_name, (_catalog, index) in written.items() if index is not None
    }
    catalog = [entry for kind_name in KINDS for entry in catalogs[kind_name]]
    out.page(
        "downloads/index.html",
        "downloads.html",
        files=catalog,
        DATA_DATE=out.today,
        in_sitemap=False,
    )
    timing("downloads page written")


def prepare_report(out: Output, wanted: bool, packed: bool = False) -> PreparedReport | None:
    """The build report, compared with the last build's (None when none is ``wanted``);
    ``packed``: its memory of this build packed now, while this process would wait anyway."""
    if not wanted:
        return None
    from .buildreport import memory, prepare_build_report

    prepared = prepare_build_report(out.root, out.cfg, out.state)
    if packed:
        current = prepared.current
        assert not isinstance(current, bytes)  # prepare_build_report leaves it unpacked
        prepared.current = memory(current)
    timing("build report prepared")
    return prepared

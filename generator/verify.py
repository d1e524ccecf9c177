"""``disclose verify``: an independent check of a built site against the batches.

It reads the output folder as a web server would serve it and compares it with what the
publication rules say must be public on ``today``. It does not reuse the generator's rendering
or its list of written files, so a bug there, a stale file or a planted one is caught:

- record pages and entity archives: exactly the published set (a page left behind for a
  withdrawn, expired, withheld or unapproved record is named with the reason);
- search buckets and downloads: exactly the published record ids; catalog checksums match;
- no full resident ID, mobile or bank card number in any file, as a reader would see it
  (:func:`generator.pii.find_in_file`: tags, character references, escapes, ``.gz``);
- no broken internal link (``href``/``src`` of every HTML page) and no sitemap URL without a page;
- sitemap and feeds are well-formed XML.

Every finding is one line. Reading every file is the cost: it runs in worker processes.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import html
import io
import multiprocessing
import os
import posixpath
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import orjson

from . import cache, pii, proof
from .batches import BatchStore
from .errors import DiscloseError
from .forked import Forked
from .journal import journal_path
from .ledger import HEAD_FILE, read_head
from .progress import timing
from .publication import State, compute_state, why_not_published
from .settings import Config
from .signing import DEMO_FINGERPRINTS, fingerprint
from .sitemodel import entity_ids, entity_url, record_url

MAX_LINES_PER_CHECK = 50  # a systematic fault would otherwise print a million lines
TEXT_SUFFIXES = {".html", ".json", ".csv", ".xml", ".txt", ".js", ".css", ".svg", ".md"}
_SEARCH_DOCS = re.compile(r"search/[^/]+/docs/[^/]+\.json$")  # display buckets of every segment
_HREF = re.compile(rb'href="([^"]*)"')
_SRC = re.compile(rb'src="([^"]*)"')


@dataclass
class Report:
    findings: dict[str, list[str]] = field(default_factory=dict)
    files: int = 0
    records: int = 0

    def add(self, check: str, line: str) -> None:
        self.findings.setdefault(check, []).append(line)

    @property
    def count(self) -> int:
        return sum(len(lines) for lines in self.findings.values())

    @property
    def ok(self) -> bool:
        return not any(self.findings.values())

    def lines(self, limit: int = MAX_LINES_PER_CHECK) -> list[str]:
        out: list[str] = []
        for check in sorted(self.findings):
            items = sorted(self.findings[check])
            out += [f"{check}：{item}" for item in items[:limit]]
            if len(items) > limit:
                out.append(f"{check}：……另有 {len(items) - limit} 处同类问题未列出")
        return out


def verify_site(
    root: Path,
    cfg: Config,
    output: Path,
    today: dt.date,
    workers: int | None = None,
    allow_demo_key: bool = False,
    full: bool = False,
) -> Report:
    """Check ``output`` for ``today``: the publication log and the batches, the content proof against
    a shadow build (:mod:`generator.proof`; ``full``: a cold proof that trusts no earlier verify),
    the publication rules, full ID numbers and links in every file that changed since it was proved."""
    report = Report()
    store = BatchStore(root, cfg)
    publication = _check_log(report, store, output, allow_demo_key)
    timing("verify: publication log checked")
    proved, state = _prove(
        report, root, cfg, output, today, full and not publication.problems, workers
    )
    if state is None:  # no shadow: the state from the batches as they are
        state = compute_state(store, cfg, today, strict=False)
    report.records = state.total
    files = set(proved.live.files) if proved is not None else _list_files(output)
    report.files = len(files)
    for required in ("index.html", "404.html", "robots.txt", "sitemap.xml", "search/manifest.json"):
        if required not in files:
            report.add("缺少文件", required)
    changed = set(proved.todo) if proved is not None and not full else files
    checked = Checked.load(root, output) if proved is not None and not full else Checked()
    stamps = proof.settled(proved) if proved is not None else {}
    timing(f"verify: proof planned, {len(changed)} files to read")
    # The files are compared and scanned in forked children while the rule checks run here
    scan = start_scan(
        output,
        sorted(changed),
        files,
        workers,
        proof.shadow_path(root) if proved is not None else None,
        _sizes(proved.live) if proved is not None else {},
        proved.digests() if proved is not None else {},
    )
    try:
        _check_rules(report, state, output, files, stamps, checked)
    except BaseException:
        scan.kill()
        raise
    equal = scan.finish(report)
    timing("verify: every file compared and scanned")
    if proved is not None:
        proof.save_index(root, output, proof.record(proved, equal))
        checked.save(root, output)
        timing("verify: index saved")
    return report


def _check_rules(
    report: Report,
    state: State,
    output: Path,
    files: set[str],
    stamps: dict[str, str],
    checked: Checked,
) -> None:
    """The publication rules, independently of the generator's rendering: pages, search, downloads,
    sitemaps and feeds."""
    ids = _published_digests(state)
    _check_pages(report, state, files)
    search_docs = sorted(f for f in files if _SEARCH_DOCS.match(f))
    _check_search(report, state, output, files, _key(ids, stamps, search_docs), stamps, checked)
    timing("verify: search checked")
    _check_downloads(report, state, output, files, ids, stamps, checked)
    timing("verify: downloads checked")
    _check_xml(report, output, files, stamps, checked)
    timing("verify: sitemaps and feeds checked")


def _check_log(report: Report, store: BatchStore, output: Path, allow_demo_key: bool) -> Any:
    """An unfinished apply, the publication log and the batches, the trusted keys and the log
    head the site says it published; the publication (:meth:`BatchStore.publication`)."""
    unfinished = journal_path(output)
    if unfinished.exists():  # a build killed (or still running) while it updated the folder
        report.add(
            "构建未完成",
            f"{unfinished.name}：上次构建更新这个目录时中断，文件可能新旧混杂；再运行 disclose build 即可恢复",
        )
    publication = store.publication()
    for problem in publication.problems:
        report.add("发布日志与批次", problem)
    for name, key in sorted(publication.ledger.editors.items()):
        if not allow_demo_key and fingerprint(key) in DEMO_FINGERPRINTS:
            report.add(
                "演示密钥",
                f"本站信任仅供演示的密钥（编辑 {name}）：它的私钥是公开的，正式站点不得信任它",
            )
    head = read_head(output / HEAD_FILE)
    if head != publication.ledger.head:
        report.add(
            "发布日志头",
            f"{HEAD_FILE} 与发布日志不符（网站 {head.as_json() if head else '缺失'}，"
            f"日志 {publication.ledger.head.as_json()}）",
        )
    return publication


# -- rule checks that need not run again --------------------------------------------------------


@dataclass
class Checked:
    """What the rule checks found before, by a digest of everything it came from: the rule checks
    that passed (by the published ids they compared with and the stamps of the live files they read:
    any write changes a file's ctime), and what they read from files that have not changed since
    (a download's SHA-256, a search bucket's record ids). A check whose digest is the one of its
    last pass would pass again and is not run; one that finds anything is not remembered. Kept in
    ``.verify/checks``, authenticated like the index; not used by a cold verify or without the
    proof's stamps."""

    last: dict[str, list] = field(default_factory=dict)  # name → [key, value]
    now: dict[str, list] = field(default_factory=dict)

    @staticmethod
    def _entry(root: Path, output: Path) -> cache.Entry:
        return cache.Entry(
            root / proof.SHADOW_DIR / "checks",
            "verify-checks/1",
            repr((str(output.resolve()), _CODE)).encode("utf-8"),
        )

    @classmethod
    def load(cls, root: Path, output: Path) -> Checked:
        last = cache.get(cls._entry(root, output))
        valid = isinstance(last, dict) and all(
            isinstance(v, list) and len(v) == 2 and isinstance(v[0], str) for v in last.values()
        )
        return cls(last if valid else {})

    def save(self, root: Path, output: Path) -> None:
        cache.put(self._entry(root, output), dict(sorted(self.now.items())))

    def recall(self, name: str, key: str | None) -> Any:
        """What was kept under ``name`` with this ``key`` (kept again), else None."""
        entry = self.last.get(name)
        if key is None or entry is None or entry[0] != key:
            return None
        self.now[name] = entry
        return entry[1]

    def keep(self, name: str, key: str | None, value: Any = True) -> None:
        if key is not None:
            self.now[name] = [key, value]

    def still(self, name: str, key: str | None) -> bool:
        """True when the check ``name`` passed last time with the same ``key``."""
        return self.recall(name, key) is not None

    def done(self, name: str, key: str | None, report: Report, findings_before: int) -> None:
        if report.count == findings_before:
            self.keep(name, key)


_CODE = cache.code_digest("verify")  # this module and its imports (sitemodel, publication, proof …)


def _published_digests(state: State) -> dict[str, str]:
    """Per kind, a digest of the ids of its published records."""
    return {
        kind: hashlib.blake2b(
            "\n".join(r.id for r in records).encode("utf-8"), digest_size=16
        ).hexdigest()
        for kind, records in sorted(state.published.items())
    }


def _key(ids: dict[str, str], stamps: dict[str, str], paths: list[str]) -> str | None:
    """A check's digest over the published ids and the stamps of ``paths``; None when a path has
    no settled stamp (missing, or changed too recently to tell): such a check always runs."""
    h = hashlib.blake2b(repr(sorted(ids.items())).encode("utf-8"), digest_size=16)
    for path in paths:
        stamp = stamps.get(path)
        if stamp is None:
            return None
        h.update(f"{path}\t{stamp}\n".encode())
    return h.hexdigest()


def _prove(
    report: Report,
    root: Path,
    cfg: Config,
    output: Path,
    today: dt.date,
    full: bool,
    workers: int | None,
) -> tuple[proof.Plan | None, State | None]:
    """Bring the shadow up to date and plan what to compare, with the state the shadow was built
    from; (None, None) and a finding when it cannot be built."""
    index = None if full else proof.load_index(root, output)
    walker = proof.walk_beside(output)  # the live folder is walked while the shadow is built
    live = None
    for _attempt in (0, 1):
        started = time.time_ns()
        try:
            state, applied, pages = proof.build_shadow(
                root, cfg, today, full=index is None, live=output
            )
        except DiscloseError as exc:
            walker.kill()
            report.add("核验副本", f"无法从批次生成核验副本：{exc}")
            return None, None
        live = live or walker.result()
        planned = proof.plan(root, live, started, index or {}, applied, pages)
        if not planned.untrusted or index is None:
            break
        index = None  # a shadow file changed behind our back: build the shadow again from scratch
    for path in planned.missing:
        report.add("缺少文件", f"{path}（按已审核的批次应当存在）")
    for path in planned.extra:
        report.add("多余的文件", f"{path}（不是由已审核的批次生成的）")
    for path in planned.live.odd:
        report.add("非普通文件", f"{path}（符号链接或特殊文件不应出现在网站中）")
    return planned, state


# -- inventory -------------------------------------------------------------------------------


def _list_files(output: Path) -> set[str]:
    """Every file under ``output`` as a POSIX path relative to it."""
    found: set[str] = set()
    base = str(output)
    for folder, _dirs, names in os.walk(base):
        rel = os.path.relpath(folder, base)
        prefix = "" if rel == "." else rel.replace(os.sep, "/") + "/"
        found.update(prefix + name for name in names)
    return found


def _check_pages(report: Report, state: State, files: set[str]) -> None:
    expected = {
        record_url(kind, r.id): r.id for kind, records in state.published.items() for r in records
    }
    present = {f for f in files if f.startswith("records/") and f.endswith(".html")}
    for path in sorted(present - expected.keys()):
        rid = posixpath.basename(path).removesuffix(".html")
        report.add("不应公开的记录页", f"{path}（{why_not_published(state, rid)[0]}）")
    for path in sorted(expected.keys() - present):
        report.add("缺少记录页", f"{path}（记录 {expected[path]} 应当公示）")
    archives = {entity_url(eid) for eid in entity_ids(state)}
    present = {f for f in files if f.startswith("entities/") and f.endswith(".html")}
    for path in sorted(present - archives):
        report.add("多余的信用档案", f"{path}（该主体没有现公示的信息）")
    for path in sorted(archives - present):
        report.add("缺少信用档案", path)


def _check_search(
    report: Report,
    state: State,
    output: Path,
    files: set[str],
    key: str | None,
    stamps: dict[str, str],
    checked: Checked,
) -> None:
    if checked.still("search", key):
        return
    before = report.count
    expected = state.published_ids()
    found: set[str] = set()
    for path in sorted(f for f in files if _SEARCH_DOCS.match(f)):
        ids = checked.recall(f"ids/{path}", stamps.get(path))
        if ids is None:
            try:
                rows = orjson.loads((output / path).read_bytes())
                # Null: a row of the segment not published
                ids = [str(row[0]) for row in rows if row is not None]
            except (
                ValueError,
                IndexError,
                TypeError,
                KeyError,
                UnicodeDecodeError,
                RecursionError,
            ) as exc:
                report.add("检索文件损坏", f"{path}：{type(exc).__name__}")
                continue
            checked.keep(f"ids/{path}", stamps.get(path), ids)
        found.update(ids)
    for rid in sorted(found - expected):
        report.add("检索中不应出现的记录", f"{rid}（{why_not_published(state, rid)[0]}）")
    for rid in sorted(expected - found):
        report.add("检索中缺少的记录", rid)
    checked.done("search", key, report, before)


def _check_downloads(
    report: Report,
    state: State,
    output: Path,
    files: set[str],
    ids: dict[str, str],
    stamps: dict[str, str],
    checked: Checked,
) -> None:
    # Why long: per kind: the catalog's checksums, then the ids of both files against the published
    # set, remembered between runs.
    catalog_path = "downloads/index.html"
    if catalog_path not in files:
        report.add("缺少文件", catalog_path)
    catalog: str | None = None
    for kind, records in state.published.items():
        paths = [f"downloads/{kind}.json", f"downloads/{kind}.csv"]
        if catalog is None:
            catalog = (
                (output / catalog_path).read_text(encoding="utf-8", errors="replace")
                if catalog_path in files
                else ""
            )
        # The catalog changes with every download: checked each time, from remembered digests
        for path in paths:
            if path in files and catalog:
                sha = (
                    checked.recall(f"sha256/{path}", stamps.get(path))
                    or hashlib.sha256((output / path).read_bytes()).hexdigest()
                )
                checked.keep(f"sha256/{path}", stamps.get(path), sha)
                if sha not in catalog:
                    report.add("下载文件校验值不符", f"{path}（与下载目录页所列 sha256 不同）")
        key = _key({kind: ids[kind]}, stamps, paths)
        if checked.still(f"downloads/{kind}", key):
            continue
        before = report.count
        expected = {r.id for r in records}
        for path in paths:
            if path not in files:
                report.add("缺少下载文件", path)
                continue
            raw = (output / path).read_bytes()
            try:
                found = _download_ids(raw, path.endswith(".json"))
            except (ValueError, KeyError, TypeError, IndexError, csv.Error, RecursionError) as exc:
                report.add("下载文件损坏", f"{path}：{type(exc).__name__}")
                continue
            if None in found or "" in found:
                report.add(
                    "下载文件损坏", f"{path}：有 {sum(1 for i in found if not i)} 行没有记录编号"
                )
                found = [i for i in found if i]
            if len(found) != len(set(found)):
                report.add("下载文件有重复记录", path)
            for rid in sorted(set(found) - expected):
                report.add(
                    "下载文件中不应出现的记录",
                    f"{path}：{rid}（{why_not_published(state, rid)[0]}）",
                )
            for rid in sorted(expected - set(found)):
                report.add("下载文件中缺少的记录", f"{path}：{rid}")
        checked.done(f"downloads/{kind}", key, report, before)


def _download_ids(raw: bytes, is_json: bool) -> list:
    """The 记录编号 of every row of a download (None for a row without one)."""
    if is_json:
        return [row["记录编号"] for row in orjson.loads(raw)["records"]]
    rows = csv.reader(io.StringIO(raw.decode("utf-8-sig")))
    column = next(rows).index("记录编号")
    return [row[column] if len(row) > column else None for row in rows]


_LOC = re.compile(rb"<loc>([^<]*)</loc>")


def _check_xml(
    report: Report, output: Path, files: set[str], stamps: dict[str, str], checked: Checked
) -> None:
    """Every sitemap and feed is well-formed XML (parsed again only when it changed since it
    passed), and every sitemap URL is a page of the site (always: the pages change)."""
    xml_files = sorted(
        f
        for f in files
        if f == "sitemap.xml" or (f.startswith(("sitemaps/", "feeds/")) and f.endswith(".xml"))
    )
    for path in xml_files:
        raw = (output / path).read_bytes()
        key = stamps.get(path)
        if not checked.still(f"xml/{path}", key):
            try:
                ET.fromstring(raw)
            except ET.ParseError as exc:
                report.add("XML 格式错误", f"{path}：{exc}")
                continue
            checked.done(f"xml/{path}", key, report, report.count)
        if not path.startswith("feeds/"):
            for loc, target in _sitemap_targets(_LOC.findall(raw)):
                if target is not None and target not in files:
                    report.add("站点地图指向不存在的页面", f"{path}：{loc}")


_ORIGIN = re.compile(rb"https?://[^/%?#\\&\s]*/")
_UNUSUAL = re.compile(rb"[%?#\\&\s]")


def _sitemap_targets(locs: list[bytes]) -> Iterable[tuple[str, str | None]]:
    """Each sitemap URL with the output path it names (:func:`_site_path`). A sitemap's URLs share
    one origin and are plain paths: then they are cut at once, else one by one."""
    origin = _ORIGIN.match(locs[0]) if locs else None
    if (
        origin is not None
        and all(loc.startswith(origin.group()) for loc in locs)
        and not _UNUSUAL.search(b"".join(locs))
    ):
        cut = len(origin.group())
        targets = {
            (loc[cut:].lstrip(b"/") or b"index.html").decode("utf-8", "replace"): loc
            for loc in locs
        }
        return [(loc.decode("utf-8", "replace"), target) for target, loc in targets.items()]
    texts = [loc.decode("utf-8", "replace") for loc in locs]
    return [(text, _site_path(html.unescape(text) if "&" in text else text)) for text in texts]


def _site_path(url: str) -> str | None:
    """The output path of an absolute site URL (any host: the verifier does not know SITEURL)."""
    parts = urlsplit(url)
    path = unquote(parts.path).lstrip("/")
    return path or "index.html"


# -- every file's content: full ID numbers and internal links ---------------------------------


SCAN_CHUNK = 2_000  # files a scanning child takes at a time
SCAN_ALONE = 8 << 20  # bytes: a file this large is a chunk of its own
SCAN_FILE_COST = 4_096  # bytes: what opening and checking a file costs, as bytes scanned
SCAN_FORK_FROM = 5_000  # files: fewer are scanned in this process


@dataclass
class Scan:
    """The comparison and scan of :func:`start_scan`, running in forked children (or done, where
    there is no fork); :meth:`finish` adds its findings to the report and returns the names found
    equal to the shadow and clean."""

    children: list[Any]
    done: list[tuple[list[tuple[str, str]], list[str]]] | None = None

    def kill(self) -> None:
        for child in self.children:
            child.kill()

    def finish(self, report: Report) -> list[str]:
        if self.done is None:
            try:
                results = [child.result() for child in self.children]
            finally:
                self.kill()
            by_chunk = dict(item for taken in results for item in taken)
            self.done = [by_chunk[number] for number in sorted(by_chunk)]
        equal: list[str] = []
        for found, clean in self.done:
            for check, line in found:
                report.add(check, line)
            equal += clean
        return equal


def scan_chunks(names: list[str], sizes: dict[str, int]) -> list[list[str]]:
    """``names`` in chunks of :data:`SCAN_CHUNK` neighbours (a folder's links resolve once), each
    file of :data:`SCAN_ALONE` bytes or more a chunk of its own (a download is split from its
    neighbours so that it can go to the child with the least to do)."""
    chunks: list[list[str]] = []
    current: list[str] = []
    for name in names:
        if sizes.get(name, 0) >= SCAN_ALONE:
            chunks.append([name])
            continue
        current.append(name)
        if len(current) == SCAN_CHUNK:
            chunks.append(current)
            current = []
    if current:
        chunks.append(current)
    return chunks


class _Dispenser:
    """Chunk numbers handed out one at a time to forked children (a counter in shared memory): a
    child that finishes early takes the next chunk, so that neither core idles at the end while
    the other works through what a split decided beforehand gave it."""

    def __init__(self, order: list[int]):
        self.order = order
        self.next = multiprocessing.Value("l", 0)

    def __iter__(self) -> Iterator[int]:
        while True:
            with self.next.get_lock():
                at = self.next.value
                self.next.value = at + 1
            if at >= len(self.order):
                return
            yield self.order[at]


def start_scan(
    output: Path,
    names: list[str],
    files: set[str],
    workers: int | None,
    shadow: Path | None,
    sizes: dict[str, int],
    digests: dict[str, str] | None = None,
) -> Scan:
    """Start comparing ``names`` with the shadow (when given) and scanning the text ones for full
    ID numbers and broken links (:func:`_scan_chunk`), in forked children that inherit ``files``
    with the fork instead of receiving it pickled and take the chunks one at a time, the costliest
    first by their bytes (``sizes``; unknown: by count); the caller does its own checks meanwhile
    and then calls :meth:`Scan.finish`. A page the shadow holds only as a digest (``digests``,
    :meth:`proof.Plan.digests`) is compared with it, or not at all where it is "" (proved equal)."""
    digests = digests or {}
    chunks = scan_chunks(names, sizes)
    tasks = [(str(output), str(shadow) if shadow else "", chunk) for chunk in chunks]
    workers = workers or os.cpu_count() or 1
    if workers > 1 and len(names) > SCAN_FORK_FROM and hasattr(os, "fork"):
        costs = [sum(sizes.get(n, 0) + SCAN_FILE_COST for n in chunk) for chunk in chunks]
        # The costliest first: the last chunks taken are small, and the children end together
        dispenser = _Dispenser(sorted(range(len(chunks)), key=lambda n: (-costs[n], n)))
        children = [
            Forked(lambda: [(n, _scan_chunk(tasks[n], files, digests)) for n in dispenser])
            for _ in range(workers)
        ]
        return Scan(children)
    return Scan([], [_scan_chunk(task, files, digests) for task in tasks])


def _scan_chunk(
    task: tuple[str, str, list[str]], files: set[str], digests: dict[str, str]
) -> tuple[list[tuple[str, str]], list[str]]:
    base, shadow, names = task
    found: list[tuple[str, str]] = []
    clean: list[str] = []
    resolved: dict[tuple[str, bytes], str | None] = {}
    for name in names:
        try:
            raw = Path(base, name).read_bytes()
        except OSError as exc:
            found.append(("无法读取", f"{name}：{exc.strerror}"))
            continue
        before = len(found)
        digest = digests.get(name)
        if digest is not None:
            if digest and proof.page_digest(raw) != digest:
                found.append(("内容与已审核的批次不符", f"{name}（与按批次生成的页面不同）"))
        elif shadow:
            try:
                expected = Path(shadow, name).read_bytes()
            except OSError:
                expected = None
            if raw != expected:
                found.append(
                    ("内容与已审核的批次不符", f"{name}（{_first_difference(raw, expected)}）")
                )
        if posixpath.splitext(name)[1] in TEXT_SUFFIXES or name.endswith(".gz"):
            # The search's term lists too: a reader can read them
            found += _personal_data(name, raw)
            if name.endswith(".html"):
                folder = posixpath.dirname(name)
                for link in _links(raw):
                    key = (folder, link)
                    if key not in resolved:
                        resolved[key] = _link_target(folder, link)
                    target = resolved[key]
                    if (
                        target is not None
                        and target not in files
                        and posixpath.join(target, "index.html") not in files
                    ):
                        found.append(("失效链接", f"{name} → {link.decode('utf-8', 'replace')}"))
        if shadow and len(found) == before:
            clean.append(name)
    return found, clean


def _sizes(tree: proof.Tree) -> dict[str, int]:
    """Each file's size, from its stamp (``inode:size:mtime:ctime``)."""
    return {path: int(stamp.split(":", 2)[1]) for path, stamp in tree.files.items()}


def _first_difference(raw: bytes, expected: bytes | None) -> str:
    """Where a file first differs from what the batches give, as a reader would see it (never a number)."""
    if expected is None:
        return "核验副本中没有这个文件"
    at = next(
        (i for i, (a, b) in enumerate(zip(raw, expected)) if a != b), min(len(raw), len(expected))
    )
    context = pii.mask(raw[max(0, at - 24) : at + 24].decode("utf-8", "ignore"))
    context = re.sub(
        r"[0-9０-９]{6,}",
        lambda m: m.group()[:2] + "*" * (len(m.group()) - 4) + m.group()[-2:],
        context,
    )
    return f"第 {at + 1} 字节起不同，附近内容：{context!r}"


def _personal_data(name: str, raw: bytes) -> list[tuple[str, str]]:
    """The full ID, mobile and card numbers a reader would see in the file, one finding each,
    shown masked (the report is not a leak either)."""
    try:
        found = pii.find_in_file(name, raw)
    except ValueError as exc:  # a .gz file that cannot be inflated
        return [("无法读取", f"{name}：{exc}")]
    return list(
        dict.fromkeys((f"完整{f.label}", f"{name}：{pii.DEFAULT_RULES.masked(f)}") for f in found)
    )


def _links(raw: bytes) -> set[bytes]:
    """The values of ``href``/``src`` attributes (after white space) of an HTML file; two searches
    for a literal prefix are faster than one pattern with an alternation."""
    found = set()
    for pattern in (_HREF, _SRC):
        for match in pattern.finditer(raw):
            if match.start() > 0 and raw[match.start() - 1] in b" \t\n\r\f":
                found.add(match.group(1))
    return found


def _link_target(folder: str, link: bytes) -> str | None:
    """The output path an internal link points to; None for external, fragment-only or data links."""
    text = html.unescape(link.decode("utf-8", "replace")).strip()
    parts = urlsplit(text)
    if parts.scheme or parts.netloc or not parts.path:
        return None
    path = unquote(parts.path)
    joined = path.lstrip("/") if path.startswith("/") else posixpath.join(folder, path)
    normal = posixpath.normpath(joined)
    if normal.startswith("../") or normal == "..":
        return normal  # outside the site: never a file of ours, so reported
    return "" if normal == "." else normal

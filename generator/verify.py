"""``disclose verify``: an independent check of a built site against the batches.

It reads the output folder as a web server would serve it and compares it with what the
publication rules say must be public on ``today``. It does not reuse the generator's rendering
or its list of written files, so a bug there, a stale file or a planted one is caught:

- record pages and entity archives: exactly the published set (a page left behind for a
  withdrawn, expired, withheld or unapproved record is named with the reason);
- search buckets and downloads: exactly the published record ids; catalog checksums match;
- no full resident ID number in any file (pattern + check digit + birth date, not a list);
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
import json
import multiprocessing
import os
import posixpath
import re
import xml.etree.ElementTree as ET
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable
from urllib.parse import unquote, urlsplit

from .batches import BatchStore
from .checkdigits import FULL_WIDTH_DIGITS, is_valid_rid
from .journal import journal_path
from .masking import mask_id
from .publication import State, compute_state, why_not_published
from .settings import Config
from .sitemodel import build_entities, entity_url, record_url

MAX_LINES_PER_CHECK = 50  # a systematic fault would otherwise print a million lines
TEXT_SUFFIXES = {".html", ".json", ".csv", ".xml", ".txt", ".js", ".css", ".svg", ".md"}
_RID_BYTES = re.compile(rb"(?<![0-9])([0-9]{17}[0-9Xx])(?![0-9])")
_FULL_WIDTH_DIGIT = re.compile(rb"\xef\xbc[\x90-\x99]")  # ０–９ in UTF-8; full-width punctuation is on every page
_SEARCH_DOCS = re.compile(r"search/[^/]+/docs/[^/]+\.json$")  # display buckets of every segment
_LINK = re.compile(rb'\s(?:href|src)="([^"]*)"')


@dataclass
class Report:
    findings: dict[str, list[str]] = field(default_factory=dict)
    files: int = 0
    records: int = 0

    def add(self, check: str, line: str) -> None:
        self.findings.setdefault(check, []).append(line)

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


def verify_site(root: Path, cfg: Config, output: Path, today: dt.date, workers: int | None = None) -> Report:
    report = Report()
    unfinished = journal_path(output)
    if unfinished.exists():  # a build killed (or still running) while it updated the folder
        report.add("构建未完成", f"{unfinished.name}：上次构建更新这个目录时中断，文件可能新旧混杂；再运行 disclose build 即可恢复")
    store = BatchStore(root, cfg)
    _, tampered = store.approved_in_order()
    for batch in tampered:
        report.add("批次被篡改", f"{batch.id} 的数据在审核后被修改，构建不应发布它")
    state = compute_state(store, cfg, today, strict=False)
    report.records = state.total
    files = _list_files(output)
    report.files = len(files)
    for required in ("index.html", "404.html", "robots.txt", "sitemap.xml", "search/manifest.json"):
        if required not in files:
            report.add("缺少文件", required)
    _check_pages(report, state, files)
    _check_search(report, state, output, files)
    _check_downloads(report, state, output, files)
    _check_xml(report, output, files, cfg)
    _scan_contents(report, output, files, workers)
    return report


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
    expected = {record_url(kind, r.id): r.id for kind, records in state.published.items() for r in records}
    present = {f for f in files if f.startswith("records/") and f.endswith(".html")}
    for path in sorted(present - expected.keys()):
        rid = posixpath.basename(path).removesuffix(".html")
        report.add("不应公开的记录页", f"{path}（{why_not_published(state, rid)[0]}）")
    for path in sorted(expected.keys() - present):
        report.add("缺少记录页", f"{path}（记录 {expected[path]} 应当公示）")
    archives = {entity_url(eid) for eid in build_entities(state)}
    present = {f for f in files if f.startswith("entities/") and f.endswith(".html")}
    for path in sorted(present - archives):
        report.add("多余的信用档案", f"{path}（该主体没有现公示的信息）")
    for path in sorted(archives - present):
        report.add("缺少信用档案", path)


def _check_search(report: Report, state: State, output: Path, files: set[str]) -> None:
    expected = state.published_ids()
    found: set[str] = set()
    for path in sorted(f for f in files if _SEARCH_DOCS.match(f)):
        try:
            rows = json.loads((output / path).read_text(encoding="utf-8"))
            found.update(str(row[0]) for row in rows if row is not None)  # null: a row of the segment not published
        except (ValueError, IndexError, TypeError, UnicodeDecodeError) as exc:
            report.add("检索文件损坏", f"{path}：{exc}")
    for rid in sorted(found - expected):
        report.add("检索中不应出现的记录", f"{rid}（{why_not_published(state, rid)[0]}）")
    for rid in sorted(expected - found):
        report.add("检索中缺少的记录", rid)


def _check_downloads(report: Report, state: State, output: Path, files: set[str]) -> None:
    catalog = (output / "downloads/index.html").read_text(encoding="utf-8") if "downloads/index.html" in files else ""
    if not catalog:
        report.add("缺少文件", "downloads/index.html")
    for kind, records in state.published.items():
        expected = {r.id for r in records}
        for suffix in ("json", "csv"):
            path = f"downloads/{kind}.{suffix}"
            if path not in files:
                report.add("缺少下载文件", path)
                continue
            raw = (output / path).read_bytes()
            if catalog and hashlib.sha256(raw).hexdigest() not in catalog:
                report.add("下载文件校验值不符", f"{path}（与下载目录页所列 sha256 不同）")
            try:
                if suffix == "json":
                    ids = [row["记录编号"] for row in json.loads(raw.decode("utf-8"))["records"]]
                else:
                    ids = [row["记录编号"] for row in csv.DictReader(io.StringIO(raw.decode("utf-8-sig")))]
            except (ValueError, KeyError, TypeError) as exc:
                report.add("下载文件损坏", f"{path}：{exc}")
                continue
            if None in ids or "" in ids:
                report.add("下载文件损坏", f"{path}：有 {sum(1 for i in ids if not i)} 行没有记录编号")
                ids = [i for i in ids if i]
            if len(ids) != len(set(ids)):
                report.add("下载文件有重复记录", path)
            for rid in sorted(set(ids) - expected):
                report.add("下载文件中不应出现的记录", f"{path}：{rid}（{why_not_published(state, rid)[0]}）")
            for rid in sorted(expected - set(ids)):
                report.add("下载文件中缺少的记录", f"{path}：{rid}")


def _check_xml(report: Report, output: Path, files: set[str], cfg: Config) -> None:
    xml_files = sorted(f for f in files if f == "sitemap.xml" or (f.startswith(("sitemaps/", "feeds/")) and f.endswith(".xml")))
    for path in xml_files:
        try:
            tree = ET.parse(output / path)
        except ET.ParseError as exc:
            report.add("XML 格式错误", f"{path}：{exc}")
            continue
        if not path.startswith("feeds/"):
            for loc in tree.iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc"):
                target = _site_path(loc.text or "")
                if target is not None and target not in files:
                    report.add("站点地图指向不存在的页面", f"{path}：{loc.text}")


def _site_path(url: str) -> str | None:
    """The output path of an absolute site URL (any host: the verifier does not know SITEURL)."""
    parts = urlsplit(url)
    path = unquote(parts.path).lstrip("/")
    return path or "index.html"


# -- every file's content: full ID numbers and internal links ---------------------------------

_FILES: set[str] = set()  # shared with forked workers


def _scan_contents(report: Report, output: Path, files: set[str], workers: int | None) -> None:
    global _FILES
    _FILES = files
    names = sorted(f for f in files if posixpath.splitext(f)[1] in TEXT_SUFFIXES)
    chunks = [(str(output), names[i : i + 2_000]) for i in range(0, len(names), 2_000)]
    workers = workers or os.cpu_count() or 1
    if workers > 1 and len(names) > 5_000 and "fork" in multiprocessing.get_all_start_methods():
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            results: Iterable = list(pool.map(_scan_chunk, chunks))
    else:
        results = [_scan_chunk(chunk) for chunk in chunks]
    for found in results:
        for check, line in found:
            report.add(check, line)


def _scan_chunk(task: tuple[str, list[str]]) -> list[tuple[str, str]]:
    base, names = task
    found: list[tuple[str, str]] = []
    resolved: dict[tuple[str, bytes], str | None] = {}
    for name in names:
        try:
            raw = Path(base, name).read_bytes()
        except OSError as exc:
            found.append(("无法读取", f"{name}：{exc.strerror}"))
            continue
        for number in _full_ids(raw):
            found.append(("完整身份证号码", f"{name}：{mask_id(number)}"))  # the report is not a leak either
        if name.endswith(".html"):
            folder = posixpath.dirname(name)
            for link in set(_LINK.findall(raw)):
                key = (folder, link)
                if key not in resolved:
                    resolved[key] = _link_target(folder, link)
                target = resolved[key]
                if target is not None and target not in _FILES and posixpath.join(target, "index.html") not in _FILES:
                    found.append(("失效链接", f"{name} → {link.decode('utf-8', 'replace')}"))
    return found


def _full_ids(raw: bytes) -> list[str]:
    """Valid 18-digit resident IDs in a file's bytes (full-width digits too)."""
    hits = [m.decode("ascii").upper() for m in _RID_BYTES.findall(raw)]
    if _FULL_WIDTH_DIGIT.search(raw):
        text = raw.decode("utf-8", errors="replace").translate(FULL_WIDTH_DIGITS)
        hits += [m.upper() for m in re.findall(r"(?<!\d)(\d{17}[\dXx])(?!\d)", text)]
    return sorted({h for h in hits if is_valid_rid(h)})


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

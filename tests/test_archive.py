"""信用档案 worth printing, and browsing without JavaScript: an archive's summary, its records named
by kind and document number, namesakes that link to each other, and the 主体名录, 网站地图 and
订阅更新 pages (issue 29, items 3 and 4)."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from pypinyin import lazy_pinyin

from generator import directory
from generator.schema import KINDS
from generator.synthetic import synth_rows, write_export

from .conftest import TODAY, SiteRoot
from .sitecheck import parse, tree_digest

NAME, CODE = "行政相对人名称", "行政相对人代码_1(统一社会信用代码)"
DOCNO, VALID_TO = "行政许可决定文书号", "有效期至"


@pytest.fixture(scope="module")
def archived(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Enough penalties for a letter of several 名录 pages; two licences of one subject, one of them
    past its validity; a second company of the same name with another credit code."""
    root = tmp_path_factory.mktemp("archive") / "site"
    root.mkdir()
    site = SiteRoot(root)
    day = dt.date(2026, 11, 20)
    penalties = list(synth_rows("penalty", 600, seed=21, today=day, max_days=300))
    site.stage_and_approve(write_export(root.parent / "p.csv", "penalty", penalties), "penalty")
    licences = list(synth_rows("license", 4, seed=22, today=day))
    subject = licences[1]
    expired = dict(subject, **{DOCNO: "盐审批许〔2026〕9101号", VALID_TO: "2025-12-31"})
    namesake = dict(licences[2], **{NAME: subject[NAME], DOCNO: "盐审批许〔2026〕9102号"})
    site.stage_and_approve(
        write_export(root.parent / "l.csv", "license", [*licences, expired, namesake]), "license"
    )
    assert site.build().exit_code == 0
    return {
        "site": site,
        "out": root / "output",
        "subject": subject,
        "expired": expired,
        "namesake": namesake,
        "persons": {r[NAME] for r in penalties if r["行政相对人类别"] == "自然人"},
    }


def archive_of(out: Path, code: str) -> Path:
    """The archive whose credit code is ``code``."""
    (found,) = [
        p
        for p in (out / "entities").rglob("*.html")
        if f'<code class="uscc">{code}</code></p>' in p.read_text(encoding="utf-8")
    ]
    return found


def main_of(path: Path) -> str:
    return path.read_text(encoding="utf-8").split('<main id="main"', 1)[1].split("</main>")[0]


def test_an_archive_opens_with_its_summary(archived: dict) -> None:
    """Counts per kind, what is in force on its 数据截至 (one licence past its 有效期至), its
    newest record, and 数据截至: the latest 发布日期 of its records, not the build's day."""
    out, subject = archived["out"], archived["subject"]
    page = archive_of(out, subject[CODE])
    text = main_of(page)
    summary = text.split('class="archive-summary"')[1].split("</section>")[0]
    rows = re.findall(
        r'<th scope="row"><a href="#sec-(\w+)">[^<]+</a></th><td>(\d+) 条</td>', summary
    )
    assert rows == [("license", "2")]
    assert "有效期内 1 条，已过有效期 1 条" in summary
    published = []
    for href in re.findall(r'href="\.\./\.\./(records/[^"]+)"', text):
        record = (out / href).read_text(encoding="utf-8")
        published.append(re.search(r"<dt>发布日期</dt><dd>([^<]+)</dd>", record).group(1))
    newest = max(published, key=lambda d: tuple(map(int, re.findall(r"\d+", d))))
    assert f">{newest}</time>（本档案最近一条信息的发布日期）" in summary
    assert "本报告网址 https://" in text and page.relative_to(out).as_posix() in text


def test_record_links_are_named_by_kind_and_document_number(archived: dict) -> None:
    """Three identical links read as one to a screen reader: each names its record; the subject
    is only in the heading."""
    out, subject = archived["out"], archived["subject"]
    text = main_of(archive_of(out, subject[CODE]))
    sections = text.split('class="archive-section"', 1)[1]
    links = re.findall(r'<a class="result-title" href="[^"]+">([^<]+)</a>', sections)
    assert sorted(links) == sorted(
        f"行政许可 {docno}" for docno in (subject[DOCNO], archived["expired"][DOCNO])
    )
    assert text.count(f"<h1>{subject[NAME]}</h1>") == 1
    assert not any(subject[NAME] in link for link in links)


def test_namesakes_link_to_each_other(archived: dict) -> None:
    out = archived["out"]
    first = archive_of(out, archived["subject"][CODE])
    second = archive_of(out, archived["namesake"][CODE])
    for page, other in ((first, second), (second, first)):
        text = main_of(page)
        assert "另有同名主体" in text
        block = text.split('class="namesakes"')[1].split("</section>")[0]
        assert f'href="../../{other.relative_to(out).as_posix()}"' in block
        # The link itself names the other's credit code: two links that read as one name would not
        code = archived["namesake" if page == first else "subject"][CODE]
        link = f'href="../../{other.relative_to(out).as_posix()}">'
        assert (
            f'<code class="uscc">{code}</code></span></a>' in block.split(link)[1].split("</li>")[0]
        )
    # Exactly the archives whose name another archive has list namesakes
    headings = {
        p: re.search(r"<h1>([^<]+)</h1>", main_of(p)).group(1)
        for p in (out / "entities").rglob("*.html")
    }
    shared = {name for name in headings.values() if list(headings.values()).count(name) > 1}
    assert all(("另有同名主体" in main_of(p)) == (name in shared) for p, name in headings.items())


def directory_entries(out: Path) -> list[tuple[str, str]]:
    """(name, archive path) of every 名录 entry, letter by letter, page by page in order."""
    found = []
    for letter_page in sorted((out / "directory").glob("*/index.html")):
        landing = letter_page.read_text(encoding="utf-8")
        pages = re.findall(r'<li><a href="\.\./\.\./(directory/\w+/[0-9a-f]{16}\.html)">', landing)
        pages = pages or [letter_page.relative_to(out).as_posix()]
        for name in pages:
            html = (out / name).read_text(encoding="utf-8")
            items = html.split('<ul class="directory-list">')[1].split("</ul>")[0]
            # Each link names the subject and its credit code (namesakes read apart)
            entries = re.findall(r'<li><a href="\.\./\.\./([^"]+)">([^<]+) <span', items)
            assert len(entries) == items.count("<li>")
            found += [(entry, href) for href, entry in entries]
    return found


def test_the_directory_lists_every_archive_once_by_pinyin(archived: dict) -> None:
    out = archived["out"]
    entries = directory_entries(out)
    archives = sorted(p.relative_to(out).as_posix() for p in (out / "entities").rglob("*.html"))
    assert sorted(href for _name, href in entries) == archives and len(archives) > 250
    names = [name for name, _href in entries]
    assert not set(names) & archived["persons"]  # natural persons have no archive
    readings = [" ".join(lazy_pinyin(name)).lower() for name in names]
    assert readings == sorted(readings)
    # Several pages of Y, chained by 上一页 / 下一页, each named on the letter's landing page
    landing = (out / "directory" / "y" / "index.html").read_text(encoding="utf-8")
    pages = re.findall(r'<li><a href="\.\./\.\./(directory/y/[0-9a-f]{16}\.html)">', landing)
    assert len(pages) >= 2
    for at, name in enumerate(pages):
        html = (out / name).read_text(encoding="utf-8")
        if at + 1 < len(pages):
            assert f'href="../../{pages[at + 1]}" rel="next"' in html
        sizes = len(re.findall(r"<li><a href=\"\.\./\.\./entities/", html))
        assert sizes <= directory.PAGE_MAX
    top = (out / "directory" / "index.html").read_text(encoding="utf-8")
    assert f"共 {len(archives)} 个" in top and 'href="../directory/y/index.html"' in top


def test_browsing_pages_are_linked_and_in_the_sitemap(archived: dict) -> None:
    """The footer's 网站地图 and 订阅更新 open HTML pages (which link the XML for machines); the
    search page's <noscript> leads to the 名录; every new page is in sitemap.xml."""
    out = archived["out"]
    home = (out / "index.html").read_text(encoding="utf-8")
    footer = home.split('<footer class="site-footer">')[1]
    assert (
        'href="./sitemap.html">网站地图' in footer
        and 'href="./feeds/index.html">订阅更新' in footer
    )
    assert "sitemap.xml" not in footer and ".atom.xml" not in footer
    site_map = (out / "sitemap.html").read_text(encoding="utf-8")
    assert 'href="./sitemap.xml"' in site_map and 'href="./directory/index.html"' in site_map
    feeds = (out / "feeds" / "index.html").read_text(encoding="utf-8")
    for name in ("all", *KINDS):
        assert f'href="../feeds/{name}.atom.xml"' in feeds
    noscript = (out / "search" / "index.html").read_text(encoding="utf-8").split("<noscript>")[1]
    assert 'href="../directory/index.html"' in noscript.split("</noscript>")[0]
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    locs = {
        u.find("s:loc", ns).text.split("/", 3)[3]
        for u in ET.parse(out / "sitemap.xml").getroot().findall("s:url", ns)
    }
    directory_pages = {p.relative_to(out).as_posix() for p in (out / "directory").rglob("*.html")}
    assert directory_pages <= locs and {"sitemap.html", "feeds/index.html"} <= locs
    assert len(directory_pages) >= 4
    for path in ("sitemap.html", "feeds/index.html", "directory/index.html"):
        assert parse(out / path).tags  # well-formed enough to parse


def test_archives_and_the_directory_do_not_change_with_the_day(archived: dict, tmp_path) -> None:
    """Built a day later with the same records published, no archive and no 名录 page changes:
    their dates are the data's (docs/incremental.md, "Stable pages")."""
    site: SiteRoot = archived["site"]
    later = (dt.date.fromisoformat(TODAY) + dt.timedelta(days=1)).isoformat()
    assert site.build(today=later, output=str(tmp_path / "later")).exit_code == 0
    before, after = tree_digest(archived["out"]), tree_digest(tmp_path / "later")
    records = {k for k in before if k.startswith("records/")}
    assert records == {k for k in after if k.startswith("records/")}
    kept = [k for k in before if k.startswith(("entities/", "directory/", "records/"))]
    assert len(kept) > 500 and all(before[k] == after.get(k) for k in kept)

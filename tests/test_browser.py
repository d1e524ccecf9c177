"""The site in real headless Chromium: accessibility (axe-core), 320 px phones, CSP, larger text, no JS."""

from __future__ import annotations

from html import unescape
from pathlib import Path

import pytest

from generator.schema import KINDS

from .conftest import REPO

pytestmark = pytest.mark.browser
AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"


def first(out: Path, pattern: str) -> str:
    return next(iter(sorted(out.glob(pattern)))).relative_to(out).as_posix()


def pages_to_check(out: Path) -> dict[str, str]:
    return {
        "home": "index.html",
        "list": "kinds/penalty/index.html",
        "authority list": first(out, "kinds/penalty/authorities/*/index.html"),
        "record": first(out, "records/penalty/*/*.html"),
        **{f"{kind} record": first(out, f"records/{kind}/*/*.html") for kind in KINDS},
        "archive": first(out, "entities/*/*.html"),
        "search": "search/index.html",
        "search results": "search/index.html?q=%E7%A4%BA%E4%BE%8B",  # 示例: a page of results
        "downloads": "downloads/index.html",
        "guide": "pages/objection.html",
        "statistics": "stats/index.html",
        "timeliness": "stats/timeliness.html",
        "government": "stats/government.html",
        "directory": "directory/index.html",
        "directory letter": first(out, "directory/*/index.html"),
        "sitemap": "sitemap.html",
        "feeds": "feeds/index.html",
    }


def phone(browser, demo_site, name: str):
    """A 320 px phone's view of the page called ``name`` (pages_to_check): its context and page."""
    context = browser.new_context(
        viewport={"width": 320, "height": 640}, device_scale_factor=2, is_mobile=True
    )
    page = context.new_page()
    page.goto(f"{demo_site['base']}/{pages_to_check(demo_site['out'])[name]}")
    return context, page


def run_axe(page) -> list[dict]:
    if not AXE.exists():
        pytest.fail("axe-core is missing: run `make test` (npm ci installs it)")
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate(
        "async () => {\n"
        "        const r = await axe.run(document, {resultTypes: ['violations']});\n"
        "        return r.violations.map(v => ({id: v.id, impact: v.impact, "
        "nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 3)}));\n"
        "    }"
    )
    return result


@pytest.mark.parametrize(
    "name",
    [
        "home",
        "list",
        "authority list",
        "record",
        *(f"{kind} record" for kind in KINDS),
        "archive",
        "search",
        "search results",
        "downloads",
        "guide",
        "statistics",
        "timeliness",
        "government",
        "directory",
        "directory letter",
        "sitemap",
        "feeds",
    ],
)
def test_axe_finds_no_violation_of_any_impact(demo_site, page, name):
    url = f"{demo_site['base']}/{pages_to_check(demo_site['out'])[name]}"
    page.goto(url)
    if "?q=" in url:
        page.wait_for_selector("body[data-search-done]", timeout=10_000)
    violations = run_axe(page)  # any impact, minor included
    assert violations == [], violations
    assert page.errors == []  # no CSP violation, no script error


@pytest.mark.parametrize(
    "name",
    [
        "home",
        "list",
        "record",
        "archive",
        "search",
        "downloads",
        "statistics",
        "timeliness",
        "government",
        "directory letter",
        "sitemap",
    ],
)
def test_readable_on_a_320px_phone_without_horizontal_scrolling(demo_site, browser, name):
    context, page = phone(browser, demo_site, name)
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    font_size = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    context.close()
    assert scroll_width <= 320, f"{name} scrolls sideways ({scroll_width}px)"
    assert font_size >= 16


@pytest.mark.parametrize("name", ["archive", "directory letter"])
def test_a_credit_code_stays_on_one_line_on_a_320px_phone(demo_site, browser, name):
    """统一社会信用代码 broke mid-code at 320 px (code's word-break): now the text before it wraps."""
    context, page = phone(browser, demo_site, name)
    codes = page.locator("code.uscc")
    assert codes.count() >= 1
    lines = codes.evaluate_all("els => els.map(e => e.getClientRects().length)")
    right = codes.evaluate_all("els => Math.max(...els.map(e => e.getBoundingClientRect().right))")
    context.close()
    assert set(lines) == {1} and right <= 320


def archive_with_code(out: Path) -> str:
    return next(
        p.relative_to(out).as_posix()
        for p in sorted(out.glob("entities/*/*.html"))
        if 'class="uscc"' in p.read_text(encoding="utf-8")
    )


def test_an_archive_prints_as_a_credit_report(demo_site, page):
    """Print media: no navigation, no button, no site footer; the running head and foot (which
    print.css repeats on every page) show 数据截至, the page's address and today's date."""
    path = archive_with_code(demo_site["out"])
    page.goto(f"{demo_site['base']}/{path}")
    assert page.get_by_role("button", name="打印信用报告").is_visible()  # JavaScript shows it
    page.emulate_media(media="print")
    for selector in ("nav", "button", ".site-footer", ".site-header"):
        found = page.locator(selector)
        assert all(not found.nth(i).is_visible() for i in range(found.count())), selector
    head, foot = page.locator(".report-head"), page.locator(".report-foot")
    assert head.is_visible() and foot.is_visible()
    assert "数据截至" in head.inner_text() and page.locator("h1").is_visible()
    address = f"https://xyyc.example.invalid/{path}"  # SITEURL_FALLBACK: the site's own address
    today = page.evaluate(
        "() => { const d = new Date(); return `${d.getFullYear()}年${d.getMonth() + 1}月${d.getDate()}日`; }"
    )
    assert address in foot.inner_text() and f"打印日期 {today}" in foot.inner_text()
    assert (
        page.evaluate("getComputedStyle(document.querySelector('.report-foot')).position")
        == "fixed"
    )
    assert page.errors == []


def pdf_lines(pdf: bytes, tmp_path: Path) -> list[list[tuple[float, float, str]]]:
    """Each page's lines of text as (top, bottom, text), by poppler's pdftotext (`make
    system-deps` installs it)."""
    import re
    import shutil
    import subprocess

    if not shutil.which("pdftotext"):
        pytest.fail("pdftotext is missing: run `make test` (it installs poppler-utils)")
    (tmp_path / "report.pdf").write_bytes(pdf)
    done = subprocess.run(
        ["pdftotext", "-bbox-layout", str(tmp_path / "report.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    )
    line = re.compile(
        r'<line xMin="[^"]+" yMin="([^"]+)" xMax="[^"]+" yMax="([^"]+)">(.*?)</line>', re.S
    )
    return [
        [
            (float(top), float(bottom), unescape(" ".join(re.findall(r">([^<]*)</word>", words))))
            for top, bottom, words in line.findall(page)
        ]
        for page in done.stdout.split("<page ")[1:]
    ]


def test_a_credit_report_saved_as_pdf_names_its_address_and_dates_on_every_page(
    demo_site, browser, tmp_path
):
    """A4, as a browser's 另存为 PDF makes it (Chromium): every page starts with the running head
    (subject, 数据截至) and ends with the foot (address, print date), and nothing else is printed
    over them; the subject, its code and its records are there; no button, no navigation.
    Without JavaScript the print date is a blank to fill in."""
    out = demo_site["out"]
    path = archive_with_code(out)
    html = (out / path).read_text(encoding="utf-8")
    name = unescape(html.split("<h1>")[1].split("</h1>")[0])
    code = html.split('<code class="uscc">')[1].split("</code>")[0]
    # The first record's link: "行政处罚 盐市监罚〔2026〕12号"
    label = unescape(html.split('class="result-title"')[1].split(">", 1)[1].split("<")[0])
    for scripts in (True, False):
        context = browser.new_context(java_script_enabled=scripts, locale="zh-CN")
        page = context.new_page()
        page.goto(f"{demo_site['base']}/{path}")
        # Long enough for several A4 pages: the head and foot repeat on each
        page.evaluate(
            "() => { const list = document.querySelector('.archive-section ol');"
            " const item = list.firstElementChild;"
            " for (let i = 0; i < 40; i++) list.appendChild(item.cloneNode(true)); }"
        )
        pages = pdf_lines(page.pdf(format="A4"), tmp_path)
        context.close()
        assert len(pages) >= 3
        for lines in pages:
            (head,) = [x for x in lines if x[2].startswith("信用盐城 · 信用报告")]
            (foot,) = [x for x in lines if x[2].startswith("本报告网址")]
            assert f"信用报告 · {name} · 数据截至" in head[2]
            assert foot[2].startswith(f"本报告网址 https://xyyc.example.invalid/{path}")
            assert ("打印日期 ＿＿＿＿年" in foot[2]) != scripts
            # 8 pt (~3 mm) clear of both: each page's fragment keeps the room (box-decoration-break)
            body = [x for x in lines if x not in (head, foot)]
            assert body and all(
                head[1] + 8 <= top and bottom + 8 <= foot[0] for top, bottom, _ in body
            )
        text = " ".join(x[2] for lines in pages for x in lines)
        first_page = " ".join(x[2] for x in pages[0])
        assert code in first_page and "档案摘要" in first_page and label in first_page
        assert "打印信用报告" not in text and "首页" not in text and "大字版" not in text


def test_larger_text_mode_is_remembered(demo_site, page):
    page.goto(f"{demo_site['base']}/index.html")
    before = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    button = page.get_by_role("button", name="大字版")
    button.click()
    after = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    assert after > before * 1.15
    assert page.get_by_role("button", name="标准字号").get_attribute("aria-pressed") == "true"
    page.goto(f"{demo_site['base']}/kinds/license/index.html")
    assert page.evaluate("document.documentElement.classList.contains('large-text')")
    assert page.errors == []


def test_browsing_works_without_javascript(demo_site, browser):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{demo_site['base']}/index.html")
    page.get_by_role("link", name="行政许可").first.click()
    page.locator("ol.results a").first.click()
    assert page.locator("table.record-table").count() == 1
    page.goto(f"{demo_site['base']}/search/index.html")
    # Without JavaScript the search page says so and links to browsing (the old check also
    # passed when the notice was hidden: its text is always in the page's source).
    notice = page.locator("p.notice", has_text="查询功能需要启用 JavaScript")
    assert notice.is_visible()
    notice.get_by_role("link", name="分类浏览").click()
    assert page.url == f"{demo_site['base']}/index.html"
    # The 主体名录 leads from the search page to every archive, letter by letter
    page.goto(f"{demo_site['base']}/search/index.html")
    notice.get_by_role("link", name="主体名录").click()
    page.locator("ul.letter-grid a").first.click()
    if page.locator("ol.directory-ranges").count():
        page.locator("ol.directory-ranges a").first.click()
    page.locator("ul.directory-list a").first.click()
    assert "/entities/" in page.url and page.locator("section.archive-summary").count() == 1
    page.get_by_role("link", name="网站地图").click()
    assert page.url == f"{demo_site['base']}/sitemap.html"
    # The toggle needs JS, so it stays hidden
    assert page.get_by_role("button", name="大字版").is_hidden()
    context.close()


def test_hostile_markup_does_not_execute(demo_site, page):
    page.on(
        "dialog",
        lambda dialog: (_ for _ in ()).throw(AssertionError(f"dialog opened: {dialog.message}")),
    )
    for path in (
        "index.html",
        "kinds/penalty/index.html",
        first(demo_site["out"], "records/judgment/*/*.html"),
    ):
        page.goto(f"{demo_site['base']}/{path}")
        assert (
            page.evaluate("document.querySelectorAll('img, iframe, script:not([src])').length") == 0
        )
    assert page.errors == []


def test_unknown_urls_get_the_site_404_page(demo_site, page):
    response = page.goto(f"{demo_site['base']}/records/penalty/zz/0000000000000000.html")
    assert response.status == 404
    assert "页面不存在" in page.content()
    assert page.locator("link[rel=stylesheet]").first.evaluate("l => l.sheet !== null")


@pytest.mark.parametrize("name", ["statistics", "timeliness", "government"])
def test_statistics_charts_load_and_their_tables_open(demo_site, browser, name):
    context, page = phone(browser, demo_site, name)
    charts = page.locator("figure.chart")
    assert charts.count() >= 2
    for i in range(charts.count()):
        assert charts.nth(i).locator("figcaption").inner_text()
        assert charts.nth(i).bounding_box()["width"] <= 320
    page.locator("details.chart-data summary").first.click()
    assert page.locator("details.chart-data table").first.is_visible()
    context.close()

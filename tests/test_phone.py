"""Phone first (issue 29): on the demo site a new user sees, at 360×740 and 320×640, in both text
sizes, the home page's search box and the search page's first result are on the first screen; the
header is one row whose 菜单 works without JavaScript and marks the page's section; nothing breaks
in the middle of a word, a date or a code."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest

from generator.render import nav_place, site_nav

from .test_browser import first

PHONES = [(360, 740), (320, 640)]
LINES = """el => {
    const range = document.createRange();
    range.selectNodeContents(el);
    const bottoms = [...range.getClientRects()].filter(r => r.width > 0).map(r => r.bottom);
    bottoms.sort((a, b) => a - b);
    return bottoms.filter((b, i) => i === 0 || b - bottoms[i - 1] > 4).length;
}"""
BOX = """el => { const r = el.getBoundingClientRect(); return {top: r.top, bottom: r.bottom, height: r.height}; }"""


def phone(browser, width: int, height: int, large: bool, javascript: bool = True):
    context = browser.new_context(
        viewport={"width": width, "height": height},
        device_scale_factor=2,
        is_mobile=True,
        locale="zh-CN",
        java_script_enabled=javascript,
    )
    if large:
        context.add_init_script("window.localStorage.setItem('xyyc-large-text', '1')")
    return context


def box(page, selector: str) -> dict:
    return page.locator(selector).first.evaluate(BOX)


def lines(page, selector: str) -> list[int]:
    return page.locator(selector).evaluate_all(f"els => els.map({LINES})")


def assert_one_row_header(page) -> None:
    parts = [box(page, s) for s in (".brand-name", "#text-size", ".site-menu .menu-button")]
    for a in parts:
        for b in parts:
            assert a["top"] < b["bottom"] and b["top"] < a["bottom"], parts  # side by side
    assert box(page, ".site-header")["height"] <= max(p["height"] for p in parts) + 32
    assert not page.locator(".site-nav").is_visible()  # the menu is folded
    assert lines(page, "#text-size") == [1]


def assert_no_sideways_scroll(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.browser
@pytest.mark.parametrize("large", [False, True], ids=["standard", "large-text"])
@pytest.mark.parametrize(("width", "height"), PHONES, ids=["360x740", "320x640"])
def test_the_first_screen_holds_the_search_box_and_the_first_result(
    repo_demo, browser, width, height, large
):
    context = phone(browser, width, height, large)
    page = context.new_page()
    page.goto(f"{repo_demo['base']}/index.html")
    assert page.evaluate("document.documentElement.classList.contains('large-text')") == large
    assert_one_row_header(page)
    assert box(page, ".hero input")["bottom"] <= height
    assert box(page, ".hero button")["bottom"] <= height
    assert lines(page, "h1") == [1]
    tiles = page.locator(".kind-grid li").evaluate_all(f"els => els.map({BOX})")
    assert len({round(t["top"]) for t in tiles}) == (len(tiles) + 1) // 2  # two a row
    assert set(lines(page, ".results time")) == {1}
    assert_no_sideways_scroll(page, width)

    page.goto(f"{repo_demo['base']}/search/index.html?q={quote('康润')}")
    page.wait_for_selector("body[data-search-done]", timeout=10_000)
    assert_one_row_header(page)
    assert box(page, "#results .result")["bottom"] <= height
    assert not page.locator("#search-filters").is_visible()  # behind 筛选
    dates, codes = lines(page, "#results time"), lines(page, "#results .code code")
    assert dates and codes and set(dates) == set(codes) == {1}
    assert_no_sideways_scroll(page, width)
    context.close()


@pytest.mark.browser
@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_the_menu_opens_on_a_phone_and_is_a_row_on_a_desktop(repo_demo, browser, javascript):
    record = first(repo_demo["out"], "records/penalty/*/*.html")
    context = phone(browser, 320, 640, False, javascript)
    page = context.new_page()
    page.goto(f"{repo_demo['base']}/{record}")
    menu = page.get_by_role("navigation", name="主导航")
    assert not menu.is_visible()
    page.locator(".site-menu > summary").click()
    assert menu.is_visible()
    assert menu.get_by_role("link", name="行政处罚").get_attribute("aria-current") == "true"
    menu.get_by_role("link", name="信用修复").click()
    assert page.url.endswith("/pages/repair.html")
    context.close()

    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, java_script_enabled=javascript
    )
    page = context.new_page()
    page.goto(f"{repo_demo['base']}/stats/timeliness.html")
    menu = page.get_by_role("navigation", name="主导航")
    assert menu.is_visible() and not page.locator(".site-menu > summary").is_visible()
    links = menu.get_by_role("link").evaluate_all(f"els => els.map({BOX})")
    assert len({round(link["top"]) for link in links}) == 1  # one row
    assert menu.get_by_role("link", name="统计与监测").get_attribute("aria-current") == "true"
    context.close()


@pytest.mark.browser
def test_the_search_filters_fold_behind_a_toggle_on_a_phone(repo_demo, browser):
    url = f"{repo_demo['base']}/search/index.html?q={quote('示例')}"
    context = phone(browser, 320, 640, True)
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector("body[data-search-done]", timeout=10_000)
    toggle = page.locator("#search-filters-toggle > summary")
    assert toggle.inner_text() == "筛选" and not page.locator("#f-kind").is_visible()
    toggle.click()
    page.select_option("#f-kind", "penalty")
    assert toggle.inner_text() == "筛选（已选 1 项）"
    assert_no_sideways_scroll(page, 320)
    context.close()

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector("body[data-search-done]", timeout=10_000)
    assert page.locator("#f-kind").is_visible()
    assert not page.locator("#search-filters-toggle > summary").is_visible()
    context.close()


def current(html: str) -> list[tuple[str, str]]:
    menu = html[html.index('aria-label="主导航"') : html.index("</nav>")]
    return re.findall(r'aria-current="(\w+)">([^<]+)<', menu)


def test_every_page_marks_its_section_in_the_menu(repo_demo):
    out = repo_demo["out"]
    expected = {
        "index.html": [("page", "首页")],
        "kinds/penalty/index.html": [("page", "行政处罚")],
        first(out, "kinds/penalty/authorities/*/index.html"): [("true", "行政处罚")],
        first(out, "records/license/*/*.html"): [("true", "行政许可")],
        "search/index.html": [("page", "查询")],
        "stats/timeliness.html": [("true", "统计与监测")],
        "downloads/index.html": [("page", "数据下载")],
        "pages/repair.html": [("page", "信用修复")],
        "pages/objection.html": [("page", "异议申诉")],
        "pages/about.html": [],
        first(out, "entities/*/*.html"): [],
        "404.html": [],
    }
    for name, marks in expected.items():
        assert current((out / name).read_text(encoding="utf-8")) == marks, name


def test_a_site_without_the_guides_has_no_menu_entry_for_them():
    kinds = {"penalty": type("Kind", (), {"label": "行政处罚"})()}
    nav = site_nav(kinds, {"repair": "pages/repair.html"})
    assert [key for key, _, _ in nav] == [
        "home",
        "penalty",
        "search",
        "stats",
        "downloads",
        "repair",
    ]
    assert nav_place("records/penalty/ab/abc.html", nav) == ("penalty", False)
    assert nav_place("pages/objection.html", nav) == ("", False)
    assert nav_place("pages/repair.html", nav) == ("repair", True)


# -- 统计与监测 and 数据下载 on a phone -------------------------------------------------------------

STATS = ["stats/index.html", "stats/timeliness.html", "stats/government.html"]
CHART_TEXT = """fig => {
    const found = [], walk = document.createTreeWalker(fig, NodeFilter.SHOW_TEXT);
    for (let node = walk.nextNode(); node; node = walk.nextNode()) {
        const el = node.parentElement;
        if (!node.textContent.trim() || el.closest('figcaption, .visually-hidden')) continue;
        const range = document.createRange();
        range.selectNodeContents(node);
        for (const r of range.getClientRects()) {
            found.push({size: parseFloat(getComputedStyle(el).fontSize), left: r.left,
                        right: r.right, text: node.textContent});
        }
    }
    const labels = [...fig.querySelectorAll('.time-x span')].map(span => {
        const range = document.createRange();
        range.selectNodeContents(span);
        const r = range.getBoundingClientRect();
        return {left: r.left, right: r.right, text: span.innerText};
    });
    const box = fig.getBoundingClientRect();
    return {text: found, labels: labels, left: box.left, right: box.right};
}"""


def chart_text(page, path: str) -> list[dict]:
    page.goto(f"{page.base}/{path}")
    return page.locator("figure.chart").evaluate_all(f"figs => figs.map({CHART_TEXT})")


@pytest.mark.browser
@pytest.mark.parametrize("path", STATS)
def test_chart_text_is_at_least_12px_on_a_phone_grows_with_large_text_and_is_never_cut(
    repo_demo, browser, path
):
    smallest = {}
    for large in (False, True):
        context = phone(browser, 320, 640, large)
        page = context.new_page()
        page.base = repo_demo["base"]  # type: ignore[attr-defined]
        charts = chart_text(page, path)
        assert charts
        for chart in charts:
            for piece in chart["text"]:  # inside the chart's box, on the screen
                assert (
                    chart["left"] - 0.5 <= piece["left"] and piece["right"] <= chart["right"] + 0.5
                )
                assert piece["right"] <= 320, piece
            labels = chart["labels"]  # the months, side by side, not over each other
            for a, b in zip(labels, labels[1:]):
                assert a["right"] <= b["left"], (a, b)
        smallest[large] = min(p["size"] for chart in charts for p in chart["text"])
        assert_no_sideways_scroll(page, 320)
        context.close()
    assert smallest[False] >= 12
    assert smallest[True] >= smallest[False] * 1.2


@pytest.mark.browser
def test_the_timeliness_trend_shows_its_last_month_whole(repo_demo, page):
    page.base = repo_demo["base"]
    trend = chart_text(page, "stats/timeliness.html")[-1]
    assert trend["labels"][-1]["text"] == "2026\n11月"


@pytest.mark.browser
@pytest.mark.parametrize("path", STATS)
def test_charts_take_the_column_width_on_a_desktop(repo_demo, page, path):
    page.goto(f"{repo_demo['base']}/{path}")
    widths = page.locator("figure.chart").evaluate_all(
        "figs => figs.map(f => [f.getBoundingClientRect().width, f.parentElement.clientWidth])"
    )
    assert widths and all(figure >= column - 1 and column > 900 for figure, column in widths)


@pytest.mark.browser
@pytest.mark.parametrize("large", [False, True], ids=["standard", "large-text"])
def test_the_downloads_table_reflows_on_a_320px_phone(repo_demo, browser, large):
    context = phone(browser, 320, 640, large)
    page = context.new_page()
    page.goto(f"{repo_demo['base']}/downloads/index.html")
    assert_no_sideways_scroll(page, 320)
    scroll = page.locator(".table-scroll").evaluate("el => el.scrollWidth - el.clientWidth")
    assert scroll <= 0  # nothing hidden to the side
    cells = page.locator(".files-table td").evaluate_all(
        """tds => tds.map(td => ({label: getComputedStyle(td, '::before').content,
            left: td.getBoundingClientRect().left, right: td.getBoundingClientRect().right,
            inner: td.scrollWidth - td.clientWidth}))"""
    )
    labels = {cell["label"].strip('"') for cell in cells}
    assert labels == {"类别", "格式", "记录数", "大小（字节）", "SHA-256"}
    assert all(c["left"] >= 0 and c["right"] <= 320 and c["inner"] <= 0 for c in cells), cells
    context.close()

"""The site in real headless Chromium: accessibility (axe-core), 320 px phones, CSP, larger text, no JS."""

from __future__ import annotations

from pathlib import Path

import pytest

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
        "judgment record": first(out, "records/judgment/*/*.html"),
        "archive": first(out, "entities/*/*.html"),
        "search": "search/index.html",
        "downloads": "downloads/index.html",
        "guide": "pages/objection.html",
        "statistics": "stats/index.html",
        "timeliness": "stats/timeliness.html",
        "government": "stats/government.html",
    }


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
        "judgment record",
        "archive",
        "search",
        "downloads",
        "guide",
        "statistics",
        "timeliness",
        "government",
    ],
)
def test_axe_finds_no_moderate_serious_or_critical_violations(demo_site, page, name):
    url = f"{demo_site['base']}/{pages_to_check(demo_site['out'])[name]}"
    page.goto(url)
    violations = [v for v in run_axe(page) if v["impact"] != "minor"]
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
    ],
)
def test_readable_on_a_320px_phone_without_horizontal_scrolling(demo_site, browser, name):
    context = browser.new_context(
        viewport={"width": 320, "height": 640}, device_scale_factor=2, is_mobile=True
    )
    page = context.new_page()
    page.goto(f"{demo_site['base']}/{pages_to_check(demo_site['out'])[name]}")
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    font_size = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    context.close()
    assert scroll_width <= 320, f"{name} scrolls sideways ({scroll_width}px)"
    assert font_size >= 16


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
    context = browser.new_context(
        viewport={"width": 320, "height": 640}, device_scale_factor=2, is_mobile=True
    )
    page = context.new_page()
    page.goto(f"{demo_site['base']}/{pages_to_check(demo_site['out'])[name]}")
    charts = page.locator("figure.chart")
    assert charts.count() >= 2
    for i in range(charts.count()):
        assert charts.nth(i).locator("figcaption").inner_text()
        assert charts.nth(i).bounding_box()["width"] <= 320
    page.locator("details.chart-data summary").first.click()
    assert page.locator("details.chart-data table").first.is_visible()
    context.close()

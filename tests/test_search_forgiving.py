"""Search that forgives the way people type (issue 28), on the demo site a new user sees (the
repository's own content/, built for 2026-11-20) in real Chromium: names asked for with gaps or with
administrative words added or dropped, typos through the 您是不是要找 link, every identifier a
citizen may hold, results that tell two companies of one name apart, and filters one can see."""

from __future__ import annotations

import urllib.request
from urllib.parse import quote

import pytest

from .conftest import served_demo

JINJIN = "盐城市滨海县金锦示例物流有限公司"
KANGRUN = "盐城市阜宁县康润示例化工有限公司"


@pytest.fixture(scope="module")
def demo(repo_demo):
    return repo_demo


@pytest.fixture(scope="module")
def capped_demo(tmp_path_factory):
    """The demo with a token cap of 5: 盐城, 示例 … keep only their newest postings, as 有限 and 公司
    do at 10^6 (the cap there is 1,000 a segment)."""
    yield from served_demo(tmp_path_factory.mktemp("capped-demo"), "SEARCH_TOKEN_CAP = 5\n")


def ask(page, base: str, query: str, **params) -> list[dict]:
    extra = "".join(f"&{k}={quote(v)}" for k, v in params.items())
    page.goto(f"{base}/search/index.html?q={quote(query)}{extra}")
    page.wait_for_selector("body[data-search-done]", timeout=10_000)
    return results(page)


def results(page) -> list[dict]:
    return page.locator("#results li.result").evaluate_all(
        """items => items.map(li => ({
            subject: li.querySelector('.result-title').textContent,
            href: li.querySelector('.result-title').getAttribute('href'),
            code: (li.querySelector('.code code') || {}).textContent || '',
            archive: (li.querySelector('a.archive') || {href: ''}).href,
            text: li.innerText,
        }))"""
    )


@pytest.mark.browser
@pytest.mark.parametrize(
    ("query", "subject"),
    [
        ("滨海金锦", JINJIN),  # characters in order, with an administrative word between
        ("盐城滨海县金锦", JINJIN),  # 市 dropped
        ("阜宁康润", KANGRUN),
        ("盐城康润", KANGRUN),  # 市 and 阜宁县 dropped
        ("金锦物流有限公司", JINJIN),  # 示例 left out
        ("康润化工", KANGRUN),
        ("0Y37GW", JINJIN),  # the last six characters of a credit code
        ("40Y37GW", JINJIN),  # and any longer end of it
        ("MWW40Y37", JINJIN),  # its 组织机构代码 part
        ("0922MWW4", JINJIN),  # six or more characters wholly inside it
        ("22MWW40Y", JINJIN),  # (this one's last six start at the ninth)
        ("MWW40Y", JINJIN),
        ("JY000000000001", KANGRUN),  # a licence number
    ],
)
def test_a_name_asked_for_the_way_people_type_it_finds_the_record(demo, page, query, subject):
    found = ask(page, demo["base"], query)
    assert subject in [r["subject"] for r in found], (query, page.inner_text("#search-status"))
    assert found[0]["subject"] == subject
    assert page.errors == []


@pytest.mark.browser
@pytest.mark.parametrize(
    ("query", "shown"),
    [
        ("虚假宣传", "虚假宣传"),
        ("拖欠中小企业账款", "拖欠中小企业账款"),
        ("诚信示范企业", "诚信示范企业"),
    ],
)
def test_what_was_done_or_an_honour_finds_its_records_and_the_result_says_it(
    demo, page, query, shown
):
    found = ask(page, demo["base"], query)
    assert found and all(shown in r["text"] for r in found), query
    # The matched characters are highlighted, as text.
    assert shown[:2] in "".join(page.locator("#results mark").all_inner_texts())


@pytest.mark.browser
@pytest.mark.parametrize(
    ("typo", "meant", "subject"),
    [("金锦示列物流", "金锦示例物流", JINJIN), ("康闰", "康润", KANGRUN)],
)
def test_a_typo_is_answered_with_a_suggestion_whose_results_hold_the_record(
    demo, page, typo, meant, subject
):
    ask(page, demo["base"], typo)
    assert "您是不是要找" in page.inner_text("#results .suggestion")
    links = page.locator("#results .suggestion a")
    assert meant in links.all_inner_texts()
    link = links.filter(has_text=meant).first
    page.evaluate("document.body.removeAttribute('data-search-done')")
    link.click()
    page.wait_for_selector("body[data-search-done]", timeout=10_000)
    assert f"q={quote(meant)}" in page.url
    assert subject in [r["subject"] for r in results(page)]
    assert page.errors == []


@pytest.mark.browser
def test_two_subjects_of_one_name_show_two_codes_and_two_archives(demo, page):
    found = ask(page, demo["base"], JINJIN)
    same = [r for r in found if r["subject"] == JINJIN]
    assert {r["code"] for r in same} == {"91320922MWW40Y37GW", "91320925QY7L1W53BN"}
    assert len({r["archive"] for r in same}) == 2
    assert all("同名主体" in r["text"] for r in same)
    for archive in {r["archive"] for r in same}:
        with urllib.request.urlopen(archive) as response:  # the archive page exists
            body = response.read().decode("utf-8")
        assert JINJIN in body
    # Each result says what the record is about (its summary line), as the home page does.
    assert all("罚款 · 虚假宣传" in r["text"] for r in same)


@pytest.mark.browser
def test_a_filter_left_on_is_shown_and_can_be_removed(demo, page):
    base = demo["base"]
    assert ask(page, base, "金锦", kind="penalty")
    page.fill("#q", "康润")
    page.press("#q", "Enter")
    page.wait_for_function(
        "() => document.getElementById('search-status').textContent.includes('康润')"
    )
    status = page.inner_text("#search-status")
    assert "已筛选：行政处罚" in status
    assert page.inner_text("body").count("没有找到") == 1  # one message, not two
    chip = page.get_by_role("button", name="取消筛选类别：行政处罚")
    assert chip.is_visible()
    page.evaluate("document.body.removeAttribute('data-search-done')")
    page.get_by_role("button", name="在全部类别和年份中查找").click()
    page.wait_for_selector("body[data-search-done]", timeout=10_000)
    assert KANGRUN in [r["subject"] for r in results(page)]
    assert "kind=" not in page.url
    assert page.locator("#f-kind").input_value() == ""


@pytest.mark.browser
def test_sorting_by_date_sorts_by_date(demo, page):
    base = demo["base"]
    ask(page, base, "示例", sort="date")
    times = page.locator("#results time").evaluate_all(
        "ts => ts.map(t => t.getAttribute('datetime'))"
    )
    assert len(times) > 5 and times == sorted(times, reverse=True)


@pytest.mark.browser
def test_the_page_fetches_the_gzip_twins_and_the_plain_files_where_it_cannot_inflate(demo, page):
    ask(page, demo["base"], "滨海金锦")
    fetched = page.evaluate(
        "performance.getEntriesByType('resource').map(e => e.name).filter(n => n.includes('/search/'))"
    )
    assert fetched and all(name.endswith(".json.gz") for name in fetched), fetched
    page.add_init_script("delete window.DecompressionStream")  # an older browser
    found = ask(page, demo["base"], "滨海金锦")
    assert JINJIN in [r["subject"] for r in found]
    fetched = page.evaluate(
        "performance.getEntriesByType('resource').map(e => e.name).filter(n => n.includes('/search/'))"
    )
    assert fetched and all(name.endswith(".json") for name in fetched), fetched
    assert page.errors == []


@pytest.mark.browser
def test_a_query_of_capped_words_says_it_shows_only_the_newest_and_shows_them_newest_first(
    capped_demo, page
):
    ask(page, capped_demo["base"], "盐城")
    status = page.inner_text("#search-status")
    assert "只显示最新的部分结果" in status, status
    times = page.locator("#results time").evaluate_all(
        "ts => ts.map(t => t.getAttribute('datetime'))"
    )
    assert len(times) >= 3 and times == sorted(times, reverse=True)
    ask(page, capped_demo["base"], "金锦示例物流")  # 金锦 is not capped: the whole answer
    assert "只显示最新" not in page.inner_text("#search-status")
    assert page.errors == []

"""First queries of every type a citizen types (issue 28) against a built site, in headless Chromium,
each in a fresh browser context (cold cache), against ``python -m http.server`` (no compression).

    python bench/queries.py bench/runs/site-1000000/output --per-type 12

For each query type: how many of the picked records were found (the record's page among the
first page of results, and within the first ten pages: a synthetic brand such as 利永 is shared by
hundreds of companies; a typo counts as found on page 1 when a 您是不是要找 link offers what was
meant, and within ten pages when that link's results show the record), and the first query's bytes
(everything fetched from pressing Enter to results or suggestion shown) and milliseconds.
Records are published penalties (and licences, for licence numbers), picked with a fixed seed.
Prints a Markdown table; ``--json FILE`` keeps every query. Figures: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import REPO, machine, static_server  # noqa: E402

CODE = "行政相对人代码_1(统一社会信用代码)"
COUNTY_SUFFIXES = "区县市"


class Case(NamedTuple):
    type: str
    query: str
    record: str  # the record id whose page must be among the results
    href: str
    meant: str = ""  # for a typo: what was meant (found when a 您是不是要找 link offers it)


def _href(kind: str, rid: str) -> str:
    return f"../records/{kind}/{rid[:2]}/{rid}.html"


def _parts(name: str) -> tuple[str, str, str] | None:
    """(county, brand, trade) of a synthetic company name 盐城市<county><brand>示例<trade>…."""
    if not name.startswith("盐城市") or "示例" not in name:
        return None
    rest = name[3:]
    cut = next((i for i, c in enumerate(rest) if c in COUNTY_SUFFIXES), -1)
    if cut < 1:
        return None
    brand = rest[cut + 1 : rest.index("示例")]
    trade = rest[rest.index("示例") + 2 :][:2]
    return (rest[:cut], brand, trade) if len(brand) == 2 and len(trade) == 2 else None


def _typo(brand: str, names: set[str]) -> str | None:
    """The brand with its second character swapped for a common homophone that no name uses."""
    from pypinyin import Style, pinyin

    from generator.homophones import _common_characters

    used = set("".join(names))
    readings = set(pinyin(brand[1], style=Style.NORMAL, heteronym=True)[0])
    for char in _common_characters():
        if char not in used and readings & set(pinyin(char, style=Style.NORMAL)[0]):
            return brand[0] + char
    return None


def pick(out: Path, per_type: int, seed: int = 3) -> list[Case]:
    penalties = json.loads((out / "downloads" / "penalty.json").read_text(encoding="utf-8"))[
        "records"
    ]
    licences = json.loads((out / "downloads" / "license.json").read_text(encoding="utf-8"))[
        "records"
    ]
    rng = random.Random(seed)
    names = {r["行政相对人名称"] for r in penalties} | {r["行政相对人名称"] for r in licences}
    companies = [r for r in penalties if _parts(r["行政相对人名称"]) and len(r.get(CODE, "")) == 18]
    chosen = rng.sample(companies, min(per_type, len(companies)))
    cases: list[Case] = []
    for row in chosen:
        name, code, rid = row["行政相对人名称"], row[CODE], row["记录编号"]
        county, brand, trade = _parts(name)  # type: ignore[misc]
        href = _href("penalty", rid)
        docno = row["行政处罚决定书文号"].replace("〔", "[").replace("〕", "]")
        typo = _typo(brand, names)
        for kind, query in (
            ("name core, 4 characters", brand + "示例"),
            ("name fragment, 3 characters", brand + "示"),
            ("name in order with a gap", brand + trade),
            ("county + name, words dropped", county + brand),
            ("盐城 + name", "盐城" + brand),
            ("full name", name),
            ("typo (same pinyin)", typo or ""),
            ("credit code", code),
            ("credit code, first 10", code[:10]),
            ("credit code, last 6", code[-6:]),
            ("credit code, from the 9th", code[8:]),
            ("credit code, 8 from the 6th", code[5:13]),
            ("document number, [] brackets", docno),
        ):
            if query:
                cases.append(Case(kind, query, rid, href, brand if query == typo else ""))
    for row in rng.sample(licences, min(per_type, len(licences))):
        if row.get("许可编号"):
            rid = row["记录编号"]
            cases.append(Case("licence number", row["许可编号"], rid, _href("license", rid)))
    return cases


# Bytes of the resources fetched since ``t0`` (ms since the epoch): each page and web worker keeps
# its own resource timings, counted from its own time origin.
_FETCHED_SINCE = (
    "t0 => performance.getEntriesByType('resource')"
    ".filter(e => performance.timeOrigin + e.startTime >= t0)"
    ".reduce((a, e) => a + e.transferSize, 0)"
)


def first_query(page, query: str) -> tuple[float, int]:
    """Type ``query`` into a loaded search page and press Enter: (milliseconds until the results
    are shown, bytes fetched meanwhile by the page and its web workers)."""
    t0 = page.evaluate("performance.timeOrigin + performance.now()")
    page.fill("#q", query)
    started = time.perf_counter()
    page.press("#q", "Enter")
    page.wait_for_selector("body[data-search-done]", timeout=60_000)
    elapsed_ms = (time.perf_counter() - started) * 1000
    fetched = sum(scope.evaluate(_FETCHED_SINCE, t0) for scope in (page, *page.workers))
    return elapsed_ms, fetched


PAGES = 10  # results pages looked through for a record shared by many names' fragment


def _follow(page, link) -> None:
    page.evaluate("document.body.removeAttribute('data-search-done')")
    link.click()
    page.wait_for_selector("body[data-search-done]", timeout=60_000)


def _page_of(page, href: str) -> int | None:
    """The results page (1–PAGES) that shows ``href``, following 下一页; None if none does."""
    for number in range(1, PAGES + 1):
        if href in page.evaluate(_RESULTS):
            return number
        following = page.locator("#results .pager a", has_text="下一页")
        if not following.count():
            return None
        _follow(page, following.first)
    return None


_RESULTS = (
    "() => Array.from(document.querySelectorAll('#results a.result-title'))"
    ".map(a => a.getAttribute('href'))"
)


def cold_pages(folder: Path, cases: list[Case]) -> Iterator[tuple[str, Any, Case]]:
    """(base URL, page, case) for each case: ``folder`` served by a static server, each page in a
    fresh Chromium context (a cold cache: a first query), closed when the next is asked for."""
    sys.path.insert(0, str(REPO))
    from playwright.sync_api import sync_playwright

    from tests.conftest import CHROMIUM, CHROMIUM_ARGS

    with static_server(folder) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for case in cases:
            context = browser.new_context()
            yield base, context.new_page(), case
            context.close()
        browser.close()


def measure(out: Path, cases: list[Case]) -> list[dict]:
    rows = []
    for base, page, case in cold_pages(out, cases):
        page.goto(f"{base}/search/index.html")
        page.wait_for_function("() => document.getElementById('search-filters')")
        elapsed_ms, fetched = first_query(page, case.query)
        suggestions = page.locator("#results .suggestion a").all_inner_texts()
        on_page = _page_of(page, case.href)
        for text in suggestions if on_page is None else ():  # each 您是不是要找 link in turn
            page.goto(f"{base}/search/index.html?q={quote(case.query)}")
            page.wait_for_selector("body[data-search-done]", timeout=60_000)
            _follow(page, page.locator("#results .suggestion a", has_text=text).first)
            on_page = _page_of(page, case.href)
            if on_page is not None:
                break
        found = on_page == 1 or (bool(case.meant) and case.meant in suggestions)
        rows.append(
            {
                **case._asdict(),
                "found": found,
                "page": on_page,
                "suggestions": suggestions,
                "ms": round(elapsed_ms),
                "kib": round(fetched / 1024, 1),
            }
        )
        print(
            f"  {case.type} {case.query!r}: "
            f"{'found on page ' + str(on_page) if on_page else 'MISSED'}, "
            f"{elapsed_ms:.0f} ms, {fetched / 1024:.1f} KiB",
            file=sys.stderr,
        )
    return rows


def table(rows: list[dict]) -> str:
    lines = [
        f"| query type | found on page 1 (within {PAGES} pages) "
        "| first-query KiB: median, max | ms: median, max |",
        "|---|---|---|---|",
    ]
    for kind in dict.fromkeys(r["type"] for r in rows):
        group = [r for r in rows if r["type"] == kind]
        kib, ms = [r["kib"] for r in group], [r["ms"] for r in group]
        within = sum(r["page"] is not None for r in group)
        lines.append(
            f"| {kind} | {sum(r['found'] for r in group)}/{len(group)} ({within}) | "
            f"{statistics.median(kib):.0f}, {max(kib):.0f} | "
            f"{statistics.median(ms):.0f}, {max(ms):.0f} |"
        )
    every = [r["kib"] for r in rows]
    lines.append(
        f"| every query | {sum(r['found'] for r in rows)}/{len(rows)} | "
        f"{statistics.median(every):.0f}, {max(every):.0f} | "
        f"{statistics.median(r['ms'] for r in rows):.0f}, {max(r['ms'] for r in rows):.0f} |"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output", type=Path, help="a built site's output folder")
    parser.add_argument("--per-type", type=int, default=12, help="records per query type")
    parser.add_argument("--json", type=Path, help="write every query's figures here")
    args = parser.parse_args()
    rows = measure(args.output, pick(args.output, args.per_type))
    if args.json:
        args.json.write_text(
            json.dumps({"machine": machine(), "queries": rows}, ensure_ascii=False, indent=1),
            encoding="utf-8",
        )
    print(f"machine: {machine()}\n")
    print(table(rows))


if __name__ == "__main__":
    main()

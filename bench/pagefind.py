"""Our search against Pagefind on the same record pages (issue 28): the first query of every query type
(found or not, bytes, ms), index build time and index size, side by side.

    python bench/pagefind.py bench/runs/site-10000/output --per-type 12

The queries are those of bench/queries.py (``pick``), on a site built by bench/site.py. Ours:
``bench.queries.measure`` on the built output, and the production code's ``build_search`` timed on
the site's published records in one process (the site build writes the same segments in its
workers). Pagefind (``make install-bench``): its extended binary indexes the site's record pages
(``output/records/**.html``, hard-linked into a temporary folder beside the output) with
``--force-language zh --root-selector main`` (the record, without the site's header and footer).
A minimal search page calls its JS API at load (``init``) and on Enter runs ``pagefind.search(q)``
and loads the data of the first 20 results, a results page. A record counts as found when its page
is among those 20; the rank among all of Pagefind's results is read from the bundle's fragment
files (result id → page URL), not fetched. Every query is a first query in a fresh browser context,
timed and counted by ``bench.queries.first_query`` (the page's and its web worker's fetches),
against ``python -m http.server`` (no compression; Pagefind's index files are gzipped by
Pagefind itself, ours are not).

Prints Markdown: one table by query type and one of index build, size and page load.
``--json FILE`` keeps every query.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import REPO, machine, remove_tree, static_server, timed  # noqa: E402
from bench.queries import Case, cold_pages, first_query, measure, pick  # noqa: E402

PAGE_SIZE = 20  # results on one results page, ours and Pagefind's
PAGEFIND_ARGS = ["--glob", "records/**/*.html", "--force-language", "zh", "--root-selector", "main"]

# A results page on Pagefind's JS API: pagefind.js is imported and initialised when the page loads
# (filters() returns once the index metadata and the WebAssembly are loaded), like our search page
# loads its manifests; the first query then fetches only what the query needs.
SEARCH_PAGE = """<!DOCTYPE html>
<html lang="zh-CN">
<head><meta charset="utf-8"><title>Pagefind</title></head>
<body>
<form id="search"><input id="q" type="search" autocomplete="off"></form>
<ol id="results"></ol>
<script type="module">
const pagefind = await import("./pagefind/pagefind.js");
await pagefind.init();
await pagefind.filters();
document.body.setAttribute("data-ready", "");
document.getElementById("search").addEventListener("submit", async (event) => {
  event.preventDefault();
  const search = await pagefind.search(document.getElementById("q").value);
  const shown = await Promise.all(search.results.slice(0, PAGE_SIZE).map((r) => r.data()));
  document.getElementById("results").replaceChildren(...shown.map((data) => {
    const item = document.createElement("li");
    const link = document.createElement("a");
    link.href = data.url;
    link.textContent = data.meta.title;
    item.append(link);
    return item;
  }));
  window.resultIds = search.results.map((r) => r.id);
  document.body.setAttribute("data-search-done", "");
});
</script>
</body>
</html>
""".replace("PAGE_SIZE", str(PAGE_SIZE))


def pagefind_binary() -> str:
    try:
        from pagefind_bin_extended import get_executable
    except ImportError:
        raise SystemExit("Pagefind is not installed: run `make install-bench`") from None
    return str(get_executable())


@contextmanager
def work_folder(out: Path) -> Iterator[Path]:
    """A temporary folder beside the output (so that the record pages can be hard-linked), or in
    the system's temporary folder when the output's parent is not writable."""
    try:
        folder = Path(tempfile.mkdtemp(prefix=".pagefind-", dir=out.resolve().parent))
    except OSError:
        folder = Path(tempfile.mkdtemp(prefix="pagefind-"))
    try:
        yield folder
    finally:
        remove_tree(folder)


def link_records(out: Path, folder: Path) -> int:
    """Hard-link (or copy) every record page of ``out`` into ``folder``, keeping their paths."""
    count = 0
    for page in (out / "records").rglob("*.html"):
        target = folder / page.relative_to(out)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(page, target)
        except OSError:
            shutil.copy2(page, target)
        count += 1
    return count


def tree_size(folder: Path) -> tuple[int, int]:
    files = [p for p in folder.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def build_pagefind(folder: Path, runs: int) -> dict:
    """Index ``folder`` ``runs`` times, each into a fresh bundle ``folder/pagefind``."""
    binary = pagefind_binary()
    version = subprocess.run(
        [binary, "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    walls, cpus, peaks = [], [], []
    for run in range(runs):
        remove_tree(folder / "pagefind")
        wall, peak, _proc, user, system = timed(
            [binary, "--site", ".", *PAGEFIND_ARGS, "--quiet"], cwd=folder
        )
        walls.append(wall)
        cpus.append(user + system)
        peaks.append(peak)
        print(
            f"  Pagefind build {run + 1}/{runs}: {wall:.1f} s, CPU {user + system:.1f} s, "
            f"peak {peak:.0f} MiB",
            file=sys.stderr,
        )
    files, size = tree_size(folder / "pagefind")
    return {
        "version": version,
        "runs": [round(w, 2) for w in walls],
        "seconds": round(statistics.median(walls), 2),
        "cpu_s": round(statistics.median(cpus), 2),
        "peak_mib": round(max(peaks)),
        "files": files,
        "bytes": size,
    }


def fragment_urls(bundle: Path) -> dict[str, str]:
    """Pagefind result id → page URL, from the bundle's fragment files (gzipped, ``pagefind_dcd``
    then the fragment's JSON): what ``result.data()`` would fetch, read without fetching it."""
    urls = {}
    for path in (bundle / "fragment").glob("*.pf_fragment"):
        data = gzip.decompress(path.read_bytes()).removeprefix(b"pagefind_dcd")
        urls[path.name.removesuffix(".pf_fragment")] = json.loads(data)["url"]
    return urls


def record_of(url: str) -> str:
    """The record id of a record page's URL (``…/records/<kind>/<id[:2]>/<id>.html``)."""
    return url.rsplit("/", 1)[-1].removesuffix(".html")


_SHOWN = (
    "() => Array.from(document.querySelectorAll('#results a')).map(a => a.getAttribute('href'))"
)


def measure_pagefind(folder: Path, cases: list[Case], urls: dict[str, str]) -> list[dict]:
    rows = []
    for base, page, case in cold_pages(folder, cases):
        page.goto(f"{base}/search.html")
        page.wait_for_selector("body[data-ready]", timeout=60_000)
        elapsed_ms, fetched = first_query(page, case.query)
        found = case.record in {record_of(u) for u in page.evaluate(_SHOWN)}
        ids = page.evaluate("window.resultIds")
        rank = next(
            (i + 1 for i, rid in enumerate(ids) if record_of(urls[rid]) == case.record), None
        )
        rows.append(
            {
                **case._asdict(),
                "found": found,
                "rank": rank,
                "results": len(ids),
                "ms": round(elapsed_ms),
                "kib": round(fetched / 1024, 1),
            }
        )
        print(
            f"  Pagefind {case.type} {case.query!r}: {'found' if found else 'MISSED'} "
            f"(rank {rank} of {len(ids)}), {elapsed_ms:.0f} ms, {fetched / 1024:.1f} KiB",
            file=sys.stderr,
        )
    return rows


# What a search page fetches before the first query, without its HTML, style sheets and images:
# the search's scripts and the index files it loads at start (both engines).
_LOADED = (
    "() => performance.getEntriesByType('resource')"
    ".filter(e => !/\\.(css|svg|png|ico|woff2?)(\\?|$)/.test(e.name))"
    ".reduce((a, e) => a + e.transferSize, 0)"
)


def page_loads(out: Path, folder: Path) -> dict[str, float]:
    """KiB each search page fetches before the first query (a fresh browser context each)."""
    from playwright.sync_api import sync_playwright

    from tests.conftest import CHROMIUM, CHROMIUM_ARGS

    loaded = {}
    with (
        static_server(out) as ours,
        static_server(folder) as theirs,
        sync_playwright() as p,
    ):
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for engine, url, ready in (
            ("ours", f"{ours}/search/index.html", "#search-filters"),
            ("pagefind", f"{theirs}/search.html", "body[data-ready]"),
        ):
            context = browser.new_context()
            page = context.new_page()
            page.goto(url)
            page.wait_for_selector(ready, state="attached", timeout=60_000)
            fetched = sum(scope.evaluate(_LOADED) for scope in (page, *page.workers))
            loaded[engine] = round(fetched / 1024, 1)
            context.close()
        browser.close()
    return loaded


def build_date(site: Path) -> dt.date:
    """The day the site was last built for (its newest build report's ``today``)."""
    reports = sorted((site / "reports" / "build").glob("*.json"))
    if not reports:
        raise SystemExit(f"no build report in {site / 'reports' / 'build'}: pass --today")
    return dt.date.fromisoformat(json.loads(reports[-1].read_text(encoding="utf-8"))["today"])


def build_ours(site: Path, today: dt.date, runs: int) -> dict:
    """Time the production code's ``build_search`` on the site's published records, ``runs``
    times, each into a fresh temporary folder; the publication state is computed once, untimed."""
    from generator.batches import BatchStore
    from generator.publication import compute_state
    from generator.schema import KINDS
    from generator.search import build_search
    from generator.settings import load_config

    cfg = load_config(site)
    state = compute_state(BatchStore(site, cfg), cfg, today, strict=False)
    records = [r for kind in state.published.values() for r in kind]
    authorities = [
        {"name": name, "kind": KINDS[kind].label, "count": 1, "url": "index.html"}
        for kind, name in sorted(
            {(r.kind, str(r.brief.get(KINDS[r.kind].authority, ""))) for r in records}
        )
    ]
    walls, cpus = [], []
    for run in range(runs):
        with tempfile.TemporaryDirectory() as scratch:
            started, cpu = time.perf_counter(), time.process_time()
            build_search(Path(scratch), records, authorities, cfg)
            walls.append(time.perf_counter() - started)
            cpus.append(time.process_time() - cpu)
        print(
            f"  our index build {run + 1}/{runs}: {walls[-1]:.1f} s, CPU {cpus[-1]:.1f} s",
            file=sys.stderr,
        )
    return {
        "records": len(records),
        "runs": [round(w, 2) for w in walls],
        "seconds": round(statistics.median(walls), 2),
        "cpu_s": round(statistics.median(cpus), 2),
    }


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.0f}, {max(values):.0f}"


def table(ours: list[dict], theirs: list[dict]) -> str:
    """Both engines by query type: found (and Pagefind's found at any rank), KiB, ms."""
    lines = [
        "| query type | found: ours | found: Pagefind (any rank) | KiB median, max: ours "
        "| KiB: Pagefind | ms median, max: ours | ms: Pagefind |",
        "|---|---|---|---|---|---|---|",
    ]
    kinds = list(dict.fromkeys(r["type"] for r in ours))
    for kind in [*kinds, None]:
        a = [r for r in ours if kind in (None, r["type"])]
        b = [r for r in theirs if kind in (None, r["type"])]
        lines.append(
            f"| {kind or 'every query'} | {sum(r['found'] for r in a)}/{len(a)} | "
            f"{sum(r['found'] for r in b)}/{len(b)} ({sum(bool(r['rank']) for r in b)}) | "
            f"{_spread([r['kib'] for r in a])} | {_spread([r['kib'] for r in b])} | "
            f"{_spread([r['ms'] for r in a])} | {_spread([r['ms'] for r in b])} |"
        )
    return "\n".join(lines)


def summary(ours: dict, theirs: dict) -> str:
    """Index build, index size and page load, both engines."""
    mib = 2**20
    runs = len(theirs["runs"])
    return "\n".join(
        [
            f"| | ours | {theirs['version']} (extended) |",
            "|---|---|---|",
            f"| pages or records indexed | {ours['records']:,} records | {theirs['pages']:,} pages |",
            f"| index build, median of {runs}: wall (CPU) | {ours['seconds']:.1f} s "
            f"({ours['cpu_s']:.1f} s), one process | {theirs['seconds']:.1f} s "
            f"({theirs['cpu_s']:.1f} s), peak {theirs['peak_mib']:,} MiB |",
            f"| index on disk | {ours['files']:,} files, {ours['bytes'] / mib:.1f} MiB "
            f"(`output/search`) | {theirs['files']:,} files, {theirs['bytes'] / mib:.1f} MiB "
            "(the bundle) |",
            f"| search page before the first query (scripts, index files) | "
            f"{ours['page_kib']:.0f} KiB | {theirs['page_kib']:.0f} KiB |",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Installs nothing: `make install-bench` installs Pagefind.",
    )
    parser.add_argument("output", type=Path, help="a built site's output folder (bench/site.py)")
    parser.add_argument("--per-type", type=int, default=12, help="records per query type")
    parser.add_argument(
        "--builds", type=int, default=3, help="index builds timed per engine (the median is shown)"
    )
    parser.add_argument(
        "--today",
        type=dt.date.fromisoformat,
        help="the site's build date (default: its newest build report's)",
    )
    parser.add_argument("--json", type=Path, help="write every figure and query here")
    args = parser.parse_args()
    out = args.output.resolve()
    site = out.parent
    sys.path.insert(0, str(REPO))
    cases = pick(out, args.per_type)
    with work_folder(out) as folder:
        pages = link_records(out, folder)
        print(f"Pagefind: {pages} record pages in {folder}", file=sys.stderr)
        theirs = build_pagefind(folder, args.builds)
        theirs["pages"] = pages
        (folder / "search.html").write_text(SEARCH_PAGE, encoding="utf-8")
        pagefind_rows = measure_pagefind(folder, cases, fragment_urls(folder / "pagefind"))
        our_rows = measure(out, cases)
        loaded = page_loads(out, folder)
    theirs["page_kib"] = loaded["pagefind"]
    ours = build_ours(site, args.today or build_date(site), args.builds)
    ours["files"], ours["bytes"] = tree_size(out / "search")
    ours["page_kib"] = loaded["ours"]
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "machine": machine(),
                    "ours": {**ours, "queries": our_rows},
                    "pagefind": {**theirs, "queries": pagefind_rows},
                },
                ensure_ascii=False,
                indent=1,
            ),
            encoding="utf-8",
        )
    print(f"machine: {machine()}\n")
    print(table(our_rows, pagefind_rows))
    print()
    print(summary(ours, theirs))


if __name__ == "__main__":
    main()

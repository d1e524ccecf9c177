"""End-to-end benchmark: generate N records across all kinds, ingest, approve, build, then query the
search page in headless Chromium against a plain local static server.

    python bench/site.py --records 10000
    python bench/site.py --records 100000 --queries 5

Prints wall time per stage, peak RSS (process tree), output size and file count, and for each query:
bytes transferred, milliseconds to first results and JS heap. Results go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    DISCLOSE,
    REPO,
    fresh_site,
    machine,
    refresh_site,
    static_server,
    timed,
    trust_bench_editor,
)  # noqa: E402
from generator.synthetic import synth_rows, write_export  # noqa: E402

TODAY = dt.date(2026, 11, 20)
MIX = {
    "penalty": 0.35,
    "license": 0.50,
    "judgment": 0.02,
    "pledge": 0.08,
    "dishonesty": 0.02,
    "commendation": 0.03,
}


def generate(site: Path, total: int) -> list[Path]:
    files = []
    for kind, share in MIX.items():
        count = max(1, round(total * share))
        path = site / "exports" / f"{kind}.csv"
        write_export(
            path,
            kind,
            synth_rows(kind, count, seed=7, today=TODAY, max_days=330),
            encoding="gb18030",
        )
        files.append(path)
    return files


def stage(label: str, cmd: list[str], cwd: Path, results: dict) -> str:
    wall, rss, proc, user, system = timed(cmd, cwd=cwd, env={**os.environ, "DISCLOSE_TIMING": "1"})
    results[label] = {
        "seconds": round(wall, 1),
        "peak_rss_mib": round(rss),
        "cpu_user_s": round(user, 1),
        "cpu_system_s": round(system, 1),
    }
    print(
        f"  {label}: {wall:.1f} s, peak RSS {rss:.0f} MiB, CPU {user:.1f} s user + {system:.1f} s system",
        file=sys.stderr,
    )
    if "build" in cmd or "verify" in cmd:
        print(proc.stderr.rstrip(), file=sys.stderr)  # the command's own stage timings
    return proc.stdout


def tree_size(root: Path) -> tuple[int, int]:
    files = [p for p in root.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def pick_queries(out: Path, count: int) -> list[tuple[str, str]]:
    """Real queries against records that are published: name fragments, codes, document numbers."""
    import random

    rows = json.loads((out / "downloads" / "penalty.json").read_text(encoding="utf-8"))["records"]
    rng = random.Random(3)
    chosen = rng.sample(rows, min(count, len(rows)))
    queries = []
    for row in chosen:
        name = row["行政相对人名称"]
        county_end = max(name.find("区"), name.find("县"), name.find("市", 3))
        queries.append(("name fragment", name[county_end + 1 : county_end + 3]))
        if row.get("行政相对人代码_1(统一社会信用代码)"):
            queries.append(("credit code", row["行政相对人代码_1(统一社会信用代码)"]))
        queries.append(
            ("document number", row["行政处罚决定书文号"].replace("〔", "[").replace("〕", "]"))
        )
    return queries


def measure_queries(out: Path, queries: list[tuple[str, str]]) -> list[dict]:
    sys.path.insert(0, str(REPO))
    from playwright.sync_api import sync_playwright

    from bench.queries import first_query
    from tests.conftest import CHROMIUM, CHROMIUM_ARGS

    results = []
    with static_server(out) as base, sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS + ["--enable-precise-memory-info"]
        )
        for label, query in queries:
            context = browser.new_context()  # cold cache: a first query
            page = context.new_page()
            cdp = context.new_cdp_session(page)
            cdp.send("Performance.enable")
            page.goto(f"{base}/search/index.html")
            page.wait_for_function("() => document.getElementById('search-filters')")
            page_bytes = page.evaluate(
                "performance.getEntriesByType('navigation')[0].transferSize + "
                "performance.getEntriesByType('resource').reduce((a, e) => a + "
                "e.transferSize, 0)"
            )
            elapsed_ms, query_bytes = first_query(page, query)
            hits = page.locator("#results ol.results li").count()
            heap = next(
                m["value"]
                for m in cdp.send("Performance.getMetrics")["metrics"]
                if m["name"] == "JSHeapUsedSize"
            )
            results.append(
                {
                    "kind": label,
                    "query": query,
                    "hits": hits,
                    "ms": round(elapsed_ms),
                    "query_kib": round(query_bytes / 1024, 1),
                    "page_kib": round(page_bytes / 1024, 1),
                    "heap_mb": round(heap / 2**20, 1),
                }
            )
            print(
                f"  query {label} {query!r}: {hits} hits, {elapsed_ms:.0f} ms, "
                f"{query_bytes / 1024:.1f} KiB (+{page_bytes / 1024:.0f} KiB page), heap "
                f"{heap / 2**20:.1f} MB",
                file=sys.stderr,
            )
            context.close()
        browser.close()
    return results


def incremental_steps(site: Path, records: int, results: dict, verify: bool = False) -> None:
    """The nightly cases of issue 5 on top of the full build: nothing changed; one new batch of
    5,000 recent penalties; one withdrawal. Each is ``disclose build`` updating ``output`` in
    place. The batches it adds are removed again and the publication log is put back, so a kept
    site stays reusable (its output's ``log-head.json`` goes too: the log no longer extends it)."""
    added: list[str] = []
    log = site / "content" / "batches" / "publication-log.jsonl"
    log_before = log.read_bytes()
    steps = results["incremental"] = {}

    def build(label: str) -> None:
        out = stage(label, [DISCLOSE, "build", "--today", TODAY.isoformat()], site, steps)
        steps[label]["summary"] = out.strip().splitlines()[-1]
        print("  " + steps[label]["summary"], file=sys.stderr)
        if verify:  # a nightly run: build, verify, deploy (to a folder target)
            stage(
                f"verify after {label}",
                [DISCLOSE, "verify", "output", "--today", TODAY.isoformat()],
                site,
                steps,
            )
            stage(f"deploy after {label}", [str(REPO / ".ci" / "deploy"), "output"], site, steps)
            wait_for_standby(site, steps, label)

    try:
        build("no change")
        size = min(5_000, max(50, records // 200))
        export = site / "exports" / "penalty-nightly.csv"
        # A department's nightly batch: decided in the last two weeks, serial numbers not yet used.
        write_export(
            export,
            "penalty",
            synth_rows("penalty", size, seed=99, today=TODAY, start=10_000_001, max_days=14),
            encoding="gb18030",
        )
        out = stage(
            f"ingest {size} new penalties",
            [DISCLOSE, "ingest", str(export), "--kind", "penalty", "--today", TODAY.isoformat()],
            site,
            steps,
        )
        added.append(out.strip().splitlines()[-1].removeprefix("batch: "))
        stage(
            "approve the new batch",
            [DISCLOSE, "approve", added[-1], "--editor", "基准测试"],
            site,
            steps,
        )
        build(f"{size} new records")
        docno = _published_docno(site)
        out = stage(
            "withdraw one record",
            [
                DISCLOSE,
                "withdraw",
                docno,
                "--kind",
                "penalty",
                "--reason",
                "信用修复",
                "--editor",
                "基准测试乙",
            ],
            site,
            steps,
        )
        added.append(out.strip().splitlines()[-1].removeprefix("batch: "))
        stage(
            "approve the withdrawal",
            [DISCLOSE, "approve", added[-1], "--editor", "基准测试"],
            site,
            steps,
        )
        build("one withdrawal")
        if verify:  # the urgent-withdrawal pipeline: build + verify + deploy to a folder target
            steps["urgent withdrawal pipeline"] = {
                "seconds": round(
                    sum(
                        steps[label]["seconds"]
                        for label in (
                            "one withdrawal",
                            "verify after one withdrawal",
                            "deploy after one withdrawal",
                        )
                    ),
                    1,
                )
            }
            print(
                f"  urgent withdrawal pipeline: {steps['urgent withdrawal pipeline']['seconds']} s",
                file=sys.stderr,
            )
    finally:
        for batch in added:
            shutil.rmtree(site / "content" / "batches" / batch, ignore_errors=True)
        log.write_bytes(log_before)
        (site / "output" / "log-head.json").unlink(missing_ok=True)
        # Its shadow published the longer log too
        shutil.rmtree(site / ".verify", ignore_errors=True)


def wait_for_standby(site: Path, steps: dict, label: str) -> None:
    """Wait until the folder deploy's detached process has made the next deploy's hard-link copy
    (nightly runs are hours apart; here the next step would otherwise share the disk with it)."""
    live = site / "deployed"
    started = time.monotonic()
    while time.monotonic() - started < 1800:
        if (
            live.is_symlink()
            and (
                live.parent / f".{live.name}.releases" / f".standby-{live.resolve().name}"
            ).is_dir()
        ):
            break
        time.sleep(0.5)
    steps[f"deploy after {label}"]["stand-by copy ready after s"] = round(
        time.monotonic() - started, 1
    )


def _published_docno(site: Path) -> str:
    """The 决定书文号 of a published penalty from the middle of the first penalty batch."""
    from generator.sitemodel import record_url

    for batch in sorted((site / "content" / "batches").iterdir()):
        manifest = batch / "manifest.json"
        if (
            not manifest.exists()
            or json.loads(manifest.read_text(encoding="utf-8"))["kind"] != "penalty"
        ):
            continue
        with (batch / "records.jsonl").open(encoding="utf-8") as fh:
            lines = [line for _, line in zip(range(2_000), fh)]
        for line in lines[len(lines) // 2 :]:
            record = json.loads(line)
            if (site / "output" / record_url("penalty", record["id"])).exists():
                return record["fields"]["行政处罚决定书文号"]
    raise SystemExit("no published penalty found to withdraw")


def baseline_ratios(results: dict) -> dict:
    """Progress as ratios on a noisy machine: our build and first query against the naive ones."""
    from bench.baselines import articles, monolithic

    naive_build, naive_search = articles(2_000), monolithic(10_000)
    ours_per_s = results["published"] / results["build"]["seconds"]
    ratios = {
        "pelican_articles": naive_build,
        "monolithic_lunr": naive_search,
        "build_records_per_s_ratio": round(ours_per_s / naive_build["records_per_s"], 1),
    }
    if results.get("query_summary"):
        ratios["first_query_bytes_ratio"] = round(
            naive_search["first_query_kib"] / results["query_summary"]["max_kib"], 1
        )
    print(
        f"  baselines: build {ratios['build_records_per_s_ratio']}× the records/s of Pelican Articles at 2,000;"
        f" first query {ratios.get('first_query_bytes_ratio', '?')}× fewer bytes than one lunr index at 10,000",
        file=sys.stderr,
    )
    return ratios


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument(
        "--queries", type=int, default=3, help="records to query for (3 queries each)"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the site folder under bench/runs/"
    )
    parser.add_argument(
        "--baselines",
        action="store_true",
        help="also measure the naive baselines (Pelican Articles at 2,000 records, one lunr "
        "index at 10,000) and print ratios",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="reuse a kept site's approved batches (skip generate/ingest/approve; code, theme "
        "and settings are refreshed)",
    )
    parser.add_argument(
        "--incremental",
        action="store_true",
        help="after the full build, time incremental builds: no change, a new batch of 5,000 records, one withdrawal",
    )
    parser.add_argument(
        "--verify",
        action="store_true",
        help="time `disclose verify --full` (cold) after the full build, a first deploy to a "
        "folder, and with --incremental "
        "a warm verify after each incremental build and the urgent-withdrawal pipeline (build + verify + deploy)",
    )
    parser.add_argument(
        "--reuse-output",
        action="store_true",
        help="with --reuse --incremental: keep the kept site's last output and time only the incremental builds",
    )
    args = parser.parse_args()
    path = REPO / "bench" / "runs" / f"site-{args.records}"
    reuse = args.reuse and (path / "content" / "batches").is_dir()
    deleting = time.perf_counter()
    site = refresh_site(path, keep_output=args.reuse_output) if reuse else fresh_site(path)
    editor = trust_bench_editor(site)
    # Kept from before the publication log
    if reuse and any((site / "content" / "batches").glob("*/approval.json")):
        stage("migrate approvals", [DISCLOSE, "migrate", "--editor", editor], site, {})
    print(
        f"  site prepared (old output deleted, page cache settled): {time.perf_counter() - deleting:.0f} s",
        file=sys.stderr,
    )
    results: dict = {"records": args.records, "machine": machine(), "reused_batches": reuse}
    print(f"site benchmark, {args.records} records — {machine()}", file=sys.stderr)
    started = time.perf_counter()
    files = [] if reuse else generate(site, args.records)
    results["generate"] = {"seconds": round(time.perf_counter() - started, 1)}
    for path in files:
        kind = path.stem
        out = stage(
            f"ingest {kind}",
            [DISCLOSE, "ingest", str(path), "--kind", kind, "--today", TODAY.isoformat()],
            site,
            results,
        )
        batch = out.strip().splitlines()[-1].removeprefix("batch: ")
        stage(
            f"approve {kind}", [DISCLOSE, "approve", batch, "--editor", "基准测试"], site, results
        )
    if args.verify:
        os.environ["DEPLOY_TARGET"] = f"dir:{site / 'deployed'}"
    if args.reuse_output and args.incremental:
        incremental_steps(site, args.records, results, args.verify)
        print(json.dumps(results, ensure_ascii=False, indent=1))
        return
    build_out = stage("build", [DISCLOSE, "build", "--today", TODAY.isoformat()], site, results)
    print("  " + build_out.strip().splitlines()[-1], file=sys.stderr)
    results["published"] = int(re.search(r"公示 (\d+) 条", build_out).group(1))
    count, size = tree_size(site / "output")
    results["output"] = {"files": count, "mib": round(size / 2**20, 1)}
    search_count, search_size = tree_size(site / "output" / "search")
    results["search_index"] = {"files": search_count, "mib": round(search_size / 2**20, 1)}
    print(
        f"  output: {count} files, {size / 2**20:.0f} MiB (search: {search_count} files, "
        f"{search_size / 2**20:.1f} MiB)",
        file=sys.stderr,
    )
    if args.verify:
        stage(
            "verify --full (cold)",
            [DISCLOSE, "verify", "output", "--today", TODAY.isoformat(), "--full"],
            site,
            results,
        )
        stage(
            "deploy (first, to a folder)", [str(REPO / ".ci" / "deploy"), "output"], site, results
        )
        wait_for_standby(
            site,
            {"deploy after the full build": results["deploy (first, to a folder)"]},
            "the full build",
        )
    if args.incremental:
        incremental_steps(site, args.records, results, args.verify)
    queries = (
        measure_queries(site / "output", pick_queries(site / "output", args.queries))
        if args.queries
        else []
    )
    results["queries"] = queries
    results["query_summary"] = queries and {
        "median_ms": statistics.median(q["ms"] for q in queries),
        "max_ms": max(q["ms"] for q in queries),
        "median_kib": statistics.median(q["query_kib"] for q in queries),
        "max_kib": max(q["query_kib"] for q in queries),
        "max_heap_mb": max(q["heap_mb"] for q in queries),
    }
    if args.baselines:
        results["baselines"] = baseline_ratios(results)
    print(json.dumps(results, ensure_ascii=False, indent=1))
    if not args.keep:
        shutil.rmtree(site)


if __name__ == "__main__":
    main()

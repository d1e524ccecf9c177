"""Search at scale without building every page: generate N published records (all kinds), build only
the search files with the production code (generator.search.build_search), serve them with the real
search page, and measure first queries in headless Chromium.

    python bench/search_index.py --records 1000000

The query side only ever reads search/ and the theme, so its figures are those of a full build with
the same records; bench/site.py measures full builds end to end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import REPO, machine  # noqa: E402
from bench.site import MIX, measure_queries  # noqa: E402
from generator.publication import PublishedRecord  # noqa: E402
from generator.schema import KINDS  # noqa: E402
from generator.search import build_search  # noqa: E402
from generator.settings import load_config  # noqa: E402
from generator.synthetic import synth_rows  # noqa: E402

TODAY = dt.date(2026, 11, 20)


def records(total: int) -> list[PublishedRecord]:
    out = []
    for kind_name, share in MIX.items():
        kind = KINDS[kind_name]
        keep = [kind.subject, kind.docno, kind.authority, kind.date, kind.subject_code]
        for n, row in enumerate(
            synth_rows(kind_name, max(1, round(total * share)), seed=7, today=TODAY, max_days=330)
        ):
            fields = {k: row[k] for k in keep if k and row.get(k)}
            out.append(
                PublishedRecord(
                    kind_name,
                    f"{kind_name[:2]}{n:014x}",
                    fields,
                    "bench",
                    "",
                    "2026-11-20T09:00:00+08:00",
                    None,
                    "",
                )
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=3)
    args = parser.parse_args()
    out = REPO / "bench" / "runs" / f"search-{args.records}"
    shutil.rmtree(out, ignore_errors=True)
    (out / "theme").parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(REPO / "theme" / "static", out / "theme")
    started = time.perf_counter()
    recs = records(args.records)
    generated = time.perf_counter() - started
    started = time.perf_counter()
    authorities = sorted({(r.kind, str(r.fields.get(KINDS[r.kind].authority, ""))) for r in recs})
    manifest = build_search(
        out,
        recs,
        [
            {"name": a, "kind": KINDS[k].label, "count": 1, "url": "index.html"}
            for k, a in authorities
        ],
        load_config(REPO),
    )
    indexed = time.perf_counter() - started
    # The real search page, from a real (small) build of the theme.
    page = REPO / "output" / "search" / "index.html"
    if not page.exists():
        raise SystemExit(
            "build the demo first (disclose build) so that output/search/index.html exists"
        )
    shutil.copy(page, out / "search" / "index.html")
    files = [p for p in (out / "search").rglob("*") if p.is_file()]
    print(
        f"{args.records} records: generated in {generated:.0f} s, search index built in {indexed:.0f} s — "
        f"{len(files)} files, {sum(p.stat().st_size for p in files) / 2**20:.0f} MiB, "
        f"{len(manifest['segments'])} segment(s), "
        f"manifest {(out / 'search' / 'manifest.json').stat().st_size / 1024:.0f} KiB",
        file=sys.stderr,
    )
    rows = [r for r in recs if r.kind == "penalty"]
    del recs
    (out / "downloads").mkdir(exist_ok=True)
    sample = [rows[i] for i in range(0, len(rows), max(1, len(rows) // 50))]
    (out / "downloads" / "penalty.json").write_text(
        json.dumps({"records": [r.fields for r in sample]}, ensure_ascii=False), encoding="utf-8"
    )
    from bench.site import pick_queries

    queries = measure_queries(out, pick_queries(out, args.queries))
    print(
        json.dumps(
            {
                "records": args.records,
                "machine": machine(),
                "index_seconds": round(indexed),
                "queries": queries,
            },
            ensure_ascii=False,
            indent=1,
        )
    )


if __name__ == "__main__":
    main()

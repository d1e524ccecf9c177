"""The naive baselines our design is measured against (ratios, not absolute times):

1. records as Pelican Articles with the stock theme, at 2,000 records (the quadratic approach);
2. one monolithic lunr index of all records at 10,000 records (what a first attempt at search does).

    python bench/baselines.py --articles 2000 --monolithic 10000
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import REPO, machine, timed  # noqa: E402
from generator.search import lunr_index_reference, tokenize  # noqa: E402
from generator.synthetic import synth_rows  # noqa: E402

TODAY = dt.date(2026, 11, 20)


def articles(count: int) -> dict:
    site = REPO / "bench" / "runs" / "baseline-articles"
    shutil.rmtree(site, ignore_errors=True)
    (site / "content").mkdir(parents=True)
    for n, row in enumerate(synth_rows("penalty", count, seed=9, today=TODAY, max_days=330)):
        body = "\n".join(f"- **{k}**：{v}" for k, v in row.items() if v)
        (site / "content" / f"r{n}.md").write_text(
            f"Title: {row['行政相对人名称']} {row['行政处罚决定书文号']}\nDate: "
            f"{row['处罚决定日期']}\nCategory: 行政处罚\n"
            f"Tags: {row['处罚机关']}\nSlug: r{n}\n\n{body}\n",
            encoding="utf-8",
        )
    (site / "pelicanconf.py").write_text(
        'SITENAME = "baseline"\nTIMEZONE = "Asia/Shanghai"\nDEFAULT_LANG = "zh"\n'
        "FEED_ALL_ATOM = None\nCATEGORY_FEED_ATOM = None\n",
        encoding="utf-8",
    )
    pelican = str(Path(sys.executable).parent / "pelican")
    wall, rss = timed([pelican, "content", "-s", "pelicanconf.py", "-o", "output", "-q"], cwd=site)[
        :2
    ]
    shutil.rmtree(site)
    return {
        "records": count,
        "seconds": round(wall, 1),
        "peak_rss_mib": round(rss),
        "records_per_s": round(count / wall),
    }


def monolithic(count: int) -> dict:
    docs = []
    for n, row in enumerate(synth_rows("penalty", count, seed=9, today=TODAY, max_days=330)):
        docs.append(
            (
                format(n, "x"),
                tokenize(row["行政相对人名称"])
                + tokenize(row["行政处罚决定书文号"])
                + tokenize(row["处罚机关"])
                + [row["行政相对人代码_1(统一社会信用代码)"].lower()]
                if row.get("行政相对人代码_1(统一社会信用代码)")
                else [],
            )
        )
    started = time.perf_counter()
    index = lunr_index_reference(docs)
    built = time.perf_counter() - started
    path = REPO / "bench" / "runs" / "monolithic.json"
    path.write_text(json.dumps(index, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    lunr_js = REPO / "node_modules" / "lunr" / "lunr.js"
    script = (
        f"const lunr=require({json.dumps(str(lunr_js))});lunr.Pipeline.registerFunction(t=>t,'xyycFold');"
        "const t=process.hrtime.bigint();const d=JSON.parse(require('fs').readFileSync("
        f"{json.dumps(str(path))},'utf8'));"
        "const i=lunr.Index.load(d);const ms=Number(process.hrtime.bigint()-t)/1e6;global.gc&&global.gc();"
        "console.log(JSON.stringify({load_ms:Math.round(ms),heap_mb:Math.round(process.memoryUsage().heapUsed/2**20)}))"
    )
    node = json.loads(
        subprocess.run(
            ["node", "--expose-gc", "-e", script], capture_output=True, text=True, check=True
        ).stdout
    )
    size = path.stat().st_size
    path.unlink()
    return {
        "records": count,
        "build_seconds": round(built, 1),
        "json_mib": round(size / 2**20, 1),
        **node,
        "first_query_kib": round(size / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--monolithic", type=int, default=10_000)
    args = parser.parse_args()
    print(
        json.dumps(
            {
                "machine": machine(),
                "pelican_articles": articles(args.articles),
                "monolithic_lunr": monolithic(args.monolithic),
            },
            ensure_ascii=False,
            indent=1,
        )
    )


if __name__ == "__main__":
    main()

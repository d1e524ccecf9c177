"""Benchmark `disclose ingest` on N synthetic penalty rows in a GB18030 CSV.

    python bench/ingest.py --rows 100000 --runs 3
    python bench/ingest.py --rows 1000000 --runs 1

Prints wall time (median of runs), peak RSS and rows/s; the CSV is cached under bench/runs/.
Targets (issue 2): 100,000 rows ≤ 15 s and ≤ 1.5 GB; 1,000,000 rows ≤ 3 min and ≤ 2 GB.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import DISCLOSE, REPO, fresh_site, machine, median, timed  # noqa: E402
from generator.synthetic import synth_rows, write_export  # noqa: E402

TODAY = dt.date(2026, 11, 20)


def export_file(rows: int) -> Path:
    path = REPO / "bench" / "runs" / f"penalty-{rows}.gb18030.csv"
    if not path.exists():
        print(f"generating {rows} rows → {path}", file=sys.stderr)
        write_export(
            path,
            "penalty",
            synth_rows("penalty", rows, seed=2026, today=TODAY),
            encoding="gb18030",
            title="盐城市示例市场监督管理局行政处罚信息（基准测试）",
        )
    return path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    source = export_file(args.rows)
    walls, rsss = [], []
    for run in range(args.runs):
        site = fresh_site(REPO / "bench" / "runs" / "ingest-site")
        wall, rss, result = timed(
            [DISCLOSE, "ingest", str(source), "--kind", "penalty", "--today", "2026-11-28"],
            cwd=site,
        )[:3]
        walls.append(wall)
        rsss.append(rss)
        print(
            f"run {run + 1}: {wall:.1f} s, peak RSS {rss:.0f} MiB — {result.stdout.splitlines()[0]}",
            file=sys.stderr,
        )
    print(machine())
    print(
        f"ingest {args.rows} rows GB18030 CSV ({source.stat().st_size / 2**20:.0f} MiB): median {median(walls):.1f} s "
        f"({args.rows / median(walls):,.0f} rows/s), peak RSS max {max(rsss):.0f} MiB over {args.runs} runs"
    )


if __name__ == "__main__":
    main()

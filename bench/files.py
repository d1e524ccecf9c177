"""How fast can this machine create a site's files? The floor under every full build.

    python bench/files.py --files 900000 --procs 2     # a 10^6 site: ~1.8 million pages
    python bench/files.py --replace --files 4000       # what an incremental build's apply pays per file

Each process creates ``--files`` files of ``--size`` bytes in 256 folders (the site's layout:
``records/<kind>/<2 hex>/``) with ``os.open``/``os.write``, as the build's writer does, and prints
files/s and its CPU share for every 100,000. The files are deleted afterwards (not timed). On a
journal-less ext4, wait 30 s after a large deletion before measuring (see docs/benchmarks.md).

``--replace`` times instead, per file, the three ways an incremental build's apply can put a
staged file over a live one: ``os.replace`` onto it; a rename to a new name; and a hard link
that keeps the old file, then ``os.replace`` (:class:`generator.incremental.Trash`), then the
deletion of the kept old files.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import REPO, machine  # noqa: E402


def create(folder: str, count: int, size: int, tag: str) -> float:
    data = b"x" * size
    dirs = [os.path.join(folder, tag, f"{i:02x}") for i in range(256)]
    for d in dirs:
        os.makedirs(d, exist_ok=True)
    start = mark = time.perf_counter()
    cpu = time.process_time()
    for i in range(count):
        fd = os.open(f"{dirs[i % 256]}/{i}.html", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.write(fd, data)
        os.close(fd)
        if (i + 1) % 100_000 == 0:
            now, used = time.perf_counter(), time.process_time()
            print(
                f"  {tag} {i + 1}: {100_000 / (now - mark):,.0f} files/s, CPU "
                f"{100 * (used - cpu) / (now - mark):.0f} %",
                file=sys.stderr,
            )
            mark, cpu = now, used
    return count / (time.perf_counter() - start)


def replace(folder: str, count: int, size: int, settle: float) -> dict[str, float]:
    """µs per file: replacing a file, renaming to a new name, hard link + replace, freeing the kept."""
    data = b"x" * size
    names = ("staged", "live", "staged-2", "new", "staged-3", "live-3", "kept")
    for name in names:
        os.makedirs(os.path.join(folder, name))
    for i in range(count):
        for name in ("staged", "live", "staged-2", "staged-3", "live-3"):
            with open(os.path.join(folder, name, f"{i}.html"), "wb") as fh:
                fh.write(data)
    os.sync()
    time.sleep(settle)  # out of ext4's recently-deleted window, and the page cache written back

    def per_file(step: callable) -> float:
        start = time.perf_counter()
        for i in range(count):
            step(i)
        return round(1e6 * (time.perf_counter() - start) / count, 1)

    path = lambda name, i: os.path.join(folder, name, f"{i}.html")  # noqa: E731
    result = {
        "replace an existing file": per_file(
            lambda i: os.replace(path("staged", i), path("live", i))
        ),
        "rename to a new name": per_file(lambda i: os.replace(path("staged-2", i), path("new", i))),
        "hard link the old, then replace": per_file(
            lambda i: (
                os.link(path("live-3", i), path("kept", i)),
                os.replace(path("staged-3", i), path("live-3", i)),
            )
        ),
    }
    start = time.perf_counter()
    shutil.rmtree(os.path.join(folder, "kept"))
    result["delete the kept old files"] = round(1e6 * (time.perf_counter() - start) / count, 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100_000, help="files per process")
    parser.add_argument("--procs", type=int, default=2)
    parser.add_argument(
        "--size", type=int, default=6_500, help="bytes per file (a record page is ~6.5 KB)"
    )
    parser.add_argument(
        "--replace", action="store_true", help="time replacing live files instead (one process)"
    )
    parser.add_argument(
        "--settle", type=float, default=35.0, help="seconds to wait before timing --replace"
    )
    args = parser.parse_args()
    if args.replace:
        print(
            f"replacing files, {args.files} files of {args.size} B — {machine()}", file=sys.stderr
        )
        folder = tempfile.mkdtemp(prefix="files-", dir=REPO / "bench" / "runs")
        try:
            for label, micros in replace(folder, args.files, args.size, args.settle).items():
                print(f"  {label}: {micros} µs per file", file=sys.stderr)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    print(
        f"file creation, {args.procs} × {args.files} files of {args.size} B — {machine()}",
        file=sys.stderr,
    )
    folder = tempfile.mkdtemp(prefix="files-", dir=REPO / "bench" / "runs")
    try:
        with multiprocessing.Pool(args.procs) as pool:
            rates = pool.starmap(
                create, [(folder, args.files, args.size, f"p{n}") for n in range(args.procs)]
            )
        print(
            f"  total: {sum(rates):,.0f} files/s ({', '.join(f'{r:,.0f}' for r in rates)} per process)",
            file=sys.stderr,
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()

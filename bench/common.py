"""Shared helpers for the benchmark scripts: timed subprocesses with peak RSS, medians, a machine line."""

from __future__ import annotations

import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DISCLOSE = str(Path(sys.executable).parent / "disclose")


def machine() -> str:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.node()}: {os.cpu_count()} cores ({cpu}), {mem:.0f} GiB, Python {platform.python_version()}"


def timed(cmd: list[str], cwd: Path, env: dict | None = None) -> tuple[float, float, subprocess.CompletedProcess]:
    """Run ``cmd``; return (wall seconds, peak RSS MiB of the child, result). One child at a time."""
    # ru_maxrss of RUSAGE_CHILDREN is the max over all children so far: run each in a fresh wrapper.
    wrapper = [sys.executable, "-c", (
        "import resource,subprocess,sys,time;t=time.perf_counter();"
        "r=subprocess.run(sys.argv[1:],capture_output=True,text=True);"
        "print(time.perf_counter()-t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss/1024, r.returncode, file=sys.stderr);"
        "sys.stdout.write(r.stdout);sys.stderr.write(r.stderr)"
    ), *cmd]
    result = subprocess.run(wrapper, cwd=cwd, capture_output=True, text=True, env=env)
    first, _, rest = result.stderr.partition("\n")
    wall, rss, code = first.split()
    if int(code) != 0:
        raise SystemExit(f"command failed ({code}): {' '.join(cmd)}\n{result.stdout}\n{rest}")
    return float(wall), float(rss), result


def median(values: list[float]) -> float:
    return statistics.median(values)


def fresh_site(path: Path) -> Path:
    """A site root with our settings and theme and no batches."""
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    shutil.copy(REPO / "pelicanconf.py", path / "pelicanconf.py")
    shutil.copytree(REPO / "theme", path / "theme")
    shutil.copytree(REPO / "content" / "pages", path / "content" / "pages")
    return path


def stamp() -> str:
    return time.strftime("%Y-%m-%d")

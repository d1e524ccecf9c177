"""Shared helpers for the benchmark scripts: timed subprocesses with peak RSS, medians, a machine line."""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

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


def _tree_rss_kib(root_pid: int) -> int:
    """Sum of PSS over a process and all its descendants (read from /proc).

    PSS, not RSS: forked workers share the parent's pages copy-on-write, and RSS would count
    those pages once per process. Only the tree's own ``smaps_rollup`` files are read: the
    kernel walks a process's page tables to write one (tens of ms for a 3 GB build)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = Path(f"/proc/{entry}/status").read_text()
        except OSError:
            continue
        ppid = next(
            (
                line.split(":", 1)[1].strip()
                for line in status.splitlines()
                if line.startswith("PPid:")
            ),
            "0",
        )
        children.setdefault(int(ppid or 0), []).append(int(entry))
    total, todo = 0, [root_pid]
    while todo:
        pid = todo.pop()
        total += _pss_kib(pid)
        todo.extend(children.get(pid, []))
    return total


def _pss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


SAMPLER_SHARE = 0.02  # of one core: the memory sampler's own CPU budget


class Run(NamedTuple):
    """A timed command: wall seconds, peak PSS over its process tree, its result, and the CPU
    seconds (user, system) of the command and every process it waited for."""

    wall: float
    peak_mib: float
    proc: subprocess.CompletedProcess
    cpu_user: float
    cpu_system: float


def timed(cmd: list[str], cwd: Path, env: dict | None = None, interval: float = 0.2) -> Run:
    """Run ``cmd`` and measure it (:class:`Run`).

    CPU is split into user and system time because on this VM creating a file can cost more
    kernel time than rendering it (see :func:`settle_after_deletion`).

    The tree matters: ingest and build fan out to worker processes, and the machine must hold
    all of them at once. The tree is sampled every ``interval`` seconds, or less often when a
    sample costs more than :data:`SAMPLER_SHARE` of a core: reading a 3 GB process's PSS every
    0.2 s took ~23 % of a core (``perf record -a`` during a 10^6 build, 2026-12-01), CPU the
    build being measured did not get on this 2-core machine.
    """
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    peak = 0
    import threading

    out: dict[str, str] = {}
    reader = threading.Thread(
        target=lambda: out.update(zip(("stdout", "stderr"), proc.communicate()))
    )
    reader.start()
    while reader.is_alive():
        cost = time.thread_time()
        peak = max(peak, _tree_rss_kib(proc.pid))
        cost = time.thread_time() - cost
        reader.join(max(interval, cost / SAMPLER_SHARE))
    wall = time.perf_counter() - start
    # The build's workers count: it waited for them
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.CompletedProcess(
        cmd, proc.returncode, out.get("stdout", ""), out.get("stderr", "")
    )
    if proc.returncode != 0:
        raise SystemExit(
            f"command failed ({proc.returncode}): {' '.join(cmd)}\n{result.stdout}\n{result.stderr}"
        )
    return Run(
        wall,
        peak / 1024,
        result,
        after.ru_utime - before.ru_utime,
        after.ru_stime - before.ru_stime,
    )


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


def refresh_site(path: Path, keep_output: bool = False) -> Path:
    """A kept site with this checkout's settings and theme, and no output, manifest or state cache:
    a build from scratch. With ``keep_output``, only the theme and settings are refreshed."""
    if keep_output:
        shutil.copy(REPO / "pelicanconf.py", path / "pelicanconf.py")
        shutil.rmtree(path / "theme", ignore_errors=True)
        shutil.copytree(REPO / "theme", path / "theme")
        return path
    for name in ("output", "theme", "content/pages", ".cache", ".verify"):
        remove_tree(path / name)
    (path / ".output.disclose-manifest").unlink(missing_ok=True)
    for leftover in path.glob(".output.*"):  # an interrupted earlier run's temporary folders
        shutil.rmtree(leftover, ignore_errors=True)
    shutil.copy(REPO / "pelicanconf.py", path / "pelicanconf.py")
    shutil.copytree(REPO / "theme", path / "theme")
    shutil.copytree(REPO / "content" / "pages", path / "content" / "pages")
    subprocess.run(["sync"], check=False)  # the deleted output's writeback should not be measured
    settle_after_deletion()
    return path


BENCH_EDITOR = "基准测试"


def trust_bench_editor(site: Path) -> str:
    """The benchmark's editor: a key in the site's own ``keys/`` folder (outside ``content/``, the
    environment's ``DISCLOSE_KEY_DIR`` for every command this process runs), trusted on first use."""
    sys.path.insert(0, str(REPO))
    from generator.editors import Editors
    from generator.settings import load_config
    from generator.signing import create_key, key_dir, load_signer

    os.environ["DISCLOSE_KEY_DIR"] = str(site / "keys")
    if not (key_dir() / BENCH_EDITOR).exists():
        create_key(BENCH_EDITOR)
    signer = load_signer(BENCH_EDITOR)
    editors = Editors(site, load_config(site))
    if not editors.list()[0]:
        editors.trust(BENCH_EDITOR, signer.public_key(), signer, "2026-11-01T00:00:00+08:00")
    return BENCH_EDITOR


def remove_tree(folder: Path) -> None:
    """Delete a folder with ``rm -rf`` (C, no Python object per file), else ``shutil.rmtree``."""
    if not folder.exists():
        return
    if (
        shutil.which("rm")
        and subprocess.run(["rm", "-rf", "--", str(folder)], check=False).returncode == 0
    ):
        return
    shutil.rmtree(folder, ignore_errors=True)


# ext4 without a journal (this VM's root file system) will not reuse an inode freed in the last
# RECENTCY_MIN seconds, or RECENTCY_MIN + RECENTCY_DIRTY seconds while its inode-table block is
# dirty (fs/ext4/ialloc.c: recently_deleted; 60 and 300 s in current kernels). Files being created
# beside the freed inodes keep those blocks dirty, so the longer window is the one that applies.
EXT4_REUSE_WINDOW_S = 60 + 300


def settle_after_deletion(seconds: float = EXT4_REUSE_WINDOW_S + 10) -> None:
    """Wait until inodes freed by a mass deletion are past ext4's reuse window.

    Inside the window every new file's inode search checks the freed inodes of its group one by
    one: ``perf`` showed ``recently_deleted``/``find_inode_bit`` taking ~65 % of file creation.
    Measured here (150,000 files deleted, then 30,000 created across 256 folders): 196 µs of
    system time a file 90 s after the deletion, 59 µs after 156 s, 35 µs after 383 s. A 10^5
    full build right after the old wait (35 s) took 78 s wall and 31 s of system CPU; after
    370 s, 64 s and 14 s. A nightly build never follows a deletion of the whole output (a full
    rebuild writes beside the live site and frees the old one after the swap), so the benchmark
    does not measure it either."""
    time.sleep(seconds)


def stamp() -> str:
    return time.strftime("%Y-%m-%d")


@contextlib.contextmanager
def static_server(folder: Path) -> Iterator[str]:
    """``python -m http.server`` (no compression) serving ``folder`` in its own process (not a
    thread sharing the GIL with Playwright); yields its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]
    server = subprocess.Popen(
        command + ["--directory", str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(50):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait()

"""The content proof of ``disclose verify``: the published bytes follow from the approved inputs.

Verify builds its own copy of the site from the batches — the *shadow*, ``.verify/shadow`` under the
site root, outside ``output/`` — and compares every file of ``output/`` with it, byte for byte. A
one-character edit anywhere (a record page's field, an archive, a list, a download row, a search
shard, a feed entry, a statistics figure) is a difference. The shadow is built by the same generator
as the site but by a separate run that trusts nothing the site's build left: not ``output/``, not its
page-key manifest, not its digest lists. (A bug in the generator is found by the rule checks in
:mod:`generator.verify`, which do not use the generator's rendering.)

Reading 1.8 million files twice a night is the cost this avoids: like git's index, verify keeps its
own record of the files it has fully checked (``.verify/index``, authenticated with the cache key): for each path, the (inode, size,
mtime, ctime) of the live file and of the shadow file when they were found equal. A file whose
stamps are both unchanged is still equal; any write changes the ctime, which no user can set back.
The shadow is updated incrementally like the site (only pages whose inputs changed are rendered), so
a nightly verify renders and reads only what changed. A shadow file whose stamp changed although
this run did not write it was touched by someone else: the shadow is then built again from scratch,
as on the first run, with ``--full``, or when the index is missing or damaged (a cold verify).
"""

from __future__ import annotations

import datetime as dt
import os
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from . import cache
from .fileio import iter_tree
from .settings import Config

if TYPE_CHECKING:
    from .publication import State

SHADOW_DIR = ".verify"  # under the site root, beside output/; never deployed (git-ignored)
INDEX = "index"
INDEX_PURPOSE = "verify-index/1"
_RACY_NS = 2_000_000_000  # a file changed this recently may change again within the same ctime tick


Stamp = str  # "inode:size:mtime_ns:ctime_ns" of a regular file


@dataclass
class Tree:
    """A folder's regular files (relative POSIX path → stamp) and whatever else is in it."""

    files: dict[str, Stamp] = field(default_factory=dict)
    ctimes: dict[str, int] = field(default_factory=dict)
    odd: list[str] = field(default_factory=list)  # symbolic links, devices …: never part of a site


def stamp_of(st: os.stat_result) -> Stamp:
    return f"{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"


def walk(folder: Path) -> Tree:
    tree = Tree()
    for name, entry in iter_tree(folder):
        st = entry.stat(follow_symlinks=False)
        if stat.S_ISREG(st.st_mode):
            tree.files[name] = stamp_of(st)
            tree.ctimes[name] = st.st_ctime_ns
        else:
            tree.odd.append(name)
    return tree


def shadow_path(root: Path) -> Path:
    return root / SHADOW_DIR / "shadow"


def _index_entry(root: Path, output: Path) -> cache.Entry:
    """The index of ``output``'s proof, authenticated like every cache (:mod:`generator.cache`): an
    index planted or edited by anyone without the cache key reads as missing, and the next verify is
    a cold one."""
    return cache.Entry(root / SHADOW_DIR / INDEX, INDEX_PURPOSE, repr((str(output.resolve()),)).encode("utf-8"))


def load_index(root: Path, output: Path) -> dict[str, tuple[Stamp, Stamp]] | None:
    """path → (live stamp, shadow stamp) when both were found equal; None when missing or not authentic."""
    payload = cache.read(_index_entry(root, output))
    if payload is None:
        return None
    index: dict[str, tuple[Stamp, Stamp]] = {}
    try:
        for line in bytes(payload).decode("utf-8").splitlines():
            path, live, shadow = line.split("\t")
            index[path] = (live, shadow)
    except (UnicodeDecodeError, ValueError):
        return None
    return index


def save_index(root: Path, output: Path, index: dict[str, tuple[Stamp, Stamp]]) -> None:
    body = "".join(f"{path}\t{live}\t{shadow}\n" for path, (live, shadow) in sorted(index.items()))
    cache.write(_index_entry(root, output), [body.encode("utf-8")])


def build_shadow(root: Path, cfg: Config, today: dt.date, full: bool) -> "State":
    """Bring the shadow up to date with the batches for ``today`` (a clean build with ``full``);
    return the publication state it was built from (the rule checks use it too)."""
    from . import plugin
    from .build import build

    # With ``full`` the build renders everything into a new folder and swaps it in; the old shadow
    # is freed by a detached process, as a clean build frees an old site.
    build(root, cfg, today, shadow_path(root), full=full, report=False)
    assert plugin.last_state is not None
    return plugin.last_state


@dataclass
class Plan:
    """What the proof must read: the paths whose equality is not already on record."""

    live: Tree
    shadow: Tree
    todo: list[str]
    confirmed: dict[str, tuple[Stamp, Stamp]]  # still-valid index entries
    missing: list[str]  # in the shadow, not in output/
    extra: list[str]  # in output/, not in the shadow
    untrusted: list[str]  # shadow files changed by someone else since they were checked


def plan(root: Path, output: Path, started_ns: int, index: dict[str, tuple[Stamp, Stamp]]) -> Plan:
    live, shadow = walk(output), walk(shadow_path(root))
    todo, confirmed, untrusted = [], {}, []
    for path, live_stamp in live.files.items():
        shadow_stamp = shadow.files.get(path)
        if shadow_stamp is None:
            continue
        known = index.get(path)
        if known == (live_stamp, shadow_stamp):
            confirmed[path] = known
            continue
        if (known is None or known[1] != shadow_stamp) and shadow.ctimes[path] < started_ns:
            untrusted.append(path)  # not written by this run's shadow build, not as last checked
        todo.append(path)
    missing = sorted(shadow.files.keys() - live.files.keys())
    extra = sorted(live.files.keys() - shadow.files.keys())
    return Plan(live, shadow, sorted(todo), confirmed, missing, extra, untrusted)


def record(index: dict[str, tuple[Stamp, Stamp]], proof: Plan, equal: list[str], now_ns: int | None = None) -> None:
    """Remember what this run proved. Every shadow file it compared is trusted as it is now (this
    run wrote it, or it was as last checked); a live file is remembered as proved when it was found
    equal (and clean) and did not change too recently to be sure (same ctime tick). Otherwise its
    stamp is left blank, so the next run reads it again without distrusting the shadow."""
    now_ns = now_ns or time.time_ns()
    proved = set(equal)
    for path in proof.todo:
        shadow_stamp = proof.shadow.files.get(path)
        if shadow_stamp is None:
            continue
        sure = path in proved and now_ns - max(proof.live.ctimes[path], proof.shadow.ctimes[path]) > _RACY_NS
        index[path] = (proof.live.files[path] if sure else "", shadow_stamp)

"""The content proof of ``disclose verify``: the published bytes follow from the approved inputs.

Verify builds its own copy of the site from the batches — the *shadow*, ``.verify/shadow`` under the
site root, outside ``output/`` — and compares every file of ``output/`` with it, byte for byte. A
one-character edit anywhere (a record page's field, an archive, a list, a download row, a search
shard, a feed entry, a statistics figure) is a difference. The shadow is built by the same generator
as the site but by a separate run that trusts nothing the site's build left: not ``output/``, not its
page-key manifest, not its digest lists. (A bug in the generator is found by the rule checks in
:mod:`generator.verify`, which do not use the generator's rendering.)

Reading 1.8 million files twice a night is the cost this avoids: like git's index, verify keeps its
own record of the files it has fully checked (``.verify/index``, authenticated with the cache key):
for each file of the shadow, its (inode, size, mtime, ctime) and the live file's when the two were
found equal. A live file whose stamp is unchanged is still equal to what the batches gave when it
was checked; any write changes the ctime, which no user can set back. The shadow is updated
incrementally like the site (only pages whose inputs changed are rendered), so a nightly verify
renders and reads only what changed, and walks only the live folder: the shadow's files are known
from the index and from what this run's shadow build moved in or removed.

A shadow file matters only when its live twin is compared with it, and it is checked then: one
whose stamp is not the recorded one, although this run did not write it, was touched by someone
else, and the shadow is built again from scratch, as on the first run, with ``--full``, or when the
index is missing or damaged (a cold verify). (The shadow build reads none of the shadow's files but
its authenticated manifest and the downloads' rows, which it reuses only when their BLAKE3 matches:
an edited shadow file cannot reach another.)
"""

from __future__ import annotations

import datetime as dt
import os
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import blake3

from . import cache
from .fileio import iter_tree
from .settings import Config

if TYPE_CHECKING:
    from .incremental import ApplyResult
    from .publication import State

SHADOW_DIR = ".verify"  # under the site root, beside output/; never deployed (git-ignored)
INDEX = "index"
INDEX_PURPOSE = "verify-index/3"  # 2: an entry for every shadow file; 3: MessagePack lists
_RACY_NS = 2_000_000_000  # a file changed this recently may change again within the same ctime tick


Stamp = str  # "inode:size:mtime_ns:ctime_ns" of a regular file
# A shadow "stamp" that starts with this is the digest of a page the cold shadow build proved equal
# to the live file and did not write (:class:`Prover`): the page exists in the shadow only as it.
VIRTUAL = "="


def page_digest(data: bytes) -> str:
    """A proved page's entry in the index: BLAKE3 (128 bits) of its bytes, after :data:`VIRTUAL`."""
    return VIRTUAL + blake3.blake3(data).hexdigest(length=16)


@dataclass
class PagesProved:
    """A page task's result in a cold shadow build: how many pages it rendered, and those it found
    equal to the live site's files (their names, live stamps and digests) instead of writing them."""

    pages: int
    names: list[str]
    stamps: list[Stamp]
    digests: list[str]


class Prover:
    """Compares each page a cold shadow build renders with the live file of the same name and, when
    they are byte-identical, keeps the page out of the shadow and remembers its digest: the two
    16 GiB trees of a 10^6-record site are never both on disk and read back (docs/benchmarks.md).
    A page that differs or is missing, or a live file that is not a regular one, is written to
    the shadow as before, and the scan names the difference. The live file is read through one
    descriptor (no symbolic link followed) and must keep its stamp while it is read."""

    def __init__(self, live: str | os.PathLike[str]):
        self.live = os.fspath(live).rstrip("/") + "/"
        self.names: list[str] = []
        self.stamps: list[Stamp] = []
        self.digests: list[str] = []

    def proves(self, name: str, data: bytes) -> bool:
        try:
            fd = os.open(self.live + name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            return False
        try:
            before = os.fstat(fd)
            if not stat.S_ISREG(before.st_mode) or before.st_size != len(data):
                return False
            if _read_all(fd, len(data) + 1) != data:
                return False
            if stamp_of(os.fstat(fd)) != stamp_of(before):
                return False
        finally:
            os.close(fd)
        self.names.append(name)
        self.stamps.append(stamp_of(before))
        self.digests.append(page_digest(data))
        return True

    def result(self, pages: int) -> PagesProved:
        return PagesProved(pages, self.names, self.stamps, self.digests)


def _read_all(fd: int, limit: int) -> bytes:
    parts, size = [], 0
    while size < limit:
        part = os.read(fd, limit - size)
        if not part:
            break
        parts.append(part)
        size += len(part)
    return b"".join(parts)


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
    return cache.Entry(
        root / SHADOW_DIR / INDEX, INDEX_PURPOSE, repr((str(output.resolve()),)).encode("utf-8")
    )


def load_index(root: Path, output: Path) -> dict[str, tuple[Stamp, Stamp]] | None:
    """Every shadow file: path → (live stamp when the two were found equal, else "", shadow stamp);
    None when missing or not authentic."""
    value = cache.get(_index_entry(root, output))
    try:
        paths, lives, shadows = value
        if not len(paths) == len(lives) == len(shadows) or not all(
            isinstance(x, str) for x in (*paths[:1], *lives[:1], *shadows[:1])
        ):
            return None
        return dict(zip(paths, zip(lives, shadows)))
    except (TypeError, ValueError):
        return None


def save_index(root: Path, output: Path, index: dict[str, tuple[Stamp, Stamp]]) -> None:
    """Three parallel lists (MessagePack: faster to read back than lines of text)."""
    paths = list(index)
    cache.put(
        _index_entry(root, output),
        [paths, [index[p][0] for p in paths], [index[p][1] for p in paths]],
    )


def build_shadow(
    root: Path, cfg: Config, today: dt.date, full: bool, live: Path
) -> tuple[State, ApplyResult | None, list[PagesProved]]:
    """Bring the shadow up to date with the batches for ``today`` (a clean build with ``full``);
    return the publication state it was built from (the rule checks use it too), what the
    update moved in and removed (None when the shadow was built anew) and, when it was built anew
    (``full``, or because the code, theme or settings changed), the pages it proved equal to the
    ``live`` site's instead of writing them (:class:`Prover`)."""
    from .build import build

    # With ``full`` the build renders everything into a new folder and swaps it in; the old shadow
    # is freed by a detached process, as a clean build frees an old site.
    result = build(
        root,
        cfg,
        today,
        shadow_path(root),
        full=full,
        report=False,
        prove_against=live,
    )
    assert result.state is not None
    return result.state, result.applied, result.proved


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
    # Pages of ``todo`` this run's shadow build proved equal to their live files, still as they were
    equal: set[str] = field(default_factory=set)

    def digests(self) -> dict[str, str]:
        """The ``todo`` pages that the shadow holds only as a digest (:data:`VIRTUAL`): path → the
        digest to compare the live file with, or "" for those already proved (:attr:`equal`)."""
        return {
            path: "" if path in self.equal else self.shadow.files[path]
            for path in self.todo
            if self.shadow.files[path].startswith(VIRTUAL)
        }


def walk_beside(folder: Path) -> Any:
    """:func:`walk` of ``folder`` in a forked child (its ``result()`` is the :class:`Tree`), so that
    it overlaps other work; in this process where there is no fork."""
    from .forked import Forked

    if hasattr(os, "fork"):
        try:
            return Forked(lambda: walk(folder))
        except OSError:
            pass
    return _Done(walk(folder))


@dataclass
class _Done:
    value: Any

    def result(self) -> Any:
        return self.value

    def kill(self) -> None:
        pass


def plan(
    root: Path,
    live: Tree,
    started_ns: int,
    index: dict[str, tuple[Stamp, Stamp]],
    applied: ApplyResult | None,
    proved: list[PagesProved] = (),  # type: ignore[assignment]
) -> Plan:
    """Decide what to compare, given the ``live`` folder's files. The shadow is walked only when it
    was built anew (``applied`` None) or there is no index; else its files are the index's, updated
    by what this run's shadow build moved in and removed, and a shadow file is looked at only when
    its live twin must be compared with it. The pages a clean shadow build ``proved`` are in the
    shadow as their digests; those whose live file still has the stamp it had then are equal."""
    base = shadow_path(root)
    shadow = (
        walk(base) if applied is None or not index else _shadow_from_index(base, index, applied)
    )
    proved_at: dict[str, Stamp] = {}
    for part in proved:
        shadow.files.update(zip(part.names, part.digests))
        proved_at.update(zip(part.names, part.stamps))
    todo, confirmed, untrusted, equal = [], {}, [], set()
    for path, live_stamp in live.files.items():
        shadow_stamp = shadow.files.get(path)
        if shadow_stamp is None:
            continue
        known = index.get(path)
        if known == (live_stamp, shadow_stamp):
            confirmed[path] = known
            continue
        if shadow_stamp.startswith(VIRTUAL):  # no file to distrust: compared by its digest
            if proved_at.get(path) == live_stamp:
                equal.add(path)
        elif path not in shadow.ctimes:  # neither walked nor written by this run: as recorded?
            try:
                st = os.lstat(base / path)
            except OSError:
                st = None
            if st is None or not stat.S_ISREG(st.st_mode) or stamp_of(st) != shadow_stamp:
                untrusted.append(path)
                continue
            shadow.ctimes[path] = st.st_ctime_ns
        elif (known is None or known[1] != shadow_stamp) and shadow.ctimes[path] < started_ns:
            untrusted.append(path)  # not written by this run's shadow build, not as last checked
        todo.append(path)
    missing = sorted(shadow.files.keys() - live.files.keys())
    extra = sorted(live.files.keys() - shadow.files.keys())
    return Plan(live, shadow, sorted(todo), confirmed, missing, extra, untrusted, equal)


def _shadow_from_index(
    base: Path, index: dict[str, tuple[Stamp, Stamp]], applied: ApplyResult
) -> Tree:
    """The shadow's files without walking it: the index's, less what the update removed, and what
    it moved in with their stamps now (only these are stat'ed, with their ctimes)."""
    tree = Tree({path: shadow for path, (_live, shadow) in index.items()})
    for path in applied.retired:  # removed, or only a digest (:data:`VIRTUAL`) and dropped
        tree.files.pop(path, None)
    for path in applied.moved:
        try:
            st = os.lstat(base / path)
        except OSError:
            tree.files.pop(path, None)
            continue
        tree.files[path] = stamp_of(st)
        tree.ctimes[path] = st.st_ctime_ns
    return tree


def settled(proof: Plan, now_ns: int | None = None) -> dict[str, Stamp]:
    """The live files' stamps, less those of files changed too recently for a stamp to tell a later
    change (the same ctime tick): what may key a remembered result."""
    now_ns = now_ns or time.time_ns()
    stamps = dict(proof.live.files)
    for path, ctime in proof.live.ctimes.items():
        if now_ns - ctime <= _RACY_NS:
            del stamps[path]
    return stamps


def record(
    proof: Plan, equal: list[str], now_ns: int | None = None
) -> dict[str, tuple[Stamp, Stamp]]:
    """The index after this run: every shadow file, with the live file's stamp where it is proved
    equal. A file compared now is proved when it was found equal (and clean) and did not change
    too recently to be sure (same ctime tick); otherwise its live stamp is left blank, so the next
    run reads it again without distrusting the shadow (which this run wrote, or found as recorded)."""
    now_ns = now_ns or time.time_ns()
    index = {path: ("", shadow) for path, shadow in proof.shadow.files.items()}
    index.update(proof.confirmed)
    proved = set(equal)
    for path in proof.todo:
        changed = max(proof.live.ctimes[path], proof.shadow.ctimes.get(path, 0))  # a digest: none
        sure = path in proved and now_ns - changed > _RACY_NS
        index[path] = (proof.live.files[path] if sure else "", proof.shadow.files[path])
    return index

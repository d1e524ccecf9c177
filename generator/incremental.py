"""Incremental builds: page input keys, the build manifest, and applying a build in place.

A clean build renders every page into a new folder and swaps it in (``build.swap_in``). An
incremental build starts from the manifest of the last build: for every page it knows the *input
key*, a digest of everything the page is rendered from (a record's batch and offset, which are
immutable, its publication end and basis; an archive's records; a list page's records and
pager). A page whose key is unchanged is not rendered at all. Changed pages are rendered into a
staging folder, so a failed build leaves the live site untouched; then :func:`apply` moves them
into the live folder. Files that came out byte-identical are not moved, so every unchanged file
keeps its bytes and its mtime and ``rsync`` or ``aws s3 sync`` copies only what changed.

Everything that is not keyed (home, statistics, feeds, sitemap, search page, theme files) is
rendered every time and compared byte for byte on apply.

The manifest lives beside the output (``.<output>.disclose-manifest``), never inside it, so it is
never deployed. It holds a signature of the output (the digest of the files every build rewrites:
home page, search manifest, sitemap), so an output replaced by another build, a fingerprint change
(theme, settings, generator code, library versions) or a missing manifest means a clean build; an
output restored from a CI cache together with its manifest is still used.

The measurements behind this module's choices are in docs/scaling.md, "Measurements behind the
code".

:func:`apply` writes its plan to a journal before it touches the live folder and keeps every file
it replaces or deletes: the next build rolls a killed apply back (:mod:`generator.journal`), so the
output is always the old site or the new one.
"""

from __future__ import annotations

import array
import dataclasses
import filecmp
import hashlib
import importlib.metadata
import logging
import operator
import os
import posixpath
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import cache, journal
from .fileio import iter_tree
from .journal import (  # noqa: F401 - moved below (journal), kept importable
    _DETACHED,
    DELETE,
    NEW,
    REPLACE,
    _start_rm,
    fault,
    forget,
    free_detached,
    manifest_path,
    wait_detached,
)

log = logging.getLogger(__name__)

FORMAT = 3  # 3: record keys kept per batch (BatchEntry)
KEY_SIZE = 12  # bytes: collisions are out of reach at 10^8 pages (2^96)
KEYED_TOP_FOLDERS = ("records", "entities")  # every file below these is keyed, never walked
LIBRARIES = (
    "pelican",
    "jinja2",
    "markdown",
    "markupsafe",
    "lunr",
    "nh3",
    "bleach",
    "pandas",
    "numpy",
    "orjson",
)


def digest(*parts: Any) -> bytes:
    """An input key of :data:`KEY_SIZE` bytes."""
    return hashlib.blake2b(
        "\x1f".join(map(str, parts)).encode("utf-8"), digest_size=KEY_SIZE
    ).digest()


def digest_keys(head: Any, keys: Iterable[bytes]) -> bytes:
    """The key of a page made of several records: ``head`` (its own parameters) and their keys.
    Hashing the records' 12-byte keys is much cheaper than formatting their versions again."""
    h = hashlib.blake2b(repr(head).encode("utf-8"), digest_size=KEY_SIZE)
    h.update(b"".join(keys))
    return h.digest()


BatchEntry = tuple  # (kind, ids, keys, key lengths): see batch_entry
_ID = operator.attrgetter("id")
_KEY = operator.attrgetter("key")


def batch_entry(kind: str, records: Sequence[Any]) -> BatchEntry:
    """What the manifest keeps of one approved batch's published records (in approval order):
    their ids joined by newlines, their input keys (a record's :data:`KEY_SIZE` bytes, then its
    archive's id, if any) concatenated, and the keys' lengths. Made and compared at C speed: a
    batch none of whose records came, went or changed costs a few ``memcmp`` at 10^6 records,
    where a dict of record id → key was made, compared, pickled and loaded record by record."""
    ids: str | tuple[str, ...] = "\n".join(map(_ID, records))
    # Never for the 16-hex ids records.record_id makes
    if ids.count("\n") != max(0, len(records) - 1):
        ids = tuple(map(_ID, records))
    keys = list(map(_KEY, records))
    return (kind, ids, b"".join(keys), array.array("I", map(len, keys)).tobytes())


def entry_keys(entry: BatchEntry) -> dict[str, bytes]:
    """Record id → key of a :func:`batch_entry` (read back only for a batch that changed)."""
    _kind, ids, keys, lengths = entry
    sizes = array.array("I")
    sizes.frombytes(lengths)
    if not sizes:
        return {}
    found, at = {}, 0
    for rid, size in zip(ids.split("\n") if isinstance(ids, str) else ids, sizes):
        found[rid] = keys[at : at + size]
        at += size
    return found


def differing_batches(old: Mapping[str, BatchEntry], new: Mapping[str, BatchEntry]) -> list[str]:
    """The ids of the batches whose entries differ between two manifests (or are in only one), sorted."""
    return [
        batch_id
        for batch_id in sorted(old.keys() | new.keys())
        if old.get(batch_id) != new.get(batch_id)
    ]


def record_changes(
    old: Mapping[str, BatchEntry], new: Mapping[str, BatchEntry]
) -> tuple[dict[str, dict[str, bytes]], dict[str, dict[str, bytes]]]:
    """(before, now): kind → record id → key, over the batches whose entries differ between the
    ``old`` and the ``new`` manifest (a batch in only one of them included). A record id is
    published from one batch at a time, so a record that came, went, moved to another batch or
    changed its key is in one of these batches, before or now, and every other record is unchanged."""
    before: dict[str, dict[str, bytes]] = {}
    now: dict[str, dict[str, bytes]] = {}
    for batch_id in differing_batches(old, new):
        for entry, side in ((old.get(batch_id), before), (new.get(batch_id), now)):
            if entry is not None:
                side.setdefault(entry[0], {}).update(entry_keys(entry))
    return before, now


PACKED_KEYS = "keys/1"


def _pack_keys(keys: dict[str, bytes]) -> Any:
    """A dict of id → :data:`KEY_SIZE`-byte key as two flat objects (ids newline-joined, keys
    concatenated): the archives' keys (770,000 at 10^6 records) written as a dict were slow to
    write on every incremental build, and are much faster so; read back, making the dict from them
    takes less time than reading the dict itself did. Any other dict (an id with a newline, a key
    that is not ``KEY_SIZE`` bytes) is kept as it is."""
    ids = "\n".join(keys)
    if (
        ids.count("\n") != max(0, len(keys) - 1)
        or not set(map(type, keys.values())) <= {bytes}
        or not set(map(len, keys.values())) <= {KEY_SIZE}
    ):
        return keys
    return (PACKED_KEYS, ids, b"".join(keys.values()))


def _unpack_keys(packed: Any) -> dict[str, bytes]:
    """The dict :func:`_pack_keys` packed, in the same order; a damaged one is an unreadable
    manifest (:func:`load`: the next build is a clean one)."""
    if isinstance(packed, dict):
        return packed
    try:
        tag, ids, blob = packed
        if tag != PACKED_KEYS or len(blob) % KEY_SIZE:
            raise ValueError(tag)
        if not blob:
            return {}
        keys = map(
            blob.__getitem__,
            map(slice, range(0, len(blob), KEY_SIZE), range(KEY_SIZE, len(blob) + 1, KEY_SIZE)),
        )
        return dict(zip(ids.split("\n"), keys, strict=True))
    except (TypeError, ValueError) as error:
        raise ValueError(f"archive keys: {error}") from None


@dataclass
class Manifest:
    """What the last build wrote and from which inputs."""

    fingerprint: str = ""
    output_signature: str = ""
    # Approved batch id → its published records (batch_entry)
    batches: dict[str, BatchEntry] = field(default_factory=dict)
    entities: dict[str, bytes] = field(default_factory=dict)  # entity id → key
    # Name → (key, its files)
    units: dict[str, tuple[bytes, tuple[str, ...]]] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)  # every file that is rendered on each build
    # What a skipped unit still provides (download catalogs)
    data: dict[str, Any] = field(default_factory=dict)

    def as_data(self) -> dict[str, Any]:
        """What the next build reads back (:func:`save`, :func:`load`): the fields, the archives'
        keys packed flat; not this build's memo (:meth:`record_changes`)."""
        found = {name: getattr(self, name) for name in _MANIFEST_FIELDS}
        found["entities"] = _pack_keys(self.entities)
        return found

    @classmethod
    def of_data(cls, data: Any) -> Manifest:
        """The manifest :meth:`as_data` gave (ValueError or TypeError for anything else)."""
        if type(data) is not dict or data.keys() != set(_MANIFEST_FIELDS):
            raise ValueError("not a build manifest")
        return cls(**{**data, "entities": _unpack_keys(data["entities"])})

    def record_changes(
        self, old: Manifest
    ) -> tuple[dict[str, dict[str, bytes]], dict[str, dict[str, bytes]]]:
        """:func:`record_changes` from ``old`` to this manifest, computed once a build (the plugin
        asks when it queues the pages, the apply when it removes files: a pass over every batch)."""
        memo = self.__dict__.get("changes")
        # The batches are set once a build
        if memo is None or memo[0] is not old.batches or memo[1] is not self.batches:
            memo = self.__dict__["changes"] = (
                old.batches,
                self.batches,
                *record_changes(old.batches, self.batches),
            )
        return memo[2], memo[3]

    def removed_since(self, old: Manifest, record_url: Any, entity_url: Any) -> list[str]:
        """Files ``old`` listed that this build no longer has, sorted (set differences by id: the
        1.8 million paths of a 10^6 site are never formatted)."""
        before, now = self.record_changes(old)
        gone = {
            record_url(kind, rid)
            for kind, keys in before.items()
            for rid in keys.keys() - now.get(kind, {}).keys()
        }
        gone.update(entity_url(eid) for eid in old.entities.keys() - self.entities.keys())
        files = {f for _key, unit in self.units.values() for f in unit}
        files.update(self.files)
        gone.update(f for _key, unit in old.units.values() for f in unit if f not in files)
        gone.update(f for f in old.files if f not in files)
        return sorted(gone)


_MANIFEST_FIELDS = tuple(f.name for f in dataclasses.fields(Manifest))


MANIFEST_PURPOSE = "build-manifest/4"  # 4: data only, authenticated (generator.cache)


def _entry(path: Path, fingerprint: str) -> cache.Entry:
    """The manifest file at ``path``, authentic only for the build ``fingerprint`` it describes."""
    return cache.Entry(path, MANIFEST_PURPOSE, fingerprint.encode("utf-8"))


def load(output: Path, fingerprint: str) -> Manifest | None:
    """The last build's manifest, if it still describes ``output`` and this code and theme. A
    manifest that is not authentic (:mod:`generator.cache`) is no manifest: the build is a clean one."""
    try:
        manifest = Manifest.of_data(cache.get(_entry(manifest_path(output), fingerprint)))
    except (TypeError, ValueError):
        return None
    if manifest.fingerprint != fingerprint or manifest.output_signature != signature(output):
        return None
    return manifest


# Rewritten by every build that changes anything
SIGNED = (
    "index.html",
    "search/manifest.json",
    "sitemap.xml",
)


def signature(output: Path) -> str:
    h = hashlib.blake2b(digest_size=16)
    for name in SIGNED:
        try:
            h.update((output / name).read_bytes())
        except OSError:
            h.update(b"-")
    return h.hexdigest()


def save(manifest: Manifest, output: Path) -> None:
    manifest.output_signature = signature(output)
    _write(manifest, manifest_path(output), atomic=True)


def _write(manifest: Manifest, path: Path, atomic: bool) -> None:
    """Write ``manifest`` to ``path`` (an OSError when it cannot be: the apply saves it again)."""
    if not cache.write(
        _entry(path, manifest.fingerprint), [cache.pack(manifest.as_data())], atomic=atomic
    ):
        raise OSError(f"build manifest not written: {path}")


def fingerprint(root: Path, settings: Mapping[str, Any], extra: Iterable[Any] = ()) -> str:
    """Everything every page depends on: theme files, generator code, library versions, and the
    ``settings`` the templates read (our :class:`~generator.settings.Config`, site name and URL)."""
    h = hashlib.blake2b(digest_size=16)
    # Python's Unicode tables: NFKC in the search tokens
    h.update(f"format {FORMAT}\npython {sys.version}\n".encode())
    package = Path(__file__).resolve().parent
    for base in (root / "theme", package):
        for path in sorted(
            p for p in base.rglob("*") if p.is_file() and "__pycache__" not in p.parts
        ):
            h.update(f"{path.relative_to(base).as_posix()}\n".encode())
            h.update(path.read_bytes())
    for name in LIBRARIES:
        try:
            h.update(f"{name} {importlib.metadata.version(name)}\n".encode())
        except importlib.metadata.PackageNotFoundError:
            h.update(f"{name} -\n".encode())
    for key in sorted(settings):
        h.update(f"{key}={settings[key]!r}\n".encode())
    for item in extra:
        h.update(f"{item!r}\n".encode())
    return h.hexdigest()


def walk_files(folder: Path, skip_top: Iterable[str] = ()) -> list[str]:
    """Relative POSIX paths of every file under ``folder``, sorted; top-level folders in
    ``skip_top`` are not entered (their files are all keyed)."""
    return sorted(rel for rel, _entry in iter_tree(folder, skip_top))


class Trash:
    """The old versions of the files an apply replaces or removes, freed by a separate process.

    On this project's VM (ext4 without a journal) replacing or deleting a file costs several times
    what a rename to a new name costs, nearly all of it freeing the old file's inode and blocks
    (``python bench/files.py --replace``). So the old file is first
    kept alive by a hard link in a folder beside the output (never deployed), the new one then
    replaces it without freeing anything, and ``rm -r`` frees the old ones on the other core
    while the build writes its report. Readers still see the old file or the new one, never none.
    Until the apply commits, the kept files are its undo copies: operation *i* of the journal
    keeps its file as ``<folder>/<i>`` (:mod:`generator.journal`). Folders left by an interrupted
    build or by a clean build's detached free (:func:`abandoned_trash`) are freed detached, not
    waited for: at 10^6 records an old output takes longer to delete than a build takes."""

    def __init__(self, live: Path):
        # Freed detached, not waited for (:func:`free_detached`)
        self.abandoned = abandoned_trash(live)
        self.folder = Path(
            tempfile.mkdtemp(prefix=f".{live.name}.replaced-{os.getpid()}-", dir=live.parent)
        )
        self.folders = [self.folder]
        self.count = 0
        self.process: subprocess.Popen | None = None

    def _slot(self, number: int | None) -> str:
        """Where operation ``number`` keeps its old file (the next free name without a number)."""
        if number is None:
            self.count += 1
            number = -self.count
        return str(self.folder / str(number))

    def _put(self, put: Callable[[str, str], None], path: Path, number: int | None) -> bool:
        """``put(path, slot)``; False if ``path`` is not there. A trash folder removed under a
        running build (by a temp cleaner) is made again."""
        slot = self._slot(number)
        try:
            put(str(path), slot)
        except FileNotFoundError:
            if not os.path.lexists(path):
                return False
            self.folder.mkdir(exist_ok=True)
            put(str(path), slot)
        return True

    def keep(self, path: Path, number: int | None = None) -> None:
        """Hold on to ``path``'s current file before it is replaced: the apply's undo copy."""
        self._put(_link_or_copy, path, number)

    def take(self, path: Path, number: int | None = None) -> bool:
        """Move ``path`` from the live folder into the trash; False if it is not there."""
        return self._put(os.rename, path, number)

    def empty(self) -> None:
        """Start freeing the old files in another process (see :meth:`wait`)."""
        free_detached(self.abandoned)
        self.process = _start_rm(self.folders, detached=False)

    def wait(self) -> None:
        if self.process is not None:
            self.process.wait()
            self.process = None


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except FileNotFoundError:
        raise
    except OSError:  # a file system without hard links
        shutil.copy2(source, target)


def abandoned_trash(live: Path) -> list[Path]:
    """Trash folders beside ``live`` whose build is no longer running (interrupted while its old
    files were being freed). A folder's name carries its build's process id."""
    return journal.abandoned(live.parent, f".{live.name}.replaced-")


def _is_empty(folder: Path) -> bool:
    """Whether ``folder`` has no entries, reading only its first ones (``Path.iterdir`` lists
    all of them: 1,400 pages of a records folder, for each folder a withdrawal touches)."""
    with os.scandir(folder) as entries:
        return next(entries, None) is None


@dataclass
class ApplyResult:
    unchanged: int = 0  # rendered, byte-identical to the live file, not moved (mtime kept)
    # The replaced and removed files, being freed (wait() before exiting)
    trash: Trash | None = None
    # Files new or changed, moved into the live folder
    moved: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)  # files deleted from it
    # Every file the new site no longer has, deleted or not there to delete (a page that a proving
    # shadow build kept only as a digest, :class:`generator.proof.Prover`)
    retired: list[str] = field(default_factory=list)

    @property
    def written(self) -> int:
        return len(self.moved)

    @property
    def deleted(self) -> int:
        return len(self.removed)


def apply(
    staging: Path, live: Path, old: Manifest, new: Manifest, record_url: Any, entity_url: Any
) -> ApplyResult:
    """Move the staged files into ``live`` and delete what the new site no longer has.

    New and changed files go first and deletions last, so a page is never linked to one that is
    already gone. Each move is a ``rename`` within one file system, so a reader sees the old file
    or the new one, never half of one. The whole plan is journaled before the first change, and
    :class:`Trash` keeps every old file until the journal is committed, after the new manifest:
    a failure here puts the live folder back as it was, and a build killed here is rolled back by
    the next one (:func:`journal.recover`). Then the old files are freed.
    """
    removed = new.removed_since(old, record_url, entity_url)
    result = ApplyResult(retired=removed)
    ops, folders = _plan(staging, live, removed, result)
    trash = result.trash = Trash(live)
    undo = journal.begin_apply(live, trash.folder, ops, folders, manifest_path(live))
    fault("apply", "journal")
    saver = None
    try:
        # The old manifest is kept in the trash; code that reads no journal sees no manifest
        forget(live)
        fault("apply", "forget")
        saver = _save_beside(new, staging, live)
        _move(staging, live, ops, result)
        saved = False
        if saver is not None:
            try:
                saver.result()
                os.replace(_pending_manifest(live), manifest_path(live))
                saved = True
            except Exception as error:  # noqa: BLE001 - the files have moved: the manifest is saved here instead
                log.warning("manifest not written beside the moves (%s): saved after them", error)
                _pending_manifest(live).unlink(missing_ok=True)
            saver = None
        if not saved:
            save(new, live)
        fault("apply", "manifest")
        undo.commit()
    except BaseException:
        if saver is not None:
            saver.kill()
            _pending_manifest(live).unlink(missing_ok=True)
        undo.roll_back()
        free_detached(trash.folders)
        raise
    fault("apply", "commit")
    trash.empty()
    return result


def _pending_manifest(live: Path) -> Path:
    return manifest_path(live).with_name(f"{manifest_path(live).name}.new-{os.getpid()}")


def _save_beside(new: Manifest, staging: Path, live: Path) -> Any:
    """Pack and write the new manifest in a forked child while the files move (a long step at
    10^6 records, on the core the moves leave idle); None when no child can be forked. Its
    signature is the staged files': every build renders each :data:`SIGNED` file, and the apply
    leaves the live one with the same bytes."""
    from .forked import Forked

    if not hasattr(os, "fork"):
        return None
    new.output_signature = signature(staging)
    pending = _pending_manifest(live)

    def write() -> None:
        _write(new, pending, atomic=False)  # renamed into place by the apply

    try:
        return Forked(write)
    except OSError:
        return None


def _plan(
    staging: Path, live: Path, removed: list[str], result: ApplyResult
) -> tuple[list[tuple[str, str]], list[str]]:
    """The apply's operations in order, decided before any is done (the journal): each staged file
    that differs from the live one replaces it (REPLACE) or is added (NEW), then each ``removed``
    file goes (DELETE); and the folders the new files need, parents first."""
    ops: list[tuple[str, str]] = []
    folders: list[str] = []
    seen: set[str] = set()
    for rel in walk_files(staging):
        target = live / rel
        if target.is_file():
            if filecmp.cmp(staging / rel, target, shallow=False):
                result.unchanged += 1
            else:
                ops.append((REPLACE, rel))
            continue
        ops.append((NEW, rel))
        missing, folder = [], posixpath.dirname(rel)
        while folder and folder not in seen:
            seen.add(folder)
            if (live / folder).is_dir():
                break
            missing.append(folder)
            folder = posixpath.dirname(folder)
        folders.extend(reversed(missing))
    ops.extend((DELETE, rel) for rel in removed)
    return ops, folders


def _move(staging: Path, live: Path, ops: list[tuple[str, str]], result: ApplyResult) -> None:
    """Do the planned operations; operation *i* keeps the file it replaces or deletes in the trash as *i*."""
    trash = result.trash
    assert trash is not None
    made: set[Path] = set()
    emptied: set[Path] = set()
    for number, (op, rel) in enumerate(ops):
        target = live / rel
        if op == DELETE:
            if trash.take(target, number):
                result.removed.append(rel)
                emptied.add(target.parent)
                fault("apply", f"delete {rel}")
            continue
        if op == REPLACE:
            trash.keep(target, number)
            fault("apply", f"keep {rel}")
        elif target.parent not in made:
            target.parent.mkdir(parents=True, exist_ok=True)
            made.add(target.parent)
            fault("apply", f"mkdir {rel}")
        os.replace(staging / rel, target)
        result.moved.append(rel)
        fault("apply", f"move {rel}")
    for folder in sorted(emptied, key=lambda p: len(p.parts), reverse=True):
        while folder != live and folder.is_dir() and _is_empty(folder):
            folder.rmdir()
            fault("apply", f"rmdir {folder.relative_to(live)}")
            folder = folder.parent

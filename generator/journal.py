"""Atomic output to the last file: the apply's write-ahead journal, the recovery of killed builds,
and the fault injection that tests both.

A clean build renders a new folder and swaps it in with one ``renameat2(RENAME_EXCHANGE)``
(``build.swap_in``). An incremental build moves its changed files into the live folder one by one
(``incremental.apply``), and a build killed half-way (``kill -9``, the out-of-memory killer, a CI
runner stopped) used to leave new pages beside old ones. So before it changes anything, the apply
writes its whole plan to the journal beside the output (``.<output>.disclose-journal``, never
deployed), and removes the journal after its last change (the commit):

- every operation in order: ``R`` replace a live file, ``N`` add one, ``D`` delete one;
- the trash folder (``.<output>.replaced-*``) where operation *i* keeps the old version of the file
  it replaces or deletes under the name *i*: a hard link made before the change, so no bytes are
  copied (:class:`generator.incremental.Trash`), and the old manifest under ``manifest``;
- the folders it makes for new files.

The next build calls :func:`recover` before anything else and rolls an unfinished apply **back**:
new files go, the folders made for them go, each kept old file is renamed back, the old manifest
comes back. Then the output is the old site byte for byte, and the build makes the new one again
(incrementally: the old manifest holds). Back, not forward: rolling forward needs the staged new
files and the new manifest, which a killed build may not have finished writing and which are not
on disk before the kernel writes them; rolling back needs only what was there before, hard-linked.
Each step of the rollback looks at what is there first, so a recovery that is itself killed is
finished by the next one. Only the journal is forced to disk (one ``fsync`` of it and one of its
folder before the first change, one of the folder after the commit), so a machine
crash cannot leave changes without their journal, or a journal after its trash was freed. An
``fsync`` per file (a wait for the disk each, thousands of files a night) buys nothing against
``kill -9``, where everything a finished system call did is in the page cache: what this relies
on is that ``rename(2)`` replaces a name atomically and that the journal is complete (written
under a temporary name, then renamed) before the first change.

A clean build's fallback swap (two renames, where the kernel has no ``RENAME_EXCHANGE``) has a
moment with no output folder at all; it journals the old site's trash name too, and the next build
renames it back (:func:`swap`).

The journal is locked (``lockf``) by its build while it runs: a second build of the same output
refuses to start instead of rolling back a running apply. Locks die with their process, even one
killed by ``SIGKILL``, and are not inherited by forked children.

Folders a killed build leaves are removed by the next run: the build's own
``.<output>.building-<pid>-*`` (freed detached: a whole site). A folder's name carries the process
id of the run that made it, and a folder whose process is still running is kept: exact, where an
age threshold would either keep leftovers for hours or delete the folder of a long build. A reused
process id only keeps a leftover until a later run. Names from before process ids were added (no
digits after the prefix) are leftovers: no older code runs beside this one. (An ingest's staging
folders are owned through a lock instead: :func:`generator.batches.remove_stale_staging`.)

Fault injection (tests): ``DISCLOSE_FAULT_AFTER=stage:N`` kills the process with ``SIGKILL`` right
after the N-th point of ``stage`` is reached (``apply``: after each file operation of the apply;
``recover``: after each step of a rollback; ``swap``; ``build``), ``stage:name`` after a named one
(``swap:exchanged``, ``swap:aside``, ``build:recovered``, ``apply:journal``, ``apply:commit``).
``DISCLOSE_FAULT_LOG=FILE`` appends every point reached to FILE, one ``stage:N what`` a line.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import glob
import json
import logging
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from .errors import BuildError

log = logging.getLogger(__name__)

FORMAT = 1
REPLACE, NEW, DELETE = "R", "N", "D"
KEPT_MANIFEST = "manifest"  # the old manifest's name in the trash folder
FAULT_ENV = "DISCLOSE_FAULT_AFTER"
FAULT_LOG_ENV = "DISCLOSE_FAULT_LOG"
_reached: dict[str, int] = {}


def fault(stage: str, what: str = "") -> None:
    """A point where a test may kill this process (see the module's documentation)."""
    spec, record = os.environ.get(FAULT_ENV), os.environ.get(FAULT_LOG_ENV)
    if not (spec or record):
        return
    count = _reached[stage] = _reached.get(stage, 0) + 1
    if record:
        with open(record, "a", encoding="utf-8") as fh:
            fh.write(f"{stage}:{count} {what}\n")
    if spec in (f"{stage}:{count}", f"{stage}:{what}"):
        os.kill(os.getpid(), signal.SIGKILL)


def journal_path(output: Path) -> Path:
    return output.parent / f".{output.name}.disclose-journal"


def running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def abandoned(folder: Path, prefix: str) -> list[Path]:
    """Entries of ``folder`` named ``<prefix><pid>…`` whose process is no longer running, or named
    ``<prefix>…`` without a process id (made before names carried one), sorted. This process's own
    count as abandoned: a run looks for leftovers before it makes its own."""
    found = []
    with contextlib.suppress(FileNotFoundError):
        for path in sorted(folder.iterdir()):
            if not path.name.startswith(prefix):
                continue
            pid = path.name[len(prefix) :].split("-")[0]
            if pid.isdigit() and int(pid) != os.getpid() and running(int(pid)):
                continue  # another run, still at work
            found.append(path)
    return found


def manifest_path(output: Path) -> Path:
    return output.parent / f".{output.name}.disclose-manifest"


def forget(output: Path) -> None:
    """Drop the manifest: the next build of ``output`` is a clean one. Also drops manifests a
    killed build left half-written (``….new-<pid>``, see :func:`apply`)."""
    manifest_path(output).unlink(missing_ok=True)
    path = manifest_path(output)
    for pending in path.parent.glob(f"{glob.escape(path.name)}.new-*"):
        pid = pending.name.rsplit("-", 1)[-1]
        if not (pid.isdigit() and int(pid) != os.getpid() and running(int(pid))):
            pending.unlink(missing_ok=True)


def free_detached(folders: list[Path]) -> subprocess.Popen | None:
    """Free ``folders`` (old outputs, abandoned trash) in a detached ``rm -r`` that outlives the
    build, as ``git gc --auto`` detaches: their pages are no longer the site. If it is killed
    (a CI container ends), the next build finds the folder by its name and frees it again
    (:func:`abandoned_trash`)."""
    process = _start_rm(folders, detached=True) if folders else None
    if process is not None:
        # Referenced until exit: Python warns about a collected running child
        _DETACHED.append(process)
    return process


def _start_rm(folders: list[Path], detached: bool) -> subprocess.Popen | None:
    """``rm -r`` of ``folders`` in another process (in its own session if ``detached``); without
    ``rm`` they are freed here and None is returned."""
    quiet: dict[str, Any] = (
        {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "start_new_session": True}
        if detached
        else {}
    )
    try:
        return subprocess.Popen(
            ["rm", "-rf", "--", *map(str, folders)], stdin=subprocess.DEVNULL, **quiet
        )
    except OSError:
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)
        return None


def wait_detached() -> None:
    """Wait for this process's detached frees (tests, and callers that need the disk space)."""
    while _DETACHED:
        _DETACHED.pop().wait()


_DETACHED: list[subprocess.Popen] = []


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Journal:
    """One apply's (or fallback swap's) plan, on disk and locked from before its first change
    until :meth:`commit`; :meth:`roll_back` undoes whatever of it was done."""

    def __init__(self, output: Path, entry: dict, fd: int):
        self.output, self.entry, self.fd = output, entry, fd

    @classmethod
    def begin(cls, output: Path, entry: dict) -> Journal:
        path = journal_path(output)
        entry = {"format": FORMAT, "pid": os.getpid(), **entry}
        pending = path.with_name(f"{path.name}.new-{os.getpid()}")
        fd = os.open(pending, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX)  # before the journal has its name: never seen unlocked
            data = memoryview(json.dumps(entry).encode("utf-8"))
            # On this descriptor only: closing any other one of the file would drop the lock
            while data:
                data = data[os.write(fd, data) :]
            os.fsync(fd)
            os.rename(pending, path)
            _fsync_folder(path.parent)
        except BaseException:
            os.close(fd)
            pending.unlink(missing_ok=True)
            raise
        return cls(output, entry, fd)

    def commit(self) -> None:
        """Everything planned is done: the journal goes (on disk before anything frees the trash)."""
        journal_path(self.output).unlink()
        _fsync_folder(self.output.parent)
        self.close()

    def roll_back(self) -> int:
        """Undo this journal's changes in this process (a failure, not a kill); the journal goes."""
        try:
            undone = _roll_back(self.output, self.entry)
            journal_path(self.output).unlink(missing_ok=True)
            return undone
        finally:
            self.close()

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)  # the lock goes with it
            self.fd = -1


def begin_apply(
    output: Path,
    trash: Path,
    ops: Sequence[tuple[str, str]],
    folders: Sequence[str],
    manifest: Path,
) -> Journal:
    """Keep the old ``manifest`` in ``trash`` (a hard link) and write the apply's journal."""
    kept, have_kept = trash / KEPT_MANIFEST, True
    try:
        os.link(manifest, kept)
    except FileNotFoundError:
        have_kept = False
    except OSError:  # a file system without hard links
        shutil.copy2(manifest, kept)
    return Journal.begin(
        output,
        {
            "kind": "apply",
            "trash": trash.name,
            "manifest": manifest.name,
            "kept_manifest": have_kept,
            "folders": list(folders),
            "ops": list(ops),
        },
    )


@contextlib.contextmanager
def swap(output: Path, old: Path, new: Path) -> Iterator[None]:
    """Journal a fallback swap of ``new`` into ``output`` that moves the old site to ``old`` first."""
    journal = Journal.begin(output, {"kind": "swap", "old": old.name, "new": new.name})
    try:
        yield
    except BaseException:
        journal.roll_back()
        raise
    journal.commit()


def recover(output: Path) -> int:
    """Roll back the apply (or swap) a killed build left unfinished in ``output``, and free the
    folders killed builds left beside it; the number of file changes undone. Raises
    :class:`BuildError` while another build of ``output`` is applying."""
    path = journal_path(output)
    for pending in abandoned(path.parent, f"{path.name}.new-"):  # killed while writing the journal
        pending.unlink(missing_ok=True)
    undone = 0
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        fd = -1
    if fd >= 0:
        try:
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as error:
                if error.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                raise BuildError(
                    f"另一个构建正在更新 {output.name}（{path.name} 被锁定），请等它结束后再构建"
                ) from None
            data = b"".join(iter(lambda: os.read(fd, 1 << 20), b""))
            try:
                entry = json.loads(data)
                if not _valid(output, entry):
                    raise ValueError("not a journal of this output")
            except (ValueError, AttributeError, RecursionError, TypeError):
                entry = None
            if entry is None:  # never written so by this code: the output cannot be trusted
                forget(output)
                log.warning(
                    "%s 无法读取，无法撤回上次中断的更新：将全量构建 %s", path.name, output.name
                )
            else:
                undone = _roll_back(output, entry)
                log.warning(
                    "上次构建在更新 %s 时中断：已撤回它改动的 %d 个文件，恢复为中断前的网站",
                    output.name,
                    undone,
                )
            path.unlink()
            _fsync_folder(path.parent)
        finally:
            os.close(fd)
    free_detached(abandoned(output.parent, f".{output.name}.building-"))
    return undone


def _valid(output: Path, entry: Any) -> bool:
    """Whether ``entry`` is a journal this code could have written for ``output``: a journal is a file
    beside the output that anyone who can write there may plant, so before anything is renamed or
    removed every name in it must stay inside ``output`` (no absolute path, no ``..``, no symbolic
    link on the way) or be one of the output's own sibling folders."""
    if not isinstance(entry, dict) or entry.get("format") != FORMAT:
        return False

    def sibling(name: Any, *prefixes: str) -> bool:
        return (
            isinstance(name, str)
            and "/" not in name
            and "\0" not in name
            and name.startswith(prefixes)
            and not os.path.islink(output.parent / name)
        )

    if entry.get("kind") == "swap":
        return sibling(entry.get("old"), f".{output.name}.") and sibling(
            entry.get("new"), f".{output.name}."
        )
    ops, folders = entry.get("ops"), entry.get("folders")
    if entry.get("kind") != "apply" or not isinstance(ops, list) or not isinstance(folders, list):
        return False
    if (
        not sibling(entry.get("trash"), f".{output.name}.replaced-")
        or entry.get("manifest") != manifest_path(output).name
        or not isinstance(entry.get("kept_manifest"), bool)
        or os.path.islink(output)
    ):
        return False
    if not all(
        isinstance(op, list) and len(op) == 2 and op[0] in (NEW, REPLACE, DELETE) for op in ops
    ):
        return False
    return all(_inside(output, rel) for rel in [*folders, *(rel for _op, rel in ops)])


def _inside(output: Path, rel: Any) -> bool:
    """A relative path of a file or folder inside ``output`` that no symbolic link leads out of."""
    if not isinstance(rel, str) or not rel or rel.startswith("/") or "\0" in rel:
        return False
    parts = rel.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return False
    here = output
    for part in parts[:-1]:
        here = here / part
        if os.path.islink(here):
            return False
    return True


def _roll_back(output: Path, entry: dict) -> int:
    if entry.get("kind") == "swap":
        return _roll_back_swap(output, entry)
    trash, ops = output.parent / entry["trash"], entry["ops"]
    undone = 0
    for op, rel in ops:  # new files first, then the folders made for them
        if op == NEW:
            with contextlib.suppress(FileNotFoundError):
                (output / rel).unlink()
                undone += 1
                fault("recover", f"remove {rel}")
    for folder in reversed(entry["folders"]):
        with contextlib.suppress(FileNotFoundError, OSError):
            (output / folder).rmdir()
    for number, (op, rel) in enumerate(ops):
        kept = trash / str(number)
        if op == NEW or not os.path.lexists(kept):
            continue  # not changed yet: the live file is the old one
        if op == DELETE:
            # The apply removes emptied folders
            (output / rel).parent.mkdir(parents=True, exist_ok=True)
        # Onto the new file; onto the old one itself (replace killed between link and rename), rename
        # does nothing and the link stays in the trash.
        os.rename(kept, output / rel)
        undone += 1
        fault("recover", f"restore {rel}")
    manifest, kept = output.parent / entry["manifest"], trash / KEPT_MANIFEST
    if not entry["kept_manifest"]:
        manifest.unlink(missing_ok=True)
    elif os.path.lexists(kept):
        os.rename(kept, manifest)  # else restored already, by a recovery that was killed after it
    return undone


def _roll_back_swap(output: Path, entry: dict) -> int:
    """The old site went to ``old`` and the new one was not yet in place: put the old one back.
    Otherwise the output is one complete site, old or new, and stays."""
    old = output.parent / entry["old"]
    if os.path.lexists(output) or not old.is_dir():
        return 0
    os.rename(old, output)
    return 1

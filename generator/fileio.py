"""Small file helpers every stage uses: canonical JSON lines, atomic writes, and file digests
(remembered for one build: a build checks every batch file three times)."""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import blake3


def dumps_line(obj: Any) -> str:
    """Canonical JSON for one line: sorted keys, UTF-8 text, no spaces (diffable, hashable)."""
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def write_json(path: Path, obj: Any) -> None:
    """Write pretty, sorted JSON atomically (temp file + rename)."""
    atomic_write_text(path, json.dumps(obj, ensure_ascii=False, sort_keys=True, indent=2) + "\n")


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary file beside ``path``, then rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def iter_tree(folder: Path, skip_top: Iterable[str] = ()) -> Iterator[tuple[str, os.DirEntry]]:
    """(relative POSIX path, entry) of everything under ``folder`` that is not a directory, in no
    particular order; symbolic links are not followed; top-level folders in ``skip_top`` are skipped."""
    skip = set(skip_top)
    stack = [("", str(folder))]
    while stack:
        prefix, path = stack.pop()
        with os.scandir(path) as entries:
            for entry in entries:
                rel = prefix + entry.name
                if entry.is_dir(follow_symlinks=False):
                    if not (prefix == "" and entry.name in skip):
                        stack.append((rel + "/", entry.path))
                else:
                    yield rel, entry


# The digests a batch's records can be pinned by, newest first. Every build checks every batch
# (924 MB at 10^6 records): BLAKE3 reads them many times faster than sha256 on a CPU without SHA
# instructions, where sha256 took a noticeable share of a nightly build's time target (figures in
# docs/scaling.md, "Measurements behind the code"). sha256 stays for batches staged before BLAKE3
# and for what citizens check with ``sha256sum`` (downloads, sources).
HASHERS: dict[str, Any] = {"blake3": blake3.blake3, "sha256": hashlib.sha256}


def file_digest(path: Path, algorithm: str = "sha256") -> str:
    """The file's digest, read once per build (see :func:`forget_checksums`) while its inode,
    size, mtime and ctime stay the same: a build checks every batch three times (before Pelican,
    forking workers, the state). Any write changes the ctime, which no user can set back; as in
    git's "racy" check, a file changed less than :data:`_RACY_NS` before it was read is read again
    (timestamps tick in milliseconds: a write in the same tick would look unchanged). A file
    :func:`prefetch_checksums` is hashing is waited for, then checked the same way."""
    pending = _PENDING.get((str(path), algorithm))
    if pending is not None:
        concurrent.futures.wait([pending])  # its error, if any, is met again below
    return _digest_memo(path, algorithm)


def sha256_file(path: Path) -> str:
    return file_digest(path, "sha256")


def both_digests(path: Path) -> tuple[str, str]:
    """(sha256, BLAKE3) of one read of the file, not memoised (staging, ``disclose repin``)."""
    sha256, b3 = hashlib.sha256(), blake3.blake3()
    buffer = bytearray(1 << 20)
    view = memoryview(buffer)
    with path.open("rb") as fh:
        while size := fh.readinto(buffer):
            sha256.update(view[:size])
            b3.update(view[:size])
    return sha256.hexdigest(), b3.hexdigest()


def _digest_memo(path: Path, algorithm: str) -> str:
    with path.open("rb") as fh:
        st = os.fstat(fh.fileno())
        stamp = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        known = _DIGESTS_SEEN.get((str(path), algorithm))
        if known is not None and known[0] == stamp:
            return known[1]
        read_at = time.time_ns()
        digest = hashlib.file_digest(fh, HASHERS[algorithm]).hexdigest()
    if read_at - max(st.st_mtime_ns, st.st_ctime_ns) > _RACY_NS:
        _DIGESTS_SEEN[(str(path), algorithm)] = (stamp, digest)
    return digest


_DIGESTS_SEEN: dict[tuple[str, str], tuple[tuple[int, ...], str]] = {}
_PENDING: dict[tuple[str, str], concurrent.futures.Future] = {}
_RACY_NS = 2_000_000_000


def prefetch_checksums(files: list[tuple[Path, str]], threads: int) -> None:
    """Start hashing ``files`` ((path, algorithm) pairs) in background threads, biggest first:
    both hashers release the GIL, so the files are read on every core while the build imports
    Pelican and reads its settings; :func:`file_digest` then finds them in its memo."""

    def size(item: tuple[Path, str]) -> int:
        try:
            return item[0].stat().st_size
        except OSError:
            return 0

    pool = concurrent.futures.ThreadPoolExecutor(
        max_workers=max(1, threads), thread_name_prefix="digest"
    )
    for path, algorithm in sorted(files, key=size, reverse=True):
        _PENDING[(str(path), algorithm)] = pool.submit(_digest_memo, path, algorithm)
    pool.shutdown(wait=False)


def wait_for_checksums() -> None:
    """Wait until no :func:`prefetch_checksums` thread runs (before forking); the memo stays."""
    concurrent.futures.wait(list(_PENDING.values()))
    _PENDING.clear()


def forget_checksums() -> None:
    """Start a build with every batch read again: the memo above spans one build, never two
    (a write through a shared mmap can leave the stat unchanged until writeback)."""
    wait_for_checksums()
    _DIGESTS_SEEN.clear()

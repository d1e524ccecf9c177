"""Small file helpers every stage uses: canonical JSON lines and atomic writes."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable, Iterator


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

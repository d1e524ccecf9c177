"""The batch store: ``content/batches/<BATCH_ID>/`` with records, manifest, reports and approvals.

A batch is immutable once staged. Its id derives from its content, so staging the same
export twice yields the same batch. ``approval.json`` pins the digest of ``records.jsonl`` at
approval (BLAKE3; sha256 for batches staged before BLAKE3, until ``disclose repin``); a batch whose
records no longer match is *tampered* and stops the build.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator
from zoneinfo import ZoneInfo

import blake3

from .errors import UserError
from .settings import Config

RECORDS = "records.jsonl"
MANIFEST = "manifest.json"
APPROVAL = "approval.json"
REJECTIONS = "rejections.csv"
WARNINGS = "warnings.csv"
WITHDRAWAL = "withdrawal"  # kind of a withdrawal batch


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
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# The digests a batch's records can be pinned by, newest first. Every build checks every batch
# (924 MB at 10^6 records): BLAKE3 reads ~2.3 GB/s a core on this project's machine, sha256 ~185 MB/s
# on a CPU without SHA instructions (4.5 s of a nightly build's 30 s target). sha256 stays for
# batches staged before BLAKE3 and for what citizens check with ``sha256sum`` (downloads, sources).
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

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, threads), thread_name_prefix="digest")
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


def now_iso(cfg: Config) -> str:
    return dt.datetime.now(ZoneInfo(cfg.TIMEZONE)).replace(microsecond=0).isoformat()


@dataclass
class Batch:
    """One staged batch on disk."""

    path: Path
    manifest: dict[str, Any]
    checked_digest: str = ""  # the records' pinned digest as last read, when it matched every approval

    @property
    def id(self) -> str:
        return self.path.name

    @property
    def kind(self) -> str:
        return self.manifest["kind"]

    @property
    def is_withdrawal(self) -> bool:
        return self.kind == WITHDRAWAL

    @property
    def records_path(self) -> Path:
        return self.path / RECORDS

    def iter_records(self) -> Iterator[dict[str, Any]]:
        with self.records_path.open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    yield json.loads(line)

    @property
    def digest_field(self) -> str:
        """The manifest's and the approvals' pinned digest: ``records_blake3`` once the manifest has
        it (batches staged since BLAKE3, or repinned), else ``records_sha256``. Removing the BLAKE3
        digest from a manifest gains a tamperer nothing: the approvals must then match by sha256."""
        return "records_blake3" if self.manifest.get("records_blake3") else "records_sha256"

    @property
    def algorithm(self) -> str:
        return self.digest_field.removeprefix("records_")

    def actual_digest(self) -> str:
        return file_digest(self.records_path, self.algorithm) if self.records_path.exists() else ""

    def approvals(self) -> list[dict[str, Any]]:
        path = self.path / APPROVAL
        if not path.exists():
            return []
        return json.loads(path.read_text(encoding="utf-8")).get("approvals", [])

    def approval_state(self, cfg: Config, actual: str | None = None) -> tuple[str, dict[str, Any] | None]:
        """('staged'|'approved'|'tampered', the approval that completed it).

        Tampered: approved (in part or in full) but the records no longer match that approval,
        or the manifest's own checksum was altered.
        """
        approvals, pinned = self.approvals(), self.digest_field
        actual = actual if actual is not None else self.actual_digest()
        if approvals and (not actual or any(a.get(pinned) != actual for a in approvals) or self.manifest.get(pinned) != actual):
            return "tampered", None
        self.checked_digest = actual
        editors: list[str] = []
        for approval in approvals:
            if approval["editor"] not in editors:
                editors.append(approval["editor"])
            if len(editors) >= cfg.APPROVALS_REQUIRED:
                return "approved", approval
        return "staged", None


class BatchStore:
    """All batches of a site."""

    def __init__(self, root: Path, cfg: Config):
        self.root = Path(root)
        self.cfg = cfg
        self.dir = self.root / cfg.BATCHES_DIR

    def all(self) -> list[Batch]:
        if not self.dir.exists():
            return []
        batches = []
        for path in sorted(self.dir.iterdir()):
            if path.is_dir() and not path.name.startswith(".") and (path / MANIFEST).exists():
                batches.append(Batch(path, json.loads((path / MANIFEST).read_text(encoding="utf-8"))))
        return batches

    def get(self, batch_id: str) -> Batch:
        path = self.dir / batch_id
        if not batch_id or "/" in batch_id or batch_id.startswith(".") or not (path / MANIFEST).exists():
            known = ", ".join(b.id for b in self.all()[-5:])
            raise UserError(f"找不到批次“{batch_id}”（可用 disclose status 查看全部批次{'；最近的有：' + known if known else ''}）")
        return Batch(path, json.loads((path / MANIFEST).read_text(encoding="utf-8")))

    def new_staging_dir(self) -> Path:
        self.dir.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f".staging-{os.getpid()}-", dir=self.dir))  # see journal.abandoned

    def commit_staging(self, staging: Path, batch_id: str) -> bool:
        """Move a fully written staging folder into place; False if the batch already exists."""
        target = self.dir / batch_id
        if target.exists():
            shutil.rmtree(staging)
            return False
        os.rename(staging, target)
        return True

    def approve(self, batch_id: str, editor: str, at: str | None = None) -> tuple[Batch, str]:
        """Record an editor's approval; refuse a batch whose records changed since staging."""
        editor = editor.strip()
        if not editor:
            raise UserError("审核人姓名不能为空（--editor）")
        batch = self.get(batch_id)
        actual, pinned = batch.actual_digest(), batch.digest_field
        if actual != batch.manifest.get(pinned):
            raise UserError(f"批次 {batch.id} 的数据文件在暂存后被修改过（校验值不符），拒绝审核；请重新导入原始文件")
        approvals = batch.approvals()
        if any(a.get(pinned) != actual for a in approvals):
            raise UserError(f"批次 {batch.id} 的数据与已有审核记录不符，拒绝审核")
        if any(a["editor"] == editor for a in approvals):
            state, _ = batch.approval_state(self.cfg, actual)
            return batch, f"批次 {batch.id} 已由 {editor} 审核过（当前状态：{STATE_LABELS[state]}）"
        approvals.append({"editor": editor, "approved_at": at or now_iso(self.cfg), pinned: actual})
        write_json(batch.path / APPROVAL, {"batch_id": batch.id, "approvals": approvals})
        state, _ = batch.approval_state(self.cfg, actual)
        if state == "approved":
            return batch, f"批次 {batch.id} 已审核通过，将在下一次构建时发布"
        need = self.cfg.APPROVALS_REQUIRED - len({a['editor'] for a in approvals})
        return batch, f"已记录 {editor} 的审核；批次 {batch.id} 还需另外 {need} 位编辑审核后才会发布"

    def repin(self) -> tuple[list[str], list[str]]:
        """Pin every batch staged before BLAKE3 by its BLAKE3 digest too (``disclose repin``), once
        its sha256 is checked against the manifest and every approval: a build then reads it ~10×
        faster. The approvals are written before the manifest, so an interrupted repin leaves a
        batch still pinned by sha256. A tampered batch is never repinned. Returns (repinned,
        refused) batch ids."""
        repinned, refused = [], []
        for batch in self.all():
            if batch.digest_field == "records_blake3":
                continue
            # Both digests from one read of the same bytes: a file swapped in between two reads
            # must not get the BLAKE3 pin of bytes nobody approved.
            sha256, digest = both_digests(batch.records_path) if batch.records_path.exists() else ("", "")
            if not sha256 or batch.manifest.get("records_sha256") != sha256 or batch.approval_state(self.cfg, sha256)[0] == "tampered":
                refused.append(batch.id)
                continue
            approvals = batch.approvals()
            if approvals:
                write_json(batch.path / APPROVAL, {"batch_id": batch.id, "approvals": [{**a, "records_blake3": digest} for a in approvals]})
            write_json(batch.path / MANIFEST, {**batch.manifest, "records_blake3": digest})
            repinned.append(batch.id)
        return repinned, refused

    def approved_in_order(self) -> tuple[list[tuple[Batch, dict[str, Any]]], list[Batch]]:
        """(approved batches in approval order, tampered batches)."""
        approved, tampered = [], []
        for batch in self.all():
            state, approval = batch.approval_state(self.cfg)
            if state == "tampered":
                tampered.append(batch)
            elif state == "approved":
                approved.append((batch, approval))
        approved.sort(key=lambda pair: (pair[1]["approved_at"], pair[0].id))
        return approved, tampered


STATE_LABELS = {"staged": "待审核", "approved": "已审核", "tampered": "已被篡改"}

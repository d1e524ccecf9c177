"""The batch store: ``content/batches/<BATCH_ID>/`` with records, manifest, reports and approvals.

A batch is immutable once staged. Its id derives from its content, so staging the same
export twice yields the same batch. ``approval.json`` pins the digest of ``records.jsonl`` at
approval (BLAKE3; sha256 for batches staged before BLAKE3, until ``disclose repin``); a batch whose
records no longer match is *tampered* and stops the build.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import secrets
import shutil
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import ledger as publog
from . import signing
from .clock import now_iso
from .errors import UserError
from .fileio import both_digests, file_digest, write_json
from .settings import Config

RECORDS = "records.jsonl"
MANIFEST = "manifest.json"
APPROVAL = "approval.json"
REJECTIONS = "rejections.csv"
WARNINGS = "warnings.csv"
WITHDRAWAL = "withdrawal"  # kind of a withdrawal batch


@dataclass
class Batch:
    """One staged batch on disk."""

    path: Path
    manifest: dict[str, Any]
    # The records' pinned digest as last read, when it matched every approval
    checked_digest: str = ""

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

    def untouched(self) -> tuple[str, str]:
        """(sha256, BLAKE3) of the records, checked against the manifest's digests and the batch id
        made from them at staging (ingest, withdraw): records and manifests changed or swapped
        between batches after staging are not what an editor reviews or approves. Raises
        :class:`UserError` (``review`` and ``approve`` refuse such a batch)."""
        path = self.records_path
        sha256, blake3_digest = (
            both_digests(path) if path.is_file() and not _is_link(path) else ("", "")
        )
        seed = (
            sha256
            if self.kind == WITHDRAWAL
            else hashlib.sha256((self.kind + sha256).encode()).hexdigest()
        )
        pinned = self.manifest.get("records_blake3")
        if (
            not sha256
            or sha256 != self.manifest["records_sha256"]
            or (pinned and pinned != blake3_digest)
            or (self.id != f"{self.kind}-{seed[:12]}")
        ):
            raise UserError(
                f"批次 {self.id} 的数据文件在暂存后被修改过（校验值不符），拒绝审核；"
                "请删除该批次文件夹后重新导入原始文件"
            )
        return sha256, blake3_digest

    def legacy_approvals(self) -> list[dict[str, Any]]:
        """The approvals of ``approval.json``, the unsigned format before the publication log
        (:mod:`generator.ledger`): read only by ``disclose migrate`` and ``disclose repin``."""
        path = self.path / APPROVAL
        if not path.exists():
            return []
        try:
            approvals = json.loads(path.read_text(encoding="utf-8")).get("approvals", [])
        except (ValueError, UnicodeDecodeError, AttributeError):
            raise UserError(f"{path} 不是有效的 JSON 审核文件") from None
        if not isinstance(approvals, list) or not all(
            isinstance(a, dict)
            and isinstance(a.get("editor"), str)
            and isinstance(a.get("approved_at"), str)
            for a in approvals
        ):
            raise UserError(f"{path} 的 approvals 字段格式不对（每条应有 editor 与 approved_at）")
        return approvals

    def legacy_state(self, cfg: Config, actual: str | None = None) -> str:
        """'staged', 'approved' or 'tampered' by ``approval.json`` alone (``disclose migrate``, ``repin``)."""
        approvals, pinned = self.legacy_approvals(), self.digest_field
        actual = actual if actual is not None else self.actual_digest()
        if approvals and (
            not actual
            or any(a.get(pinned) != actual for a in approvals)
            or self.manifest.get(pinned) != actual
        ):
            return "tampered"
        return (
            "approved"
            if len({a["editor"] for a in approvals}) >= cfg.APPROVALS_REQUIRED
            else "staged"
        )


def _read_manifest(path: Path) -> dict[str, Any] | None:
    """A batch's manifest, or None when it is not a readable JSON object."""
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError, RecursionError):
        return None
    return manifest if isinstance(manifest, dict) else None


_TEXT, _COUNT = "text", "count"
# Every field a command reads from a manifest, with its type and whether it must be there. Batches
# staged before BLAKE3 have no records_blake3; only withdrawals have target_kind.
MANIFEST_FIELDS: dict[str, tuple[str, bool]] = {
    "kind": (_TEXT, True),
    "kind_label": (_TEXT, True),
    "source": (_TEXT, True),
    "staged_at": (_TEXT, True),
    "records_sha256": (_TEXT, True),
    "records_blake3": (_TEXT, False),
    "counts": ("counts", True),
    "batch_id": (_TEXT, False),
    "target_kind": (_TEXT, False),
    "source_file": (_TEXT, False),
    "source_format": (_TEXT, False),
    "source_encoding": ("text or null", False),
    "source_sha256": (_TEXT, False),
    "header_row": (_COUNT, False),
    "columns": ("texts", False),
    "ignored_columns": ("texts", False),
    "validated_on": (_TEXT, False),
    "tool_version": (_TEXT, False),
}
_TYPE_LABELS = {
    _TEXT: "文本",
    _COUNT: "非负整数",
    "text or null": "文本或 null",
    "texts": "文本列表",
    "counts": "各项为非负整数的对象（rows、accepted、rejected、duplicates、withheld）",
}


def manifest_problem(manifest: dict[str, Any]) -> str:
    """What is wrong with a manifest's fields, naming the field ('' when nothing is): a hand-edited
    or damaged manifest is refused in one line instead of failing somewhere inside a command."""
    from .schema import KINDS

    def fits(value: Any, shape: str) -> bool:
        if shape == _TEXT:
            return isinstance(value, str)
        if shape == "text or null":
            return value is None or isinstance(value, str)
        if shape == _COUNT:
            return isinstance(value, int) and not isinstance(value, bool) and value >= 0
        if shape == "texts":
            return isinstance(value, list) and all(isinstance(v, str) for v in value)
        return (
            isinstance(value, dict)
            and all(fits(v, _COUNT) for v in value.values())
            and "accepted" in value
        )

    for name, (shape, required) in MANIFEST_FIELDS.items():
        if name not in manifest:
            if required:
                return f"缺少字段“{name}”"
        elif not fits(manifest[name], shape):
            return f"字段“{name}”应为{_TYPE_LABELS[shape]}，却是 {json.dumps(manifest[name], ensure_ascii=False)[:40]}"
    for name in ("kind", "target_kind"):
        value = manifest.get(name)
        if (
            value is not None
            and value not in KINDS
            and not (name == "kind" and value == WITHDRAWAL)
        ):
            return f"字段“{name}”的值“{value[:40]}”不是已知的记录类型"
    return ""


def _checked_manifest(path: Path) -> dict[str, Any]:
    """The manifest at ``path``; :class:`UserError` naming the file and the field if it is damaged."""
    manifest = _read_manifest(path)
    if manifest is None:
        raise UserError(f"{path} 不是有效的批次清单（不是 JSON 对象）")
    problem = manifest_problem(manifest)
    if problem:
        raise UserError(f"{path} 不是有效的批次清单：{problem}")
    return manifest


def _is_link(path: Path) -> bool:
    try:
        return stat.S_ISLNK(os.lstat(path).st_mode)
    except OSError:
        return False


@dataclass
class Publication:
    """What the publication log and the batches say together (:meth:`BatchStore.publication`)."""

    ledger: publog.Ledger
    # In publication order: (batch, {"approved_at", "editor", "n"})
    approved: list[tuple[Batch, dict[str, Any]]]
    problems: list[str]  # one Chinese line each: the build refuses to run on any
    states: dict[str, str]  # batch id → 'staged' | 'partial' | 'approved' | 'tampered'

    def editors_of(self, batch_id: str) -> list[str]:
        return [entry["by"] for entry in self.ledger.approvals.get(batch_id, [])]


# A batch being written: content/batches/.staging-<pid>-<random>/ and its .lock
STAGING = ".staging-"
FILE_MODE, FOLDER_MODE = 0o644, 0o755  # a batch's files and folder, whatever the umask
_HELD: dict[str, int] = {}  # this process's staging folders → the descriptor holding their lock


def _lock_path(staging: Path) -> Path:
    return staging.with_name(staging.name + ".lock")


def _release(staging: Path) -> None:
    """Give up a staging folder's lock: its lock file goes first, so that no cleaner finds it free."""
    fd = _HELD.pop(str(staging), None)
    if fd is not None:
        _lock_path(staging).unlink(missing_ok=True)
        os.close(fd)


def remove_stale_staging(folder: Path) -> list[str]:
    """Remove the staging folders that killed runs left in ``folder`` (a batch store); return their names.

    A staging folder exists only while its ``.lock`` file does, and its ingest (or withdraw) holds a
    ``lockf`` lock on that file from before it makes the folder until after it renamed or removed it.
    The kernel drops the lock when the process ends, ``kill -9`` and out-of-memory kills included, so
    a lock that can be taken marks a leftover, and one that cannot marks a run still at work, which
    is left alone. A lock, not the process id in the name: a process id is reused (after a reboot,
    in another container sharing the folder, where it would even look dead while it runs), and not
    an age: a long ingest would lose its folder, or a leftover would wait for hours. A folder without
    a lock file was made before locks (or its lock file was deleted by hand) and is a leftover too.
    This process's own folders are skipped (``lockf`` never refuses its own process)."""
    try:
        entries = list(folder.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return []
    names = {path.name for path in entries}
    removed = []
    for path in entries:
        name = path.name
        if not name.startswith(STAGING):
            continue
        if name.endswith(".lock"):
            staging = path.with_name(name.removesuffix(".lock"))
            if str(staging) in _HELD:
                continue
            try:
                fd = os.open(path, os.O_RDWR)
            except OSError:
                continue
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue  # its run is still at work
            try:
                if staging.is_dir() and not staging.is_symlink():
                    shutil.rmtree(staging, ignore_errors=True)
                    removed.append(staging.name)
                path.unlink(missing_ok=True)
            finally:
                os.close(fd)
        elif (
            path.is_dir()
            and not path.is_symlink()
            and name + ".lock" not in names
            and str(path) not in _HELD
        ):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(name)
    return removed


class BatchStore:
    """All batches of a site. Opening the store removes what killed ingests left (:func:`remove_stale_staging`)."""

    def __init__(self, root: Path, cfg: Config):
        self.root = Path(root)
        self.cfg = cfg
        self.dir = self.root / cfg.BATCHES_DIR
        remove_stale_staging(self.dir)

    def all(self) -> list[Batch]:
        """Every batch folder with a sound manifest (one that is not is left out here: an approved
        one is a problem of :meth:`publication`, a staged one cannot be approved; :meth:`damaged`
        names them)."""
        return [batch for batch in self._scan() if isinstance(batch, Batch)]

    def damaged(self) -> list[str]:
        """One line per batch folder whose manifest is unreadable or damaged: the file and the field."""
        return [line for line in self._scan() if isinstance(line, str)]

    def _scan(self) -> list[Batch | str]:
        if not self.dir.exists():
            return []
        found: list[Batch | str] = []
        for path in sorted(self.dir.iterdir()):
            if path.is_dir() and not path.name.startswith(".") and (path / MANIFEST).exists():
                try:
                    found.append(Batch(path, _checked_manifest(path / MANIFEST)))
                except UserError as exc:
                    found.append(str(exc))
        return found

    def get(self, batch_id: str) -> Batch:
        path = self.dir / batch_id
        if (
            not batch_id
            or "/" in batch_id
            or batch_id.startswith(".")
            or not (path / MANIFEST).exists()
        ):
            known = ", ".join(b.id for b in self.all()[-5:])
            raise UserError(
                f"找不到批次“{batch_id}”（可用 disclose status 查看全部批次{'；最近的有：' + known if known else ''}）"
            )
        return Batch(path, _checked_manifest(path / MANIFEST))

    def new_staging_dir(self) -> Path:
        """A new folder to write a batch into, ``.staging-<pid>-<random>``, owned by this process
        through a lock on its sibling ``.lock`` file until :meth:`commit_staging` or
        :meth:`discard_staging` (see :func:`remove_stale_staging`)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        while True:
            staging = self.dir / f"{STAGING}{os.getpid()}-{secrets.token_hex(4)}"
            lock = _lock_path(staging)
            try:
                fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                continue
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX)
            # A file system without locks: cleaners cannot lock it either, and keep it
            except OSError as exc:
                if exc.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOTSUP):
                    os.close(fd)
                    raise
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(lock))
            except FileNotFoundError:  # a cleaner took the fresh, unlocked file for a leftover
                same = False
            if same:
                break
            os.close(fd)
        _HELD[str(staging)] = fd
        staging.mkdir()
        os.chmod(staging, FOLDER_MODE)
        return staging

    def commit_staging(self, staging: Path, batch_id: str) -> bool:
        """Move a fully written staging folder into place, its files 0644 and itself 0755 whatever
        the umask; False if the batch already exists."""
        target = self.dir / batch_id
        try:
            if target.exists():
                shutil.rmtree(staging)
                return False
            for path in staging.iterdir():
                os.chmod(path, FILE_MODE)
            os.chmod(staging, FOLDER_MODE)
            os.rename(staging, target)
            return True
        finally:
            _release(staging)

    def discard_staging(self, staging: Path) -> None:
        """Remove a staging folder that will not become a batch (a refused file, an error)."""
        try:
            shutil.rmtree(staging, ignore_errors=True)
        finally:
            _release(staging)

    @property
    def log_paths(self) -> publog.LogPaths:
        return publog.LogPaths(self.root, self.cfg.BATCHES_DIR, self.cfg.EDITORS_DIR)

    def publication(self) -> Publication:
        """Read and check the publication log and every batch it names; never raises for what a
        file holds: every problem is one line in :attr:`Publication.problems`."""
        ledger = publog.read(self.log_paths)
        problems = list(ledger.problems)
        states: dict[str, str] = {}
        batches: dict[str, Batch] = {}
        for batch_id, entries in ledger.approvals.items():
            batch, problem = self._checked(batch_id, entries[0])
            if batch is None:
                problems.append(problem)
                states[batch_id] = "tampered"
            else:
                batches[batch_id] = batch
        if self.dir.is_dir():
            for path in sorted(self.dir.iterdir()):
                name = path.name
                if (
                    name.startswith(".")
                    or name in ledger.approvals
                    or not (path.is_dir() or _is_link(path))
                ):
                    continue
                if _is_link(path):
                    problems.append(
                        f"{self.cfg.BATCHES_DIR}/{name} 是符号链接：批次必须是站点里的普通文件夹"
                    )
                elif (path / APPROVAL).exists():
                    problems.append(
                        f"批次 {name} 有 approval.json，但发布日志中没有它的签名审核（伪造的审核文件，"
                        "或迁移前的旧站点：请运行 disclose migrate）"
                    )
                elif any(_is_link(p) for p in path.iterdir()):
                    problems.append(f"批次 {name} 含有符号链接文件：批次文件必须是普通文件")
                elif (path / MANIFEST).exists():
                    states[name] = "staged"
        approved = []
        for batch_id, entry in ledger.completed(self.cfg.APPROVALS_REQUIRED):
            if batch_id in batches:
                states[batch_id] = "approved"
                approved.append(
                    (
                        batches[batch_id],
                        {"approved_at": entry["at"], "editor": entry["by"], "n": entry["n"]},
                    )
                )
        for batch_id in batches:
            states.setdefault(batch_id, "partial")
        return Publication(ledger, approved, problems, states)

    def _checked(self, batch_id: str, entry: dict[str, Any]) -> tuple[Batch | None, str]:
        """The batch an approval names, or the reason it cannot be published as approved."""
        path = self.dir / batch_id
        if not batch_id or "/" in batch_id or batch_id.startswith(".") or batch_id in (".", ".."):
            return None, f"发布日志审核了名称无效的批次“{batch_id}”"
        if _is_link(path) or _is_link(path / MANIFEST) or _is_link(path / RECORDS):
            return None, f"批次 {batch_id} 或其文件是符号链接：批次必须是站点里的普通文件夹和文件"
        if not (path / MANIFEST).is_file() or not (path / RECORDS).is_file():
            return (
                None,
                f"批次 {batch_id} 已在发布日志中审核，但批次文件夹或其文件不存在（被删除？）；"
                "已审核的批次不能删除，只能撤下其记录",
            )
        manifest = _read_manifest(path / MANIFEST)
        if manifest is None:
            return None, f"批次 {batch_id} 的 manifest.json 无法读取（不是有效的 JSON）"
        batch = Batch(path, manifest)
        if publog.manifest_digest(manifest) != entry["manifest_sha256"]:
            return (
                None,
                f"批次 {batch_id} 的 manifest.json 在审核后被修改（信息来源、列名等与签名时不符）",
            )
        if manifest.get("kind") != entry["kind"]:
            return None, f"批次 {batch_id} 的类型在审核后被修改"
        problem = manifest_problem(manifest)
        if problem:
            return None, f"批次 {batch_id} 的 manifest.json 已损坏：{problem}"
        actual = file_digest(batch.records_path, "blake3")
        if actual != entry["records_blake3"]:
            return None, f"批次 {batch_id} 的数据在审核后被修改（与审核时的校验值不符）"
        batch.checked_digest = actual
        return batch, ""

    def approve(self, batch_id: str, signer: Any, at: str | None = None) -> tuple[Batch, str]:
        """Sign an approval of a staged batch into the publication log with ``signer``'s key
        (:class:`generator.signing.Signer`); refuse an untrusted key, a changed batch or a broken log."""
        paths = self.log_paths
        with paths.locked():
            ledger = publog.read(paths)
            if ledger.problems:
                raise UserError(f"发布日志有问题，不能再追加审核：{ledger.problems[0]}")
            name = signer.name
            trusted = ledger.editors.get(name)
            if trusted is None:
                raise UserError(
                    f"编辑 {name} 不在本站受信任的编辑名单中（disclose editor list 查看；"
                    "由受信任的编辑运行 disclose editor trust 加入）"
                )
            if trusted != signer.public_key():
                raise UserError(
                    f"所用密钥不是本站为编辑 {name} 登记的公钥（指纹 {signing.fingerprint(trusted)}）"
                )
            batch = self.get(batch_id)
            if _is_link(batch.path) or any(_is_link(p) for p in batch.path.iterdir()):
                raise UserError(f"批次 {batch.id} 或其文件是符号链接，拒绝审核")
            if not batch.manifest.get("records_blake3"):
                raise UserError(f"批次 {batch.id} 还没有 BLAKE3 校验值：先运行 disclose repin")
            _, actual = batch.untouched()
            earlier = ledger.approvals.get(batch.id, [])
            if any(entry["by"] == name for entry in earlier):
                return batch, f"批次 {batch.id} 已由 {name} 审核过"
            digest = publog.manifest_digest(batch.manifest)
            if earlier and (earlier[0]["records_blake3"], earlier[0]["manifest_sha256"]) != (
                actual,
                digest,
            ):
                raise UserError(f"批次 {batch.id} 的数据与已有审核记录不符，拒绝审核")
            entry = publog.append(
                paths,
                ledger,
                signer,
                "approve",
                at or now_iso(self.cfg),
                batch=batch.id,
                kind=batch.kind,
                records_blake3=actual,
                manifest_sha256=digest,
            )
        editors = {e["by"] for e in ledger.approvals[batch.id]}
        if len(editors) >= self.cfg.APPROVALS_REQUIRED:
            return (
                batch,
                f"批次 {batch.id} 已审核通过（发布日志第 {entry['n'] + 1} 条），"
                + ("下一次构建即从网站各处撤下" if batch.is_withdrawal else "将在下一次构建时发布"),
            )
        need = self.cfg.APPROVALS_REQUIRED - len(editors)
        return (
            batch,
            f"已记录 {name} 的签名审核；批次 {batch.id} 还需另外 {need} 位编辑审核后才会发布",
        )

    def repin(self) -> tuple[list[str], list[str]]:
        """Pin every batch staged before BLAKE3 by its BLAKE3 digest too (``disclose repin``), once
        its sha256 is checked against the manifest and every approval: a build then reads it much
        faster. The approvals are written before the manifest, so an interrupted repin leaves a
        batch still pinned by sha256. A tampered batch is never repinned. Returns (repinned,
        refused) batch ids."""
        repinned, refused = [], []
        for batch in self.all():
            if batch.digest_field == "records_blake3":
                continue
            # Both digests from one read of the same bytes: a file swapped in between two reads
            # must not get the BLAKE3 pin of bytes nobody approved.
            sha256, digest = (
                both_digests(batch.records_path) if batch.records_path.exists() else ("", "")
            )
            if (
                not sha256
                or batch.manifest.get("records_sha256") != sha256
                or batch.legacy_state(self.cfg, sha256) == "tampered"
            ):
                refused.append(batch.id)
                continue
            approvals = batch.legacy_approvals()
            if approvals:
                write_json(
                    batch.path / APPROVAL,
                    {
                        "batch_id": batch.id,
                        "approvals": [{**a, "records_blake3": digest} for a in approvals],
                    },
                )
            write_json(batch.path / MANIFEST, {**batch.manifest, "records_blake3": digest})
            repinned.append(batch.id)
        return repinned, refused

    def approved_in_order(self) -> tuple[list[tuple[Batch, dict[str, Any]]], list[str]]:
        """(approved batches in publication-log order, the problems the build refuses on)."""
        publication = self.publication()
        return publication.approved, publication.problems


STATE_LABELS = {
    "staged": "待审核",
    "partial": "审核中",
    "approved": "已审核",
    "tampered": "已被篡改",
}

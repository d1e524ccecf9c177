"""The editors' desk as a library object: everything ``disclose desk`` shows and does, without HTTP.

:class:`Desk` answers the desk's pages (the batches and their states, a batch's review, what an
approval signs, the records a withdrawal may name) and does the editors' work through the same
functions as the command line: :func:`generator.ingest.ingest`, :meth:`BatchStore.approve`,
:func:`generator.withdrawals.stage_withdrawal`. The preview is ``disclose build`` itself, run as a
child process (:class:`Preview`) into ``output/`` as ``disclose serve`` does on an editor's
computer (the site CI publishes is built by CI), so a build that fails or is slow never takes the
desk down, and a failed one leaves the last preview as it was. :mod:`generator.deskapp` puts it on
the web.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import stat
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import ingest as ingesting
from .batches import STATE_LABELS, Batch, BatchStore, Publication
from .errors import UserError
from .ledger import HEAD_FILE, read_head
from .publication import compute_state
from .readers import open_export
from .review import review_context
from .schema import KIND_NAMES, KINDS
from .settings import Config
from .signing import key_dir, load_signer
from .withdrawals import Candidate, find_records, stage_withdrawal

DESK_DIR = ".desk"  # under the site root: uploads in flight, the preview's log (git-ignored)
DEPLOYED_HEAD = ".deployed-log-head.json"  # the live site's log head, where .ci/deploy records it
UPLOAD_SUFFIXES = (".csv", ".xlsx", ".xls")
GIT_TIMEOUT = 120  # seconds a git step of 发布 may take
_SAFE_NAME = re.compile(r"[^\w.\-（）()\u4e00-\u9fff]+")


@dataclass
class BatchRow:
    """One batch as ``disclose status`` lists it, with the state the desk shows."""

    id: str
    kind: str
    kind_label: str
    source: str
    rows: int | str
    state: str  # staged | partial | approved | published | withdrawn | tampered
    state_label: str
    editors: list[str]
    date: str  # YYYY-MM-DD: of the last approval, else of staging
    is_withdrawal: bool
    withdrawn: int = 0  # records of this batch taken down by approved withdrawals


DESK_STATE_LABELS = {
    **STATE_LABELS,
    "published": "已发布",
    "withdrawn": "已撤下",
    "tampered": "被改动",
}


def batch_rows(store: BatchStore, publication: Publication, output: Path) -> list[BatchRow]:
    """Every readable batch in staging order. An approved batch is 已发布 when the log head of the
    live site (where ``.ci/deploy`` records it beside ``output``), else of the site in ``output``,
    already holds its approval; 已撤下 when approved withdrawals took down every record it has."""
    head = read_head(output.parent / DEPLOYED_HEAD) or read_head(output / HEAD_FILE)
    published_entries = head.entries if head is not None else 0
    withdrawn_by: dict[str, str] = {}
    batches = store.all()
    for batch in batches:
        if batch.is_withdrawal and publication.states.get(batch.id) == "approved":
            for rid in _record_ids(batch):
                withdrawn_by[rid] = batch.id
    rows = []
    for batch in sorted(batches, key=lambda b: (str(b.manifest.get("staged_at", "")), b.id)):
        state = publication.states.get(batch.id, "staged")
        entries = publication.ledger.approvals.get(batch.id, [])
        if state in ("staged", "partial") and not _untouched(batch):
            state = "tampered"  # an approval would be refused: say so before anyone tries
        taken = 0
        if not batch.is_withdrawal and withdrawn_by and state != "tampered":
            ids = _record_ids(batch)
            taken = sum(1 for rid in ids if rid in withdrawn_by)
            if ids and taken == len(ids):
                state = "withdrawn"
        if state == "approved" and entries and entries[-1]["n"] < published_entries:
            state = "published"
        rows.append(
            BatchRow(
                batch.id,
                batch.kind,
                str(batch.manifest.get("kind_label", batch.kind)),
                str(batch.manifest.get("source", "")),
                batch.manifest.get("counts", {}).get("accepted", ""),
                state,
                DESK_STATE_LABELS[state],
                [e["by"] for e in entries],
                str(entries[-1]["at"] if entries else batch.manifest.get("staged_at", ""))[:10],
                batch.is_withdrawal,
                taken,
            )
        )
    return rows


def write_shortcut(root: Path, folder: Path) -> Path:
    """A launcher in ``folder`` (a desktop) that opens the desk of the site at ``root`` with a
    double click: a freedesktop ``.desktop`` file (Linux), a ``.command`` (macOS) or a ``.cmd``
    (Windows), running this installation's Python, so no terminal is ever typed into."""
    import shlex

    python = sys.executable
    if sys.platform == "win32":
        path = folder / "信用盐城编辑台.cmd"
        text = f'@echo off\r\ncd /d "{root}"\r\n"{python}" -m generator.cli desk\r\n'
    elif sys.platform == "darwin":
        path = folder / "信用盐城编辑台.command"
        text = f"#!/bin/sh\ncd {shlex.quote(str(root))} && exec {shlex.quote(python)} -m generator.cli desk\n"
    else:
        path = folder / "信用盐城编辑台.desktop"
        command = f"cd {shlex.quote(str(root))} && exec {shlex.quote(python)} -m generator.cli desk"
        text = (
            "[Desktop Entry]\nType=Application\nName=信用盐城编辑台\n"
            f"Exec=sh -c {_desktop_quote(command)}\nTerminal=true\nCategories=Office;\n"
        )
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(0o755)
    return path


def _desktop_quote(text: str) -> str:
    """An argument of a .desktop file's Exec key (freedesktop's quoting rules)."""
    escaped = "".join("\\" + c if c in '"`$\\' else c for c in text)
    return '"' + escaped.replace("%", "%%") + '"'


def _untouched(batch: Batch) -> bool:
    try:
        batch.untouched()
    except (UserError, KeyError, OSError):
        return False
    return True


def _record_ids(batch: Batch) -> list[str]:
    """The record ids of a batch; none for records that cannot be read (a damaged batch is
    reported by ``disclose status`` and refused by the build, never a failure of the desk)."""
    try:
        return [str(entry["id"]) for entry in batch.iter_records()]
    except (ValueError, KeyError, TypeError, OSError):
        return []


@dataclass
class Found:
    """A published record a withdrawal may name."""

    kind: str
    kind_label: str
    record: Candidate


class Desk:
    """The desk over one site root (``today``: the ``--today`` clock, None for the real day)."""

    def __init__(self, root: Path, cfg: Config, today: dt.date | None = None):
        self.root = root
        self.cfg = cfg
        self._today = today
        self.folder = root / DESK_DIR
        self.preview = Preview(root, root / "output", self.folder / "preview.log", today)

    def own_folder(self, *parts: str) -> Path:
        """A folder of the desk (``.desk`` itself when no ``parts``), made for this user only; one
        that is a link (planted, or committed to the repository) is refused, never followed."""
        path = self.folder
        for part in ("", *parts):
            path = path / part if part else path
            try:
                path.mkdir(mode=0o700)
            except FileExistsError:
                pass
            if not stat.S_ISDIR(os.lstat(path).st_mode):
                raise UserError(
                    f"{path} 不是普通文件夹（可能是链接），编辑台拒绝使用；请删除它后重试"
                )
        return path

    def today(self) -> dt.date:
        from .clock import today

        return self._today or today(self.cfg.TIMEZONE)

    @property
    def store(self) -> BatchStore:
        return BatchStore(self.root, self.cfg)

    # -- batches --------------------------------------------------------------------------------

    def batches(
        self, kind: str = "", source: str = "", since: str = "", until: str = ""
    ) -> list[BatchRow]:
        """The batches, newest first, filtered by kind, department (part of the source) and date."""
        store = self.store
        rows = batch_rows(store, store.publication(), self.root / "output")
        return [
            row
            for row in reversed(rows)
            if (not kind or row.kind == kind)
            and (not source or source in row.source)
            and (not since or row.date >= since)
            and (not until or row.date <= until)
        ]

    def problems(self) -> list[str]:
        """What the build would refuse on (``disclose status``), and damaged batch folders."""
        store = self.store
        return store.publication().problems + store.damaged()

    def batch(self, batch_id: str) -> dict[str, Any]:
        """A batch's page: its review (the context of ``disclose review``), what an approval signs,
        and who may approve it here (trusted editors whose key is in the key folder)."""
        store = self.store
        batch = store.get(batch_id)
        publication = store.publication()
        rows = batch_rows(store, publication, self.root / "output")
        row = next(r for r in rows if r.id == batch.id)
        if row.state == "tampered":
            return {"batch": batch, "row": row, "review": False}
        try:
            context = review_context(store, batch, self.cfg, self.today())
        except (ValueError, KeyError, TypeError) as exc:
            raise UserError(
                f"批次 {batch.id} 的记录无法读取（{type(exc).__name__}），不能审核"
            ) from None
        context.update(
            row=row, signed=self.signed(batch), editors=self.editors(publication), review=True
        )
        return context

    def signed(self, batch: Batch) -> dict[str, Any]:
        """Exactly what an approval of ``batch`` signs (besides the editor, the time and the hash of
        the previous log entry): see :meth:`BatchStore.approve`."""
        from .ledger import manifest_digest

        _, actual = batch.untouched()
        return {
            "batch": batch.id,
            "kind": batch.kind,
            "records_blake3": actual,
            "manifest_sha256": manifest_digest(batch.manifest),
            "counts": batch.manifest.get("counts", {}),
        }

    def editors(self, publication: Publication | None = None) -> list[dict[str, Any]]:
        """The trusted editors, each with whether their private key is in the key folder."""
        publication = publication or self.store.publication()
        folder = key_dir()
        return [
            {"name": name, "has_key": (folder / name).is_file()}
            for name in sorted(publication.ledger.editors)
        ]

    def approve(self, batch_id: str, editor: str) -> str:
        """Sign an approval with ``editor``'s key from the key folder (``disclose approve``)."""
        _, message = self.store.approve(batch_id, load_signer(editor))
        return message

    # -- ingest ---------------------------------------------------------------------------------

    def upload_path(self, filename: str) -> Path:
        """Where an upload named ``filename`` is written: a fresh folder of the desk, the name
        reduced to its last part and to safe characters; refused unless CSV, XLSX or XLS."""
        name = _SAFE_NAME.sub("_", filename.replace("\\", "/").rsplit("/", 1)[-1]).strip("._")
        if not name.lower().endswith(UPLOAD_SUFFIXES):
            raise UserError(f"{filename or '（未命名文件）'}：只能导入 CSV、XLSX 或 XLS 文件")
        stem, suffix = os.path.splitext(name)
        while len((stem + suffix).encode("utf-8")) > 200:  # a file name is at most 255 bytes
            stem = stem[:-1]
        folder = self.own_folder("uploads", os.urandom(8).hex())
        return folder / (stem + suffix)

    def guess_kind(self, path: Path) -> str:
        """The kind whose columns the export's header matches best ("" when none or a tie)."""
        scores = []
        for name in KIND_NAMES:
            try:
                export = open_export(path, KINDS[name], self.cfg.HEADER_SCAN_ROWS)
            except UserError:
                continue
            try:
                scores.append((len(export.columns), name))
            finally:
                close = getattr(export, "close", None)
                if close is not None:
                    close()
        scores.sort(reverse=True)
        if not scores or (len(scores) > 1 and scores[0][0] == scores[1][0]):
            return ""
        return scores[0][1]

    def ingest(self, path: Path, kind: str, source: str) -> ingesting.IngestResult:
        """``disclose ingest`` on an uploaded file; the upload is removed afterwards."""
        try:
            return ingesting.ingest(
                path, KINDS[kind], source or None, self.cfg, self.root, self.today()
            )
        finally:
            path.unlink(missing_ok=True)
            try:
                path.parent.rmdir()
            except OSError:
                pass

    def start_preview(self) -> bool:
        """Start ``disclose build`` (:class:`Preview`); False when one is running."""
        self.own_folder()
        return self.preview.start()

    # -- publishing -----------------------------------------------------------------------------

    def publish(self, message: str) -> tuple[bool, list[str]]:
        """The path docs/编辑指南.md gives from an approval to the nightly build, as one step:
        commit the batches and the publication log (``content/batches``, ``content/editors``),
        take the others' latest commits (``git pull --rebase``) and push. Returns whether it got
        there and what git said. git never asks for anything (no terminal prompt, no ssh
        passphrase: it fails instead) and each step has a time limit; a rebase that stops (two
        editors appended to the log at once) is undone, and the guide says what to do."""
        said: list[str] = []
        env = dict(os.environ, GIT_TERMINAL_PROMPT="0", GIT_SSH_COMMAND="ssh -o BatchMode=yes")

        def git(*args: str) -> bool:
            said.append(f"$ git {' '.join(args)}")
            try:
                done = subprocess.run(
                    ["git", *args],
                    cwd=self.root,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    text=True,
                    timeout=GIT_TIMEOUT,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                said.append(f"（{GIT_TIMEOUT} 秒内没有完成，已停止）")
                return False
            except OSError:
                said.append("本机没有安装 git")
                return False
            said.extend(line for line in (done.stdout + done.stderr).splitlines() if line.strip())
            return done.returncode == 0

        if not git("rev-parse", "--is-inside-work-tree"):
            return False, [
                *said,
                "站点目录不是 git 仓库：请管理员把网站仓库克隆到这台电脑（git clone）后，在那个目录打开编辑台",
            ]
        if not git("add", "--", "content/batches", "content/editors"):
            return False, said
        if not git("diff", "--cached", "--quiet") and not git("commit", "-q", "-m", message):
            return False, said
        if not git("pull", "--rebase", "-q"):
            stopped = (self.root / ".git" / "rebase-merge").is_dir() or (
                self.root / ".git" / "rebase-apply"
            ).is_dir()
            if stopped:
                git("rebase", "--abort")
                said.append(
                    "取回别人的审核时冲突（两位编辑同时追加了发布日志）：已撤回这次取回，您的审核仍在本机；"
                    "请按《编辑指南》“审核结果怎样到达每晚的发布”一节重新签名后再发布"
                )
            else:
                said.append(
                    "没能取回网站仓库的最新内容（见上面 git 的说明）：您的审核仍在本机，线上网站不受影响"
                )
            return False, said
        return git("push", "-q"), said

    # -- withdrawals ----------------------------------------------------------------------------

    def find(self, key: str, kind: str = "") -> list[Found]:
        """Published records matching ``key``: a record id or a document number (any bracket
        style), else records whose subject name contains it."""
        key = key.strip()
        if not key:
            return []
        kinds = [kind] if kind else list(KIND_NAMES)
        today = self.today()
        store = self.store
        found = [
            Found(name, KINDS[name].label, candidate)
            for name in kinds
            for candidate in find_records(store, KINDS[name], key, self.cfg, today)
        ]
        if found:
            return found
        state = compute_state(store, self.cfg, today, strict=False)
        for rid, latest in sorted(state.latest.items()):
            if latest.kind not in kinds or rid in state.withdrawn:
                continue
            kind_of = KINDS[latest.kind]
            subject = str(latest.brief.get(kind_of.subject, ""))
            if key in subject:
                found.append(
                    Found(
                        kind_of.name,
                        kind_of.label,
                        Candidate(
                            rid,
                            subject,
                            str(latest.brief.get(kind_of.docno, "")),
                            str(latest.brief.get(kind_of.date, "")),
                            latest.batch.id,
                        ),
                    )
                )
                if len(found) >= 100:
                    break
        return found

    def withdraw(self, kind: str, record_id: str, reason: str, editor: str) -> tuple[str, bool]:
        """Stage the withdrawal of one record (``disclose withdraw``): its batch id, and False
        when the same withdrawal was already staged."""
        batch_id, _target, created = stage_withdrawal(
            self.store, KINDS[kind], record_id, reason, editor, self.cfg, self.today()
        )
        return batch_id, created


@dataclass
class Preview:
    """``disclose build`` as a child process: its log, whether it runs, how it ended, and the
    build report it wrote."""

    root: Path
    output: Path
    log: Path
    today: dt.date | None
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> bool:
        """Start a build unless one runs; False when one was already running."""
        if self.running:
            return False
        command = [sys.executable, "-m", "generator.cli", "--root", str(self.root), "build"]
        command += ["--output", str(self.output)]
        if self.today is not None:
            command += ["--today", self.today.isoformat()]
        env = dict(os.environ, DISCLOSE_PROGRESS="lines", PYTHONUNBUFFERED="1")
        fd = os.open(self.log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as log:
            self._process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, cwd=self.root, env=env
            )
        return True

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def status(self) -> dict[str, Any]:
        """``state``: none | running | done | failed; ``lines``: the build's output so far."""
        lines = (
            self.log.read_text(encoding="utf-8", errors="replace").splitlines()
            if self.log.is_file()
            else []
        )
        if self._process is None:
            state = "done" if (self.output / "index.html").is_file() else "none"
        elif self._process.poll() is None:
            state = "running"
        else:
            state = "done" if self._process.returncode == 0 else "failed"
        return {"state": state, "lines": lines[-200:], "report": self.report()}

    def report(self) -> Path | None:
        """The build report the last successful build wrote (``REPORTS_DIR/build/*.html``)."""
        from .settings import load_config

        folder = self.root / load_config(self.root).REPORTS_DIR / "build"
        reports = sorted(folder.glob("*.html"), key=lambda p: (p.stat().st_mtime_ns, p.name))
        return reports[-1] if reports else None

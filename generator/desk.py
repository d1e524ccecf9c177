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
    for batch in store.all():
        if batch.is_withdrawal and publication.states.get(batch.id) == "approved":
            for entry in batch.iter_records():
                withdrawn_by[entry["id"]] = batch.id
    rows = []
    for batch in sorted(store.all(), key=lambda b: (str(b.manifest.get("staged_at", "")), b.id)):
        state = publication.states.get(batch.id, "staged")
        entries = publication.ledger.approvals.get(batch.id, [])
        taken = 0
        if not batch.is_withdrawal and withdrawn_by and state != "tampered":
            ids = [r["id"] for r in batch.iter_records()]
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
        context = review_context(store, batch, self.cfg, self.today())
        publication = store.publication()
        row = next(
            r for r in batch_rows(store, publication, self.root / "output") if r.id == batch.id
        )
        context.update(
            row=row,
            signed=self.signed(batch),
            editors=self.editors(publication),
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
        uploads = self.folder / "uploads"
        uploads.mkdir(parents=True, exist_ok=True)
        folder = Path(os.path.realpath(uploads)) / os.urandom(8).hex()
        folder.mkdir()
        return folder / name[-120:]

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

    # -- publishing -----------------------------------------------------------------------------

    def publish(self, message: str) -> tuple[bool, list[str]]:
        """The path docs/编辑指南.md gives from an approval to the nightly build, as one step:
        commit the batches and the publication log (``content/batches``, ``content/editors``),
        take the others' latest commits (``git pull --rebase``) and push. Returns whether it got
        there and what git said; a rebase that stops (two editors appended to the log at once) is
        undone, and the guide says what to do."""
        said: list[str] = []

        def git(*args: str) -> subprocess.CompletedProcess[str]:
            done = subprocess.run(
                ["git", *args], cwd=self.root, capture_output=True, text=True, check=False
            )
            said.append(f"$ git {' '.join(args)}")
            said.extend(line for line in (done.stdout + done.stderr).splitlines() if line.strip())
            return done

        if git("rev-parse", "--is-inside-work-tree").returncode != 0:
            return False, [
                *said,
                "站点目录不是 git 仓库：请管理员把网站仓库克隆到这台电脑（git clone）后，在那个目录打开编辑台",
            ]
        if git("add", "--", "content/batches", "content/editors").returncode != 0:
            return False, said
        if git("diff", "--cached", "--quiet").returncode != 0:
            if git("commit", "-q", "-m", message).returncode != 0:
                return False, said
        if git("pull", "--rebase", "-q").returncode != 0:
            git("rebase", "--abort")
            return False, [
                *said,
                "取回别人的审核时冲突（两位编辑同时追加了发布日志）：已撤回这次取回，"
                "请按《编辑指南》“审核结果怎样到达每晚的发布”一节重新签名后再发布",
            ]
        return git("push", "-q").returncode == 0, said

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

    def withdraw(self, kind: str, record_id: str, reason: str, editor: str) -> str:
        """Stage the withdrawal of one record (``disclose withdraw``); its batch id."""
        batch_id, _target, _created = stage_withdrawal(
            self.store, KINDS[kind], record_id, reason, editor, self.cfg, self.today()
        )
        return batch_id


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
        self.log.parent.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "generator.cli", "--root", str(self.root), "build"]
        command += ["--output", str(self.output)]
        if self.today is not None:
            command += ["--today", self.today.isoformat()]
        env = dict(os.environ, DISCLOSE_PROGRESS="lines", PYTHONUNBUFFERED="1")
        with self.log.open("wb") as log:
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

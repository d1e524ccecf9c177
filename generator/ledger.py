"""The publication log: an append-only, hash-chained, signed record of who may approve and what they approved.

``content/batches/publication-log.jsonl`` holds one JSON object a line, in the order things happened.
Every entry names its position (``n``), the SHA-256 of the line before it (``prev``), what it does
(``action``), who signed it (``by``, and the signing key's fingerprint ``key``), when (``at``, shown on
the site, never used to order anything) and a signature (``sig``, OpenSSH SSHSIG, see
:mod:`generator.signing`) over the entry's other fields as one canonical JSON line
(:func:`signed_bytes`). Actions:

- ``trust``: ``editor`` may sign from now on with ``public_key``. The first entry of a log is a trust
  entry signed by that editor's own key (trust on first use); every later one is signed by an editor
  already trusted at that point. Trusting a name again replaces its key (a lost key).
- ``revoke``: ``editor``'s key signs nothing from this entry on (what it signed before stays valid:
  the chain fixes what came before).
- ``approve``: ``batch`` of ``kind`` with the BLAKE3 of its ``records.jsonl`` (``records_blake3``)
  and the SHA-256 of its manifest as canonical JSON (``manifest_sha256``: source, columns, counts …
  everything of the manifest that can reach the site).

A batch is published once :attr:`~generator.settings.Config.APPROVALS_REQUIRED` different trusted
keys approved it; its place in the publication order is the entry that completed it. Anything that
does not check out — a broken chain, a bad signature, an unknown or revoked key, a batch that
changed, is missing, or is a symbolic link — is a *problem*: the build refuses to run on any. The
trusted editors are also written, for people and for ``ssh-keygen -Y verify``, to
``content/editors/allowed_signers``; that file must be exactly what the log says.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import signing
from .errors import UserError
from .fileio import atomic_write_bytes, dumps_line

LOG = "publication-log.jsonl"
ALLOWED_SIGNERS = "allowed_signers"
# Deployed with the site: the log head it publishes (rollback protection)
HEAD_FILE = "log-head.json"
ACTIONS = {
    "trust": ("editor", "public_key"),
    "revoke": ("editor",),
    "approve": ("batch", "kind", "records_blake3", "manifest_sha256"),
}
COMMON = ("n", "prev", "action", "at", "by", "key", "sig")


def signed_bytes(entry: dict[str, Any]) -> bytes:
    """What an entry's signature covers: every field but ``sig``, as one canonical JSON line."""
    return dumps_line({k: v for k, v in entry.items() if k != "sig"}).encode("utf-8")


def manifest_digest(manifest: dict[str, Any]) -> str:
    """SHA-256 of a batch manifest as canonical JSON: any field changed, added or removed changes it."""
    return hashlib.sha256(dumps_line(manifest).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Head:
    """Where a log ends: how many entries, and the SHA-256 of the last line ("" for an empty log)."""

    entries: int = 0
    hash: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"entries": self.entries, "head": self.hash}


@dataclass
class Ledger:
    """A log as read and checked: the trusted editors now, every batch's approvals, and what is wrong."""

    entries: list[dict[str, Any]] = field(default_factory=list)
    hashes: list[str] = field(default_factory=list)  # SHA-256 of each entry's line
    editors: dict[str, str] = field(default_factory=dict)  # name → public key, trusted now
    # Batch id → its approve entries
    approvals: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # One Chinese line each; the build refuses on any
    problems: list[str] = field(default_factory=list)

    @property
    def head(self) -> Head:
        return Head(len(self.entries), self.hashes[-1] if self.hashes else "")

    def extends(self, head: Head) -> bool:
        """True when this log is ``head``'s log with entries after it (or the same)."""
        return head.entries == 0 or (
            len(self.hashes) >= head.entries and self.hashes[head.entries - 1] == head.hash
        )

    def completed(self, required: int) -> list[tuple[str, dict[str, Any]]]:
        """(batch id, the approve entry that gave it ``required`` different editors), in log order."""
        done = []
        for batch_id, entries in self.approvals.items():
            editors: set[str] = set()
            keys: set[str] = set()
            for entry in entries:
                editors.add(entry["by"])
                # The signing key's fingerprint: two names with one key count once
                keys.add(entry["key"])
                if min(len(editors), len(keys)) >= required:
                    done.append((batch_id, entry))
                    break
        return sorted(done, key=lambda pair: pair[1]["n"])

    def allowed_signers(self) -> str:
        """``content/editors/allowed_signers`` as the log makes it (OpenSSH's allowed-signers format)."""
        lines = [
            "# 受信任的编辑（由 disclose editor trust / revoke 生成，勿手工修改：构建会核对它与发布日志是否一致）",
            "# 核验签名：ssh-keygen -Y verify -f allowed_signers -I 编辑名 -n "
            f"{signing.NAMESPACE} -s 签名文件 < 内容文件",
        ]
        lines += [
            f'{name} namespaces="{signing.NAMESPACE}" {key}'
            for name, key in sorted(self.editors.items())
        ]
        return "\n".join(lines) + "\n"


class LogPaths:
    """Where a site keeps its log and its trusted editors."""

    def __init__(self, root: Path, batches_dir: str, editors_dir: str):
        self.batches = root / batches_dir
        self.log = self.batches / LOG
        self.editors = root / editors_dir
        self.allowed_signers = self.editors / ALLOWED_SIGNERS

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """One writer at a time on this computer (two commands appending at once would fork the chain)."""
        self.batches.mkdir(parents=True, exist_ok=True)
        with open(self.batches / ".publication-log.lock", "a+b") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            yield


def _is_link(path: Path) -> bool:
    try:
        return stat.S_ISLNK(os.lstat(path).st_mode)
    except OSError:
        return False


def read(paths: LogPaths) -> Ledger:
    """Read and check the whole log; every problem found is kept, none raised."""
    ledger = Ledger()
    if _is_link(paths.log) or _is_link(paths.batches):
        ledger.problems.append(f"{paths.log} 是符号链接：发布日志必须是站点里的普通文件")
        return ledger
    try:
        data = paths.log.read_bytes()
    except FileNotFoundError:
        data = b""
    except OSError as exc:
        ledger.problems.append(f"无法读取发布日志 {paths.log}：{exc.strerror}")
        return ledger
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    elif data:
        ledger.problems.append(
            f"发布日志 {paths.log.name} 的最后一行不完整（缺少换行）：文件被截断或手工修改"
        )
    for number, line in enumerate(lines):
        problem = _check_entry(ledger, number, line)
        if problem:
            ledger.problems.append(
                f"发布日志第 {number + 1} 条：{problem}；已停止（日志之后的内容不再采信）"
            )
            break
    _check_allowed_signers(paths, ledger)
    return ledger


def _check_entry(ledger: Ledger, number: int, line: bytes) -> str:
    """Check one line in the context of the ones before it and apply it to ``ledger``; a problem or ""."""
    try:
        entry = json.loads(line)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return "不是一行完整的 JSON（文件被截断或手工修改）"
    if (
        not isinstance(entry, dict)
        or not isinstance(entry.get("action"), str)
        or entry["action"] not in ACTIONS
    ):
        return "不是发布日志条目（action 缺失或未知）"
    action = entry["action"]
    missing = [
        name
        for name in (*COMMON, *ACTIONS[action])
        if not isinstance(entry.get(name), int if name == "n" else str)
    ]
    if missing:
        return f"缺少或不合格的字段：{'、'.join(missing)}"
    extra = set(entry) - set(COMMON) - set(ACTIONS[action]) - {"migrated"}
    if extra:
        return f"含有未知字段：{'、'.join(sorted(extra))}"
    try:
        if dt.datetime.fromisoformat(entry["at"]).tzinfo is None:
            raise ValueError
    except ValueError:
        return f"时间“{entry['at'][:40]}”不是带时区的 ISO 时间"
    if entry["n"] != number:
        return f"序号为 {entry['n']}，应为 {number}（条目被删除、插入、重排或重放）"
    expected_prev = ledger.hashes[-1] if ledger.hashes else ""
    if entry["prev"] != expected_prev:
        return "与前一条的哈希链接不上（前面的条目被改动、删除或重排，或本条是重放的）"
    signer = entry["by"]
    if number == 0:
        if action != "trust" or entry["editor"] != signer:
            return "日志的第一条必须是某位编辑用自己的密钥签名的“信任”条目（首次信任）"
        public_key = entry["public_key"]
    else:
        public_key = ledger.editors.get(signer, "")
        if not public_key:
            return f"签名人“{signer}”不是此时受信任的编辑（未知或已撤销的密钥）"
    try:
        if signing.fingerprint(public_key) != entry["key"]:
            return f"签名人“{signer}”的密钥指纹与受信任名单不符（用错了密钥）"
    except (ValueError, NotImplementedError, TypeError, IndexError):
        return "公钥无法读取"
    try:
        message = signed_bytes(entry)
    except (UnicodeEncodeError, ValueError):
        return "含有无法编码的字符"
    if not signing.verify(public_key, message, entry["sig"]):
        return f"“{signer}”的签名无效（条目在签名后被改动，或不是用该编辑的密钥签的）"
    problem = _apply(ledger, entry)
    if problem:
        return problem
    ledger.entries.append(entry)
    ledger.hashes.append(hashlib.sha256(line).hexdigest())
    return ""


def _apply(ledger: Ledger, entry: dict[str, Any]) -> str:
    action = entry["action"]
    if action == "trust":
        try:
            key = signing.parse_public_key(entry["public_key"])
        except UserError:
            return "公钥无法读取"
        name = entry["editor"]
        if not signing.NAME_PATTERN.fullmatch(name):
            return "编辑名无效"
        fingerprint = signing.fingerprint(key)
        holder = next(
            (
                n
                for n, k in ledger.editors.items()
                if signing.fingerprint(k) == fingerprint and n != name
            ),
            None,
        )
        if holder:
            return f"这把密钥已属于编辑“{holder}”：一把密钥只能属于一位编辑"
        ledger.editors[name] = key
    elif action == "revoke":
        if ledger.editors.pop(entry["editor"], None) is None:
            return f"撤销的编辑“{entry['editor']}”此时并不受信任"
    else:
        approvals = ledger.approvals.setdefault(entry["batch"], [])
        if any(a["by"] == entry["by"] for a in approvals):
            return f"“{entry['by']}”对批次 {entry['batch']} 的审核重复出现（重放）"
        if approvals and (
            approvals[0]["records_blake3"],
            approvals[0]["manifest_sha256"],
            approvals[0]["kind"],
        ) != (entry["records_blake3"], entry["manifest_sha256"], entry["kind"]):
            return f"批次 {entry['batch']} 的两次审核签的不是同一份数据"
        approvals.append(entry)
    return ""


def _check_allowed_signers(paths: LogPaths, ledger: Ledger) -> None:
    if _is_link(paths.allowed_signers) or _is_link(paths.editors):
        ledger.problems.append(
            f"{paths.allowed_signers} 是符号链接：受信任编辑名单必须是站点里的普通文件"
        )
        return
    try:
        text = paths.allowed_signers.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = None
    except (OSError, UnicodeDecodeError):
        text = "?"
    if not ledger.entries and text is None:
        return
    if text != ledger.allowed_signers():
        ledger.problems.append(
            f"受信任编辑名单 {paths.allowed_signers} 与发布日志不符（被手工修改或缺失）；"
            "名单只能用 disclose editor trust / revoke 修改"
        )


def append(
    paths: LogPaths, ledger: Ledger, signer: signing.Signer, action: str, at: str, **body: Any
) -> dict[str, Any]:
    """Sign and append one entry to a log read (and found without problems) under :meth:`LogPaths.locked`."""
    if ledger.problems:
        raise UserError(ledger.problems[0])
    public_key = signer.public_key()
    entry: dict[str, Any] = {
        "n": len(ledger.entries),
        "prev": ledger.head.hash,
        "action": action,
        "at": at,
        "by": signer.name,
        "key": signing.fingerprint(public_key),
        **body,
    }
    entry["sig"] = signer.sign(signed_bytes(entry))
    line = dumps_line(entry).encode("utf-8")
    problem = _check_entry(ledger, entry["n"], line)
    if problem:
        raise UserError(problem)
    data = paths.log.read_bytes() if paths.log.exists() else b""
    atomic_write_bytes(paths.log, data + line + b"\n")
    if action != "approve":
        atomic_write_bytes(paths.allowed_signers, ledger.allowed_signers().encode("utf-8"))
    return entry


def read_head(path: Path) -> Head | None:
    """The log head a deployed site says it published, or None when there is no such file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        entries, head = data["entries"], data["head"]
        if (
            type(entries) is not int
            or entries < 0
            or not isinstance(head, str)
            or (entries > 0) != bool(head)
        ):
            raise ValueError
        return Head(entries, head)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError, RecursionError):
        raise UserError(f"{path} 不是有效的发布日志头文件（应含 entries 与 head）") from None

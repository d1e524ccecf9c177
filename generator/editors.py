"""The site's trusted editors: who may sign approvals. A thin layer over the publication log
(:mod:`generator.ledger`): trusting and revoking are signed log entries, and
``content/editors/allowed_signers`` is rewritten from the log after each."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import ledger as publog
from . import signing
from .errors import UserError
from .settings import Config


@dataclass(frozen=True)
class TrustedEditor:
    name: str
    public_key: str
    fingerprint: str
    since: dict[str, Any]  # the trust entry in force


class Editors:
    """Trusted editors of the site at ``root``."""

    def __init__(self, root: Path, cfg: Config):
        self.cfg = cfg
        self.paths = publog.LogPaths(root, cfg.BATCHES_DIR, cfg.EDITORS_DIR)

    def list(self) -> tuple[list[TrustedEditor], list[str]]:
        """(the editors trusted now, by name; the log's problems)."""
        ledger = publog.read(self.paths)
        since = {e["editor"]: e for e in ledger.entries if e["action"] == "trust"}
        editors = [
            TrustedEditor(name, key, signing.fingerprint(key), since[name])
            for name, key in sorted(ledger.editors.items())
        ]
        return editors, ledger.problems

    def trust(
        self, name: str, public_key: str, by: signing.Signer | None, at: str
    ) -> tuple[dict[str, Any], bool]:
        """Trust ``name`` with ``public_key``, signed by ``by`` (a trusted editor); on a site with no
        trusted editor ``by`` is ``name``'s own key (trust on first use). Returns (entry, first use)."""
        name, public_key = signing.check_name(name), signing.parse_public_key(public_key)
        with self.paths.locked():
            ledger = publog.read(self.paths)
            if ledger.problems:
                raise UserError(f"发布日志有问题，不能修改受信任编辑名单：{ledger.problems[0]}")
            first = not ledger.entries
            if by is None:
                raise UserError(
                    "本站已有受信任的编辑：新增或更换密钥须由其中一位签名（--by 编辑名）"
                )
            if first and by.name != name:
                raise UserError(
                    f"本站还没有受信任的编辑：第一位编辑 {name} 须用自己的密钥签名（不加 --by，或 --by {name}）"
                )
            if first and by.public_key() != public_key:
                raise UserError(f"首次信任：密钥目录中 {name} 的私钥与给出的公钥不是一对")
            if not first and by.name not in ledger.editors:
                raise UserError(f"签名人 {by.name} 不是本站受信任的编辑")
            if not first and ledger.editors[by.name] != by.public_key():
                raise UserError(f"签名人 {by.name} 所用密钥不是本站登记的公钥")
            if ledger.editors.get(name) == public_key:
                raise UserError(f"编辑 {name} 已受信任，公钥相同，无需重复")
            entry = publog.append(
                self.paths, ledger, by, "trust", at, editor=name, public_key=public_key
            )
        return entry, first

    def revoke(self, name: str, by: signing.Signer, at: str) -> dict[str, Any]:
        """Revoke ``name``'s key, signed by ``by``: nothing it signs from now on is accepted."""
        with self.paths.locked():
            ledger = publog.read(self.paths)
            if ledger.problems:
                raise UserError(f"发布日志有问题，不能修改受信任编辑名单：{ledger.problems[0]}")
            if name not in ledger.editors:
                raise UserError(f"编辑 {name} 不在受信任名单中")
            if ledger.editors.get(by.name) != by.public_key():
                raise UserError(
                    f"签名人 {by.name} 不是本站受信任的编辑（或所用密钥不是登记的公钥）"
                )
            if len(ledger.editors) == 1:
                raise UserError("不能撤销最后一位受信任的编辑：先信任另一位编辑，再撤销")
            return publog.append(self.paths, ledger, by, "revoke", at, editor=name)

"""``disclose migrate``: move a site's unsigned ``approval.json`` approvals into the signed publication log.

Sites made before the publication log kept each batch's approvals in ``approval.json``, which anyone
who could write a file could forge. Migration checks every such batch (records against the digests
it was approved with), then the migrating editors sign, in the old publication order, one approval
each per approved batch, keeping the old approval time (so the site does not change) and the old
approvers' names (``migrated``). Batches with too few old approvals go back to 待审核. The
``approval.json`` files are removed last; running it again finishes an interrupted migration.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from . import ledger as publog
from . import pii
from .batches import APPROVAL, MANIFEST, Batch, BatchStore
from .errors import UserError
from .fileio import both_digests, write_json
from .signing import Signer


@dataclass
class Migration:
    signed: list[str] = field(default_factory=list)  # batch ids now approved in the log
    unapproved: list[str] = field(default_factory=list)  # had too few old approvals: back to 待审核
    repinned: list[str] = field(default_factory=list)  # got their BLAKE3 digest on the way


def migrate(store: BatchStore, signers: Sequence[Signer]) -> Migration:
    # Why long: a one-time migration read top to bottom: refuse, sign each old approval in log
    # order, then remove the old files.
    cfg, paths = store.cfg, store.log_paths
    rules = pii.MaskRules.from_config(cfg)  # an old approval's editor name may hold an ID number
    if len({s.name for s in signers}) < cfg.APPROVALS_REQUIRED:
        raise UserError(
            f"本站要求 {cfg.APPROVALS_REQUIRED} 位编辑审核：迁移也需要同样多位编辑签名（多次给出 --editor）"
        )
    legacy = [b for b in store.all() if (b.path / APPROVAL).exists()]
    result = Migration()
    ordered: list[tuple[str, Batch, list[dict[str, Any]]]] = []
    tampered = []
    for batch in legacy:
        approvals = batch.legacy_approvals()
        sha256, blake3 = (
            both_digests(batch.records_path) if batch.records_path.exists() else ("", "")
        )
        actual = blake3 if batch.digest_field == "records_blake3" else sha256
        if batch.legacy_state(cfg, actual) == "tampered":
            tampered.append(batch.id)
            continue
        if len({a["editor"] for a in approvals}) < cfg.APPROVALS_REQUIRED:
            result.unapproved.append(batch.id)
            continue
        completing = _completing(approvals, cfg.APPROVALS_REQUIRED)
        if not batch.manifest.get("records_blake3"):
            batch.manifest = {**batch.manifest, "records_blake3": blake3}
            result.repinned.append(batch.id)
        ordered.append((completing["approved_at"], batch, approvals))
    if tampered:
        raise UserError(
            f"批次 {'、'.join(tampered)} 的数据与旧审核记录不符（已被修改），迁移未进行；"
            "请查明原因后删除这些批次并重新导入"
        )
    ordered.sort(key=lambda item: (item[0], item[1].id))
    with paths.locked():
        ledger = publog.read(paths)
        if ledger.problems:
            raise UserError(f"发布日志有问题，不能迁移：{ledger.problems[0]}")
        if any(e["action"] == "approve" and "migrated" not in e for e in ledger.entries):
            # Approving now goes through the log: an approval.json that appears later is forged, never migrated.
            raise UserError(
                "本站已用发布日志签名审核，不再迁移 approval.json（批次 "
                f"{'、'.join(b.id for b in legacy) or '-'} 的审核文件应删除并调查来源）"
            )
        for signer in signers:
            if ledger.editors.get(signer.name) != signer.public_key():
                raise UserError(
                    f"编辑 {signer.name} 不是本站受信任的编辑（或密钥不符）：先用 disclose editor trust 信任"
                )
        for approved_at, batch, approvals in ordered:
            if batch.id in result.repinned:
                write_json(batch.path / MANIFEST, batch.manifest)
            done = {e["by"] for e in ledger.approvals.get(batch.id, [])}
            for signer in signers:
                if signer.name in done:
                    continue
                publog.append(
                    paths,
                    ledger,
                    signer,
                    "approve",
                    approved_at,
                    batch=batch.id,
                    kind=batch.kind,
                    records_blake3=batch.manifest["records_blake3"],
                    manifest_sha256=publog.manifest_digest(batch.manifest),
                    migrated=[
                        {"editor": pii.mask(a["editor"], rules), "approved_at": a["approved_at"]}
                        for a in approvals
                    ],
                )
            result.signed.append(batch.id)
        for batch in legacy:
            (batch.path / APPROVAL).unlink(missing_ok=True)
    return result


def _completing(approvals: list[dict[str, Any]], required: int) -> dict[str, Any]:
    editors: set[str] = set()
    for approval in approvals:
        editors.add(approval["editor"])
        if len(editors) >= required:
            return approval
    return approvals[-1]

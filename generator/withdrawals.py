"""Withdrawals: find a record by id or document number and stage a withdrawal batch.

A withdrawal is itself a batch (kind ``withdrawal``) and is published only once approved,
like any other batch; the build then removes the record everywhere.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from . import __version__, pii
from .batches import MANIFEST, RECORDS, WITHDRAWAL, BatchStore
from .clock import now_iso
from .errors import UserError
from .fileio import both_digests, dumps_line, write_json
from .normalize import normalize_docno
from .publication import compute_state
from .schema import Kind
from .settings import Config


@dataclass
class Candidate:
    id: str
    subject: str
    docno: str
    date: str
    batch_id: str


def find_records(
    store: BatchStore, kind: Kind, key: str, cfg: Config, today: dt.date
) -> list[Candidate]:
    """Records of ``kind`` (latest approved versions, not yet withdrawn) matching ``key``."""
    state = compute_state(store, cfg, today, strict=False)
    wanted_id = key.strip().lower()
    wanted_doc = normalize_docno(key)
    found = []
    for rid, latest in sorted(state.latest.items()):
        if latest.kind != kind.name or rid in state.withdrawn:
            continue
        if rid == wanted_id or latest.docno_key == wanted_doc:
            brief = latest.brief
            found.append(
                Candidate(
                    rid,
                    str(brief.get(kind.subject, "")),
                    str(brief.get(kind.docno, "")),
                    str(brief.get(kind.date, "")),
                    latest.batch.id,
                )
            )
    return found


def stage_withdrawal(
    store: BatchStore,
    kind: Kind,
    key: str,
    reason: str,
    editor: str,
    cfg: Config,
    today: dt.date,
    staged_at: str | None = None,
) -> tuple[str, Candidate, bool]:
    """Stage a withdrawal batch for exactly one record; refuse unknown or ambiguous keys."""
    # Why long: find the record, refuse what cannot be withdrawn (each with its own message), then
    # stage the batch atomically.
    reason, editor = reason.strip(), editor.strip()
    if reason not in cfg.WITHDRAW_REASONS:
        raise UserError(f"撤下原因“{reason}”无效，应为：{'、'.join(cfg.WITHDRAW_REASONS)}")
    if not editor:
        raise UserError("经办人姓名不能为空（--editor）")
    matches = find_records(store, kind, key, cfg, today)
    if not matches:
        raise UserError(
            f"在已审核的{kind.label}记录中找不到“{key}”（可用记录编号或文书号，括号写法不限）"
        )
    if len(matches) > 1:
        listing = "；".join(f"{c.id}（{c.subject}，{c.docno}，{c.date}）" for c in matches)
        raise UserError(f"“{key}”对应 {len(matches)} 条记录，请改用记录编号：{listing}")
    target = matches[0]
    # Stored in the batch (and signed into the log): an ID number typed into --editor or the key is masked first.
    rules = pii.MaskRules.from_config(cfg)
    reason, editor = pii.mask(reason, rules), pii.mask(editor, rules)
    entry: dict[str, Any] = {
        "id": target.id,
        "kind": kind.name,
        "docno": target.docno,
        "subject": target.subject,
        "reason": reason,
        "requested_by": editor,
        "key": pii.mask(key, rules),
    }
    line = dumps_line(entry) + "\n"
    batch_id = f"{WITHDRAWAL}-{hashlib.sha256(line.encode()).hexdigest()[:12]}"
    staging = store.new_staging_dir()
    try:
        (staging / RECORDS).write_text(line, encoding="utf-8", newline="\n")
        sha256, blake3 = both_digests(staging / RECORDS)
        write_json(
            staging / MANIFEST,
            {
                "batch_id": batch_id,
                "kind": WITHDRAWAL,
                "kind_label": "撤下",
                "target_kind": kind.name,
                "source": f"{editor}：{reason}",
                "records_sha256": sha256,
                "records_blake3": blake3,
                "counts": {"rows": 1, "accepted": 1, "rejected": 0, "duplicates": 0, "withheld": 0},
                "staged_at": staged_at or now_iso(cfg),
                "tool_version": __version__,
            },
        )
        created = store.commit_staging(staging, batch_id)
    except BaseException:
        store.discard_staging(staging)
        raise
    return batch_id, target, created

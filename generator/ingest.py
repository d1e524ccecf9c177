"""Ingest: export → validated, masked, de-duplicated records staged as a new batch.

Streams the export once into a staging folder, then drops rows whose natural key clashes
with a *different* row (both are rejected) in a second pass over the staged file. Only a
complete batch is renamed into place; a refused file leaves nothing behind.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import itertools
import json
import os
import re
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import __version__, journal, pii
from .batches import MANIFEST, RECORDS, REJECTIONS, WARNINGS, BatchStore
from .clock import now_iso
from .errors import UserError
from .fileio import both_digests, dumps_line, sha256_file, write_json
from .markup import neutralise_cell
from .normalize import normalize_docno
from .readers import open_export, row_dict
from .records import cell_text, normalize_row, record_id, withheld_reason
from .schema import KINDS, Kind
from .settings import Config

REPORT_HEADER = ["行号", "列", "原因", "原值"]


@dataclass
class IngestResult:
    batch_id: str
    created: bool
    counts: dict[str, int]
    rejections_path: Path
    messages: list[str] = field(default_factory=list)
    source_file: str = ""  # the export's file name, masked


class _Report:
    """Rejection/warning CSV (UTF-8 with BOM so Excel opens it), written as rows arrive."""

    def __init__(self, path: Path, rules: pii.MaskRules):
        self.rules = rules
        self.fh = path.open("w", encoding="utf-8-sig", newline="")
        self.writer = csv.writer(self.fh)
        self.writer.writerow(REPORT_HEADER)
        self.rows: list[tuple[int, str, str]] = []  # first few, for the console

    def add(self, row: int, column: str, reason: str, value: Any = "") -> None:
        # A reason may quote the cell ("无法识别的日期格式：…")
        reason = pii.mask(reason, self.rules)
        shown = pii.mask(cell_text(value), self.rules)[:60] if value not in (None, "") else ""
        if column.endswith("证件号码") and shown:
            shown = "（已隐去）"
        self.writer.writerow([row, column, reason, neutralise_cell(shown)])
        if len(self.rows) < 20:
            self.rows.append((row, column, reason))

    def close(self) -> None:
        self.fh.close()


_NOTE = re.compile(r"^(制表|填报|审核|注[:：]|说明|备注[:：]|合计|总计|数据截至)")


def _is_note_row(raw: dict[str, Any]) -> bool:
    """A footer/notes row: no data column filled, or only one that reads like a note."""
    if sum(1 for v in raw.values() if v) > 3:  # fast path: a data row
        return False
    filled = [cell_text(v) for k, v in raw.items() if not k.startswith("__") and cell_text(v)]
    return not filled or (len(filled) == 1 and bool(_NOTE.match(filled[0])))


def ingest(
    path: Path,
    kind: Kind,
    source: str | None,
    cfg: Config,
    root: Path,
    today: dt.date,
    progress: Callable[[int], None] | None = None,
    staged_at: str | None = None,
) -> IngestResult:
    """Stage ``path`` as a batch of ``kind``; raise :class:`UserError` if the file is unusable."""
    export = open_export(path, kind, cfg.HEADER_SCAN_ROWS, cfg.CSV_CHUNK_ROWS)
    store = BatchStore(root, cfg)  # removes what killed ingests left
    staging = store.new_staging_dir()
    try:
        return _ingest_into(
            staging, export, path, kind, source, cfg, store, today, progress, staged_at
        )
    except BaseException:
        store.discard_staging(staging)
        raise


CHUNK_ROWS = 4_000  # rows per validation task
PARALLEL_MIN_ROWS = 2 * CHUNK_ROWS  # smaller exports are validated in-process


@dataclass
class Outcome:
    """What validation made of one row (computed in a worker process, consumed in order)."""

    row: int
    kind: str  # "record" | "rejected" | "note"
    line: str = ""  # the record's JSON line
    row_hash: bytes = b""
    rid: str = ""
    public: bool = True
    errors: list[tuple[str, str, Any]] = field(default_factory=list)  # (column, reason, raw value)
    warnings: list[tuple[str, str, Any]] = field(default_factory=list)


def validate_rows(
    kind_name: str,
    rows: list[tuple[int, list[Any]]],
    columns: dict[int, str],
    width: int,
    today: dt.date,
    cfg: Config,
) -> list[Outcome]:
    """Validate, normalise and mask a chunk of rows (pure; runs in worker processes)."""
    kind = KINDS[kind_name]
    outcomes = []
    cache: dict = {}
    for row_no, values in rows:
        raw = row_dict(values, columns, width)
        if raw.pop("__blank__", False):
            continue
        if _is_note_row(raw):
            outcomes.append(Outcome(row_no, "note"))
            continue
        extra = raw.pop("__extra__", 0)
        result = normalize_row(kind, raw, row_no, today, cfg, cache)
        if extra:
            result.errors.append(("（整行）", f"该行比表头多出 {extra} 个非空单元格，可能错位"))
        warnings = [(c, r, raw.get(c, "")) for c, r in result.warnings]
        if not result.ok:
            outcomes.append(
                Outcome(
                    row_no,
                    "rejected",
                    errors=[(c, r, raw.get(c, "")) for c, r in result.errors],
                    warnings=warnings,
                )
            )
            continue
        fields = result.fields
        fields_json = dumps_line(fields)
        row_hash = hashlib.blake2b(fields_json.encode(), digest_size=16).digest()
        rid = record_id(kind, fields)
        reason = withheld_reason(kind, fields, cfg)
        # The canonical record line (sorted keys, as dumps_line would write it), serialising fields once.
        line = (
            f'{{"docno_key":{dumps_line(normalize_docno(str(fields[kind.docno])))},"fields":{fields_json},'
            f'"id":"{rid}","public":{"false" if reason else "true"},"row":{row_no}'
            + (f',"withheld":{dumps_line(reason)}' if reason else "")
            + "}"
        )
        outcomes.append(
            Outcome(row_no, "record", line, row_hash, rid, not reason, warnings=warnings)
        )
    return outcomes


def _chunks(
    rows: Iterator[tuple[int, list[Any]]], size: int
) -> Iterator[list[tuple[int, list[Any]]]]:
    chunk: list[tuple[int, list[Any]]] = []
    for item in rows:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _validated(export, kind: Kind, today: dt.date, cfg: Config, workers: int) -> Iterator[Outcome]:
    """Outcomes in row order; validation fans out over worker processes for large exports.

    At most ``2 × workers`` chunks are in flight, so memory stays flat however long the file.
    """
    chunks = _chunks(export.raw_rows(), CHUNK_ROWS)
    args = (export.columns, export.width, today, cfg)
    first = list(itertools.islice(chunks, 2))
    if workers <= 1 or len(first) < 2:
        for chunk in itertools.chain(first, chunks):
            yield from validate_rows(kind.name, chunk, *args)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        pending: deque = deque()
        for chunk in itertools.chain(first, chunks):
            pending.append(pool.submit(validate_rows, kind.name, chunk, *args))
            if len(pending) >= 2 * workers:
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()


def _ingest_into(
    staging, export, path, kind, source, cfg, store, today, progress, staged_at
) -> IngestResult:
    """Three passes: validate and de-duplicate every row into a part file; reject the rows that
    share a natural key with a different row; write the manifest and commit the staging folder."""
    rules = pii.MaskRules.from_config(cfg)
    rejections = _Report(staging / REJECTIONS, rules)
    warnings = _Report(staging / WARNINGS, rules)
    counts = {"rows": 0, "accepted": 0, "rejected": 0, "duplicates": 0, "withheld": 0}
    part = staging / (RECORDS + ".part")
    journal.fault("ingest", "staging")  # tests kill the ingest here (a staging folder half written)
    clashes = _validate_rows(export, kind, today, cfg, part, rejections, warnings, counts, progress)
    _reject_clashes(kind, part, staging / RECORDS, clashes, rejections, counts)
    rejections.close()
    warnings.close()
    if counts["accepted"] == 0:
        first = rejections.rows[0] if rejections.rows else None
        example = f"，例如第 {first[0]} 行“{first[1]}”：{first[2]}" if first else ""
        if counts["rows"] == 0:
            raise UserError(f"{path.name}：只有表头，没有数据行（表头在第 {export.header_row} 行）")
        raise UserError(
            f"{path.name}：没有有效的数据行（共 {counts['rows']} 行全部被拒绝{example}）"
        )
    return _commit(staging, export, path, kind, source, cfg, store, today, staged_at, counts, rules)


def _validate_rows(
    export, kind, today, cfg, part: Path, rejections, warnings, counts, progress
) -> dict[str, list[int]]:
    """The first pass: every row validated (in worker processes), exact duplicates counted once,
    the accepted ones written to ``part``; the record ids that rows with different content share."""
    seen_rows: dict[bytes, int] = {}  # hash of normalised fields → first row
    keys: dict[str, int] = {}  # record id → first row
    clashes: dict[str, list[int]] = {}  # record id → rows sharing it with different content
    workers = cfg.BUILD_WORKERS or os.cpu_count() or 1
    with part.open("w", encoding="utf-8", newline="\n") as out:
        for outcome in _validated(export, kind, today, cfg, workers):
            row_no = outcome.row
            if outcome.kind == "note":
                warnings.add(row_no, "（整行）", "说明行（如制表人、合计），不是数据，已跳过")
                continue
            counts["rows"] += 1
            if progress and counts["rows"] % 10_000 == 0:
                progress(10_000)
            for column, reason, value in outcome.warnings:
                warnings.add(row_no, column, reason, value)
            if outcome.kind == "rejected":
                counts["rejected"] += 1
                for column, reason, value in outcome.errors:
                    rejections.add(row_no, column, reason, value)
                continue
            if outcome.row_hash in seen_rows:
                counts["duplicates"] += 1
                warnings.add(
                    row_no, "（整行）", f"与第 {seen_rows[outcome.row_hash]} 行完全相同，只计一次"
                )
                continue
            seen_rows[outcome.row_hash] = row_no
            if outcome.rid in keys:
                clashes.setdefault(outcome.rid, [keys[outcome.rid]]).append(row_no)
            else:
                keys[outcome.rid] = row_no
            out.write(outcome.line + "\n")
    if progress:
        progress(counts["rows"] % 10_000)
    return clashes


def _reject_clashes(kind, part: Path, records: Path, clashes, rejections, counts) -> None:
    """The second pass: rows that share a natural key with a different row are all rejected; the
    others go into ``records``."""
    clash_rows = {row: rid for rid, rows in clashes.items() for row in rows}
    key_label = "+".join(kind.natural_key)
    with (
        part.open(encoding="utf-8") as src,
        records.open("w", encoding="utf-8", newline="\n") as dst,
    ):
        for line in src:
            record = json.loads(line) if clash_rows else None
            if record is not None and record["row"] in clash_rows:
                others = [r for r in clashes[record["id"]] if r != record["row"]]
                rejections.add(
                    record["row"],
                    key_label,
                    f"与第 {'、'.join(map(str, others))} 行的{key_label}相同但内容不同，两行均被拒绝",
                )
                counts["rejected"] += 1
                continue
            counts["accepted"] += 1
            if record is None:
                record = {"public": '"public":true' in line}
            if not record["public"]:
                counts["withheld"] += 1
            dst.write(line)
    part.unlink()


def _commit(
    staging, export, path, kind, source, cfg, store, today, staged_at, counts, rules
) -> IngestResult:
    """The batch's manifest written, and the staging folder committed as the batch."""
    records_sha, records_blake3 = both_digests(staging / RECORDS)
    batch_id = f"{kind.name}-{hashlib.sha256((kind.name + records_sha).encode()).hexdigest()[:12]}"
    # Batch metadata is masked before it is stored: a file name or --source may hold an ID number.
    manifest = {
        "batch_id": batch_id,
        "kind": kind.name,
        "kind_label": kind.label,
        "source": pii.mask(source or path.stem, rules),
        "source_file": pii.mask(path.name, rules),
        "source_sha256": sha256_file(path),
        "source_format": export.format,
        "source_encoding": export.encoding,
        "header_row": export.header_row,
        "columns": sorted(set(export.columns.values()), key=[f.name for f in kind.fields].index),
        "ignored_columns": [pii.mask(str(column), rules) for column in export.ignored],
        "records_sha256": records_sha,  # the batch id's source (ids stay what they were before BLAKE3)
        "records_blake3": records_blake3,  # what approvals pin and builds check
        "counts": counts,
        "staged_at": staged_at or now_iso(cfg),
        "validated_on": today.isoformat(),
        "tool_version": __version__,
    }
    write_json(staging / MANIFEST, manifest)
    created = store.commit_staging(staging, batch_id)
    messages = [] if created else [f"该文件内容已暂存为批次 {batch_id}，未重复创建"]
    return IngestResult(
        batch_id,
        created,
        counts,
        store.dir / batch_id / REJECTIONS,
        messages,
        manifest["source_file"],
    )


def rejection_summary(path: Path, limit: int = 10, source: str = "") -> list[str]:
    """First rejection lines of a batch's report, for the console: one line each, naming the
    export (``source``), the row and the column."""
    if not path.exists():
        return []
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))[1 : limit + 1]
    where = f"{source} " if source else ""
    return [f"  {where}第 {r[0]} 行「{r[1]}」：{r[2]}" for r in rows]

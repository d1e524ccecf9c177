"""Read a department export (CSV in any common encoding, XLSX, legacy XLS) into rows.

The reader finds the header row below any title/blank rows, maps header cells to the kind's
canonical columns (widths, spaces, aliases normalised) and yields ``(row_number, {column: cell})``
where ``row_number`` is the 1-based row as the editor sees it in Excel. CSV is streamed in
chunks with pandas; Excel sheets are read with python-calamine (fast, reads .xls too) in a forked
process with a memory cap (see :func:`_open_excel`).
"""

from __future__ import annotations

import codecs
import csv
import functools
import io
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import forked
from .errors import UserError
from .normalize import normalize_header
from .schema import Kind

XLSX_MAGIC = b"PK\x03\x04"
XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_BLOCK = 1 << 20
CSV_CHUNK_CELLS = 2_000_000  # cells per CSV chunk: ~100 MB of Python objects at most
BINARY_MAGICS = (
    b"\x89PNG",
    b"%PDF",
    b"\xff\xd8\xff",
    b"GIF8",
    b"\x1f\x8b",
    b"Rar!",
    b"7z\xbc\xaf",
    b"BM",
)


@dataclass
class Export:
    """An opened export: where its header is and how its columns map."""

    path: Path
    format: str  # csv | xlsx | xls
    encoding: str | None
    header_row: int  # 1-based
    columns: dict[int, str]  # column position → canonical name
    ignored: list[str] = field(default_factory=list)
    _rows: Any = None  # callable producing (row number, cell values) pairs
    width: int = 0  # cells in the header row

    def raw_rows(self) -> Iterator[tuple[int, list[Any]]]:
        """(row number, cell values) in file order: cheap to send to worker processes."""
        return self._rows()

    def rows(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """(row number, {canonical column: cell}) in file order."""
        for row_no, values in self._rows():
            yield row_no, row_dict(values, self.columns, self.width)


def header_map(kind: Kind) -> dict[str, str]:
    """Normalised header text → canonical column name, for names, labels and aliases."""
    mapping: dict[str, str] = {}
    for f in kind.fields:
        for text in (f.name, f.display, *f.aliases):
            mapping.setdefault(normalize_header(text), f.name)
    return mapping


def _match_header(cells: list[Any], mapping: dict[str, str]) -> dict[int, str]:
    found: dict[int, str] = {}
    for pos, cell in enumerate(cells):
        if cell is None:
            continue
        name = mapping.get(normalize_header(str(cell)))
        if name:
            found[pos] = name
    return found


def _find_header(
    path: Path, rows: list[list[Any]], kind: Kind, scan: int
) -> tuple[int, dict[int, str], list[str]]:
    """Index of the header row among the first ``scan`` rows, its column map and ignored headers."""
    mapping = header_map(kind)
    best: tuple[int, dict[int, str]] | None = None
    for index, cells in enumerate(rows[:scan]):
        found = _match_header(cells, mapping)
        if len(set(found.values())) >= 2 and (
            best is None or len(set(found.values())) > len(set(best[1].values()))
        ):
            best = (index, found)
    if best is None:
        raise UserError(
            f"{path.name}：前 {scan} 行中找不到“{kind.label}”的表头行（请确认 --kind 是否正确、文件是否为数据导出表）"
        )
    index, found = best
    seen: dict[str, int] = {}
    for pos, name in sorted(found.items()):
        if name in seen:
            raise UserError(
                f"{path.name}：第 {index + 1} 行表头中“{name}”出现了两次（第 {seen[name] + 1} 列和第 {pos + 1} 列）"
            )
        seen[name] = pos
    missing = [name for name in kind.required if name not in seen]
    if missing:
        raise UserError(f"{path.name}：缺少必填列“{'”“'.join(missing)}”（表头在第 {index + 1} 行）")
    ignored = [
        str(c).strip()
        for pos, c in enumerate(rows[index])
        if pos not in found and c not in (None, "") and str(c).strip()
    ]
    return index, found, ignored


# -- text (CSV/TSV) --------------------------------------------------------------------------


def detect_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, else GB18030; refuse anything else.

    Every byte is checked with a strict incremental decoder, so a file that is valid at the top
    and broken in the middle is refused up front instead of half-ingested.
    """
    with path.open("rb") as fh:
        head = fh.read(4)
    if head.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig"]
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    else:
        candidates = ["utf-8", "gb18030"]
    failure: tuple[int, str] | None = None
    for encoding in candidates:
        line = _first_undecodable_line(path, encoding)
        if line is None:
            return encoding
        failure = failure or (line, encoding)
    line = failure[0] if failure else 1
    raise UserError(
        f"{path.name}：无法识别文件编码，第 {line} 行附近有无法解码的字节（支持 UTF-8、"
        "GB18030/GBK、UTF-16，请另存为 CSV UTF-8 后重试）"
    )


def _first_undecodable_line(path: Path, encoding: str) -> int | None:
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    lines = 1
    with path.open("rb") as fh:
        while True:
            block = fh.read(_BLOCK)
            try:
                text = decoder.decode(block, final=not block)
            except UnicodeDecodeError as exc:
                return lines + block[: exc.start].count(b"\n")
            if "\x00" in text:
                return lines + text.split("\x00", 1)[0].count("\n")
            lines += block.count(b"\n")
            if not block:
                return None


def _sniff_delimiter(sample: str) -> str:
    lines = [line for line in sample.splitlines()[:40] if line.strip()]
    counts = {d: sum(line.count(d) for line in lines) for d in (",", "\t", ";", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _open_csv(path: Path, kind: Kind, scan: int, chunk_rows: int) -> Export:
    import pandas as pd

    encoding = detect_encoding(path)
    with path.open("r", encoding=encoding, newline="") as fh:
        sample = fh.read(256 * 1024)
    delimiter = _sniff_delimiter(sample)
    # newline="": lines end at CR LF, LF or a lone CR (old Excel for Mac), as in the file itself.
    reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter)
    head_rows: list[list[Any]] = []
    line_after: list[int] = []  # physical lines consumed after each record
    try:
        for cells in reader:
            head_rows.append(cells)
            line_after.append(reader.line_num)
            if len(head_rows) >= scan:
                break
    except csv.Error as exc:
        raise UserError(f"{path.name}：CSV 格式错误（{exc}）") from None
    if not any(any(c.strip() for c in r) for r in head_rows):
        raise UserError(f"{path.name}：文件为空，没有任何内容")
    index, columns, ignored = _find_header(path, head_rows, kind, scan)
    width = len(head_rows[index])
    skip_lines = line_after[index]
    slack = 8  # extra columns so that a row with too many cells is reported, not fatal
    # A chunk holds at most CSV_CHUNK_CELLS cells, however wide the header row claims to be.
    chunk_rows = max(1, min(chunk_rows, CSV_CHUNK_CELLS // (width + slack)))

    def rows() -> Iterator[tuple[int, list[Any]]]:
        try:
            chunks = pd.read_csv(
                path,
                sep=delimiter,
                encoding=encoding,
                header=None,
                skiprows=skip_lines,
                names=list(range(width + slack)),
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                skip_blank_lines=False,
                chunksize=chunk_rows,
                engine="c",
                quoting=csv.QUOTE_MINIMAL,
            )
            row_no = index + 1
            for chunk in chunks:
                for values in chunk.to_numpy(dtype=object).tolist():
                    row_no += 1
                    yield row_no, values
        except pd.errors.ParserError as exc:
            line = re.search(r"line (\d+)", str(exc))
            where = f"第 {int(line.group(1)) + skip_lines} 行" if line else "某一行"
            raise UserError(
                f"{path.name}：{where}的字段数远多于表头（{width} 列），文件可能已损坏或分隔符不一致"
            ) from None

    return Export(path, "csv", encoding, index + 1, columns, ignored, rows, width)


def row_dict(values: list[Any] | tuple, columns: dict[int, str], width: int) -> dict[str, Any]:
    """Cell values → {canonical column: cell}, flagging blank rows and cells beyond the header."""
    row = {name: values[pos] for pos, name in columns.items() if pos < len(values)}
    extra = [
        v for v in values[width:] if v not in ("", None) and not (isinstance(v, float) and v != v)
    ]
    if extra:
        row["__extra__"] = len(extra)
    if all((v is None or str(v).strip() == "") for v in values):
        row["__blank__"] = True
    return row


# -- Excel --------------------------------------------------------------------------------

EXCEL_MEMORY_FLOOR = 256 << 20  # bytes a workbook may take to read, at least …
EXCEL_MEMORY_PER_BYTE = 64  # … or this many times its file size, whichever is larger
_EXCEL_CHUNK = 1_000  # rows per message from the reading process


def excel_memory_limit(size: int) -> int:
    """How much memory reading an Excel file of ``size`` bytes may take (see docs/data.md)."""
    return max(EXCEL_MEMORY_FLOOR, EXCEL_MEMORY_PER_BYTE * size)


def _open_excel(path: Path, kind: Kind, scan: int, fmt: str) -> Export:
    """Read a workbook in a forked process whose memory is capped at :func:`excel_memory_limit`.

    calamine builds each sheet as a dense grid over its used range (32 bytes a cell, however few
    cells hold a value: one cell at XFD1048576 asks for 512 GiB) and, for .xls, reserves what a
    sheet's DIMENSIONS record claims; python-calamine offers no cell-by-cell reader. An allocation
    that fails aborts the process, so the workbook is read in a child that can only run out of its
    own budget: the file is then refused, and the editor's machine is untouched.
    """
    import python_calamine  # noqa: F401 - imported before the fork, never under another thread's import lock

    limit = excel_memory_limit(path.stat().st_size)
    messages = forked.stream(
        functools.partial(_excel_messages, path, kind, scan), memory_limit=limit
    )
    _, index, columns, ignored, width = _excel_next(path, messages, limit)

    def rows() -> Iterator[tuple[int, list[Any]]]:
        while (chunk := _excel_next(path, messages, limit)) is not None:
            yield from chunk

    return Export(path, fmt, None, index + 1, columns, ignored, rows, width)


def _excel_next(path: Path, messages: Iterator[Any], limit: int) -> Any:
    """The reading process's next message (None at the end), its failures as one Chinese line."""
    try:
        return next(messages, None)
    except UserError:
        raise
    except (forked.ChildDied, MemoryError) as exc:
        if isinstance(exc, MemoryError) or exc.out_of_memory:
            raise UserError(
                f"{path.name}：读取该文件需要的内存超过上限 {limit >> 20} MB"
                f"（文件大小的 {EXCEL_MEMORY_PER_BYTE} 倍，至少 {EXCEL_MEMORY_FLOOR >> 20} MB），"
                "已拒绝：工作表的已用区域过大（如远处单元格 XFD1048576 有内容，或文件声明了过大的区域）；"
                "请在 Excel 中删除数据区以外的行和列后另存，再导入"
            ) from None
        raise UserError(f"{path.name}：Excel 文件已损坏，读取进程异常退出") from None
    except Exception as exc:  # calamine's own error types for broken files, and its panics
        raise UserError(
            f"{path.name}：Excel 文件已损坏或不完整，无法读取（{type(exc).__name__}）"
        ) from None


def _excel_messages(path: Path, kind: Kind, scan: int) -> Iterator[Any]:
    """In the reading process: ``("header", index, columns, ignored, width)`` for the first sheet
    with a header row, then its rows below the header in chunks of ``(row number, cells)``."""
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
        names = workbook.sheet_names
    except Exception as exc:  # calamine raises its own error types for broken files
        raise UserError(
            f"{path.name}：Excel 文件已损坏或不完整，无法读取（{type(exc).__name__}）"
        ) from None
    last_error: UserError | None = None
    for name in names:
        try:
            sheet = workbook.get_sheet_by_name(name)
            rows = _sheet_rows(sheet)
            head = list(itertools.islice(rows, scan))
        except Exception as exc:
            raise UserError(
                f"{path.name}：工作表“{name}”无法读取，文件可能已损坏（{type(exc).__name__}）"
            ) from None
        if not head:
            continue
        try:
            index, columns, ignored = _find_header(path, head, kind, scan)
        except UserError as exc:
            last_error = exc
            continue
        yield "header", index, columns, ignored, len(head[index])
        numbered = zip(itertools.count(index + 2), itertools.chain(head[index + 1 :], rows))
        while chunk := list(itertools.islice(numbered, _EXCEL_CHUNK)):
            yield chunk
        return
    if last_error:
        raise last_error
    raise UserError(f"{path.name}：文件为空，没有任何内容")


def _sheet_rows(sheet: Any) -> Iterator[list[Any]]:
    """A sheet's rows from row 1 and column A (empty cells None), one at a time: the grid calamine
    built is not copied into Python objects all at once."""
    if sheet.start is None:  # an empty sheet
        return iter(())
    pad = [None] * sheet.start[1]
    return ([*pad, *(None if v == "" else v for v in values)] for values in sheet.iter_rows())


def open_export(path: Path, kind: Kind, scan: int = 30, chunk_rows: int = 50_000) -> Export:
    """Open an export for reading; raise :class:`UserError` with one Chinese line if unusable."""
    if not path.exists():
        raise UserError(f"{path}：文件不存在")
    if path.is_dir():
        raise UserError(f"{path}：这是一个文件夹，不是数据文件")
    if path.stat().st_size == 0:
        raise UserError(f"{path.name}：文件为空（0 字节）")
    with path.open("rb") as fh:
        head = fh.read(8192)
    magic = head[:8]
    if magic.startswith(XLSX_MAGIC):
        return _open_excel(path, kind, scan, "xlsx")
    if magic.startswith(XLS_MAGIC):
        return _open_excel(path, kind, scan, "xls")
    if path.suffix.lower() in (".xlsx", ".xls", ".xlsm"):
        raise UserError(
            f"{path.name}：扩展名是 Excel，但内容不是有效的 Excel 文件（文件可能已损坏）"
        )
    binary = magic.startswith(BINARY_MAGICS) or (
        b"\x00" in head and not magic.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    )
    if binary:
        raise UserError(f"{path.name}：不是表格文件（CSV/XLSX/XLS）")
    return _open_csv(path, kind, scan, chunk_rows)

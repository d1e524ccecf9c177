"""Bounded resources for any input (issue 26, item 4): reading an export never takes more than a
bounded multiple of its size, and a file that would is refused (exit 2, one line, nothing written).

calamine builds a sheet as a dense grid over its used range and, for .xls, reserves what a sheet's
DIMENSIONS record claims; a failed allocation aborted the whole ingest (SIGABRT). The workbook is
now read in a process with a memory cap (generator.readers.excel_memory_limit).
"""

from __future__ import annotations

import csv
import io
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from generator.synthetic import synth_rows, write_export

from .conftest import TODAY, TODAY_DATE

# Generator.readers.EXCEL_MEMORY_FLOOR, written out so this file runs against older readers
EXCEL_MEMORY_FLOOR = 256 << 20
PEAK_RSS_LIMIT_MB = 500  # the bound for the sparse workbook
DISCLOSE = Path(sys.executable).parent / "disclose"

# The ingest runs as a grandchild of a small Python process, so that its peak RSS (and that of its
# own reading process) is the only one getrusage(RUSAGE_CHILDREN) reports.
_MEASURE = """
import resource, subprocess, sys, time
started = time.monotonic()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(done.returncode, time.monotonic() - started, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
print(done.stdout, end="")
print(done.stderr, end="", file=sys.stderr)
"""


def measured_ingest(site, path: Path, kind: str = "penalty") -> tuple[int, float, float, str, str]:
    """(exit code, seconds, peak RSS in MB of the ingest and its children, stdout, stderr)."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            _MEASURE,
            str(DISCLOSE),
            "ingest",
            str(path),
            "--kind",
            kind,
            "--today",
            TODAY,
        ],
        cwd=site.path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    first, _, stdout = done.stdout.partition("\n")
    code, seconds, rss_kb = first.split()
    return int(code), float(seconds), int(rss_kb) / 1024, stdout, done.stderr


def rewrite_member(path: Path, member: str, edit) -> Path:
    """Rewrite one part of a zip (an XLSX) in place with ``edit(bytes) -> bytes``."""
    with zipfile.ZipFile(path) as zf:
        parts = [(info, zf.read(info)) for info in zf.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for info, data in parts:
            zf.writestr(info, edit(data) if info.filename == member else data)
    return path


def penalty_xlsx(tmp_path: Path, rows: int = 3, name: str = "export.xlsx") -> Path:
    return write_export(
        tmp_path / name,
        "penalty",
        list(synth_rows("penalty", rows, seed=26, today=TODAY_DATE)),
        fmt="xlsx",
    )


def assert_refused(site, code: int, stderr: str, path: Path, expected: str) -> None:
    lines = stderr.strip().splitlines()
    assert code == 2, stderr
    assert len(lines) == 1 and lines[0].startswith("错误：") and path.name in lines[0], stderr
    assert expected in lines[0], stderr
    assert site.batch_dirs() == []  # no batch, no staging folder


# -- sparse and huge-claimed sheets --------------------------------------------------------------


def test_an_8_kb_xlsx_with_one_cell_at_xfd1048576_exits_2_in_seconds_and_small(site, tmp_path):
    """The issue's file: one cell at the last cell of a sheet. Its used range is 2^34 cells
    (512 GiB for calamine's grid): before, `memory allocation of 549755813888 bytes failed`, SIGABRT."""
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active["XFD1048576"] = "x"
    path = tmp_path / "sparse.xlsx"
    wb.save(path)
    assert path.stat().st_size < 8192
    code, seconds, rss, _, stderr = measured_ingest(site, path)
    assert_refused(site, code, stderr, path, "表头")  # one cell makes no export: refused as such
    assert seconds < 20 and rss < PEAK_RSS_LIMIT_MB, (seconds, rss)


def test_a_sheet_whose_data_sits_beside_one_far_cell_is_refused_by_the_memory_bound(site, tmp_path):
    """A real header and rows plus one stray value at XFD1048576: the used range is the whole sheet."""
    path = penalty_xlsx(tmp_path)
    far = (
        b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row></sheetData>'
    )
    rewrite_member(path, "xl/worksheets/sheet1.xml", lambda xml: xml.replace(b"</sheetData>", far))
    assert path.stat().st_size < 16384
    code, seconds, rss, _, stderr = measured_ingest(site, path)
    assert_refused(site, code, stderr, path, "内存超过上限")
    assert (
        "XFD1048576" in stderr and "Traceback" not in stderr and "memory allocation" not in stderr
    )
    assert seconds < 20 and rss < PEAK_RSS_LIMIT_MB, (seconds, rss)


def test_an_xlsx_whose_sheet_claims_a_huge_dimension_is_read_by_its_cells(site, tmp_path):
    """<dimension ref="A1:XFD1048576"/> over three rows: only the cells count."""
    path = penalty_xlsx(tmp_path)
    claim = b'<dimension ref="A1:XFD1048576"/><sheetViews>'
    rewrite_member(
        path, "xl/worksheets/sheet1.xml", lambda xml: xml.replace(b"<sheetViews>", claim, 1)
    )
    with zipfile.ZipFile(path) as zf:
        assert b"A1:XFD1048576" in zf.read("xl/worksheets/sheet1.xml")
    code, seconds, rss, stdout, stderr = measured_ingest(site, path)
    assert code == 0, stderr
    assert "接收 3 行" in stdout
    assert rss < PEAK_RSS_LIMIT_MB


def _xls_with_dimensions(tmp_path: Path, first_row: int, last_row: int, last_col: int) -> Path:
    """A BIFF8 workbook (xlwt) with a header row, its DIMENSIONS record rewritten to claim a range."""
    import xlwt

    wb = xlwt.Workbook(encoding="utf-8")
    sheet = wb.add_sheet("数据")
    for col, text in enumerate(["行政相对人名称", "行政处罚决定书文号"]):
        sheet.write(0, col, text)
    path = tmp_path / "claims.xls"
    wb.save(str(path))
    data = bytearray(path.read_bytes())
    # DIMENSIONS: rwMic, rwMac (u32), colMic, colMac (u16)
    at = data.find(struct.pack("<HH", 0x0200, 14))
    assert at > 0
    struct.pack_into("<IIHH", data, at + 4, first_row, last_row, 0, last_col)
    path.write_bytes(bytes(data))
    return path


def test_an_xls_whose_dimensions_record_claims_a_huge_range_is_refused(site, tmp_path):
    """calamine reserves rows × columns cells for a sheet's DIMENSIONS record: 4 × 10^9 × 65,520 here."""
    path = _xls_with_dimensions(tmp_path, 0, 0xFFFFFFF0, 0xFFF0)
    code, seconds, rss, _, stderr = measured_ingest(site, path)
    assert_refused(site, code, stderr, path, "内存超过上限")
    assert seconds < 20 and rss < PEAK_RSS_LIMIT_MB, (seconds, rss)


def test_an_xls_with_a_far_cell_stays_within_the_bound(site, tmp_path):
    """A .xls with a value at IV65536: 16.7 million cells of grid (537 MB); before, read at ~1 GB."""
    import xlwt

    rows = list(synth_rows("penalty", 3, seed=26, today=TODAY_DATE))
    path = tmp_path / "far.xls"
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("数据")
    text = write_export(tmp_path / "same.csv", "penalty", rows).read_text(encoding="utf-8-sig")
    for r, values in enumerate(csv.reader(io.StringIO(text))):
        for c, value in enumerate(values):
            sheet.write(r, c, value)
    sheet.write(65535, 255, "x")
    book.save(str(path))
    code, seconds, rss, _, stderr = measured_ingest(site, path)
    assert_refused(site, code, stderr, path, "内存超过上限")
    assert rss < PEAK_RSS_LIMIT_MB, rss


@pytest.mark.slow
def test_the_bound_leaves_room_for_real_workbooks(site, tmp_path):
    """2,000 rows of 25 columns, well inside the cap, give the records the same rows give as CSV."""
    path = penalty_xlsx(tmp_path, rows=2000)
    code, _, rss, stdout, stderr = measured_ingest(site, path)
    assert code == 0, stderr
    assert "共 2000 行" in stdout
    assert rss < EXCEL_MEMORY_FLOOR / 2**20 + 200
    same = write_export(
        tmp_path / "same.csv",
        "penalty",
        list(synth_rows("penalty", 2000, seed=26, today=TODAY_DATE)),
    )
    assert site.ingest(same, "penalty").batch_id == stdout.strip().splitlines()[-1].removeprefix(
        "batch: "
    )


# -- CSV -----------------------------------------------------------------------------------------


def test_a_gb18030_csv_with_cr_only_line_endings_reads_like_crlf(site, department_csv, tmp_path):
    """Old Excel for Mac ends lines with a lone CR: before, `CSV 格式错误（new-line character seen
    in unquoted field…）`."""
    data = department_csv.read_bytes()
    assert b"\r\n" in data
    cr_only = tmp_path / "mac-export.csv"
    cr_only.write_bytes(data.replace(b"\r\n", b"\r"))
    assert b"\n" not in cr_only.read_bytes()
    mac = site.ingest(cr_only, "penalty")
    assert mac.exit_code == 0, mac.stderr
    crlf = site.ingest(department_csv, "penalty")
    assert crlf.batch_id == mac.batch_id  # the same records, row numbers included
    assert "该文件内容已暂存为批次" in crlf.stdout


@pytest.mark.slow
def test_a_csv_chunk_holds_a_bounded_number_of_cells_however_wide_the_header(
    site, tmp_path, monkeypatch
):
    """A header row with 5,000 trailing empty columns: each chunk is cut to CSV_CHUNK_CELLS cells."""
    import pandas as pd

    from generator import readers

    rows = list(synth_rows("penalty", 50, seed=26, today=TODAY_DATE))
    path = write_export(tmp_path / "wide.csv", "penalty", rows)
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    lines[0] += "," * 5_000
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    seen: list[int] = []
    real = pd.read_csv

    def spy(*args, **kwargs):
        seen.append(kwargs["chunksize"] * len(kwargs["names"]))
        return real(*args, **kwargs)

    monkeypatch.setattr(pd, "read_csv", spy)
    monkeypatch.setattr(readers, "CSV_CHUNK_CELLS", 50_000)
    result = site.ingest(path, "penalty")
    assert result.exit_code == 0, result.stderr
    assert "接收 50 行" in result.stdout
    assert seen and max(seen) <= 50_000

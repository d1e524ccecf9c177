"""Fuzzing the tools with hostile exports (issue 26, item 7).

Random bytes, random workbooks (sizes, merged cells, dates, formulas, sparse cells), random
encodings and line endings, and rows with ID, mobile and card numbers planted in every spelling
(tests/test_pii.py's strategies, and line breaks) in every column, the header, the file name,
``--source`` and a withdrawal's editor. The properties:

- no traceback: the command exits 0 or 2, and 2 is one line that says what is wrong;
- nothing is written on exit 2;
- no planted number is in any batch file or output file, by the detector ``disclose verify`` uses
  (:func:`generator.pii.find_in_file`) and by an independent check written here.

``make test`` runs ``FUZZ_EXAMPLES`` (default 300) examples in all, shared out below; the longer
run (docs/benchmarks.md, "Fuzzing") sets it to 10,000.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import gzip
import html
import io
import os
import re
import sys
import tempfile
import unicodedata
import zipfile
from pathlib import Path
from urllib.parse import unquote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator import pii
from generator.schema import KIND_NAMES as SCHEMA_KIND_NAMES
from generator.synthetic import export_columns, synth_rows

from .conftest import TODAY, SiteRoot
from .test_pii import CONTEXT, cards, mobiles, old_ids, resident_ids

BUDGET = int(os.environ.get("FUZZ_EXAMPLES", "300"))
SHARES = {"bytes": 0.25, "sheets": 0.2, "encodings": 0.2, "ingest": 0.25, "build": 0.1}
# `make test` replays the same examples on every machine (a failure there can be reproduced);
# a longer run (FUZZ_EXAMPLES set, `make fuzz`) draws new ones each time.
RANDOM = "FUZZ_EXAMPLES" in os.environ


def fuzzed(share: str):
    return settings(
        max_examples=max(5, round(BUDGET * SHARES[share])),
        deadline=None,
        derandomize=not RANDOM,
        print_blob=True,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )


pytestmark = pytest.mark.slow

# -- planted numbers, spelled from the Unicode database (not from the detector's own lists) -----


@functools.cache
def forms() -> dict[str, list[str]]:
    """What a reader reads as each digit and as X, and what a reader does not see or reads as a
    mere separator between two digits, by Unicode property: every character whose compatibility
    form is one digit (or X), every dash and space, dots, and format characters, combining marks
    and default-ignorable characters (assigned or not)."""
    found: dict[str, list[str]] = {d: [] for d in "0123456789X"}
    separators, invisible = (
        list(DOTS + "─ー"),
        ["\u2065", "\ufff0", "\U000e0080", "\u3164", "\u115f"],
    )
    for code in range(sys.maxunicode + 1):
        if 0xD800 <= code <= 0xDFFF:
            continue
        char = chr(code)
        category, folded = unicodedata.category(char), unicodedata.normalize("NFKC", char)
        if folded in found and category in ("Nd", "No") or folded in "Xx" and len(folded) == 1:
            found[folded.upper()].append(char)
        elif category in ("Pd", "Zs"):
            separators.append(char)
        elif category in ("Cf", "Mn", "Me") and not 0x600 <= code <= 0x605:
            invisible.append(char)
    found["X"] += ["\u0425", "\u0445", "\u03a7", "\u03c7"]  # Cyrillic and Greek look-alikes
    return {**found, "separators": separators, "invisible": invisible}


@st.composite
def spellings(draw, number: str, line_breaks: bool) -> str:
    """``number`` with each digit in any form, any separators and invisible characters between the
    digits, and (in a cell, shown in a page) a line break."""
    table = forms()
    gaps = table["separators"] + (["\n", "\r\n"] if line_breaks else [])
    out = []
    for i, char in enumerate(number):
        # Plain digits often, so the others stand out
        out.append(draw(st.sampled_from([char] * 4 + table[char])))
        if i < len(number) - 1:
            out += draw(st.lists(st.sampled_from(gaps), max_size=1)) + draw(
                st.lists(st.sampled_from(table["invisible"]), max_size=1)
            )
    return "".join(out)


MOBILE_WORDS = [
    "",
    "",
    "电话",
    "手机：",
    "联系电话 ",
    "Tel",
    "TEL:",
    "wx",
    "微信 V",
    "+86 ",
    "0086-",
    "0",
]
CARD_WORDS = ["卡号：", "银行卡号 ", "账号", "信用卡", "借记卡号", "卡 号", "卡號", "账户 "]
ID15_WORDS = ["身份证号：", "证件号码", "身份證 "]


@st.composite
def plants(draw, in_cell: bool = True) -> tuple[str, str]:
    """(the number's digits, a text that holds it as personal data: an ID or mobile number anywhere,
    a 15-digit ID or a card number right after one of its words)."""
    kind = draw(st.sampled_from(["id", "mobile", "card", "id15"]))
    number = draw(
        {"id": resident_ids(), "mobile": mobiles(), "card": cards(), "id15": old_ids()}[kind]
    )
    words = draw(
        st.sampled_from(
            {"card": CARD_WORDS, "id15": ID15_WORDS, "mobile": MOBILE_WORDS}.get(kind, [""])
        )
    )
    return number, draw(CONTEXT) + words + draw(spellings(number, in_cell)) + draw(CONTEXT)


@st.composite
def markdown_plants(draw) -> tuple[str, str]:
    """(digits, Markdown whose link address or title holds the number as character references or
    percent-encoded): text that a reader sees in the status bar or a tooltip."""
    number = draw(resident_ids())
    entities = "".join(f"&#{ord(c)};" for c in number)
    percent = "".join(f"%{ord(c):02X}" for c in number)
    link = draw(
        st.sampled_from(
            [
                f"[详见](https://a.example/?id={entities})",
                f"[详见](https://a.example/?id={percent})",
                f'[详见](https://a.example/ "{entities}")',
                f"<https://a.example/?id={percent}>",
            ]
        )
    )
    return number, draw(CONTEXT) + link + draw(CONTEXT)


DOTS = ".\u00b7\u0387\u16eb\u2024\u2027\u2219\u22c5\u2e31\u30fb\ua78f\uff0e\uff65"


def skeletons(text: str) -> list[str]:
    """The independent check's readings of a text: JSON escapes decoded; once with tags dropped
    and character references decoded (the page's text), once with tags kept as breakers and
    character references and percent-escapes decoded (links' addresses and titles); compatibility
    forms folded (full-width, mathematical, superscript, circled digits …) and, by Unicode category,
    every character that a reader does not see between two digits or reads as a mere separator
    dropped (spaces, line breaks, controls, format characters, marks, dashes, dots, fillers), so a
    number shows as its digits. Any other character still ends a number."""
    text = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text)
    text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    readings = [html.unescape(re.sub(r"<[^<>]*>", "", text))]
    if "<" in text or "%" in text:
        readings.append(unquote(html.unescape(text.replace("<", "\u3002").replace(">", "\u3002"))))
    return [
        "".join(
            c
            for c in unicodedata.normalize("NFKC", reading)
            if unicodedata.category(c)[0] not in "ZCM"
            and unicodedata.category(c) != "Pd"
            and c not in DOTS
            and c not in "─ー\u3164\u115f\u1160\uffa0"
        ).upper()
        for reading in readings
    ]


def file_texts(path: Path) -> list[tuple[str, bytes]]:
    """(name, bytes) of a file as the detector reads it; a zip's (an XLSX download's) members too."""
    raw = path.read_bytes()
    if raw.startswith(b"PK\x03\x04"):
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            return [(f"{path.name}/{n}", archive.read(n)) for n in archive.namelist()]
    return [(path.name, raw)]


def assert_no_planted_number(folders: list[Path], numbers: list[str]) -> None:
    for folder in folders:
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()):
            for name, raw in file_texts(path):
                where = f"{path.relative_to(folder.parent)} ({name})"
                found = pii.find_in_file(name, raw)
                assert not found, f"{where}: {[f.label for f in found]}"
                for text in skeletons(
                    (gzip.decompress(raw) if name.endswith(".gz") else raw).decode(
                        "utf-8", "replace"
                    )
                ):
                    for number in numbers:
                        assert number not in text, f"{where}: {number}"


# -- a site per example -----------------------------------------------------------------------


class Site:
    """A throwaway site root for one example (Hypothesis runs many examples per test)."""

    def __init__(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="fuzz-")
        self.folder = Path(self._tmp.name)
        (self.folder / "site").mkdir()
        self.root = SiteRoot(self.folder / "site")

    def __enter__(self) -> Site:
        return self

    def __exit__(self, *exc) -> None:
        self._tmp.cleanup()

    def files(self) -> dict[str, int]:
        return {
            str(p.relative_to(self.root.path)): p.stat().st_size for p in self.root.path.rglob("*")
        }


def assert_read_or_refused(site: Site, path: Path, *extra: str, kind: str = "penalty"):
    """Ingest ``path``: exit 0, or exit 2 with one line and nothing written; never a traceback."""
    before = site.files()
    result = site.root.run("ingest", path, "--kind", kind, "--today", TODAY, *extra)
    assert result.exit_code in (0, 2), (result.exit_code, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "内部错误" not in result.stderr, result.stderr
    if result.exit_code == 2:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("错误："), result.stderr
        assert site.files() == before, "exit 2 but something was written"
    return result


HEADER = export_columns("penalty")
KIND_NAMES = list(SCHEMA_KIND_NAMES)


def valid_rows(count: int, seed: int, kind: str = "penalty") -> list[dict]:
    return list(synth_rows(kind, count, seed=seed, today=dt.date(2026, 11, 1), max_days=200))


@st.composite
def planted_rows(
    draw, min_rows: int = 2, kind: str = "penalty"
) -> tuple[list[dict], list[str], list[str]]:
    """(rows, the planted numbers, extra header cells): row 0 stays clean, so a batch always has
    a record; the others get numbers in any column of ``kind`` (Markdown links in its Markdown
    columns), replacing the cell or beside its text."""
    from generator.schema import KINDS, T

    rows = valid_rows(draw(st.integers(min_rows, 6)), draw(st.integers(0, 10**6)), kind)
    columns = export_columns(kind)
    markdown = [f.name for f in KINDS[kind].fields if f.type is T.MARKDOWN]
    numbers: list[str] = []
    for _ in range(draw(st.integers(1, 6))):
        column = draw(st.sampled_from(columns))
        number, text = draw(
            markdown_plants() if column in markdown and draw(st.booleans()) else plants()
        )
        row = rows[draw(st.integers(1, len(rows) - 1))]
        how = draw(st.sampled_from(["replace", "before", "after"]))
        old = str(row.get(column, "") or "")
        row[column] = (
            text
            if how == "replace" or not old
            else (text + "，" + old if how == "before" else old + "，" + text)
        )
        numbers.append(number)
    extra = []
    if draw(st.booleans()):
        number, text = draw(plants(in_cell=False))
        extra.append(text)
        numbers.append(number)
    return rows, numbers, extra


def write_csv(
    path: Path,
    rows: list[dict],
    extra: list[str],
    encoding: str,
    newline: str = "\r\n",
    kind: str = "penalty",
) -> Path:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator=newline)
    header = export_columns(kind)
    writer.writerow(header + extra)
    for row in rows:
        writer.writerow([row.get(c, "") for c in header] + ["" for _ in extra])
    path.write_bytes(buffer.getvalue().encode(encoding, "replace"))
    return path


def write_xlsx(path: Path, rows: list[list], merged: list[str] = (), sheets: int = 1) -> Path:
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    book = Workbook()
    sheet = book.active
    for values in rows:
        sheet.append(
            [ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in values]
        )
    for cells in merged:
        sheet.merge_cells(cells)
    for n in range(1, sheets):
        book.create_sheet(f"表{n}").append(["说明"])
    book.save(path)
    return path


def file_name(text: str, suffix: str) -> str:
    """A file name holding the planted text whole (one a file system takes: no slash or NUL, at
    most 255 bytes; else the text without its context)."""
    name = re.sub(r"[/\x00]", "_", text) + suffix
    return name if len(name.encode("utf-8")) <= 250 else "export" + suffix


# -- random bytes -----------------------------------------------------------------------------

MAGICS = [
    b"",
    b"PK\x03\x04",
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"\xfe\xff",
    b"\x89PNG",
    "序号,行政相对人名称\r\n".encode("gb18030"),
]


@fuzzed("bytes")
@given(
    st.sampled_from(MAGICS),
    st.binary(max_size=3000),
    st.sampled_from([".csv", ".xlsx", ".xls", ".txt", ".CSV", ""]),
)
def test_random_bytes_are_read_or_refused(magic, body, suffix):
    with Site() as site:
        path = site.folder / f"export{suffix}"
        path.write_bytes(magic + body)
        assert_read_or_refused(site, path)


@fuzzed("bytes")
@given(st.integers(0, 8), st.integers(0, 4000), st.binary(min_size=1, max_size=64))
def test_a_damaged_real_workbook_is_read_or_refused(where, at, junk):
    """A real XLSX with bytes overwritten, cut short or inserted: still exit 0 or 2."""
    with Site() as site:
        path = write_xlsx(
            site.folder / "export.xlsx",
            [HEADER] + [[r.get(c, "") for c in HEADER] for r in valid_rows(3, 1)],
        )
        raw = bytearray(path.read_bytes())
        at = at % len(raw)
        if where < 3:
            raw[at : at + len(junk)] = junk
        elif where < 5:
            del raw[at:]
        else:
            raw[at:at] = junk
        path.write_bytes(bytes(raw))
        assert_read_or_refused(site, path)


# -- random workbooks -------------------------------------------------------------------------

CELL_VALUES = st.one_of(
    st.none(),
    st.text(max_size=30),
    st.integers(-(10**15), 10**15),
    st.floats(allow_nan=False, allow_infinity=False),
    st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(2100, 1, 1)),
    st.datetimes(min_value=dt.datetime(1900, 3, 1), max_value=dt.datetime(2100, 1, 1)),
    st.booleans(),
    st.sampled_from(
        [
            "=1+1",
            "=A1",
            "=SUM(A1:B2)",
            '="盐"&"城"',
            "#N/A",
            "=1/0",
            "'0123",
            "2026/10/12",
            "2026年10月12日",
        ]
    ),
    plants().map(lambda p: p[1]),
)


@fuzzed("sheets")
@given(st.data())
def test_random_workbooks_are_read_or_refused_and_keep_no_planted_number(data):
    draw = data.draw
    rows, numbers, extra = draw(planted_rows())
    table = [[row.get(c, "") for c in HEADER] + [""] * len(extra) for row in rows]
    for _ in range(draw(st.integers(0, 8))):  # cells of any type anywhere in the data
        table[draw(st.integers(0, len(table) - 1))][draw(st.integers(0, len(HEADER) - 1))] = draw(
            CELL_VALUES
        )
    for _ in range(draw(st.integers(0, 3))):  # ragged rows
        table[draw(st.integers(0, len(table) - 1))] += draw(st.lists(CELL_VALUES, max_size=3))
    lead = [[draw(st.text(max_size=20))] for _ in range(draw(st.integers(0, 3)))]
    sheet = lead + [HEADER + extra] + table
    for _ in range(draw(st.integers(0, 2))):  # sparse: a cell far away
        far_row, far_col = (
            draw(st.integers(len(sheet) + 1, len(sheet) + 3000)),
            draw(st.integers(1, 300)),
        )
        sheet += [[] for _ in range(far_row - len(sheet) - 1)] + [
            [None] * (far_col - 1) + [draw(CELL_VALUES)]
        ]
    merged = []
    for _ in range(draw(st.integers(0, 3))):
        top, left = draw(st.integers(1, len(sheet))), draw(st.integers(1, len(HEADER)))
        merged.append(
            f"{_column(left)}{top}:{_column(left + draw(st.integers(0, 3)))}{top + draw(st.integers(0, 3))}"
        )
    with Site() as site:
        path = write_xlsx(
            site.folder / "export.xlsx", sheet, merged, sheets=draw(st.integers(1, 3))
        )
        result = assert_read_or_refused(site, path)
        if result.exit_code == 0:
            assert_no_planted_number([site.root.batches], numbers)


def _column(n: int) -> str:
    name = ""
    while n:
        n, r = divmod(n - 1, 26)
        name = chr(65 + r) + name
    return name


# -- random encodings -------------------------------------------------------------------------

ENCODINGS = [
    "utf-8",
    "utf-8-sig",
    "gb18030",
    "gbk",
    "gb2312",
    "big5",
    "utf-16",
    "utf-16-le",
    "utf-16-be",
    "utf-32",
    "latin-1",
    "cp1252",
    "shift_jis",
    "euc-kr",
]


@fuzzed("encodings")
@given(
    planted_rows(), st.sampled_from(ENCODINGS), st.sampled_from(["\r\n", "\n", "\r"]), st.booleans()
)
def test_random_encodings_and_line_endings_are_read_or_refused_and_keep_no_planted_number(
    planted, encoding, newline, title
):
    rows, numbers, extra = planted
    with Site() as site:
        path = write_csv(site.folder / "export.csv", rows, extra, encoding, newline)
        if title:
            path.write_bytes(
                "某某局行政处罚公示表\r\n".encode(encoding, "replace") + path.read_bytes()
            )
        result = assert_read_or_refused(site, path)
        if result.exit_code == 0:
            assert_no_planted_number([site.root.batches], numbers)


# -- planted numbers everywhere, through ingest and a build -----------------------------------


@fuzzed("ingest")
@given(
    st.sampled_from(KIND_NAMES).flatmap(
        lambda kind: st.tuples(st.just(kind), planted_rows(kind=kind))
    ),
    plants(in_cell=False),
    plants(in_cell=False),
    st.sampled_from(["csv", "xlsx"]),
)
def test_planted_numbers_never_reach_a_batch(kind_planted, in_name, in_source, fmt):
    kind, (rows, numbers, extra) = kind_planted
    with Site() as site:
        name = file_name(in_name[1], f".{fmt}")
        numbers = (
            numbers + [in_source[0]] + ([in_name[0]] if name.startswith(in_name[1][:1]) else [])
        )
        if fmt == "csv":
            path = write_csv(site.folder / name, rows, extra, "gb18030", kind=kind)
        else:
            header = export_columns(kind)
            path = write_xlsx(
                site.folder / name,
                [header + extra] + [[r.get(c, "") for c in header] for r in rows],
            )
        result = assert_read_or_refused(site, path, "--source", in_source[1], kind=kind)
        assert result.exit_code == 0, result.stderr
        assert_no_planted_number([site.root.batches], numbers)


@fuzzed("build")
@given(planted_rows(min_rows=3), plants(in_cell=False))
def test_planted_numbers_never_reach_the_site(planted, in_editor):
    rows, numbers, extra = planted
    with Site() as site:
        path = write_csv(site.folder / "export.csv", rows, extra, "utf-8-sig")
        batch = site.root.stage_and_approve(path, "penalty")
        withdrawn = rows[0]["行政处罚决定书文号"]
        request = site.root.run(
            "withdraw",
            withdrawn,
            "--kind",
            "penalty",
            "--reason",
            "信用修复",
            "--editor",
            in_editor[1],
            "--today",
            TODAY,
        )
        assert request.exit_code == 0, request.stderr
        assert site.root.run("approve", request.batch_id, "--editor", "测试编辑甲").exit_code == 0
        built = site.root.build()
        assert built.exit_code == 0, built.stderr
        assert batch in site.root.batch_dirs()
        assert_no_planted_number(
            [site.root.batches, site.root.path / "output"], numbers + [in_editor[0]]
        )

"""Normalisation of export cells: dates, amounts, document numbers, headers."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from generator.normalize import (
    CellError,
    clean_text,
    normalize_docno,
    normalize_header,
    parse_amount_wan,
    parse_date,
    parse_score,
    parse_year,
)

dates = st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2099, 12, 31))


@pytest.mark.parametrize(
    "text",
    [
        "2026/03/05",
        "2026-03-05",
        "2026年3月5日",
        "2026.3.5",
        "20260305",
        "2026-3-5",
        "２０２６年３月５日",
        "2026/03/05 00:00:00",
        " 2026-03-05 ",
        "46086",
        "46086.0",
    ],
)
def test_every_date_form_gives_the_iso_date(text):
    assert parse_date(text) == dt.date(2026, 3, 5)


def test_excel_cells_give_dates():
    assert parse_date(dt.datetime(2026, 3, 5, 0, 0)) == dt.date(2026, 3, 5)
    assert parse_date(46086.0) == dt.date(2026, 3, 5)  # Excel serial number cell


@given(
    dates,
    st.sampled_from(["{y}/{m:02d}/{d:02d}", "{y}-{m}-{d}", "{y}年{m}月{d}日", "{y}{m:02d}{d:02d}"]),
)
def test_date_forms_round_trip(day, pattern):
    assert parse_date(pattern.format(y=day.year, m=day.month, d=day.day)) == day


@pytest.mark.parametrize(
    "text", ["2026-02-30", "2026/13/01", "明天", "26-3-5", "1800-01-01", "3.5"]
)
def test_bad_dates_are_refused_with_a_reason(text):
    with pytest.raises(CellError) as exc:
        parse_date(text)
    assert str(exc.value)


@pytest.mark.parametrize(
    "text, value", [("0.2", 0.2), ("1,000", 1000.0), ("0.2万元", 0.2), ("０.５", 0.5), (3, 3.0)]
)
def test_amounts_are_numbers_in_wan(text, value):
    assert parse_amount_wan(text) == value


@pytest.mark.parametrize(
    "text, reason", [("2000元", "万元"), ("-1", "负数"), ("abc", "不是数字"), ("NaN", "不是数字")]
)
def test_bad_amounts_are_refused(text, reason):
    with pytest.raises(CellError, match=reason):
        parse_amount_wan(text)


FULL_WIDTH = str.maketrans("0123456789.", "０１２３４５６７８９．")


@given(
    st.integers(1949, 2099),
    st.sampled_from(["", "年", "年度", " 年度"]),
    st.booleans(),
    st.sampled_from(["text", "int", "float"]),
)
def test_a_year_in_any_spelling_is_its_four_digits(year, suffix, full_width, cell):
    text = f"{year}{suffix}"
    value = {"text": text.translate(FULL_WIDTH) if full_width else text, "int": year}.get(
        cell, float(year)
    )
    assert parse_year(value) == str(year)


@pytest.mark.parametrize("text", ["25", "20250", "2025.5", "1900", "2100", "二〇二五", "2025-01"])
def test_bad_years_are_refused(text):
    with pytest.raises(CellError, match="年度应为4位数字"):
        parse_year(text)


@given(
    st.decimals(min_value=0, max_value=100, places=2),
    st.sampled_from(["", "分", " 分"]),
    st.booleans(),
    st.sampled_from(["text", "float"]),
)
def test_a_score_in_any_spelling_is_its_number(number, suffix, full_width, cell):
    text = f"{number}{suffix}"
    value = (
        (text.translate(FULL_WIDTH) if full_width else text) if cell == "text" else float(number)
    )
    assert parse_score(value) == float(number)


@pytest.mark.parametrize(
    "parse, reason, valid",
    [
        (parse_year, "年度应为4位数字", lambda y: re.fullmatch(r"(19|20)\d\d", y) and y >= "1949"),
        (parse_score, "得分(不是数字|应在 0 到 100 之间)：", lambda score: 0 <= score <= 100),
    ],
)
@given(value=st.one_of(st.text(max_size=8), st.integers(), st.floats(allow_nan=True)))
def test_any_other_cell_is_refused_as_a_year_or_score_with_a_reason(parse, reason, valid, value):
    try:
        parsed = parse(value)
    except CellError as exc:
        assert re.match(reason, str(exc))
    else:
        assert valid(parsed)


@pytest.mark.parametrize(
    "text, reason",
    [
        ("105", "0 到 100"),
        ("-1", "0 到 100"),
        (100.5, "0 到 100"),
        ("九十", "不是数字"),
        ("92.5%", "不是数字"),
        ("NaN", "不是数字"),
        (float("inf"), "不是数字"),
        ("1e2", "不是数字"),
    ],
)
def test_bad_scores_are_refused(text, reason):
    with pytest.raises(CellError, match=reason):
        parse_score(text)


@given(
    st.text("盐市监罚环审许", min_size=1, max_size=6),
    st.integers(2000, 2099),
    st.integers(1, 99999),
    st.sampled_from(
        [("〔", "〕"), ("[", "]"), ("（", "）"), ("【", "】"), ("(", ")"), ("［", "］")]
    ),
    st.booleans(),
    st.booleans(),
)
def test_document_numbers_match_in_any_bracket_style(
    prefix, year, number, brackets, suffix, spaces
):
    canonical = normalize_docno(f"{prefix}〔{year}〕{number}号")
    sep = " " if spaces else ""
    variant = f"{prefix}{sep}{brackets[0]}{year}{brackets[1]}{sep}{number}{'号' if suffix else ''}"
    assert normalize_docno(variant) == canonical


def test_full_width_digits_in_document_numbers():
    assert normalize_docno("盐市监罚〔２０２６〕１２号") == normalize_docno("盐市监罚[2026]12号")


@pytest.mark.parametrize(
    "header",
    [
        "行政相对人代码_1(统一社会信用代码)",
        "行政相对人代码_1（统一社会信用代码）",
        " 行政相对人代码_1 (统一社会信用代码) ",
        "行政相对人代码1【统一社会信用代码】",
    ],
)
def test_header_variants_normalise_alike(header):
    assert normalize_header(header) == normalize_header("行政相对人代码_1(统一社会信用代码)")


# -- invisible characters (issue 26: bidi isolates, U+034F, U+180E and U+3164 survived) ------------


def test_the_invisible_list_is_the_documented_one():
    """Every format character but the visible prepended concatenation marks, every control but tab,
    line feed and carriage return (which becomes a line feed), and the printable invisible ones."""
    import sys
    import unicodedata

    from generator.normalize import INVISIBLE

    visible_marks = {
        0x0600,
        0x0601,
        0x0602,
        0x0603,
        0x0604,
        0x0605,
        0x06DD,
        0x070F,
        0x0890,
        0x0891,
        0x08E2,
        0x110BD,
        0x110CD,
    }
    printable = {
        0x034F,
        0x115F,
        0x1160,
        0x17B4,
        0x17B5,
        0x180B,
        0x180C,
        0x180D,
        0x180F,
        0x3164,
        0xFFA0,
        0x2028,
        0x2029,
    }
    # Default_Ignorable_Code_Point that no character is assigned to yet: browsers draw nothing.
    unassigned = {
        0x2065,
        *range(0xFFF0, 0xFFF9),
        0xE0000,
        *range(0xE0002, 0xE0020),
        *range(0xE0080, 0xE0100),
        *range(0xE01F0, 0xE1000),
    }
    wanted = (
        {
            c
            for c in range(sys.maxunicode + 1)
            if (unicodedata.category(chr(c)) == "Cf" and c not in visible_marks)
            or (unicodedata.category(chr(c)) == "Cc" and chr(c) not in "\t\n\r")
        }
        | printable
        | unassigned
    )
    pattern = re.compile(f"[{INVISIBLE}]")
    assert {c for c in range(sys.maxunicode + 1) if pattern.fullmatch(chr(c))} == wanted


@pytest.mark.parametrize(
    "char",
    [
        "\u2066",
        "\u2067",
        "\u2068",
        "\u2069",
        "\u202e",
        "\u034f",
        "\u180e",
        "\u3164",
        "\u00ad",
        "\u200b",
        "\u200d",
        "\ufeff",
        "\U000e0041",
        "\x85",
        "\u2065",
        "\ufff0",
        "\U000e0080",
    ],
)
def test_invisible_and_bidi_characters_are_removed(char):
    assert clean_text(f"当事人{char}张三{char}") == "当事人张三"
    assert clean_text(f"3209{char}02") == "320902"


def test_chinese_text_and_variation_selectors_are_kept():
    name = "葛\U000e0100洪\ufe00（示例）· A&B <公司>"
    assert clean_text(name) == name
    assert clean_text("  a\u3000\u2003b  \r\n  c ") == "a b\nc"


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",))))
def test_cleaned_text_has_no_invisible_character_and_stays_clean(value):
    from generator.normalize import INVISIBLE

    cleaned = clean_text(value)
    assert not re.search(f"[{INVISIBLE}]", cleaned)
    assert clean_text(cleaned) == cleaned
    assert cleaned == cleaned.strip()


@given(
    st.text(
        alphabet=st.characters(
            whitelist_categories=("Lo", "Nd", "Po", "Ps", "Pe", "Lu", "Ll"), max_codepoint=0xFFFF
        )
    )
)
def test_printable_cells_without_spaces_are_unchanged(value):
    assume(not re.search("[\u115f\u1160\u3164\uffa0]", value))
    assert clean_text(value) == value

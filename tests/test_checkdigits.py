"""Check digits of 统一社会信用代码 and 居民身份证号码: known vectors and property tests."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from generator import pii
from generator.checkdigits import (
    USCC_ALPHABET,
    USCC_PLACEHOLDER,
    is_valid_rid,
    is_valid_uscc,
    rid_check_char,
    rid_problem,
    uscc_check_char,
)
from generator.masking import mask_id

digits = st.text("0123456789", min_size=1, max_size=1)
uscc_body = st.builds(
    lambda a, b, region, rest: a + b + region + rest,
    st.sampled_from("159ANY"),
    st.sampled_from("1239"),
    st.text("0123456789", min_size=6, max_size=6),
    st.text(USCC_ALPHABET, min_size=9, max_size=9),
)
birth = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2026, 11, 1))


def test_known_vectors_from_the_standard():
    assert is_valid_uscc("91110000600037341L")
    assert is_valid_rid("11010519491231002X")
    assert not is_valid_uscc(USCC_PLACEHOLDER)  # fails on purpose (only 个体工商户 may use it)


@given(uscc_body)
def test_every_generated_credit_code_validates(body):
    assert is_valid_uscc(body + uscc_check_char(body))


@given(uscc_body, st.integers(0, 17), st.sampled_from(USCC_ALPHABET))
def test_any_single_substitution_breaks_a_credit_code(body, pos, char):
    code = body + uscc_check_char(body)
    mutated = code[:pos] + char + code[pos + 1 :]
    if mutated != code:
        assert not is_valid_uscc(mutated)


@given(uscc_body, st.sampled_from("IOSVZ"))
def test_letters_outside_the_alphabet_are_refused(body, bad):
    code = body + uscc_check_char(body)
    assert not is_valid_uscc(code[:10] + bad + code[11:])


@given(
    st.text("0123456789", min_size=6, max_size=6),
    birth,
    st.text("0123456789", min_size=3, max_size=3),
)
def test_every_generated_id_validates_and_any_other_check_char_fails(region, born, seq):
    body = region + born.strftime("%Y%m%d") + seq
    number = body + rid_check_char(body)
    assert rid_problem(number) is None
    for other in "0123456789X":
        if other != number[-1]:
            assert rid_problem(body + other) == "身份证号码校验位错误"


@given(st.text("0123456789", min_size=6, max_size=6), st.text("0123456789", min_size=3, max_size=3))
def test_impossible_birth_dates_are_refused(region, seq):
    body = region + "20261301" + seq  # month 13
    assert rid_problem(body + rid_check_char(body)) == "身份证号码中的出生日期无效"


@given(
    st.text("0123456789", min_size=6, max_size=6),
    birth,
    st.text("0123456789", min_size=3, max_size=3),
    st.text(max_size=30),
    st.text(max_size=30),
)
def test_ids_in_free_text_are_found_and_masked(region, born, seq, before, after):
    body = region + born.strftime("%Y%m%d") + seq
    number = body + rid_check_char(body)
    text = f"{before}（身份证号{number}）{after}"
    masked = pii.mask(text)
    assert number not in masked
    assert pii.find(masked) == []
    assert mask_id(number) in masked


def test_mask_keeps_four_and_four_by_default():
    assert mask_id("320902199001014410") == "3209**********4410"
    assert mask_id("320902199001014410", 6, 4) == "320902********4410"
    assert mask_id("1234") == "****"

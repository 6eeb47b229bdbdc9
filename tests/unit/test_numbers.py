"""Vietnamese number parsing: the formats people type, the ambiguity rules, refusals, formatting."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.numbers import (
    COUNT_CAP,
    MONEY_CAP,
    NumberError,
    format_count,
    format_vnd,
    parse_count,
    parse_money,
)
from messages import t

MONEY_CASES = [
    ("1.500.000", 1_500_000),
    ("1,5 triệu", 1_500_000),
    ("1,5 Triệu", 1_500_000),
    ("2 tr", 2_000_000),
    ("2tr", 2_000_000),
    ("1500000đ", 1_500_000),
    ("1500000 đ", 1_500_000),
    ("1.500.000 đồng", 1_500_000),
    ("1.500.000 VNĐ", 1_500_000),
    ("1.500.000₫", 1_500_000),
    ("VND 200.000", 200_000),
    ("1,5tr", 1_500_000),
    ("500k", 500_000),
    ("500K", 500_000),
    ("500 nghìn", 500_000),
    ("500 ngàn", 500_000),
    ("500 nghìn đồng", 500_000),
    ("2 tỷ", 2_000_000_000),
    ("2 tỉ", 2_000_000_000),
    ("2,5 tỷ", 2_500_000_000),
    ("1 triệu 500 nghìn", 1_500_000),
    ("2 tỷ 300 triệu", 2_300_000_000),
    ("5 trăm nghìn", 500_000),
    ("5 nghìn tỷ", 5_000_000_000_000),
    ("1 500 000", 1_500_000),
    ("1\u00a0500\u00a0000 đ", 1_500_000),  # no-break spaces
    ("2 500 nghìn", 2_500_000),
    ("１５００", 1_500),  # full-width digits
    ("１．５００．０００", 1_500_000),
    ("1.5 triệu", 1_500_000),  # a dot with one digit after it before a unit is a decimal point
    ("1.25 tr", 1_250_000),
    ("1.500", 1_500),  # a dot with three digits after it groups thousands
    ("1.500 triệu", 1_500_000_000),
    ("1,500,000", 1_500_000),  # English grouping, several commas
    ("1.500,5 triệu", 1_500_500_000),  # both marks: the last one is decimal
    ("1.234.567,0", 1_234_567),
    ("1tr5", 1_500_000),  # colloquial: the digits continue the unit
    ("1tr25", 1_250_000),
    ("1tr05", 1_050_000),
    ("1 triệu 500", 1_500_000),
    ("0", 0),
    ("007", 7),
    ("0,5 triệu", 500_000),
    ("  12 ", 12),
    ("+12", 12),
    ("1.500.000.", 1_500_000),  # the end of a sentence
]


@pytest.mark.parametrize(("typed", "value"), MONEY_CASES)
def test_parse_money_accepts_what_people_type(typed: str, value: int) -> None:
    assert parse_money(typed) == value


@pytest.mark.parametrize(("typed", "value"), MONEY_CASES)
def test_nfd_input_reads_the_same(typed: str, value: int) -> None:
    assert parse_money(unicodedata.normalize("NFD", typed)) == value


COUNT_CASES = [
    ("12", 12),
    ("1.500", 1_500),
    ("1 500", 1_500),
    ("3 người", 3),
    ("120 lượt người", 120),
    ("5 cuộc", 5),
    ("2 buổi", 2),
    ("10 sản phẩm", 10),
    ("1,5 nghìn", 1_500),
    ("2k", 2_000),
    ("1 triệu", 1_000_000),
    ("٣", 3),  # Arabic-Indic digit
]


@pytest.mark.parametrize(("typed", "value"), COUNT_CASES)
def test_parse_count_accepts_what_people_type(typed: str, value: int) -> None:
    assert parse_count(typed) == value


REFUSED = [
    ("", "forms.error.empty"),
    ("   ", "forms.error.empty"),
    ("-5", "forms.error.negative"),
    ("−5", "forms.error.negative"),  # Unicode minus
    ("âm 5", "forms.error.negative"),
    ("2,5", "forms.error.fraction"),
    ("1.5", "forms.error.fraction"),
    ("0,5 nghìn đồng", None),  # money: fine (500); see test below
    ("một trăm", "forms.error.words"),
    ("hai mươi", "forms.error.words"),
    ("không", "forms.error.words"),
    (str(10**15), "forms.error.too_large"),
    ("9" * 40, "forms.error.too_large"),
    ("abc", "forms.error.not_a_number"),
    ("3 12", "forms.error.not_a_number"),  # not a thousands grouping
    ("12.34.567", "forms.error.not_a_number"),
    ("1 triệu 2 trăm", "forms.error.not_a_number"),  # 1.000.200 or 1.200.000? refuse
    ("500 nghìn 1 triệu", "forms.error.not_a_number"),  # units out of order
    ("10²", "forms.error.not_a_number"),
    ("1e6", "forms.error.not_a_number"),
    ("1,500", "forms.error.ambiguous"),  # 1,5 or 1500?
    ("12 đ", "forms.error.not_a_number"),  # a count has no currency
]


@pytest.mark.parametrize(("typed", "key"), [c for c in REFUSED if c[1] is not None])
def test_parse_count_refuses(typed: str, key: str) -> None:
    with pytest.raises(NumberError) as caught:
        parse_count(typed)
    assert caught.value.key == key
    assert t(caught.value.key, "vi", **caught.value.fields)  # the message renders


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("-1.500.000", "forms.error.negative"),
        ("1,5 đ", "forms.error.fraction"),
        ("1,0000005 triệu", "forms.error.fraction"),
        ("một triệu", "forms.error.words"),
        (str(10**15), "forms.error.too_large"),
        ("2 triệu triệu", "forms.error.not_a_number"),
        ("đ", "forms.error.not_a_number"),
        ("1,500 đ", "forms.error.ambiguous"),
    ],
)
def test_parse_money_refuses(typed: str, key: str) -> None:
    with pytest.raises(NumberError) as caught:
        parse_money(typed)
    assert caught.value.key == key


def test_money_fraction_of_a_unit_is_fine() -> None:
    assert parse_money("0,5 nghìn đồng") == 500


def test_caps_and_their_messages() -> None:
    assert parse_money(str(MONEY_CAP)) == MONEY_CAP
    assert parse_count(str(COUNT_CAP)) == COUNT_CAP
    with pytest.raises(NumberError) as caught:
        parse_count(str(COUNT_CAP + 1))
    assert caught.value.fields == {"max": "10.000.000"}
    with pytest.raises(NumberError) as caught:
        parse_count("60", cap=50)
    assert t(caught.value.key, "vi", **caught.value.fields) == "Số quá lớn (tối đa 50)."


def test_ambiguous_message_names_both_readings() -> None:
    with pytest.raises(NumberError) as caught:
        parse_money("1,500")
    text = t(caught.value.key, "vi", **caught.value.fields)
    assert "1,500" in text
    assert "1500" in text


@pytest.mark.parametrize(
    ("n", "money", "count"),
    [
        (0, "0 đ", "0"),
        (999, "999 đ", "999"),
        (1_000, "1.000 đ", "1.000"),
        (1_500_000, "1.500.000 đ", "1.500.000"),
        (10**13, "10.000.000.000.000 đ", "10.000.000.000.000"),
    ],
)
def test_format(n: int, money: str, count: str) -> None:
    assert format_vnd(n) == money
    assert format_count(n) == count


@settings(database=None)  # no .hypothesis/ directory in the repository
@given(st.integers(min_value=0, max_value=MONEY_CAP))
def test_format_vnd_round_trips(n: int) -> None:
    assert parse_money(format_vnd(n)) == n


@settings(database=None)  # no .hypothesis/ directory in the repository
@given(st.integers(min_value=0, max_value=COUNT_CAP))
def test_format_count_round_trips(n: int) -> None:
    assert parse_count(format_count(n)) == n


@settings(database=None)  # no .hypothesis/ directory in the repository
@given(st.text(max_size=40))
def test_any_text_parses_or_raises_number_error(text: str) -> None:
    key, value = "", 0
    try:
        value = parse_money(text)
    except NumberError as err:
        key = err.key
    assert key == "" or key.startswith("forms.error.")
    assert 0 <= value <= MONEY_CAP

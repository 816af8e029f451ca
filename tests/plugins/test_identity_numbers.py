"""The identity numbers plugin: resident ID numbers (GB 11643) and unified social credit
codes (GB 32100), each rule at and around its edge, and the field types it registers."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from engine.extensions import load_extensions
from engine.settings import Settings
from plugins.builtin.identity_numbers import (
    id_check_digit,
    id_number_problem,
    normalize_id_number,
    normalize_uscc,
    uscc_check_digit,
    uscc_problem,
)

# Checked with the standards' other formulation (weights 2^(17-i) mod 11 and 3^i mod 31).
VALID_IDS = [
    "11010519491231002X",  # the standard's published example
    "110105199003074536",
    "440304198511280025",
    "430104199901010102",  # check digit 0
    "43010419990101017X",
    "110105202402290011",  # born on a leap day
]
VALID_CODES = [
    "91350100M000100Y43",
    "91430104MA4L0Q9T67",
    "12100000400000770U",  # an institution (机构编制, 事业单位)
    "51110000500000163G",  # a social organisation (民政)
    "Y1430104MA4L12345E",
]


@pytest.mark.parametrize("number", VALID_IDS)
def test_valid_id_numbers_pass(number: str) -> None:
    assert id_number_problem(number) is None
    assert normalize_id_number(number) == number


@pytest.mark.parametrize(
    ("number", "problem"),
    [
        ("110105194912310021", "身份证号码校验位错误（check digit wrong）"),
        ("11010519491231002Y", "expected 17 digits and a check digit 0-9 or X"),
        ("1101051949123100XX", "expected 17 digits and a check digit 0-9 or X"),
        ("11010519491231002", "must be 18 characters, not 17"),
        ("11010519491231002X0", "must be 18 characters, not 19"),
        ("", "must be 18 characters, not 0"),
        ("11010519490229002X", "birth date 19490229 does not exist"),  # 1949 is no leap year
        ("11010519491232002X", "birth date 19491232 does not exist"),
        ("11010519491300002X", "birth date 19491300 does not exist"),
        ("11010500000101002X", "birth date 00000101 does not exist"),
    ],
)
def test_id_number_rules(number: str, problem: str) -> None:
    found = id_number_problem(number)
    assert found is not None and problem in found
    with pytest.raises(ValueError, match=re.escape(problem)):
        normalize_id_number(number)


def with_birth(day: date) -> str:
    body = f"110105{day:%Y%m%d}002"
    return body + id_check_digit(body)


def test_a_birth_date_may_be_today_but_not_tomorrow() -> None:
    today = date(2026, 3, 1)
    assert id_number_problem(with_birth(today), today) is None
    tomorrow = id_number_problem(with_birth(today + timedelta(days=1)), today)
    assert (
        tomorrow
        == "身份证号码中的出生日期 20260302 晚于今天（birth date 20260302 is in the future）"
    )


def test_without_a_day_given_the_future_is_after_the_real_today() -> None:
    assert id_number_problem(with_birth(date.today())) is None
    assert id_number_problem(with_birth(date.today() + timedelta(days=1))) is not None


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("11010519491231002x", "11010519491231002X"),
        (" 110105 19491231 002X\n", "11010519491231002X"),
        ("１１０１０５１９４９１２３１００２Ｘ", "11010519491231002X"),  # full-width, as IMEs type
    ],
)
def test_an_id_number_is_stored_upper_case_without_spaces(written: str, stored: str) -> None:
    assert id_number_problem(written) is None
    assert normalize_id_number(written) == stored


def test_each_check_digit_is_the_one_of_the_weighted_sum() -> None:
    bodies = [number[:17] for number in VALID_IDS]
    assert [id_check_digit(body) for body in bodies] == [number[17] for number in VALID_IDS]
    wrong = [b + d for b in bodies for d in "0123456789X" if d != id_check_digit(b)]
    assert all(id_number_problem(n) == "身份证号码校验位错误（check digit wrong）" for n in wrong)


@pytest.mark.parametrize("code", VALID_CODES)
def test_valid_credit_codes_pass(code: str) -> None:
    assert uscc_problem(code) is None
    assert normalize_uscc(code) == code


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        ("91350100M000100Y44", "统一社会信用代码校验位错误（check digit wrong）"),
        ("91350100M000100Y4", "must be 18 characters, not 17"),
        ("91350100M000100Y430", "must be 18 characters, not 19"),
        ("91350100M00010OY43", "characters O are not allowed"),
        ("91350100I000100Y43", "characters I are not allowed"),
        ("9135010-M000100Y43", "characters - are not allowed"),
        ("B1350100M000100Y43", "no registration authority B"),
        ("913501A0M000100Y43", "characters 3-8 must be a division code"),
    ],
)
def test_credit_code_rules(code: str, problem: str) -> None:
    found = uscc_problem(code)
    assert found is not None and problem in found
    with pytest.raises(ValueError):
        normalize_uscc(code)


def test_a_credit_code_is_stored_upper_case() -> None:
    assert normalize_uscc(" 91350100m000100y43 ") == "91350100M000100Y43"


def test_each_credit_check_character_is_the_one_of_the_weighted_sum() -> None:
    bodies = [code[:17] for code in VALID_CODES]
    assert [uscc_check_digit(body) for body in bodies] == [code[17] for code in VALID_CODES]
    assert uscc_check_digit("91350100M000100Y4") == "3"


def test_the_plugin_registers_both_types() -> None:
    types = load_extensions(Settings()).field_types
    id_number, uscc = types["id_number"], types["uscc"]
    assert (id_number.plugin, id_number.max_length, id_number.mask, id_number.sensitive) == (
        "identity_numbers",
        18,
        "6*4",
        True,
    )
    assert (uscc.plugin, uscc.max_length, uscc.mask, uscc.sensitive) == (
        "identity_numbers",
        18,
        "4*4",
        False,
    )
    assert id_number.normalize("11010519491231002x") == "11010519491231002X"

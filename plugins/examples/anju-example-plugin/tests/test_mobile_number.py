"""The `mobile_number` field type's normaliser: what it accepts, stores and refuses."""

from __future__ import annotations

import pytest
from anju_example.plugin import MOBILE_NUMBER, normalize_mobile


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("13800138000", "13800138000"),
        ("138 0013 8000", "13800138000"),
        ("138-0013-8000", "13800138000"),
        (" 199 9999 9999 ", "19999999999"),
        ("+86 138 0013 8000", "13800138000"),
        ("+86-13800138000", "13800138000"),
        ("0086 13800138000", "13800138000"),
        ("１３８００１３８０００", "13800138000"),  # full-width digits from a Chinese keyboard
        ("＋８６　１３８００１３８０００", "13800138000"),  # full-width plus and space
    ],
)
def test_a_mainland_mobile_number_is_stored_as_eleven_digits(typed: str, stored: str) -> None:
    assert normalize_mobile(typed) == stored


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "1380013800",  # ten digits
        "138001380001",  # twelve
        "12800138000",  # second digit 2
        "10800138000",  # second digit 0
        "23800138000",  # not starting with 1
        "+1 13800138000",  # another country's prefix
        "8613800138000",  # 86 without + or 00
        "1380013800x",
        "138.0013.8000",
        "١٣٨٠٠١٣٨٠٠٠",  # Arabic-Indic digits are digits, but not a mobile number
    ],
)
def test_anything_else_is_refused_with_what_is_expected(typed: str) -> None:
    with pytest.raises(ValueError, match="11 位数字，以 1 开头，第二位为 3-9"):
        normalize_mobile(typed)


def test_the_refusal_does_not_repeat_the_number() -> None:
    with pytest.raises(ValueError) as refused:
        normalize_mobile("12800138000")
    assert "12800138000" not in str(refused.value)


def test_the_field_type_is_eleven_characters_masked_and_sensitive() -> None:
    assert (MOBILE_NUMBER.name, MOBILE_NUMBER.max_length) == ("mobile_number", 11)
    assert (MOBILE_NUMBER.mask, MOBILE_NUMBER.sensitive) == ("3*4", True)
    assert MOBILE_NUMBER.normalize is normalize_mobile

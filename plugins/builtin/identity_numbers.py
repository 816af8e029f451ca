"""Field types id_number (resident ID numbers, GB 11643) and uscc (credit codes, GB 32100).

A definition writes `type: id_number` or `type: uscc`; the engine stores the value as the
type normalises it (spaces removed, full-width characters folded, upper case) and refuses
a value whose check character, length, characters or (for ID numbers) birth date is wrong,
with a message in Chinese and English. ID numbers are sensitive: encrypted at rest, shown
as `110105********1234` to roles without `unmask`.

The checks are plain functions for demo data and other plugins:

    >>> id_number_problem("11010519491231002X") is None
    True
    >>> id_number_problem("110105194912310021")
    '身份证号码校验位错误（check digit wrong）'
    >>> id_check_digit("11010519491231002")
    'X'
    >>> uscc_problem("91350100M000100Y43") is None
    True
    >>> uscc_check_digit("91350100M000100Y4")
    '3'
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from engine.extensions import FieldType
from engine.settings import Settings
from plugins.hookspecs import hookimpl

ID_LENGTH = 18
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_DIGITS = "10X98765432"  # by the weighted sum modulo 11
ID_FORM = re.compile(r"[0-9]{17}[0-9X]")

USCC_LENGTH = 18
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, Z, S, V
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# Registration authorities (the 1st character): 1-9 the government departments (机构编制,
# 外交, 司法行政, 文化, 民政, 旅游, 宗教, 工会, 工商), A the military, N agriculture, Y others.
USCC_AUTHORITIES = "123456789ANY"

SPACES = re.compile(r"\s+")


def cleaned(text: str) -> str:
    """`text` as it is checked and stored: full-width folded (NFKC), spaces removed, upper case.

    >>> cleaned(" １１０１０５ 19491231002x ")
    '11010519491231002X'
    """
    return SPACES.sub("", unicodedata.normalize("NFKC", text)).upper()


def id_check_digit(body: str) -> str:
    """The GB 11643 check character (0-9 or X) of the first 17 digits of an ID number."""
    total = sum(int(digit) * weight for digit, weight in zip(body, ID_WEIGHTS, strict=True))
    return ID_CHECK_DIGITS[total % 11]


def id_number_problem(text: str, today: date | None = None) -> str | None:
    """What is wrong with a resident ID number as written (after `cleaned`), or None."""
    number = cleaned(text)
    if len(number) != ID_LENGTH:
        length = len(number)
        return f"身份证号码应为 18 位，实为 {length} 位（must be 18 characters, not {length}）"
    if not ID_FORM.fullmatch(number):
        return (
            "身份证号码应为 17 位数字加一位校验码 0-9 或 X"
            "（expected 17 digits and a check digit 0-9 or X）"
        )
    digits = number[6:14]
    try:
        birth = date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return f"身份证号码中的出生日期 {digits} 不存在（birth date {digits} does not exist）"
    if birth > (today or date.today()):
        return f"身份证号码中的出生日期 {digits} 晚于今天（birth date {digits} is in the future）"
    if number[17] != id_check_digit(number[:17]):
        return "身份证号码校验位错误（check digit wrong）"
    return None


def normalize_id_number(text: str) -> str:
    """The stored form of a resident ID number; ValueError with the reason if it is not one."""
    problem = id_number_problem(text)
    if problem is not None:
        raise ValueError(problem)
    return cleaned(text)


def uscc_check_digit(body: str) -> str:
    """The GB 32100 check character of the first 17 characters of a credit code."""
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(body, USCC_WEIGHTS, strict=True))
    return USCC_CHARS[-total % 31]


def uscc_problem(text: str) -> str | None:
    """What is wrong with a unified social credit code as written (after `cleaned`), or None."""
    code = cleaned(text)
    if len(code) != USCC_LENGTH:
        return (
            f"统一社会信用代码应为 18 位，实为 {len(code)} 位"
            f"（must be 18 characters, not {len(code)}）"
        )
    wrong = sorted({c for c in code if c not in USCC_CHARS})
    if wrong:
        shown = "、".join(wrong)
        return (
            f"统一社会信用代码含有不允许的字符 {shown}（characters {', '.join(wrong)} are not "
            "allowed: digits and capital letters other than I, O, Z, S, V）"
        )
    if code[0] not in USCC_AUTHORITIES:
        return (
            f"统一社会信用代码的登记管理部门代码 {code[0]} 不存在"
            f"（no registration authority {code[0]}）"
        )
    if not code[2:8].isdigit():
        return "统一社会信用代码第 3-8 位应为行政区划码（characters 3-8 must be a division code）"
    if code[17] != uscc_check_digit(code[:17]):
        return "统一社会信用代码校验位错误（check digit wrong）"
    return None


def normalize_uscc(text: str) -> str:
    """The stored form of a credit code; ValueError with the reason if it is not one."""
    problem = uscc_problem(text)
    if problem is not None:
        raise ValueError(problem)
    return cleaned(text)


ID_NUMBER = FieldType(
    name="id_number",
    max_length=ID_LENGTH,
    normalize=normalize_id_number,
    mask="6*4",
    sensitive=True,
    description="Resident ID number (GB 11643): 17 digits and a check digit 0-9 or X",
)
USCC = FieldType(
    name="uscc",
    max_length=USCC_LENGTH,
    normalize=normalize_uscc,
    mask="4*4",
    description="Unified social credit code (GB 32100): 18 characters, the last a checksum",
)


@hookimpl
def anju_field_types(settings: Settings) -> list[FieldType]:
    return [ID_NUMBER, USCC]

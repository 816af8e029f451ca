"""The `pre_review` check of the public rental flow, rule by rule, at and around its numbers.

The check is pure: it is given the application, a reader for its household and the members,
the flow's params and today's date, so these tests need no database.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

import plugins.builtin.prh_checks  # noqa: F401  (registers the check)
from engine.flows.checks import CHECKS, CheckInput, CheckResult

TODAY = date(2026, 3, 16)
HOUSEHOLD_ID = 7


def household(**values: Any) -> dict[str, Any]:
    """A household of three within every line, changed by `values`."""
    return {
        "id": HOUSEHOLD_ID,
        "household_size": 3,
        "annual_income": Decimal("90000.00"),
        "per_capita_assets": Decimal("50000.00"),
        "marital_status": "married",
        "marital_status_since": date(2010, 5, 1),
        "previously_secured": False,
        "minimum_living_allowance": False,
        "allowance_months": None,
        **values,
    }


def members(size: int, **first: Any) -> list[dict[str, Any]]:
    relations = ["self", "spouse", "child", "child", "parent", "other"]
    rows = [{"household": HOUSEHOLD_ID, "relation": relations[min(i, 5)]} for i in range(size)]
    rows[0] |= first
    return rows


def pre_review(
    found: dict[str, Any] | None,
    registered: list[dict[str, Any]] | None = None,
    params: dict[str, Any] | None = None,
    today: date = TODAY,
) -> CheckResult:
    size = found["household_size"] if found else 0
    rows = members(size) if registered is None else registered

    def lookup(path: str, record_id: int) -> dict[str, Any] | None:
        assert (path, record_id) == ("public_rental.household", HOUSEHOLD_ID)
        return found

    def related(path: str, field: str, record_id: int) -> list[dict[str, Any]]:
        assert (path, field, record_id) == ("public_rental.household_member", "household", 7)
        return rows

    given = CheckInput({"household": HOUSEHOLD_ID}, lookup, related, params or {}, today)
    return CHECKS["pre_review"].function(given)


def test_a_household_within_every_line_passes_green() -> None:
    result = pre_review(household())
    assert (result.passed, result.level, result.reasons) == (True, "green", [])
    assert result.inputs == {
        "household": 7,
        "household_size": 3,
        "members_registered": 3,
        "income_limit": "39600.00",
        "assets_limit": "120000.00",
        "annual_income": "90000.00",
        "per_capita_income": "30000.00",
        "per_capita_assets": "50000.00",
        "marital_status": "married",
        "marital_status_since": "2010-05-01",
        "months_since": 190,
        "previously_secured": False,
        "minimum_living_allowance": False,
    }
    assert CHECKS["pre_review"].version == "1"


@pytest.mark.parametrize(
    "size, annual_income, passed, reason",
    [
        (3, "118800.00", True, None),  # 39,600 a head: at the line
        (
            3,
            "118800.03",
            False,
            "家庭人均年收入 39,600.01 元，超过 3 人及以上家庭 39,600 元的准入标准",
        ),
        (5, "198000.00", True, None),
        (
            5,
            "198000.05",
            False,
            "家庭人均年收入 39,600.01 元，超过 3 人及以上家庭 39,600 元的准入标准",
        ),
        (
            3,
            "130680.00",
            False,
            "家庭人均年收入 43,560.00 元，超过 3 人及以上家庭 39,600 元的准入标准",
        ),
        (2, "87120.00", True, None),  # 43,560 a head
        (
            2,
            "87120.02",
            False,
            "家庭人均年收入 43,560.01 元，超过 2 人及以下家庭 43,560 元的准入标准",
        ),
        (1, "43560.00", True, None),
        (
            1,
            "43560.01",
            False,
            "家庭人均年收入 43,560.01 元，超过 2 人及以下家庭 43,560 元的准入标准",
        ),
        (2, "79200.02", True, None),  # 39,600.01 a head is within the line of two
    ],
)
def test_per_capita_income_line_by_household_size(
    size: int, annual_income: str, passed: bool, reason: str | None
) -> None:
    result = pre_review(household(household_size=size, annual_income=Decimal(annual_income)))
    assert result.passed is passed
    assert result.reasons == ([reason] if reason else [])
    assert result.level == ("green" if passed else "red")


@pytest.mark.parametrize(
    "size, assets, passed, reason",
    [
        (3, "120000.00", True, None),
        (
            3,
            "120000.01",
            False,
            "家庭人均资产 120,000.01 元，超过 3 人及以上家庭 120,000 元的准入标准",
        ),
        (
            4,
            "131000.00",
            False,
            "家庭人均资产 131,000.00 元，超过 3 人及以上家庭 120,000 元的准入标准",
        ),
        (2, "132000.00", True, None),
        (
            2,
            "132000.01",
            False,
            "家庭人均资产 132,000.01 元，超过 2 人及以下家庭 132,000 元的准入标准",
        ),
        (1, "125000.00", True, None),
    ],
)
def test_per_capita_assets_line_by_household_size(
    size: int, assets: str, passed: bool, reason: str | None
) -> None:
    found = household(household_size=size, annual_income=Decimal("10000.00"))
    result = pre_review(found | {"per_capita_assets": Decimal(assets)})
    assert result.passed is passed
    assert result.reasons == ([reason] if reason else [])


def test_the_lines_are_read_from_the_flow_params() -> None:
    params = {"income_limit_large": 30000, "assets_limit_large": 40000, "large_household": 4}
    result = pre_review(
        household(household_size=4, annual_income=Decimal("120004.00")), None, params
    )
    assert result.reasons == [
        "家庭人均年收入 30,001.00 元，超过 4 人及以上家庭 30,000 元的准入标准",
        "家庭人均资产 50,000.00 元，超过 4 人及以上家庭 40,000 元的准入标准",
    ]
    three = pre_review(household(annual_income=Decimal("120000.00")), None, params)
    assert three.passed and three.inputs["income_limit"] == "43560.00"  # 3 is "small" now


def test_income_falls_back_to_the_members_incomes() -> None:
    found = household(household_size=2, annual_income=None)
    registered = members(2, annual_income=Decimal("50000.00"))
    registered[1]["annual_income"] = Decimal("40000.00")
    result = pre_review(found, registered)
    assert result.inputs["per_capita_income"] == "45000.00"
    assert result.reasons == [
        "家庭人均年收入 45,000.00 元，超过 2 人及以下家庭 43,560 元的准入标准"
    ]
    nothing = pre_review(found, members(2))
    assert nothing.reasons == ["未申报家庭年收入"]


def test_missing_assets_block() -> None:
    assert pre_review(household(per_capita_assets=None)).reasons == ["未申报家庭人均资产"]


@pytest.mark.parametrize(
    "status, since, passed, reason",
    [
        ("married", date(2025, 3, 31), True, None),  # March to March: 12 months
        (
            "married",
            date(2025, 4, 1),
            False,
            "结婚未满 1 年（2025 年 4 月结婚，至 2026 年 3 月为 11 个月）",
        ),
        (
            "married",
            date(2026, 3, 1),
            False,
            "结婚未满 1 年（2026 年 3 月结婚，至 2026 年 3 月为 0 个月）",
        ),
        ("divorced", date(2023, 3, 20), True, None),  # 36 months
        (
            "divorced",
            date(2023, 4, 2),
            False,
            "离婚未满 3 年（2023 年 4 月离婚，至 2026 年 3 月为 35 个月）",
        ),
        ("widowed", date(2026, 1, 5), True, None),
        ("unmarried", None, True, None),
        ("married", None, True, None),  # no date declared: nothing to judge
    ],
)
def test_marriage_at_the_month_of_the_review(
    status: str, since: date | None, passed: bool, reason: str | None
) -> None:
    result = pre_review(household(marital_status=status, marital_status_since=since))
    assert result.passed is passed
    assert result.reasons == ([reason] if reason else [])


@pytest.mark.parametrize(
    "registered, reasons",
    [
        ([], ["未登记家庭成员"]),
        (members(2), ["已登记家庭成员 2 人，与申报的家庭人口 3 人不一致"]),
        (members(3, relation="other"), ["家庭成员中未登记申请人本人"]),
    ],
)
def test_the_members_must_be_registered(
    registered: list[dict[str, Any]], reasons: list[str]
) -> None:
    result = pre_review(household(), registered)
    assert (result.passed, result.level, result.reasons) == (False, "red", reasons)


def test_earlier_housing_security_blocks() -> None:
    result = pre_review(household(previously_secured=True))
    assert result.reasons == ["已享受过住房保障待遇"]
    assert result.inputs["previously_secured"] is True


@pytest.mark.parametrize(
    "months, level, reasons",
    [
        (13, "green", []),
        (24, "green", []),
        (12, "yellow", ["领取低保 12 个月，不满一年（满 13 个月视为一年），不按低保家庭认定"]),
        (None, "yellow", ["领取低保 0 个月，不满一年（满 13 个月视为一年），不按低保家庭认定"]),
    ],
)
def test_thirteen_allowance_payments_count_as_a_full_year(
    months: int | None, level: str, reasons: list[str]
) -> None:
    result = pre_review(household(minimum_living_allowance=True, allowance_months=months))
    assert (result.passed, result.level, result.reasons) == (True, level, reasons)
    assert result.inputs["allowance_full_year"] is (level == "green")


def test_every_reason_is_given_at_once() -> None:
    found = household(
        annual_income=Decimal("150000.00"),
        previously_secured=True,
        marital_status="divorced",
        marital_status_since=date(2025, 1, 1),
    )
    result = pre_review(found, members(2))
    assert result.reasons == [
        "已登记家庭成员 2 人，与申报的家庭人口 3 人不一致",
        "家庭人均年收入 50,000.00 元，超过 3 人及以上家庭 39,600 元的准入标准",
        "离婚未满 3 年（2025 年 1 月离婚，至 2026 年 3 月为 14 个月）",
        "已享受过住房保障待遇",
    ]


def test_an_application_without_its_household_fails() -> None:
    result = pre_review(None, [])
    assert (result.passed, result.reasons) == (False, ["未找到申请家庭，无法预审"])

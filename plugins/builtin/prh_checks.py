"""Checks of the public rental housing flows: the automatic pre-review of an application.

`pre_review` reads the application's household and its members and judges them by the
admission rules the platform has data for (DOMAIN.md, "Rules with numbers"; seed 003,
L2503-2505):

- the household's members are registered, the applicant among them, as many as it declares;
- per-capita annual income and per-capita assets are within the lines for its size
  (3 or more persons: CNY 39,600 and 120,000; 1-2 persons: 43,560 and 132,000);
- married less than a year, or divorced less than three years, at the month of the
  pre-review blocks;
- a household that has received housing security before is refused;
- a minimum-living-allowance (低保) household counts as one only with 13 or more monthly
  payments (a full year); with fewer, the case passes with a yellow warning, and either way
  the income and asset lines still apply.

The lines are the flow's `params` (`income_limit_large`, …), so a change of policy is a
published, versioned definition; the numbers below are only defaults. The verdict lists
every reason in Chinese with its numbers, and the inputs it judged, so that a reviewer (and
a later audit) can see why. Data exchange with other departments (property, marriage and
allowance registers) comes with the full eligibility plugin; this check judges what the
applicant declared.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from engine.flows.checks import CheckInput, CheckResult, check

HOUSEHOLD = "public_rental.household"
MEMBER = "public_rental.household_member"
CENT = Decimal("0.01")

DEFAULTS: dict[str, int] = {
    "income_limit_large": 39_600,
    "assets_limit_large": 120_000,
    "income_limit_small": 43_560,
    "assets_limit_small": 132_000,
    "large_household": 3,
    "married_min_months": 12,
    "divorced_min_months": 36,
    "allowance_full_year_months": 13,
}


class Findings:
    """What the rules found: blocking reasons, warnings, and the inputs they read."""

    def __init__(self) -> None:
        self.blocking: list[str] = []
        self.warnings: list[str] = []
        self.inputs: dict[str, Any] = {}

    def result(self) -> CheckResult:
        passed = not self.blocking
        level = "red" if not passed else "yellow" if self.warnings else "green"
        return CheckResult(passed, self.blocking + self.warnings, level, self.inputs)


@check("pre_review", version="1")
def pre_review(given: CheckInput) -> CheckResult:
    """资格预审: members registered, income and assets within the lines, marriage, earlier
    housing security and the minimum-living-allowance year."""
    findings = Findings()
    limits = {name: given.params.get(name, default) for name, default in DEFAULTS.items()}
    household_id = given.record.get("household")
    household = given.lookup(HOUSEHOLD, household_id) if household_id else None
    findings.inputs["household"] = household_id
    if household is None:
        findings.blocking.append("未找到申请家庭，无法预审")
        return findings.result()
    members = given.related(MEMBER, "household", household_id)
    size = household.get("household_size") or 0
    findings.inputs["household_size"] = size
    _members(members, size, findings)
    if size > 0:
        _economy(household, members, size, limits, findings)
    _marriage(household, given.today, limits, findings)
    _earlier_security(household, findings)
    _allowance(household, limits, findings)
    return findings.result()


def _members(members: list[Mapping[str, Any]], size: int, findings: Findings) -> None:
    findings.inputs["members_registered"] = len(members)
    if not members:
        findings.blocking.append("未登记家庭成员")
        return
    if len(members) != size:
        findings.blocking.append(
            f"已登记家庭成员 {len(members)} 人，与申报的家庭人口 {size} 人不一致"
        )
    if not any(m.get("relation") == "self" for m in members):
        findings.blocking.append("家庭成员中未登记申请人本人")


def _economy(
    household: Mapping[str, Any],
    members: list[Mapping[str, Any]],
    size: int,
    limits: Mapping[str, int],
    findings: Findings,
) -> None:
    """Per-capita income and assets against the lines of the household's size."""
    large = size >= limits["large_household"]
    line = limits["large_household"]
    group = f"{line} 人及以上家庭" if large else f"{line - 1} 人及以下家庭"
    income_limit = Decimal(limits["income_limit_large" if large else "income_limit_small"])
    assets_limit = Decimal(limits["assets_limit_large" if large else "assets_limit_small"])
    findings.inputs |= {"income_limit": _money(income_limit), "assets_limit": _money(assets_limit)}
    total = household.get("annual_income")
    if total is None:  # not declared for the household: the members' incomes, if given
        incomes = [m["annual_income"] for m in members if m.get("annual_income") is not None]
        total = sum(incomes, Decimal(0)) if incomes else None
    if total is None:
        findings.blocking.append("未申报家庭年收入")
    else:
        per_capita = (Decimal(total) / size).quantize(CENT, ROUND_HALF_UP)
        findings.inputs |= {"annual_income": _money(total), "per_capita_income": _money(per_capita)}
        _within("家庭人均年收入", per_capita, income_limit, group, findings)
    assets = household.get("per_capita_assets")
    if assets is None:
        findings.blocking.append("未申报家庭人均资产")
    else:
        findings.inputs["per_capita_assets"] = _money(assets)
        _within("家庭人均资产", Decimal(assets), assets_limit, group, findings)


def _within(what: str, value: Decimal, limit: Decimal, group: str, findings: Findings) -> None:
    """At the line passes; a cent above it does not."""
    if value > limit:
        findings.blocking.append(f"{what} {value:,.2f} 元，超过 {group} {limit:,.0f} 元的准入标准")


def _marriage(
    household: Mapping[str, Any], today: date, limits: Mapping[str, int], findings: Findings
) -> None:
    """Married less than a year, or divorced less than three, at the month of the review."""
    status, since = household.get("marital_status"), household.get("marital_status_since")
    findings.inputs["marital_status"] = status
    if status not in ("married", "divorced") or since is None:
        return
    months = (today.year - since.year) * 12 + today.month - since.month
    findings.inputs |= {"marital_status_since": since.isoformat(), "months_since": months}
    minimum = limits["married_min_months" if status == "married" else "divorced_min_months"]
    if months < minimum:
        what = "结婚" if status == "married" else "离婚"
        findings.blocking.append(
            f"{what}未满 {_years(minimum)}（{since.year} 年 {since.month} 月{what}，"
            f"至 {today.year} 年 {today.month} 月为 {months} 个月）"
        )


def _earlier_security(household: Mapping[str, Any], findings: Findings) -> None:
    findings.inputs["previously_secured"] = bool(household.get("previously_secured"))
    if household.get("previously_secured"):
        findings.blocking.append("已享受过住房保障待遇")


def _allowance(household: Mapping[str, Any], limits: Mapping[str, int], findings: Findings) -> None:
    """13 monthly allowance payments count as a full year (DOMAIN.md)."""
    if not household.get("minimum_living_allowance"):
        findings.inputs["minimum_living_allowance"] = False
        return
    months = household.get("allowance_months") or 0
    full_year = months >= limits["allowance_full_year_months"]
    findings.inputs |= {
        "minimum_living_allowance": True,
        "allowance_months": months,
        "allowance_full_year": full_year,
    }
    if not full_year:
        findings.warnings.append(
            f"领取低保 {months} 个月，不满一年（满 {limits['allowance_full_year_months']} 个月"
            "视为一年），不按低保家庭认定"
        )


def _money(value: Any) -> str:
    return f"{Decimal(value).quantize(CENT, ROUND_HALF_UP)}"


def _years(months: int) -> str:
    return f"{months // 12} 年" if months % 12 == 0 else f"{months} 个月"

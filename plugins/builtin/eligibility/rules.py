"""The admission rules: the household's data, its economic situation, marriage, earlier
housing security and the minimum-living allowance (低保).

Each rule reads the gathered `inputs` (plain JSON) and the resolved `Rules` and gives its
signals; none reads anything else, so a stored decision can be judged again exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from plugins.builtin.eligibility.params import Rules
from plugins.builtin.eligibility.signals import Signal, months_text, red, yuan

HOUSEHOLD = "家庭信息"
ECONOMY = "经济状况"
MARRIAGE = "婚姻状况"
ALLOWANCE = "低保"
SECURED = "住房保障"


def household_data(inputs: Mapping[str, Any]) -> list[Signal]:
    """The members are registered, as many as declared, the applicant among them."""
    registered, size = inputs.get("members_registered") or 0, inputs.get("household_size") or 0
    if not registered:
        return [red(HOUSEHOLD, "未登记家庭成员")]
    found = []
    if registered != size:
        found.append(
            red(HOUSEHOLD, f"已登记家庭成员 {registered} 人，与申报的家庭人口 {size} 人不一致")
        )
    if not inputs.get("applicant_registered"):
        found.append(red(HOUSEHOLD, "家庭成员中未登记申请人本人"))
    return found


def allowance(inputs: Mapping[str, Any], rules: Rules) -> tuple[list[Signal], bool]:
    """13 monthly payments count as a full year (L548-549); a full year waives the economic
    check. Gives the signals and whether the economic check still applies."""
    if not inputs.get("minimum_living_allowance"):
        return [], True
    months, full = inputs.get("allowance_months") or 0, rules.allowance_full_year_months
    if months >= full:
        waived = rules.allowance_waives_economic
        then = "免于经济状况核查" if waived else "仍须核查经济状况"
        note = f"领取低保 {months} 个月，满 {full} 个月视为满一年，{then}"
        return [Signal("green", ALLOWANCE, note)], not waived
    warning = f"领取低保 {months} 个月，不满一年（满 {full} 个月视为一年），仍须核查经济状况"
    return [Signal("yellow", ALLOWANCE, warning)], True


def economy(inputs: Mapping[str, Any], rules: Rules) -> list[Signal]:
    """Per-capita income and assets within the lines of the household's size; a certified
    illness-spending-poor household has the small household's lines. At the line passes."""
    size = inputs.get("household_size") or 0
    if size <= 0:
        return []  # no size, no per-capita figures: `household_data` says what is missing
    line = rules.large_household
    if inputs.get("illness_poor"):
        group, large = "因病支出型贫困家庭", False
    elif size >= line:
        group, large = f"{line} 人及以上家庭", True
    else:
        group, large = f"{line - 1} 人及以下家庭", False
    income_limit = rules.income_limit_large if large else rules.income_limit_small
    assets_limit = rules.assets_limit_large if large else rules.assets_limit_small
    found = []
    income, assets = inputs.get("per_capita_income"), inputs.get("per_capita_assets")
    if income is None:
        found.append(red(ECONOMY, "未申报家庭年收入"))
    elif Decimal(income) > income_limit:
        found.append(_over("家庭人均年可支配收入", Decimal(income), group, income_limit))
    if assets is None:
        found.append(red(ECONOMY, "未申报家庭人均资产"))
    elif Decimal(assets) > assets_limit:
        found.append(_over("家庭人均资产", Decimal(assets), group, assets_limit))
    return found


def _over(what: str, value: Decimal, group: str, limit: Decimal) -> Signal:
    space = " " if group[0].isdigit() else ""  # a space between Chinese and a number
    return red(ECONOMY, f"{what} {value:,.2f} 元，超过{space}{group}标准 {yuan(limit)} 元")


def marriage(inputs: Mapping[str, Any], rules: Rules, today: date) -> list[Signal]:
    """Married less than a year, or divorced less than three, counted in months up to the
    month of the application (the day of the pre-review)."""
    status, since_text = inputs.get("marital_status"), inputs.get("marital_status_since")
    if not rules.marriage_rule or status not in ("married", "divorced") or not since_text:
        return []
    since = date.fromisoformat(since_text)
    months = (today.year - since.year) * 12 + today.month - since.month
    minimum = rules.married_min_months if status == "married" else rules.divorced_min_months
    if months >= minimum:
        return []
    what = "结婚" if status == "married" else "离婚"
    return [
        red(
            MARRIAGE,
            f"{what}未满 {months_text(minimum)}（{since.year} 年 {since.month} 月{what}，"
            f"至 {today.year} 年 {today.month} 月为 {months} 个月）",
        )
    ]


def earlier_security(inputs: Mapping[str, Any]) -> list[Signal]:
    """A household that has received housing security before is refused."""
    return [red(SECURED, "已享受过住房保障待遇")] if inputs.get("previously_secured") else []

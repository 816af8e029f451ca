"""Eligibility of public rental (公租房) and low-rent (廉租房) cases, with Fair Guard signals.

The check `eligibility` judges an application's household by the admission rules the platform
has data for (DOMAIN.md, "Rules with numbers"; §A4 of domain/shanghai-and-rental-platforms.md)
and gives one signal per finding, in Fair Guard's colours (red blocks; orange, brown, yellow
warn; green notes):

- household data: members registered, as many as declared, the applicant among them (red);
- economic admission: per-capita annual disposable income and assets within the lines of the
  household's size — 3 persons or more CNY 39,600 and 120,000, 1-2 persons (or a certified
  illness-spending-poor household) 43,560 and 132,000 — above them is red;
- minimum-living allowance (低保): 13 monthly payments count as a full year, and a full year
  waives the economic check (green note); fewer is a yellow warning and the check applies;
- marriage: married under a year or divorced under three, counted in months to the month of
  the application, is red (a product switch: on for low-rent by default, and in the public
  rental flow's params);
- a household secured before is red;
- duplicate cases (Fair Guard, `fair_guard`): one of the household's people is the applicant
  of another case in progress, or holds a valid qualification while applying anew → red;
  is a co-resident member of another case in progress or qualified → yellow; is the lessee
  of a running lease while applying anew → orange.

The verdict is the most severe signal (red > orange > brown > yellow > green) and fails only
on red. Each reason says its colour and category first, then what was found with its
numbers: `【红色·经济状况】家庭人均年可支配收入 41,000.00 元，超过 3 人及以上家庭标准 39,600 元`.

Usage in a flow (thresholds and switches are the flow's `params`, see `params.DEFAULTS`):

    params: {product: public_rental, income_limit_large: 39600, marriage_rule: true}
    states:
      pre_review:
        on_enter:
          - {check: eligibility, store: pre_review_report}
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from engine.flows.checks import Check, CheckResult
from engine.settings import Settings
from plugins.builtin.eligibility import rules
from plugins.builtin.eligibility.fair_guard import duplicates
from plugins.builtin.eligibility.gather import gather
from plugins.builtin.eligibility.params import Rules
from plugins.builtin.eligibility.signals import red, verdict
from plugins.hookspecs import hookimpl


def decide(inputs: Mapping[str, Any], params: Mapping[str, Any], today: date) -> CheckResult:
    """Judge gathered `inputs` by the flow's `params` on `today`; reads nothing else."""
    resolved = Rules.of(params)
    if inputs.get("household") is None or "household_size" not in inputs:
        return verdict([red(rules.HOUSEHOLD, "未找到申请家庭，无法预审")])
    allowance, economic = rules.allowance(inputs, resolved)
    signals = rules.household_data(inputs)
    if resolved.economic_rule and economic:
        signals += rules.economy(inputs, resolved)
    signals += rules.marriage(inputs, resolved, today)
    signals += rules.earlier_security(inputs)
    signals += allowance
    signals += duplicates(inputs, resolved, today)
    return verdict(signals)


CHECK = Check(
    "eligibility",
    gather,
    decide,
    version="1",
    description="资格预审：经济状况、婚姻、低保、家庭成员、既往保障与公平卫士重复案件信号",
)


@hookimpl
def anju_checks(settings: Settings) -> list[Check]:
    return [CHECK]

"""Signals: what one rule found, with a colour, a category and a reason a person can read.

The colours are Fair Guard's (公平卫士, §A4): red blocks; orange, brown and yellow warn;
green notes. The verdict is the most severe signal (red > orange > brown > yellow > green),
and it passes unless a signal is red. A stored decision keeps `reasons`, not signals, so
each reason carries its colour and category in front: `【红色·经济状况】家庭人均…`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from engine.flows.checks import LEVELS, CheckResult, Level

LEVEL_LABELS: dict[Level, str] = {
    "green": "绿色",
    "yellow": "黄色",
    "brown": "棕色",
    "orange": "橙色",
    "red": "红色",
}


@dataclass(frozen=True)
class Signal:
    """One finding: `level` (a Fair Guard colour), `category` (经济状况, 重复申请, …) and
    `reason`, in Chinese with its numbers."""

    level: Level
    category: str
    reason: str

    def text(self) -> str:
        return f"【{LEVEL_LABELS[self.level]}·{self.category}】{self.reason}"


def red(category: str, reason: str) -> Signal:
    return Signal("red", category, reason)


def verdict(signals: Iterable[Signal]) -> CheckResult:
    """The check's result: most severe signal first (in rule order within a colour)."""
    found = sorted(signals, key=lambda s: -LEVELS.index(s.level))
    level: Level = found[0].level if found else "green"
    passed = level != "red"
    return CheckResult(passed, [signal.text() for signal in found], level)


def yuan(amount: Decimal) -> str:
    """39600 → "39,600"; 39600.5 → "39,600.50": limits as a notice would print them."""
    return f"{amount:,.0f}" if amount == amount.to_integral_value() else f"{amount:,.2f}"


def months_text(months: int) -> str:
    """12 → "1 年", 18 → "18 个月"."""
    return f"{months // 12} 年" if months and months % 12 == 0 else f"{months} 个月"

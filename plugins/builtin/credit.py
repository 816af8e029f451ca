"""Credit scoring: scoring standards (记分标准) into enterprise scores and red/black lists.

The rental supervision platform keeps scoring standards — rule number (信用规则编号), item
(计分事项), scoring type (计分类型: add or deduct), suggested points (建议分值), operation type
— applies them to an agency as credit records, and keeps a red/black list whose entries can
be cancelled (注销) (seed 001, L101-117). The documents give neither point values nor how an
entry gets on a list; this plugin defines it, with every number a flow param:

    score = base_score + Σ points of "add" events − Σ points of "deduct" events
            (events with period_start ≤ occurred_on ≤ period_end, both days included)
    red list    when score ≥ red_list_min        (e.g. 100 base, red at 110 or more)
    black list  when score < black_list_below    (e.g. black below 60)
    neither     otherwise

An event's points are copied from its rule when it is recorded (the supervisor may enter
others); its type is the rule's. The score is not bounded: ten deductions of 20 give −100.

The flow action `credit.score` (`{call: credit.score, with: {enterprise: enterprise,
period_start: period_start, period_end: period_end}}`) scores the enterprise of the moving
record from `rental_market.credit_event`, sets the record's `score` and `level` (and
`additions`, `deductions`, `event_count`, `details`, `scored_on`, `list_entry` where the
entity has them), and makes the enterprise's list entries in `rental_market.credit_list_entry`
agree: an enterprise has at most one entry in force; a new level updates the entry on the
same list, cancels one on another list, and opens a new one for red or black. `list_entry`
is the entry the enterprise is on after the review or, when it is on neither list, the one
the review cancelled.

>>> credit_score(Decimal(100), [Event("add", Decimal(15)), Event("deduct", Decimal(5))])
Decimal('110')
>>> credit_level(Decimal(110), red_min=Decimal(110), black_below=Decimal(60))
'red'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Literal

from engine.errors import ValidationFailed
from engine.extensions import FlowAction
from plugins.hookspecs import hookimpl

if TYPE_CHECKING:
    from engine.flows.actions_api import ActionContext
    from engine.settings import Settings

ScoreType = Literal["add", "deduct"]
Level = Literal["red", "black", "none"]
RULES = "rental_market.scoring_rule"
EVENTS = "rental_market.credit_event"
ENTRIES = "rental_market.credit_list_entry"
PARAMS = ("base_score", "red_list_min", "black_list_below")
ARGUMENTS = ("enterprise", "period_start", "period_end")
LISTS = ("red", "black")


@dataclass(frozen=True)
class Event:
    """One scoring event: add or deduct so many points, on a day, under a rule."""

    score_type: ScoreType
    points: Decimal
    occurred_on: date | None = None
    rule_no: str = ""
    event_id: int | None = None

    def signed(self) -> Decimal:
        if self.score_type not in ("add", "deduct"):
            raise ValueError(f"the scoring type is 'add' or 'deduct', not {self.score_type!r}")
        if self.points < 0:
            raise ValueError(f"points are counted by their type, never negative ({self.points})")
        return self.points if self.score_type == "add" else -self.points

    def as_json(self) -> dict[str, Any]:
        return {
            "event": self.event_id,
            "rule_no": self.rule_no,
            "score_type": self.score_type,
            "points": str(self.points),
            "occurred_on": self.occurred_on.isoformat() if self.occurred_on else None,
        }


@dataclass(frozen=True)
class Thresholds:
    """The policy numbers: the base score and the lines of the two lists."""

    base: Decimal
    red_min: Decimal
    black_below: Decimal

    def __post_init__(self) -> None:
        if self.black_below > self.red_min:
            raise ValueError(
                f"the black-list line ({self.black_below}) is above the red-list line "
                f"({self.red_min}): a score would be on both lists"
            )


@dataclass(frozen=True)
class Assessment:
    """A score over a period, its level and the events that made it."""

    score: Decimal
    level: Level
    additions: Decimal
    deductions: Decimal
    events: tuple[Event, ...]

    def reason(self, thresholds: Thresholds, start: date, end: date) -> str:
        """Why the enterprise is on its list, with the numbers."""
        period = f"{start.isoformat()} 至 {end.isoformat()}"
        score = (
            f"信用评价 {period} 得分 {self.score:.2f}（基础分 {thresholds.base}，"
            f"加分 {self.additions:.2f}，扣分 {self.deductions:.2f}）"
        )
        if self.level == "red":
            return f"{score}，不低于 {thresholds.red_min} 分，列入红名单"
        if self.level == "black":
            return f"{score}，低于 {thresholds.black_below} 分，列入黑名单"
        return f"{score}，不列入红黑名单"


def credit_score(base: Decimal, events: Iterable[Event]) -> Decimal:
    """The base plus the additions minus the deductions."""
    return Decimal(base) + sum((event.signed() for event in events), Decimal(0))


def credit_level(score: Decimal, red_min: Decimal, black_below: Decimal) -> Level:
    """`red` at or above `red_min`, `black` below `black_below`, else `none`."""
    if score >= red_min:
        return "red"
    if score < black_below:
        return "black"
    return "none"


def assess(
    events: Iterable[Event],
    thresholds: Thresholds,
    start: date | None = None,
    end: date | None = None,
) -> Assessment:
    """Score the events of the period (both days included; an event without a day counts
    only when no period is given)."""
    if start is not None and end is not None and end < start:
        raise ValueError(f"the period ends ({end}) before it starts ({start})")
    counted = tuple(event for event in events if _within(event.occurred_on, start, end))
    additions = sum((e.points for e in counted if e.signed() > 0), Decimal(0))
    deductions = sum((e.points for e in counted if e.signed() < 0), Decimal(0))
    score = credit_score(thresholds.base, counted)
    level = credit_level(score, thresholds.red_min, thresholds.black_below)
    return Assessment(score, level, additions, deductions, counted)


def _within(day: date | None, start: date | None, end: date | None) -> bool:
    if start is None and end is None:
        return True
    if day is None:
        return False
    return (start is None or start <= day) and (end is None or day <= end)


# The flow action ---------------------------------------------------------------------------


def score_action(ctx: ActionContext) -> None:
    """`{call: credit.score, with: {enterprise, period_start, period_end}}`."""
    enterprise, start, end = (_argument(ctx, name) for name in ARGUMENTS)
    try:
        start, end = _day(start, "period_start"), _day(end, "period_end")
        thresholds = Thresholds(*(_param(ctx.params, name) for name in PARAMS))
        assessment = assess(_events(ctx, int(enterprise)), thresholds, start, end)
    except ValueError as problem:
        raise ValidationFailed(f"credit.score: {problem}") from None
    results: dict[str, Any] = {
        "score": assessment.score,
        "level": assessment.level,
        "additions": assessment.additions,
        "deductions": assessment.deductions,
        "event_count": len(assessment.events),
        "details": [event.as_json() for event in assessment.events],
        "scored_on": ctx.today,
    }
    reason = assessment.reason(thresholds, start, end)
    results["list_entry"] = _keep_list(ctx, int(enterprise), assessment, reason)
    fields = ctx.entity(ctx.path).fields
    for name, value in results.items():
        if name in ("score", "level") or (name in fields and value is not None):
            ctx.set(name, value)


def _argument(ctx: ActionContext, name: str) -> Any:
    value = ctx.args.get(name)
    if value is None:
        raise ValidationFailed(f"credit.score: give {name} in the action's `with`")
    return value


def _day(value: Any, name: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{name} must be a date, not {value!r}") from None


def _param(params: Mapping[str, Any], name: str) -> Decimal:
    if params.get(name) is None:
        raise ValueError(f"the flow's params must give {name}")
    try:
        return Decimal(str(params[name]))
    except InvalidOperation:
        raise ValueError(
            f"the flow's param {name} must be a number, not {params[name]!r}"
        ) from None


def _events(ctx: ActionContext, enterprise: int) -> list[Event]:
    """The enterprise's events, each with its rule's type (and points, if it has none)."""
    rules: dict[int, dict[str, Any]] = {}
    events = []
    for row in ctx.find(EVENTS, order_by=("occurred_on", "id"), enterprise=enterprise):
        rule = rules.get(row["rule"])
        if rule is None:
            rule = rules[row["rule"]] = ctx.get(RULES, row["rule"]) or {}
        score_type = row.get("score_type") or rule.get("score_type")
        points = row.get("points") if row.get("points") is not None else rule.get("points")
        if score_type is None or points is None:
            raise ValueError(f"credit event {row['id']} has no scoring type or points")
        rule_no = str(rule.get("rule_no") or "")
        events.append(Event(score_type, Decimal(points), row["occurred_on"], rule_no, row["id"]))
    return events


def _keep_list(
    ctx: ActionContext, enterprise: int, assessment: Assessment, reason: str
) -> int | None:
    """Make the enterprise's entries in force agree with the level. Returns the entry the
    enterprise is on now, else the one this cancelled, else None."""
    kept: int | None = None
    cancelled: int | None = None
    for entry in ctx.find(ENTRIES, enterprise=enterprise, cancelled_on=None):
        if entry["list_type"] == assessment.level and kept is None:
            ctx.update(ENTRIES, entry["id"], {"score": assessment.score, "reason": reason})
            kept = entry["id"]
        else:
            why = f"重新评定：{reason}"
            ctx.update(ENTRIES, entry["id"], {"cancelled_on": ctx.today, "cancel_reason": why})
            cancelled = entry["id"]
    if kept is None and assessment.level not in LISTS:
        return cancelled
    if kept is None:
        values = {
            "enterprise": enterprise,
            "list_type": assessment.level,
            "score": assessment.score,
            "listed_on": ctx.today,
            "reason": reason,
        }
        kept = ctx.create(ENTRIES, values)
    return kept


@hookimpl
def anju_flow_actions(settings: Settings) -> list[FlowAction]:
    return [
        FlowAction(
            "credit.score",
            score_action,
            "scores an enterprise's credit events of a period and puts it on the red or black "
            "list by the flow's params base_score, red_list_min and black_list_below",
        )
    ]

"""Rent subsidy (租赁补贴): the district's standard × an entitlement × the tier's ratio, capped.

The documents say what goes into a low-rent (廉租) rent subsidy but not the formula: the
system reads the rent-subsidy standard each district maintains (配租标准), keeps a
difference-subsidy ratio (差额补贴比例) per district, document number and people-count range
(配租人数范围), and for families near or past the end of their term sets a transition flag
that reduces the subsidy by a ratio (seed 004, L887-894); the public rental deck's housing
subsidy list shows a subsidy standard of 0.9 and an amount of 800.0 (seed 002, T8). This
plugin defines the formula; the numbers are data:

    quantity = persons                                        (basis "person")
             = max(0, persons × area_per_person − living_area) (basis "area", the shortfall
                                                                below the area entitlement)
    full     = standard × quantity × tier.ratio
    capped   = min(full, tier.cap, tier.cap_per_person × persons)   (caps that are given)
    amount   = capped × transition_ratio   (only with the transition flag)
    rounded half up to the fen, once, at the end.

`standard` is CNY per m² a month (basis "area") or CNY per person a month (basis "person").
The tier is the one row of the district's table that matches the household: `min_persons ≤
persons ≤ max_persons` (whole numbers, both ends included) and `min_income ≤ income <
max_income` (per-capita monthly income bands such as 2000-2800); a bound left out is open.
No match, or more than one, is an error, so a gap or an overlap in a table shows at once.

Tiers are JSON, a list of objects, e.g. the T8 row read as ratio 0.9 with a ceiling of 800 a
person: `[{"min_persons": 1, "max_persons": 2, "ratio": "0.9", "cap_per_person": "800"}]`.
A family of one at a standard of 1,000 a person: 1,000 × 1 × 0.9 = 900, capped at 800.

- Python: `pick_tier`, `entitled_area`, `subsidy_amount`, `compute_subsidy`.
- Expressions: `subsidy_amount(standard, quantity, ratio[, cap[, transition_ratio]])`
  (with SQL) and `subsidy_ratio(tiers, persons)` (the ratio of the matching tier, or null).
- Flow action `subsidy.compute`: `{call: subsidy.compute, with: {standard: …, persons: …,
  transition: …}}`, with `living_area` and `income` when they apply; `tiers`, `basis`,
  `area_per_person` and `transition_ratio` come from `with` or else from the flow's params
  `subsidy_tiers` (JSON text), `subsidy_basis`, `subsidy_area_per_person`,
  `subsidy_transition_ratio`. It sets `subsidy_amount` and, if the entity has it,
  `subsidy_tier` (a json field gets the tier, quantity, cap and explanation; a text field the
  explanation); params `subsidy_amount_field` and `subsidy_tier_field` rename them. A missing
  input, a gap or an overlap in the tiers refuses the transition (422) with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from engine.errors import ValidationFailed
from engine.expressions import Function
from engine.extensions import FlowAction
from plugins.builtin.subsidy.amount import (
    SUBSIDY_AMOUNT,
    SUBSIDY_RATIO,
    Subsidy,
    compute_subsidy,
    entitled_area,
    subsidy_amount,
)
from plugins.builtin.subsidy.tiers import Tier, number, parse_tiers, pick_tier
from plugins.hookspecs import hookimpl

if TYPE_CHECKING:
    from engine.flows.actions_api import ActionContext
    from engine.settings import Settings

__all__ = [
    "Subsidy",
    "Tier",
    "compute_subsidy",
    "entitled_area",
    "parse_tiers",
    "pick_tier",
    "subsidy_amount",
]


def compute_action(ctx: ActionContext) -> None:
    """`{call: subsidy.compute, with: {standard: …, persons: …, transition: …}}`: computes the
    subsidy and sets the record's amount field and, if it has one, its tier field."""
    args, params = ctx.args, ctx.params
    try:
        subsidy = compute_subsidy(
            standard=number(_required(args, "standard"), "standard"),
            persons=int(_required(args, "persons")),
            tiers=parse_tiers(_given(args, params, "tiers")),
            basis=_given(args, params, "basis", "area"),
            area_per_person=_optional_number(_given(args, params, "area_per_person")),
            living_area=_optional_number(args.get("living_area")) or Decimal(0),
            income=_optional_number(args.get("income")),
            transition=bool(args.get("transition")),
            transition_ratio=_optional_number(_given(args, params, "transition_ratio")),
        )
    except (ValueError, LookupError) as problem:
        raise ValidationFailed(f"subsidy.compute: {problem}") from None
    ctx.set(str(params.get("subsidy_amount_field", "subsidy_amount")), subsidy.amount)
    tier_field = str(params.get("subsidy_tier_field", "subsidy_tier"))
    spec = ctx.entity(ctx.path).fields.get(tier_field)
    if spec is not None:
        ctx.set(tier_field, subsidy.as_json() if spec.type == "json" else subsidy.explanation())


def _required(args: Mapping[str, Any], name: str) -> Any:
    if args.get(name) is None:
        raise ValueError(f"give {name!r} in the action's `with`")
    return args[name]


def _given(
    args: Mapping[str, Any], params: Mapping[str, Any], name: str, default: Any = None
) -> Any:
    """An argument of the action, else the flow's param `subsidy_<name>`, else the default."""
    if args.get(name) is not None:
        return args[name]
    return params.get(f"subsidy_{name}", default)


def _optional_number(value: Any) -> Decimal | None:
    return None if value is None else number(value, "a number")


@hookimpl
def anju_functions(settings: Settings) -> list[Function]:
    return [SUBSIDY_AMOUNT, SUBSIDY_RATIO]


@hookimpl
def anju_flow_actions(settings: Settings) -> list[FlowAction]:
    return [
        FlowAction(
            "subsidy.compute",
            compute_action,
            "rent subsidy from the standard, the tier for the household and the transition "
            "flag; sets subsidy_amount and subsidy_tier",
        )
    ]

"""The flow actions of a lottery round (`flows/lottery_round.yaml`) and of its offers
(`flows/allocation.yaml`), inside the transition's transaction.

- `lottery.publish` (draft → published): freezes the participants (waiting entries that
  match the round, certificate valid, in waitlist order, with the priority groups each is
  in), freezes the units (those chosen, or every vacant public rental unit that matches)
  and reserves them, and commits to a fresh secret seed: `seed_hash` is published, the seed
  itself is kept only encrypted with the platform's key (`sealed_seed`), so no role —
  administrators included — can read it through the platform before the draw.
- `lottery.draw` (published → drawn): draws (`draw.draw`), reveals the seed beside the
  result, and offers the units in sequence order (one `allocation` each), passing over
  families that stopped waiting since the round was published.
- `lottery.pass_on` (an allocation given up): offers its unit to the next in sequence.
- `lottery.cancel` (draft or published → cancelled): releases the reserved units and
  reveals the unused seed.
- `lottery.close` (drawn → closed) is in `contracts.py`.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from engine.errors import Conflict, ValidationFailed, field_error
from engine.flows.actions_api import ActionContext
from engine.protection import Protector, field_place
from plugins.builtin.lottery.draw import (
    Drawn,
    DrawResult,
    Participant,
    draw,
    new_seed,
    next_in_line,
    participant_digest,
    seed_hash,
)
from plugins.builtin.waitlist.ordering import PRH_SCHEME, Condition

ROUNDS = "public_rental.lottery_round"
ENTRIES = "public_rental.waitlist_entry"
ALLOCATIONS = "public_rental.allocation"
UNITS = "housing_stock.housing_unit"
WAITING = "waiting"
DEFAULT_GROUPS: list[dict[str, Any]] = PRH_SCHEME["conditions"]


def publish(context: ActionContext) -> None:
    lottery = context.record
    groups = priority_groups(lottery.get("priority_groups"))
    participants = _participants(context, lottery, groups)
    units = _units(context, lottery)
    seed = new_seed()
    for unit in units:
        context.update(UNITS, unit["id"], {"status": "reserved"})
    frozen = [participant.model_dump(mode="json") for participant in participants]
    values = {
        "priority_groups": [g.model_dump(mode="json", exclude_unset=True) for g in groups],
        "participants": frozen,
        "participant_count": len(frozen),
        "participant_digest": participant_digest(participants),
        "units": [unit["id"] for unit in units],
        "unit_count": len(units),
        "seed_hash": seed_hash(seed),
        "sealed_seed": _protector(context).encrypt(_place(context), seed),
        "seed": None,
        "result": None,
        "published_at": context.now,
    }
    for name, value in values.items():
        context.set(name, value)


def run_draw(context: ActionContext) -> None:
    lottery = context.record
    seed = _unsealed_seed(context, lottery)
    participants = [Participant.model_validate(p) for p in lottery["participants"]]
    if participant_digest(participants) != lottery["participant_digest"]:
        raise Conflict("the participant list no longer matches its published digest")
    groups = [group.name for group in priority_groups(lottery["priority_groups"])]
    units: list[int] = list(lottery["units"])
    result = draw(seed, participants, groups, len(units), lottery["mode"])
    context.set("result", result.model_dump(mode="json"))
    context.set("seed", seed)
    context.set("drawn_at", context.now)
    had_offer: set[Any] = set()
    for unit_id in units:
        drawn = _next_waiting(context, result, had_offer)
        if drawn is None:
            break  # more units than families: the rest are released when the round closes
        offer(context, context.record_id, unit_id, drawn)
        had_offer.add(drawn.id)


def pass_on(context: ActionContext) -> None:
    """The moving allocation is given up: its unit goes to the next in sequence still
    waiting who has had no offer in this round; nobody left leaves the unit reserved until
    the round closes, which releases it."""
    allocation = context.record
    lottery = context.get(ROUNDS, allocation["round"])
    if lottery is None or lottery.get("result") is None:
        raise Conflict("the allocation's round has not been drawn")
    result = DrawResult.model_validate(lottery["result"])
    had_offer = {a["waitlist_entry"] for a in context.find(ALLOCATIONS, round=lottery["id"])}
    drawn = _next_waiting(context, result, had_offer)
    if drawn is not None:
        offer(context, lottery["id"], allocation["housing_unit"], drawn)


def _next_waiting(context: ActionContext, result: DrawResult, had_offer: set[Any]) -> Drawn | None:
    """The next in sequence without an offer whose entry still waits (one that withdrew or
    was housed since the round was published is passed over)."""
    skipped = set(had_offer)
    while (drawn := next_in_line(result, skipped)) is not None:
        entry = context.get(ENTRIES, int(drawn.id))
        if entry is not None and entry.get("status") == WAITING:
            return drawn
        skipped.add(drawn.id)
    return None


def cancel(context: ActionContext) -> None:
    lottery = context.record
    for unit_id in lottery.get("units") or []:
        unit = context.get(UNITS, unit_id)
        if unit is not None and unit.get("status") == "reserved":
            context.update(UNITS, unit_id, {"status": "vacant"})
    if lottery.get("sealed_seed"):
        context.set("seed", _unsealed_seed(context, lottery))


def offer(context: ActionContext, round_id: int, unit_id: int, drawn: Drawn) -> int:
    """An allocation of the unit to the entry drawn at `drawn.no`, started as `offered`."""
    entry = context.get(ENTRIES, int(drawn.id))
    if entry is None:
        raise Conflict(f"waitlist entry {drawn.id} of the draw no longer exists")
    values = {
        "round": round_id,
        "waitlist_entry": entry["id"],
        "household": entry["household"],
        "applicant_name": entry.get("applicant_name"),
        "housing_unit": unit_id,
        "sequence_no": drawn.no,
        "offered_on": context.today,
    }
    context.update(ENTRIES, entry["id"], {"round": round_id})
    return context.create(ALLOCATIONS, values)


def priority_groups(given: Any) -> list[Condition]:
    """The round's priority groups in order (the PRH conditions when none are given)."""
    raw = given if given else DEFAULT_GROUPS
    if not isinstance(raw, list):
        raise ValidationFailed(
            "the priority groups are not valid",
            [field_error("priority_groups", "expected a list of conditions")],
        )
    groups = []
    for index, item in enumerate(raw):
        try:
            groups.append(Condition.model_validate(item))
        except ValidationError as exc:
            problem = exc.errors()[0]["msg"]
            raise ValidationFailed(
                "the priority groups are not valid",
                [field_error(f"priority_groups[{index}]", problem)],
            ) from None
    return groups


def _participants(
    context: ActionContext, lottery: dict[str, Any], groups: list[Condition]
) -> list[Participant]:
    """Waiting entries for the round's district and layout whose certificate is valid today,
    in waitlist order (position, then entry order), each with the groups it is in."""
    today = context.today
    chosen = []
    for entry in context.find(ENTRIES, order_by=("id",), status=WAITING):
        district = entry.get("requested_district")
        if district is not None and district != lottery["district"]:
            continue
        layout = entry.get("requested_layout") or "any"
        if lottery.get("layout") and layout not in ("any", lottery["layout"]):
            continue
        valid_until = entry.get("qualification_valid_until")
        if valid_until is not None and valid_until < today:
            continue
        chosen.append(entry)
    chosen.sort(key=lambda e: (e.get("position") is None, e.get("position") or 0, e["id"]))
    if not chosen:
        raise ValidationFailed(
            "no waiting family matches the round",
            [field_error("participants", "no waiting entry matches the district and layout")],
        )
    return [
        Participant(id=e["id"], groups=[g.name for g in groups if g.met(e, today)]) for e in chosen
    ]


def _units(context: ActionContext, lottery: dict[str, Any]) -> list[dict[str, Any]]:
    """The units chosen for the round (all vacant), or every vacant public rental unit of
    the round's district, project and layout, by unit code."""
    chosen = lottery.get("units")
    if chosen:
        if not isinstance(chosen, list) or not all(isinstance(i, int) for i in chosen):
            raise ValidationFailed(
                "the units of the round are not valid",
                [field_error("units", "expected a list of housing unit ids")],
            )
        units = []
        for unit_id in chosen:
            unit = context.get(UNITS, unit_id)
            if unit is None or unit.get("district") != lottery["district"]:
                problem = f"there is no unit {unit_id} in the round's district"
            elif unit.get("status") != "vacant":
                problem = f"unit {unit['code']} is not vacant"
            else:
                units.append(unit)
                continue
            raise ValidationFailed(
                "a unit of the round cannot be offered", [field_error("units", problem)]
            )
        return units
    where: dict[str, Any] = {
        "status": "vacant",
        "housing_type": "public_rental",
        "district": lottery["district"],
    }
    for name in ("project", "layout"):
        if lottery.get(name):
            where[name] = lottery[name]
    units = context.find(UNITS, order_by=("code",), **where)
    if not units:
        raise ValidationFailed(
            "no vacant unit matches the round",
            [field_error("units", "no vacant public rental unit matches the round")],
        )
    return units


def _unsealed_seed(context: ActionContext, lottery: dict[str, Any]) -> str:
    sealed = lottery.get("sealed_seed")
    if not sealed:
        raise Conflict("the round has no sealed seed; publish it first")
    seed = _protector(context).decrypt(_place(context), sealed)
    if seed_hash(seed) != lottery.get("seed_hash"):
        raise Conflict("the sealed seed does not match the published seed hash")
    return seed


def _protector(context: ActionContext) -> Protector:
    catalog = context.entity(ROUNDS).catalog
    protector = catalog.options.protector if catalog is not None else None
    if protector is None:
        raise Conflict("the lottery needs the platform's encryption key to seal its seed")
    return protector


def _place(context: ActionContext) -> str:
    """What the sealed seed is bound to: this round's record, so it cannot be moved."""
    return f"{field_place(ROUNDS, 'sealed_seed')}#{context.record_id}"

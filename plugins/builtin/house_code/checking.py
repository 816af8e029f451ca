"""Refusing a housing unit whose code disagrees with where the unit is (`anju_before_save`).

The entity's `pattern` already refuses a code of the wrong shape; this check catches a code
of the right shape that was mistyped, by comparing it with the district's division code, the
building's code, the stairwell, the floor and the room number (`codes.location_problems`).
An update is checked only when it changes one of those fields, so a unit stored before this
check (or loaded in bulk) can still have its status changed by a role that may not edit its
code.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from engine.errors import ValidationFailed, field_error
from engine.records.lifecycle import RecordEvent
from plugins.builtin.house_code.codes import Location, location_problems
from plugins.builtin.house_code.status import HOUSE_ENTITY

HOUSE_PATH = ".".join(HOUSE_ENTITY)
COMPARED = ("code", "district", "building", "stairwell", "floor", "room_no")


def check_house_code(event: RecordEvent) -> None:
    """Raise `ValidationFailed` on the `code` field when it disagrees with the location."""
    if event.path != HOUSE_PATH:
        return
    values, before = event.values, event.before
    if before is not None and all(values.get(n) == before.get(n) for n in COMPARED):
        return
    code = values.get("code")
    if not isinstance(code, str):
        return  # a required field: the platform's own validation reports it
    problems = location_problems(code, location_of(event), event.language)
    if problems:
        raise ValidationFailed(
            "the house code does not match the unit", [field_error("code", p) for p in problems]
        )


def location_of(event: RecordEvent) -> Location:
    values = event.values
    floor = values.get("floor")
    return Location(
        district_code=_code_of(event, "district"),
        building_code=_code_of(event, "building"),
        stairwell=_text(values.get("stairwell")),
        floor=floor if isinstance(floor, int) else None,
        room_no=_text(values.get("room_no")),
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _code_of(event: RecordEvent, reference: str) -> str | None:
    """The `code` of the record a reference field points at, if it has one."""
    target = event.entity.references.get(reference)
    record_id = event.values.get(reference)
    if target is None or not isinstance(record_id, int):
        return None
    spec = target.fields.get("code")
    if spec is None or spec.sensitive:  # a sealed code is ciphertext: nothing to compare
        return None
    query = sa.select(target.table.c.code).where(target.table.c.id == record_id)
    found = event.conn.execute(query).scalar()
    return found if isinstance(found, str) else None

"""The waitlist's flow actions, run inside a transition's transaction.

qualified:
  on_enter:
    - create: waitlist_entry
      values: {application: id, household: household, qualified_on: qualified_on, …}
    - {call: waitlist.assess, with: {application: id, elderly_age: 60}}
    - {call: waitlist.reorder}
"""

from __future__ import annotations

from datetime import date
from typing import Any

from engine.flows.actions_api import ActionContext
from plugins.builtin.waitlist.ordering import PRH_SCHEME, Scheme, order

ENTRIES = "public_rental.waitlist_entry"
MEMBERS = "public_rental.household_member"
WAITING = "waiting"
ELDERLY_AGE = 60  # years; a member of this age or older makes an "elderly" household


def assess(context: ActionContext) -> None:
    """Set `has_disabled_member` and `has_elderly_member` of the entry of the application
    `with.application` (default: the moving record) from its household's members: any
    member with a disability grade; any member `with.elderly_age` (60) or older today."""
    application = context.args.get("application", context.record_id)
    elderly_age = int(context.args.get("elderly_age") or ELDERLY_AGE)
    for entry in context.find(ENTRIES, application=application):
        members = context.find(MEMBERS, household=entry["household"])
        flags = {
            "has_disabled_member": any(
                member.get("disability_grade") not in (None, "none") for member in members
            ),
            "has_elderly_member": any(
                age(member.get("birth_date"), context.today) >= elderly_age for member in members
            ),
        }
        if any(entry.get(name) != value for name, value in flags.items()):
            context.update(ENTRIES, entry["id"], flags)


def reorder(context: ActionContext) -> None:
    """Give every waiting entry its `position` under the PRH scheme, and clear the position
    of entries that no longer wait or whose certificate has expired."""
    scheme = Scheme.model_validate(PRH_SCHEME)
    entries = context.find(ENTRIES)
    waiting = [entry for entry in entries if entry.get("status") == WAITING]
    positions = order(waiting, scheme, context.today).positions()
    for entry in entries:
        position = positions.get(entry["id"])
        if entry.get("position") != position:
            context.update(ENTRIES, entry["id"], {"position": position})


def age(birth: Any, today: date) -> int:
    """Whole years from `birth` to `today`; -1 for an unknown birth date."""
    if birth is None:
        return -1
    born = birth if isinstance(birth, date) else date.fromisoformat(str(birth))
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))

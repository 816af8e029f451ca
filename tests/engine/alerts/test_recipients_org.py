"""Alert recipients by role in another organisation than the record's: `{role, org}` reaches
the role's holders in the organisation whose code `org` gives, or one above it — for
opening and for escalation; a null or unknown code reaches nobody and fails nothing; the
codes of a batch are looked up in one query. A bad `org` is refused at load with its path."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from engine.alerts.scanning import scan_rule
from engine.alerts.tables import alerts, recipients
from engine.database import write_transaction
from engine.expressions.definitions import load_definitions
from metamodel.errors import DefinitionsInvalid
from metamodel.loader import read_folder
from tests.definitions import write_folder
from tests.engine.alerts.world import VACANT_UNIT, World, alert_folder, alert_world

FILE = "estate/alerts/vacant_unit.yaml"
OPERATED: dict[str, Any] = {
    **copy.deepcopy(VACANT_UNIT),
    "recipients": [{"role": "officer", "org": "operator"}],
    "escalation": {
        "after_days": 3,
        "severity": "orange",
        "recipients": [{"role": "manager", "org": "operator"}],
    },
}


def operated_folder(rule: dict[str, Any]) -> dict[str, Any]:
    """The alert folder with `operator` on units: the code of the street that runs the unit,
    which need not be the street the unit is in (`office`)."""
    folder = alert_folder(vacant_unit=rule)
    unit = folder["estate/entities/unit.yaml"]
    unit["fields"]["operator"] = {"type": "string", "max_length": 40}
    return folder


@pytest.fixture
def world(tmp_path: Path, database_url: str | None) -> Iterator[World]:
    with alert_world(tmp_path, database_url, operated_folder(OPERATED)) as built:
        yield built


def scan(world: World) -> None:
    catalog = world.runtime.require_catalog()
    with write_transaction(world.runtime.engine) as conn:
        scan_rule(conn, world.runtime, catalog, "estate", "vacant_unit", world.clock.now())


def recipients_by_unit(world: World) -> dict[str, list[str]]:
    query = (
        sa.select(alerts.c.title, recipients.c.username)
        .select_from(alerts.outerjoin(recipients, recipients.c.alert_id == alerts.c.id))
        .order_by(recipients.c.username)
    )
    found: dict[str, list[str]] = {}
    with world.runtime.engine.connect() as conn:
        for title, username in conn.execute(query):
            found.setdefault(title, [])
            if username is not None:
                found[title].append(username)
    return found


def test_a_role_with_org_reaches_the_holders_in_that_organisation_only(world: World) -> None:
    world.unit("A-1", street="S1", operator="S2")
    world.unit("A-2", street="S1", operator="S1")
    world.unit("A-3", street="S1", operator=None)
    world.unit("A-4", street="S2", operator="NO-SUCH-ORG")
    scan(world)
    assert recipients_by_unit(world) == {
        "房屋 A-1 空置": ["officer2"],  # the operator's officer, not the unit's street's
        "房屋 A-2 空置": ["officer1"],
        "房屋 A-3 空置": [],  # no operator: nobody, and the alert still opens
        "房屋 A-4 空置": [],
    }


def test_escalation_recipients_with_org_are_the_holders_over_that_organisation(
    world: World,
) -> None:
    world.unit("A-1", street="S1", operator="S2")
    world.unit("A-3", street="S1", operator=None)
    scan(world)
    world.clock.advance(days=3, hours=1)
    scan(world)
    assert recipients_by_unit(world) == {
        "房屋 A-1 空置": ["manager1", "officer2"],  # manager1 holds manager in C, above S2
        "房屋 A-3 空置": [],
    }


def test_the_codes_of_a_batch_are_looked_up_in_one_query(world: World) -> None:
    for i, operator in enumerate(["S1", "S2", "S1", "S2", None, "NO-SUCH-ORG"]):
        world.unit(f"A-{i}", operator=operator)
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "anju_org.code" in statement:
            statements.append(statement)

    sa.event.listen(world.runtime.engine, "before_cursor_execute", record)
    try:
        scan(world)
    finally:
        sa.event.remove(world.runtime.engine, "before_cursor_execute", record)
    assert len(statements) == 1, statements
    assert recipients_by_unit(world)["房屋 A-1 空置"] == ["officer2"]


@pytest.mark.parametrize(
    ("recipient", "path", "message"),
    [
        ({"field": "keeper", "org": "operator"}, "recipients[0].org", "give it with role"),
        ({"role": "officer", "org": "floor"}, "recipients[0].org", "an organisation's code"),
        ({"role": "officer", "org": "operater"}, "recipients[0].org", "operater"),
    ],
)
def test_a_bad_org_is_refused_at_load_with_its_path(
    tmp_path: Path, recipient: dict[str, Any], path: str, message: str
) -> None:
    write_folder(tmp_path, operated_folder({**copy.deepcopy(OPERATED), "recipients": [recipient]}))
    with pytest.raises(DefinitionsInvalid) as raised:
        load_definitions(read_folder(tmp_path))
    found = [(e.file, e.path, e.message) for e in raised.value.errors]
    assert any(f == FILE and p == path and message in m for f, p, m in found), found

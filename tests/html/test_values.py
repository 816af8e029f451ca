"""Values as screens show them: moments on the catalog's clock, not as stored (UTC), and the
titles of referenced records — read in one query for every reference field of the rows,
each target in the reader's own row scope (a record it may not list shows as `#id`)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import TypeAdapter

from engine.catalog import CompiledEntity
from engine.principal import SYSTEM, Principal
from engine.records.writing import create_record
from engine.runtime import Runtime
from metamodel.fields import FieldDefinition
from renderers.html.chrome import Chrome
from renderers.html.list_page import TEXTS, load_list_page
from renderers.html.texts import words
from renderers.html.values import reference_titles, show, zone_of
from tests.databases import estate_settings, started_runtime
from tests.definitions import entity, estate, write_folder

ADMIN = Principal("admin", roles=("admin",), user_id=1)
OFFICER = Principal("officer1", roles=("officer",), user_id=3)
FIELD: TypeAdapter[FieldDefinition] = TypeAdapter(FieldDefinition)
MOMENT = datetime(2026, 3, 1, 16, 30, tzinfo=UTC)


def folder() -> dict[str, Any]:
    """Estate, with meters pointing at a building and a unit; the officer lists only the
    buildings it created, and every unit and meter."""
    definitions = estate()
    definitions["estate/roles.yaml"]["roles"]["officer"] = {"label": "主管"}
    entity(definitions, "meter")["fields"]["unit"] = {"type": "reference", "entity": "unit"}
    entity(definitions, "building")["permissions"] = {
        "officer": {"actions": ["read", "create"], "scope": "own"}
    }
    for name in ("unit", "meter"):
        entity(definitions, name)["permissions"] = {"officer": {"actions": ["read"]}}
    entity(definitions, "unit")["list_fields"] = ["code", "checked_at"]
    return definitions


@pytest.fixture
def runtime(tmp_path: Path, database_url: str | None) -> Iterator[Runtime]:
    settings = estate_settings(tmp_path, database_url, timezone="America/New_York")
    write_folder(settings.apps_config, folder())
    with started_runtime(settings) as started:
        yield started


def entity_of(runtime: Runtime, name: str) -> CompiledEntity:
    found = runtime.require_catalog().entity("estate", name)
    assert found is not None
    return found


def create(runtime: Runtime, name: str, values: dict[str, Any]) -> int:
    record = create_record(runtime.engine, entity_of(runtime, name), values, SYSTEM)
    return int(record["id"])


def test_a_moment_shows_on_the_clock_of_the_time_zone_given() -> None:
    spec = estate_entity_field("checked_at")

    assert show(spec, MOMENT, "zh", timezone="Asia/Shanghai") == "2026-03-02 00:30"
    assert show(spec, MOMENT, "en", timezone="Europe/London") == "2026-03-01 16:30"
    assert show(spec, MOMENT.replace(tzinfo=None), "zh") == "2026-03-02 00:30"  # naive is UTC
    assert show(spec, None, "zh") == ""


def test_other_values_keep_their_text() -> None:
    assert show(estate_entity_field("rent"), Decimal("1500.50"), "zh") == "1500.50"
    assert show(estate_entity_field("floor"), 0, "zh") == "0"
    assert show(estate_entity_field("photo"), {"id": "f1", "name": "门牌.jpg"}, "zh") == "门牌.jpg"
    assert show(estate_entity_field("extras"), {"a": [1]}, "zh") == '{"a":[1]}'


def estate_entity_field(name: str) -> FieldDefinition:
    spec = entity(estate(), "unit")["fields"][name]
    return FIELD.validate_python(spec)


def test_the_list_page_shows_moments_in_the_catalogs_time_zone(runtime: Runtime) -> None:
    units = entity_of(runtime, "unit")
    create(runtime, "unit", {"code": "A-1", "checked_at": MOMENT})
    chrome = Chrome("zh", words("zh", TEXTS), "", "/estate/unit", "admin", "token", "/")

    with runtime.engine.begin() as conn:
        page = load_list_page(conn, units, ADMIN, [], chrome, (50, 500, 10_000))

    assert zone_of(units) == "America/New_York"
    assert [cell.text for cell in page.rows[0].cells] == ["A-1", "2026-03-01 11:30"]


def selects_on(engine: sa.Engine) -> list[str]:
    """The SELECT statements `engine` runs from now on."""
    seen: list[str] = []

    def note(*args: Any) -> None:
        if args[2].lstrip().upper().startswith("SELECT"):
            seen.append(args[2])

    sa.event.listen(engine, "before_cursor_execute", note)
    return seen


def test_titles_of_every_reference_field_come_from_one_query(runtime: Runtime) -> None:
    north = create(runtime, "building", {"name": "北楼", "code": "N"})
    south = create(runtime, "building", {"name": "南楼", "code": "S"})
    unit = create(runtime, "unit", {"code": "A-1", "building": north})
    meters = entity_of(runtime, "meter")
    rows = [
        {"building": north, "unit": unit},
        {"building": south, "unit": None},
        {"building": 999, "unit": unit},
    ]
    queries = selects_on(runtime.engine)

    with runtime.engine.connect() as conn:
        titles = reference_titles(conn, meters, rows, ADMIN)
        again = reference_titles(conn, meters, [{"building": south, "unit": None}], ADMIN)

    assert titles == {
        "building": {north: "北楼", south: "南楼", 999: "#999"},
        "unit": {unit: "A-1"},
    }
    assert again == {"building": {south: "南楼"}, "unit": {}}
    assert len(queries) == 2


def test_titles_are_read_in_each_targets_row_scope(runtime: Runtime) -> None:
    """The officer lists every unit but only the buildings it created."""
    theirs = create_record(
        runtime.engine, entity_of(runtime, "building"), {"name": "东楼", "code": "E"}, OFFICER
    )["id"]
    others = create(runtime, "building", {"name": "北楼", "code": "N"})
    unit = create(runtime, "unit", {"code": "A-1", "building": others})
    rows = [{"building": theirs, "unit": unit}, {"building": others, "unit": unit}]

    with runtime.engine.connect() as conn:
        titles = reference_titles(conn, entity_of(runtime, "meter"), rows, OFFICER)
        fields = reference_titles(conn, entity_of(runtime, "meter"), rows, OFFICER, ["unit"])

    assert titles == {"building": {theirs: "东楼", others: f"#{others}"}, "unit": {unit: "A-1"}}
    assert fields == {"unit": {unit: "A-1"}}

"""Writing and reading records through `engine.records`, as the system principal; deleting
several at once, all or none, with a plugin listening to the deletes."""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import sqlalchemy as sa

from engine import records
from engine.audit.trail import audit_table
from engine.catalog import CompiledEntity
from engine.errors import (
    AnjuError,
    Conflict,
    NotFound,
    PluginFailed,
    PreconditionFailed,
    ValidationFailed,
)
from engine.principal import SYSTEM
from engine.runtime import Runtime
from tests.databases import estate_settings, started_runtime


def entity_of(runtime: Runtime, name: str) -> CompiledEntity:
    compiled = runtime.require_catalog().entity("estate", name)
    assert compiled is not None
    return compiled


def create(runtime: Runtime, name: str, body: dict[str, Any] | bytes) -> dict[str, Any]:
    return records.create_record(runtime.engine, entity_of(runtime, name), body, SYSTEM)


def get(runtime: Runtime, name: str, record_id: int) -> dict[str, Any]:
    with runtime.engine.connect() as conn:
        return records.get_record(conn, entity_of(runtime, name), record_id, SYSTEM)


def update(
    runtime: Runtime, name: str, record_id: int, body: dict[str, Any], if_match: str | None = None
) -> dict[str, Any]:
    compiled = entity_of(runtime, name)
    return records.update_record(runtime.engine, compiled, record_id, body, SYSTEM, if_match)


def delete(runtime: Runtime, name: str, record_id: int, if_match: str | None = None) -> None:
    records.delete_record(runtime.engine, entity_of(runtime, name), record_id, SYSTEM, if_match)


def count(runtime: Runtime, name: str) -> int:
    table = entity_of(runtime, name).table
    with runtime.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


@pytest.fixture
def building(runtime: Runtime) -> dict[str, Any]:
    return create(runtime, "building", {"name": "Tower A", "code": "TA"})


def test_create_sets_system_columns_and_defaults(runtime: Runtime) -> None:
    record = create(runtime, "unit", {"code": "A-1"})

    assert record["id"] > 0
    assert (record["row_version"], record["def_version"]) == (1, 1)
    assert (record["created_by"], record["updated_by"]) == ("system", "system")
    assert record["active"] is True
    assert record["rent"] is None


def test_get_returns_what_create_stored(runtime: Runtime, building: dict[str, Any]) -> None:
    body = {
        "code": "A-101",
        "rent": "2300.50",
        "floor": 3,
        "status": "let",
        "building": building["id"],
        "let_on": "2024-03-01",
        "notes": "南向",
        "extras": {"keys": 2, "tags": ["corner"]},
        "active": False,
    }
    record = create(runtime, "unit", body)

    stored = get(runtime, "unit", record["id"])

    assert stored == record
    assert stored["rent"] == Decimal("2300.50")
    assert stored["let_on"] == date(2024, 3, 1)
    assert stored["extras"] == {"keys": 2, "tags": ["corner"]}
    assert (stored["notes"], stored["active"]) == ("南向", False)
    assert stored["building"] == building["id"]


DECIMALS = {
    "string with trailing zero": ("111.80", Decimal("111.80")),
    "JSON number": (111.8, Decimal("111.80")),
    "product of exact decimals": (str(Decimal("2.6") * Decimal("43.0")), Decimal("111.80")),
    "product of floats": (2.6 * 43.0, Decimal("111.80")),
    "a cent": ("0.01", Decimal("0.01")),
    "large amount": ("987654321.99", Decimal("987654321.99")),
}


@pytest.mark.parametrize(("sent", "expected"), DECIMALS.values(), ids=DECIMALS.keys())
def test_decimals_round_trip_exactly(runtime: Runtime, sent: Any, expected: Decimal) -> None:
    record = create(runtime, "unit", json.dumps({"code": "A-1", "rent": sent}).encode())

    stored = get(runtime, "unit", record["id"])["rent"]

    assert (stored, str(stored)) == (expected, str(expected))


def test_decimal_at_full_precision_is_kept_exactly_or_refused(runtime: Runtime) -> None:
    # `area` has the default precision 18: a database that cannot keep 18 digits
    # exactly (SQLite stores doubles) must refuse the value, never store another one.
    try:
        record = create(runtime, "unit", {"code": "A-1", "area": "1234567890123456.78"})
    except ValidationFailed as refused:
        assert [d["path"] for d in refused.details] == ["area"]
        assert count(runtime, "unit") == 0
    else:
        assert get(runtime, "unit", record["id"])["area"] == Decimal("1234567890123456.78")


def test_decimal_with_more_places_than_the_scale_is_refused(runtime: Runtime) -> None:
    with pytest.raises(ValidationFailed) as refused:
        create(runtime, "unit", json.dumps({"code": "A-1", "rent": 0.125}).encode())

    assert [d["path"] for d in refused.value.details] == ["rent"]
    assert count(runtime, "unit") == 0


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        ("2024-05-01T08:30:00+08:00", datetime(2024, 5, 1, 0, 30, tzinfo=UTC)),
        ("2024-05-01T00:30:00Z", datetime(2024, 5, 1, 0, 30, tzinfo=UTC)),
        ("2024-05-01T00:30:00", datetime(2024, 5, 1, 0, 30, tzinfo=UTC)),
    ],
)
def test_datetimes_come_back_utc_aware(runtime: Runtime, sent: str, expected: datetime) -> None:
    record = create(runtime, "unit", {"code": "A-1", "checked_at": sent})

    stored = get(runtime, "unit", record["id"])

    assert stored["checked_at"] == expected
    assert stored["checked_at"].utcoffset() == expected.utcoffset()
    assert stored["created_at"].tzinfo is not None


def test_every_invalid_value_is_reported_at_once(runtime: Runtime) -> None:
    body = {"code": "a1", "floor": 61, "status": "sold", "let_on": "yesterday", "active": "yes"}

    with pytest.raises(ValidationFailed) as refused:
        create(runtime, "unit", body)

    paths = sorted(d["path"] for d in refused.value.details)
    assert paths == ["active", "code", "floor", "let_on", "status"]
    assert count(runtime, "unit") == 0


def test_missing_required_field_is_reported(runtime: Runtime) -> None:
    with pytest.raises(ValidationFailed) as refused:
        create(runtime, "unit", {"rent": "10.00"})

    assert refused.value.details == [{"path": "code", "message": "is required"}]


@pytest.mark.parametrize(
    ("field", "message"), [("colour", "unknown field"), ("row_version", "is set by the system")]
)
def test_fields_outside_the_definition_are_refused(
    runtime: Runtime, field: str, message: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        create(runtime, "unit", {"code": "A-1", field: 1})

    assert refused.value.details == [{"path": field, "message": message}]


def test_duplicate_unique_value_is_a_conflict_naming_the_field(runtime: Runtime) -> None:
    create(runtime, "unit", {"code": "A-1"})

    with pytest.raises(Conflict) as refused:
        create(runtime, "unit", {"code": "A-1"})

    assert [d["path"] for d in refused.value.details] == ["code"]
    assert count(runtime, "unit") == 1


def test_update_to_a_taken_unique_value_is_a_conflict(runtime: Runtime) -> None:
    create(runtime, "unit", {"code": "A-1"})
    other = create(runtime, "unit", {"code": "A-2"})

    with pytest.raises(Conflict):
        update(runtime, "unit", other["id"], {"code": "A-1"})

    assert get(runtime, "unit", other["id"])["code"] == "A-2"


def test_reference_to_a_missing_record_is_refused(runtime: Runtime) -> None:
    with pytest.raises(ValidationFailed) as refused:
        create(runtime, "unit", {"code": "A-1", "building": 999})

    assert refused.value.status == 422
    assert [d["path"] for d in refused.value.details] == ["building"]
    assert count(runtime, "unit") == 0


def test_update_changes_only_the_fields_sent(runtime: Runtime) -> None:
    record = create(runtime, "unit", {"code": "A-1", "rent": "100.00", "floor": 2})

    updated = update(runtime, "unit", record["id"], {"rent": "120.00"})

    assert (updated["rent"], updated["floor"], updated["code"]) == (Decimal("120.00"), 2, "A-1")
    assert updated["row_version"] == 2
    assert updated["updated_at"] >= record["updated_at"]


def test_update_cannot_empty_a_required_field(runtime: Runtime) -> None:
    record = create(runtime, "unit", {"code": "A-1"})

    with pytest.raises(ValidationFailed) as refused:
        update(runtime, "unit", record["id"], {"code": None})

    assert refused.value.details == [{"path": "code", "message": "is required"}]


@pytest.mark.parametrize("header", ["1", '"1"', 'W/"1"'])
def test_update_with_current_if_match_succeeds(runtime: Runtime, header: str) -> None:
    record = create(runtime, "unit", {"code": "A-1"})

    assert update(runtime, "unit", record["id"], {"floor": 1}, if_match=header)["row_version"] == 2


def test_update_with_stale_if_match_is_refused_and_changes_nothing(runtime: Runtime) -> None:
    record = create(runtime, "unit", {"code": "A-1"})
    update(runtime, "unit", record["id"], {"floor": 1})

    with pytest.raises(PreconditionFailed):
        update(runtime, "unit", record["id"], {"floor": 9}, if_match='"1"')

    assert get(runtime, "unit", record["id"])["floor"] == 1


def test_delete_with_stale_if_match_is_refused(runtime: Runtime) -> None:
    record = create(runtime, "unit", {"code": "A-1"})
    update(runtime, "unit", record["id"], {"floor": 1})

    with pytest.raises(PreconditionFailed):
        delete(runtime, "unit", record["id"], if_match="1")

    assert count(runtime, "unit") == 1


def test_deleted_record_is_gone(runtime: Runtime) -> None:
    record = create(runtime, "unit", {"code": "A-1"})

    delete(runtime, "unit", record["id"])

    with pytest.raises(NotFound):
        get(runtime, "unit", record["id"])


@pytest.mark.parametrize("operation", ["update", "delete"])
def test_missing_record_is_not_found(runtime: Runtime, operation: str) -> None:
    with pytest.raises(NotFound):
        if operation == "update":
            update(runtime, "unit", 404, {"floor": 1})
        else:
            delete(runtime, "unit", 404)


def test_restrict_keeps_a_referred_record(runtime: Runtime, building: dict[str, Any]) -> None:
    create(runtime, "unit", {"code": "A-1", "building": building["id"]})

    with pytest.raises(Conflict) as refused:
        delete(runtime, "building", building["id"])

    assert [d["path"] for d in refused.value.details] == ["estate.unit.building"]
    assert count(runtime, "building") == 1


def test_cascade_deletes_the_referring_records(runtime: Runtime, building: dict[str, Any]) -> None:
    other = create(runtime, "building", {"name": "Tower B"})
    for serial, owner in [("M1", building), ("M2", building), ("M3", other)]:
        create(runtime, "meter", {"serial": serial, "building": owner["id"]})

    delete(runtime, "building", building["id"])

    assert count(runtime, "meter") == 1
    assert count(runtime, "building") == 1


def test_set_null_empties_the_reference(runtime: Runtime) -> None:
    unit = create(runtime, "unit", {"code": "A-1"})
    inspection = create(runtime, "inspection", {"unit": unit["id"], "remark": "ok"})

    delete(runtime, "unit", unit["id"])

    kept = get(runtime, "inspection", inspection["id"])
    assert (kept["unit"], kept["remark"], kept["row_version"]) == (None, "ok", 2)


def test_refused_delete_leaves_no_cascade_half_done(
    runtime: Runtime, building: dict[str, Any]
) -> None:
    # The meters cascade before the unit's restrict is found; the transaction undoes them.
    create(runtime, "meter", {"serial": "M1", "building": building["id"]})
    create(runtime, "unit", {"code": "A-1", "building": building["id"]})

    with pytest.raises(Conflict):
        delete(runtime, "building", building["id"])

    assert [count(runtime, name) for name in ("building", "meter", "unit")] == [1, 1, 1]


# --- deleting several records at once ---


def deletes_audited(runtime: Runtime) -> list[int]:
    with runtime.engine.connect() as conn:
        query = sa.select(audit_table.c.record_id).where(audit_table.c.action == "record.delete")
        return sorted(int(i) for i in conn.execute(query).scalars())


def test_delete_records_deletes_each_with_its_audit_entry(runtime: Runtime) -> None:
    made = [create(runtime, "unit", {"code": f"A-{n}"})["id"] for n in range(3)]

    records.delete_records(runtime.engine, entity_of(runtime, "unit"), made[:2], SYSTEM)

    assert count(runtime, "unit") == 1
    assert deletes_audited(runtime) == made[:2]


def test_delete_records_deletes_none_when_one_is_still_referred_to(
    runtime: Runtime, building: dict[str, Any]
) -> None:
    free = create(runtime, "building", {"name": "Tower B"})["id"]
    create(runtime, "meter", {"serial": "M1", "building": free})  # would cascade
    create(runtime, "unit", {"code": "A-1", "building": building["id"]})
    buildings = entity_of(runtime, "building")

    with pytest.raises(Conflict) as refused:
        records.delete_records(runtime.engine, buildings, [free, building["id"]], SYSTEM)

    assert refused.value.message == f"estate.building {building['id']} is still referred to"
    assert [count(runtime, name) for name in ("building", "meter", "unit")] == [2, 1, 1]
    assert deletes_audited(runtime) == []


def test_delete_records_names_a_missing_record_and_deletes_none(runtime: Runtime) -> None:
    made = create(runtime, "unit", {"code": "A-1"})["id"]

    with pytest.raises(NotFound, match=f"estate.unit {made + 1} not found"):
        records.delete_records(runtime.engine, entity_of(runtime, "unit"), [made, made + 1], SYSTEM)

    assert count(runtime, "unit") == 1


DELETE_HOOKS = """
'''Hears deletes of buildings; keeps one named "keep", fails after deleting one named "boom".'''
from engine.errors import Conflict
from plugins.hookspecs import hookimpl

PLUGIN_NAME = "delete_hooks"
HEARD = []

@hookimpl
def anju_before_delete(event):
    HEARD.append(("before", event.record_id))
    if event.before["name"] == "keep":
        raise Conflict("this building is kept")

@hookimpl
def anju_after_delete(event):
    HEARD.append(("after", event.record_id))
    if event.before["name"] == "boom":
        raise RuntimeError("the registry is unreachable")
"""


@pytest.fixture
def hooked(
    tmp_path: Path, database_url: str | None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Runtime, ModuleType]]:
    """A runtime with the `delete_hooks` plugin, and the plugin's module (what it heard)."""
    name = f"delete_hooks_{uuid.uuid4().hex[:8]}"
    folder = tmp_path / "plugin_modules"
    folder.mkdir()
    (folder / f"{name}.py").write_text(DELETE_HOOKS, encoding="utf-8")
    monkeypatch.syspath_prepend(str(folder))
    settings = estate_settings(tmp_path, database_url, plugins=["plugins.builtin", name])
    try:
        with started_runtime(settings) as runtime:
            yield runtime, sys.modules[name]
    finally:
        sys.modules.pop(name, None)


def test_delete_records_lets_each_record_be_heard_by_the_hooks(
    hooked: tuple[Runtime, ModuleType],
) -> None:
    runtime, plugin = hooked
    made = [create(runtime, "building", {"name": f"Tower {n}"})["id"] for n in range(2)]

    records.delete_records(runtime.engine, entity_of(runtime, "building"), made, SYSTEM)

    assert sorted(plugin.HEARD) == sorted((when, i) for when in ("before", "after") for i in made)
    assert deletes_audited(runtime) == made


@pytest.mark.parametrize(
    ("name", "error", "message"),
    [
        ("keep", Conflict, "this building is kept"),
        ("boom", PluginFailed, "plugin 'delete_hooks' failed in anju_after_delete"),
    ],
)
def test_a_hook_refusing_one_record_midway_deletes_none(
    hooked: tuple[Runtime, ModuleType], name: str, error: type[AnjuError], message: str
) -> None:
    runtime, plugin = hooked
    names = ["Tower A", name, "Tower C"]
    made = [create(runtime, "building", {"name": n})["id"] for n in names]

    with pytest.raises(error) as refused:
        records.delete_records(runtime.engine, entity_of(runtime, "building"), made, SYSTEM)

    assert refused.value.message.startswith(f"estate.building {made[1]}: {message}")
    assert ("after" if name == "boom" else "before", made[0]) in plugin.HEARD  # heard, undone
    assert count(runtime, "building") == 3
    assert deletes_audited(runtime) == []

"""Sensitive fields at rest: ciphertext columns, blind index columns, and the publish that
turns a field sensitive (or back) converting the stored values."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from engine.catalog import compile_catalog
from engine.expressions.definitions import load_definitions
from engine.protection import Protector
from engine.publishing import DataLossRefused, PublishBlocked, PublishResult
from engine.runtime import Runtime
from engine.tables import storage_signature
from metamodel.fields import DecimalField, IntegerField, StringField
from metamodel.loader import read_folder
from tests.definitions import Folder, entity, estate, write_folder

NOW = datetime(2024, 3, 15, tzinfo=UTC)
SYSTEM = {"created_at": NOW, "updated_at": NOW, "row_version": 1, "def_version": 1}
CODE = "estate.building.code"
RENT = "estate.unit.rent"


def protector(runtime: Runtime) -> Protector:
    found = runtime.options.protector
    assert found is not None
    return found


def insert(runtime: Runtime, name: str, rows: list[dict[str, Any]]) -> None:
    compiled = runtime.require_catalog().entity("estate", name)
    assert compiled is not None
    with runtime.engine.begin() as conn:
        conn.execute(compiled.table.insert(), [{**SYSTEM, **row} for row in rows])


def raw(runtime: Runtime, name: str, *columns: str) -> list[tuple[Any, ...]]:
    """Columns as stored, in id order, read without the compiled table's types."""
    table = sa.table(f"estate__{name}", sa.column("id"), *(sa.column(c) for c in columns))
    query = sa.select(*(table.c[c] for c in columns)).order_by(table.c.id)
    with runtime.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(query)]


def live_columns(runtime: Runtime, name: str) -> set[str]:
    return {c["name"] for c in sa.inspect(runtime.engine).get_columns(f"estate__{name}")}


def sensitive_code(folder: Folder, sensitive: bool = True) -> Folder:
    building = entity(folder, "building")
    building["fields"]["code"].update(sensitive=sensitive, mask="1*1")
    building["search_fields"] = ["name"]
    return folder


def sensitive_rent(folder: Folder, **changes: Any) -> Folder:
    entity(folder, "unit")["fields"]["rent"].update(sensitive=True, **changes)
    return folder


def publish(runtime: Runtime, folder: Folder, message: str, force: bool = False) -> PublishResult:
    write_folder(runtime.settings.apps_config, folder)
    return runtime.publish_folder(author="ada", message=message, force=force)


def findings(result: PublishResult, field: str) -> list[tuple[str, str, int | None]]:
    return [
        (f.severity, f.message, f.rows) for f in result.plan.report.findings if f.field == field
    ]


@pytest.mark.parametrize(
    ("plain", "sensitive"),
    [
        (StringField(type="string"), StringField(type="string", sensitive=True)),
        (IntegerField(type="integer"), IntegerField(type="integer", sensitive=True)),
        (DecimalField(type="decimal"), DecimalField(type="decimal", sensitive=True)),
    ],
)
def test_turning_sensitive_changes_the_storage_signature(plain: Any, sensitive: Any) -> None:
    assert storage_signature(plain) != storage_signature(sensitive)
    assert storage_signature(sensitive.model_copy(update={"mask": "1*1"})) == storage_signature(
        sensitive
    )


def test_sensitive_field_is_text_with_an_indexed_blind_index(tmp_path: Path) -> None:
    folder = sensitive_rent(sensitive_code(estate()))
    entity(folder, "unit")["fields"]["floor"].update(sensitive=True, index=True)
    definitions = load_definitions(read_folder(write_folder(tmp_path, folder)))

    catalog = compile_catalog(1, definitions)

    building, unit = catalog.by_path("estate.building"), catalog.by_path("estate.unit")
    assert isinstance(building.table.c.code.type, sa.Text)
    assert isinstance(unit.table.c.rent.type, sa.Text)
    digest = building.table.c.code__bidx.type
    assert isinstance(digest, sa.String) and digest.length == 64
    indexes = {i.name: ([c.name for c in i.columns], i.unique) for i in building.table.indexes}
    assert indexes["uq_estate__building_code__bidx"] == (["code__bidx"], True)
    assert "uq_estate__building_code" not in indexes
    unit_indexes = {i.name: i.unique for i in unit.table.indexes}
    assert unit_indexes["ix_estate__unit_rent__bidx"] is False  # sensitive: always indexed
    assert unit_indexes["ix_estate__unit_floor__bidx"] is False
    assert unit.sensitive_fields == ("rent", "floor")
    assert "rent__bidx" not in unit.columns
    assert not unit.has_field("rent__bidx")


def test_publish_turning_a_field_sensitive_encrypts_and_indexes_existing_values(
    runtime: Runtime,
) -> None:
    codes = ["B-1", None, "b-2 "]
    insert(runtime, "building", [{"name": f"n{i}", "code": c} for i, c in enumerate(codes)])

    result = publish(runtime, sensitive_code(estate()), "protect codes")

    protection = protector(runtime)
    stored = raw(runtime, "building", "code", "code__bidx", "_old_code__v2")
    assert [row[0] is None for row in stored] == [False, True, False]
    for (ciphertext, digest, old), code in zip(stored, codes, strict=True):
        if code is None:
            assert (ciphertext, digest) == (None, None)
            continue
        assert ciphertext.startswith("a1:") and code.strip() not in ciphertext
        assert protection.decrypt(CODE, ciphertext) == code
        assert digest == protection.blind_index(CODE, code)
        assert old is None  # the clear value is not kept beside its ciphertext
    assert result.log.converted == 2
    assert findings(result, "code") == [
        ("info", "2 values will be encrypted, with a blind index for exact match", 2)
    ]
    assert any("field code converted; encrypted" in step for step in result.log.steps)
    assert "created index uq_estate__building_code__bidx" in result.log.steps


def test_publish_turning_a_field_back_decrypts_it(runtime: Runtime) -> None:
    insert(runtime, "building", [{"name": "a", "code": "B-1"}, {"name": "b", "code": None}])
    publish(runtime, sensitive_code(estate()), "protect codes")

    result = publish(runtime, estate(), "codes in clear")

    assert raw(runtime, "building", "code") == [("B-1",), (None,)]
    assert findings(result, "code") == [
        ("info", "1 values will be decrypted back to clear text", 1)
    ]
    assert "code__bidx" not in live_columns(runtime, "building")
    assert "_removed_code__bidx__v3" in live_columns(runtime, "building")
    assert "created index uq_estate__building_code" in result.log.steps


def test_sensitive_decimal_keeps_its_exact_value(runtime: Runtime) -> None:
    insert(runtime, "unit", [{"code": "A-1", "rent": Decimal("1200.50")}])

    publish(runtime, sensitive_rent(estate()), "protect rent")

    [(ciphertext,)] = raw(runtime, "unit", "rent")
    assert protector(runtime).unseal(RENT, "decimal", ciphertext) == Decimal("1200.50")
    assert str(protector(runtime).unseal(RENT, "decimal", ciphertext)) == "1200.50"


def test_type_change_of_a_sensitive_field_decrypts_converts_and_encrypts(
    runtime: Runtime,
) -> None:
    insert(runtime, "unit", [{"code": "A-1", "rent": Decimal("1200.50")}])
    publish(runtime, sensitive_rent(estate()), "protect rent")

    result = publish(runtime, sensitive_rent(estate(), scale=3), "finer rent")

    [(ciphertext, digest)] = raw(runtime, "unit", "rent", "rent__bidx")
    assert str(protector(runtime).unseal(RENT, "decimal", ciphertext)) == "1200.500"
    assert digest == protector(runtime).blind_index(RENT, Decimal("1200.500"))
    assert findings(result, "rent") == [("info", "1 values convert from decimal to decimal", 1)]


def test_values_that_cannot_convert_while_turning_sensitive_are_data_loss(
    runtime: Runtime,
) -> None:
    insert(runtime, "building", [{"name": "a", "code": "12"}, {"name": "b", "code": "B-1"}])
    folder = estate()
    entity(folder, "building")["fields"]["code"] = {"type": "integer", "sensitive": True}
    entity(folder, "building")["search_fields"] = ["name"]

    with pytest.raises(DataLossRefused) as refused:
        publish(runtime, folder, "codes as protected numbers")

    [detail] = refused.value.details
    assert detail["sample"] == [
        {"id": 2, "value": "****", "reason": "expected an integer, got 'B-1'"}
    ]


def test_values_equal_after_normalising_block_a_unique_sensitive_field(runtime: Runtime) -> None:
    insert(runtime, "building", [{"name": "a", "code": "ab-1"}, {"name": "b", "code": "AB-1"}])

    with pytest.raises(PublishBlocked) as blocked:
        publish(runtime, sensitive_code(estate()), "protect codes")

    [detail] = blocked.value.details
    assert detail["message"] == "converted to string, 1 values would occur more than once"
    assert detail["sample"] == [{"value": "a**1", "rows": 2}]  # masked, never in clear


def test_unique_sensitive_field_refuses_a_duplicate_through_its_blind_index(
    runtime: Runtime,
) -> None:
    publish(runtime, sensitive_code(estate()), "protect codes")
    protection = protector(runtime)

    def row(code: str) -> dict[str, Any]:
        sealed = protection.seal(CODE, code)
        return {"name": code, "code": sealed.ciphertext, "code__bidx": sealed.blind_index}

    insert(runtime, "building", [row("B-1")])
    with pytest.raises(sa.exc.IntegrityError):
        insert(runtime, "building", [row("b-1")])


def test_new_sensitive_field_with_a_default_stores_it_encrypted(runtime: Runtime) -> None:
    insert(runtime, "building", [{"name": "a"}, {"name": "b"}])
    folder = estate()
    place = "estate.building.grade"
    entity(folder, "building")["fields"]["grade"] = {
        "type": "string",
        "sensitive": True,
        "default": "A",
    }

    publish(runtime, folder, "graded")

    stored = raw(runtime, "building", "grade", "grade__bidx")
    assert [protector(runtime).decrypt(place, c) for c, _ in stored] == ["A", "A"]
    assert {d for _, d in stored} == {protector(runtime).blind_index(place, "A")}


def test_dry_run_checks_new_limits_of_a_sensitive_field_after_decrypting(
    runtime: Runtime,
) -> None:
    insert(
        runtime,
        "unit",
        [{"code": "A-1", "rent": Decimal("800.00")}, {"code": "A-2", "rent": Decimal("3000")}],
    )
    publish(runtime, sensitive_rent(estate()), "protect rent")

    result = publish(runtime, sensitive_rent(estate(), min=1000), "rent at least 1000")

    [finding] = [f for f in result.plan.report.findings if f.field == "rent"]
    assert (finding.severity, finding.message) == (
        "warning",
        "1 rows are below the new minimum 1000",
    )
    assert finding.sample == [{"id": 1, "value": "****"}]


def test_dry_run_makes_unique_a_sensitive_field_by_its_blind_index(runtime: Runtime) -> None:
    insert(runtime, "unit", [{"code": "A-1", "floor": 3}, {"code": "A-2", "floor": 3}])
    folder = estate()
    entity(folder, "unit")["fields"]["floor"]["sensitive"] = True
    publish(runtime, folder, "protect floor")
    entity(folder, "unit")["fields"]["floor"]["unique"] = True

    with pytest.raises(PublishBlocked) as blocked:
        publish(runtime, folder, "one unit per floor")

    [detail] = blocked.value.details
    assert detail["path"] == "estate.unit.floor"
    assert detail["rows"] == 2


def test_new_rule_on_a_sensitive_field_is_not_checked_in_sql(runtime: Runtime) -> None:
    insert(runtime, "unit", [{"code": "A-1", "rent": Decimal("800.00")}])
    folder = sensitive_rent(estate())
    publish(runtime, folder, "protect rent")
    entity(folder, "unit")["rules"] = [
        {"when": "rent > 500", "field": "rent", "message": {"en": "too high"}}
    ]

    result = publish(runtime, folder, "rent rule")

    assert findings(result, "rent") == [
        (
            "info",
            "existing rows cannot be checked against the new rule 'rent > 500' in the database",
            None,
        )
    ]

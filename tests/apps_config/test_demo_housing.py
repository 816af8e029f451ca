"""The demo data generator: its rows pass the shipped definitions' own checks, and repeat."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest

from engine.expressions import Environment
from engine.expressions.definitions import compile_definitions, load_definitions
from metamodel.definitions import Definitions
from metamodel.fields import (
    BooleanField,
    DateField,
    DateTimeField,
    DecimalField,
    EnumField,
    FileField,
    IntegerField,
    ReferenceField,
    StringField,
    TextField,
)
from metamodel.loader import read_folder
from plugins.builtin.demo_common import BATCH_SIZE
from plugins.builtin.demo_housing import generate
from tests.apps_config.shipped import SHIPPED

APPS_CONFIG = Path(__file__).resolve().parents[2] / "apps_config"
UNITS = 200
ENTITIES = [
    ("housing_stock", "region"),
    ("housing_stock", "enterprise"),
    ("housing_stock", "project"),
    ("housing_stock", "unit_type"),
    ("housing_stock", "building"),
    ("housing_stock", "housing_unit"),
    ("public_rental", "household"),
    ("public_rental", "household_member"),
    ("public_rental", "application"),
    ("public_rental", "lease_contract"),
    ("public_rental", "waitlist_entry"),
    ("public_rental", "rent_bill"),
    ("subsidy", "subsidy_recipient"),
    ("subsidy", "subsidy_disbursement"),
    ("ecosystem", "supplier"),
    ("ecosystem", "supplier_delivery"),
    ("ecosystem", "supplier_incident"),
]
START_IDS = {key: 100 * n + 7 for n, key in enumerate(ENTITIES, 1)}
Rows = dict[tuple[str, str], list[dict[str, Any]]]


@pytest.fixture(scope="module")
def definitions() -> Definitions:
    return load_definitions(read_folder(APPS_CONFIG), SHIPPED.functions, SHIPPED.field_types)


@pytest.fixture(scope="module")
def batches() -> list[tuple[str, str, list[dict[str, Any]]]]:
    return list(generate(UNITS, START_IDS))


@pytest.fixture(scope="module")
def rows(batches: list[tuple[str, str, list[dict[str, Any]]]]) -> Rows:
    collected: Rows = {}
    for app, entity, batch in batches:
        collected.setdefault((app, entity), []).extend(batch)
    return collected


# Independent checksum rules: GB 11643 weights are 2^(17-i) mod 11, GB 32100 weights 3^i mod 31.
def resident_id_is_valid(number: str) -> bool:
    total = sum(int(c) * pow(2, 17 - i, 11) for i, c in enumerate(number[:17]))
    return number[17] == "0123456789X"[(12 - total % 11) % 11]


def credit_code_is_valid(code: str) -> bool:
    chars = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    total = sum(chars.index(c) * pow(3, i, 31) for i, c in enumerate(code[:17]))
    org = code[8:17]
    org_total = sum(int(c, 36) * w for c, w in zip(org[:8], (3, 7, 9, 10, 5, 8, 4, 2), strict=True))
    return (
        code[17] == chars[(31 - total % 31) % 31] and org[8] == "0123456789X0"[11 - org_total % 11]
    )


def problems(spec: Any, value: Any) -> list[str]:
    """What is wrong with `value` for a field, by the definition's own rules."""
    if value is None:
        return ["required"] if spec.required else []
    found: list[str] = []
    if isinstance(spec, StringField | TextField):
        if not isinstance(value, str):
            return [f"{value!r} is not text"]
        if spec.max_length is not None and len(value) > spec.max_length:
            found.append(f"{value!r} is longer than {spec.max_length}")
    if isinstance(spec, StringField):
        if spec.min_length is not None and len(value) < spec.min_length:
            found.append(f"{value!r} is shorter than {spec.min_length}")
        if spec.pattern and not re.fullmatch(spec.pattern, value):
            found.append(f"{value!r} does not match {spec.pattern}")
    if isinstance(spec, IntegerField | ReferenceField) and (
        isinstance(value, bool) or not isinstance(value, int)
    ):
        return [f"{value!r} is not an integer"]
    if isinstance(spec, DecimalField):
        if not isinstance(value, Decimal):
            return [f"{value!r} is not a Decimal"]
        if value.as_tuple().exponent != -spec.scale:
            found.append(f"{value} does not have {spec.scale} decimal places")
        if len(value.as_tuple().digits) > spec.precision:
            found.append(f"{value} has more than {spec.precision} digits")
    if isinstance(spec, IntegerField | DecimalField | DateField):
        if spec.min is not None and value < spec.min:
            found.append(f"{value} is below {spec.min}")
        if spec.max is not None and value > spec.max:
            found.append(f"{value} is above {spec.max}")
    if isinstance(spec, BooleanField) and not isinstance(value, bool):
        found.append(f"{value!r} is not a boolean")
    if isinstance(spec, DateField) and type(value) is not date:
        found.append(f"{value!r} is not a date")
    if isinstance(spec, DateTimeField) and (
        not isinstance(value, datetime) or value.utcoffset() != timedelta(0)
    ):
        found.append(f"{value!r} is not a UTC datetime")
    if isinstance(spec, EnumField) and value not in {option.value for option in spec.options}:
        found.append(f"{value!r} is not an option")
    if isinstance(spec, FileField):
        found.append("no demo files")
    return found


def test_known_check_characters_are_accepted() -> None:
    assert resident_id_is_valid("11010519491231002X")
    assert not resident_id_is_valid("110105194912310021")
    assert credit_code_is_valid("91350100M000100Y43")


def test_batches_are_small_and_in_dependency_order(batches: list[Any]) -> None:
    assert all(0 < len(batch) <= BATCH_SIZE for _, _, batch in batches)
    order = list(dict.fromkeys((app, entity) for app, entity, _ in batches))
    assert order == ENTITIES


def test_counts_follow_the_number_of_units(rows: Rows) -> None:
    assert len(rows[("housing_stock", "housing_unit")]) == UNITS
    assert len(rows[("public_rental", "household")]) == UNITS // 10
    assert len(rows[("public_rental", "application")]) == UNITS // 10
    assert len(rows[("public_rental", "lease_contract")]) > 0


@pytest.mark.parametrize("key", ENTITIES, ids=lambda key: ".".join(key))
def test_ids_start_at_the_first_free_id(rows: Rows, key: tuple[str, str]) -> None:
    ids = [row["id"] for row in rows[key]]
    assert ids == list(range(START_IDS[key], START_IDS[key] + len(ids)))


@pytest.mark.parametrize("key", ENTITIES, ids=lambda key: ".".join(key))
def test_rows_pass_the_field_checks(
    definitions: Definitions, rows: Rows, key: tuple[str, str]
) -> None:
    entity = definitions.apps[key[0]].entities[key[1]]
    stored = {name: spec for name, spec in entity.fields.items() if not spec.virtual}
    flow = definitions.flow_of(*key)
    system = {"id", "state", "flow_version"} if flow else {"id"}
    for row in rows[key]:
        assert set(row) == {*system, *stored}
        if flow:
            assert row["state"] in flow.states and row["flow_version"] is None
        found = {name: problems(spec, row[name]) for name, spec in stored.items()}
        assert {name: p for name, p in found.items() if p} == {}, row


@pytest.mark.parametrize("key", ENTITIES, ids=lambda key: ".".join(key))
def test_rows_agree_with_computed_fields_and_rules(
    definitions: Definitions, rows: Rows, key: tuple[str, str]
) -> None:
    """Bulk loading skips the records path, so the generator must compute as definitions do."""
    compiled = compile_definitions(definitions, SHIPPED.functions).entities[key]
    env = Environment()
    for row in rows[key]:
        for name, expression in compiled.computed.items():
            expected = expression.evaluate(row, env)
            assert row[name] == (expected if expected is None else round(expected, 2)), name
        broken = [rule.when for rule, expression in compiled.rules if expression.test(row, env)]
        assert broken == [], row


@pytest.mark.parametrize("key", ENTITIES, ids=lambda key: ".".join(key))
def test_unique_fields_and_indexes_hold(
    definitions: Definitions, rows: Rows, key: tuple[str, str]
) -> None:
    entity = definitions.apps[key[0]].entities[key[1]]
    unique_sets = [[name] for name, spec in entity.fields.items() if spec.unique]
    unique_sets += [index.fields for index in entity.indexes if index.unique]
    for names in unique_sets:
        values = Counter(tuple(row[name] for name in names) for row in rows[key])
        assert [value for value, n in values.items() if n > 1] == [], names


def test_references_point_at_rows_generated_before(
    definitions: Definitions, batches: list[Any]
) -> None:
    seen: dict[tuple[str, str], set[int]] = {}
    for app, entity_name, batch in batches:
        entity = definitions.apps[app].entities[entity_name]
        references = {}
        for name, spec in entity.fields.items():
            if isinstance(spec, ReferenceField):
                target = definitions.resolve(app, spec.entity)
                assert target is not None
                references[name] = (target[0], target[1].name)
        for row in batch:
            for name, target in references.items():
                assert row[name] is None or row[name] in seen.get(target, set()), (
                    entity_name,
                    name,
                )
            seen.setdefault((app, entity_name), set()).add(row["id"])


def test_id_numbers_and_credit_codes_have_valid_check_characters(rows: Rows) -> None:
    numbers = [row["id_number"] for row in rows[("public_rental", "household_member")]]
    numbers += [row["agent_id_number"] for row in rows[("public_rental", "household")]]
    numbers += [row["lessee_id_number"] for row in rows[("public_rental", "lease_contract")]]
    assert [n for n in numbers if n is not None and not resident_id_is_valid(n)] == []
    codes = [row["uscc"] for row in rows[("housing_stock", "enterprise")]]
    assert [code for code in codes if not credit_code_is_valid(code)] == []


def test_id_numbers_agree_with_birth_date_and_gender(rows: Rows) -> None:
    for member in rows[("public_rental", "household_member")]:
        number = member["id_number"]
        assert number[6:14] == member["birth_date"].strftime("%Y%m%d")
        assert int(number[16]) % 2 == (member["gender"] == "male")


def test_monthly_rent_is_rent_standard_times_usable_area(rows: Rows) -> None:
    for key in [("housing_stock", "housing_unit"), ("public_rental", "lease_contract")]:
        for row in rows[key]:
            expected = (row["rent_standard"] * row["usable_area"]).quantize(
                Decimal("0.01"), ROUND_HALF_UP
            )
            assert row["monthly_rent"] == expected


def test_units_are_mostly_let_with_some_vacant(rows: Rows) -> None:
    units = rows[("housing_stock", "housing_unit")]
    statuses = Counter(row["status"] for row in units)
    assert statuses.most_common(1)[0][0] == "let" and statuses["vacant"] > 0
    public = [row for row in units if row["housing_type"] == "public_rental"]
    assert {row["rent_standard"] for row in public} <= {
        Decimal(c) / 100 for c in range(240, 310, 10)
    }
    assert all(Decimal(30) <= row["usable_area"] <= Decimal(70) for row in units)


def test_leases_are_of_let_units_and_copy_their_rent(rows: Rows) -> None:
    units = {row["id"]: row for row in rows[("housing_stock", "housing_unit")]}
    households = {row["id"]: row for row in rows[("public_rental", "household")]}
    for contract in rows[("public_rental", "lease_contract")]:
        unit = units[contract["housing_unit"]]
        assert unit["status"] == "let"
        assert (contract["rent_standard"], contract["usable_area"], contract["monthly_rent"]) == (
            unit["rent_standard"],
            unit["usable_area"],
            unit["monthly_rent"],
        )
        assert contract["lessee_id_number"] == households[contract["household"]]["id_number"]
        assert contract["start_date"] < contract["end_date"]


def test_the_same_seed_gives_the_same_rows(batches: list[Any]) -> None:
    assert list(generate(UNITS, START_IDS)) == batches
    assert list(generate(UNITS, START_IDS, seed=7)) != batches


@pytest.mark.parametrize("units", [0, 1, 37, 1234])
def test_exactly_the_asked_number_of_units(units: int) -> None:
    counts: Counter[tuple[str, str]] = Counter()
    for app, entity, batch in generate(units, {}):
        counts[(app, entity)] += len(batch)
    assert counts[("housing_stock", "housing_unit")] == units
    assert counts[("public_rental", "household")] == units // 10

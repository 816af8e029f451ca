"""The house_code plugin's pure parts: building and checking codes, the `house_code`
expression function as a configurator writes it, and public tokens (no database)."""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest

from engine.expressions import Environment, ExpressionError, compile_expression
from engine.expressions.definitions import load_definitions
from engine.expressions.functions import FunctionRegistry
from engine.expressions.scope import DEFAULT, Scope
from engine.settings import Settings
from metamodel.loader import document_from_content
from plugins.builtin.house_code.codes import HouseCode, Location, build_code, location_problems
from plugins.builtin.house_code.tokens import code_of_token, house_key, public_token
from plugins.manager import build_extensions

CODE = "430104-0012-003-02-0501"


@pytest.mark.parametrize(
    "parts, code",
    [
        (("430104", "0012", "003", "02", 5, "0501"), CODE),  # room_no holds floor and room
        (("430104", 12, 3, 2, 5, 1), CODE),  # the room on the floor
        (("430104", 12, 3, 2, 5, "01"), CODE),
        ((430104, 12, 3, 2, 5, 501), CODE),
        (("430104", 9999, 999, 99, 99, 99), "430104-9999-999-99-9999"),
        (("43010", 12, 3, 2, 5, 1), None),  # district of 5 digits
        (("43010X", 12, 3, 2, 5, 1), None),
        (("430104", 10000, 3, 2, 5, 1), None),  # project of 5 digits
        (("430104", 12, 1000, 2, 5, 1), None),
        (("430104", 12, 3, "A", 5, 1), None),  # a stairwell named by a letter
        (("430104", 12, 3, 2, -1, 1), None),  # below ground
        (("430104", 12, 3, 2, 6, "0501"), None),  # room 0501 is on floor 5, not 6
        (("430104", 12, 3, 2, 5, "５０１"), None),  # full-width digits are not digits here
    ],
)
def test_a_code_is_built_from_its_parts(parts: tuple[Any, ...], code: str | None) -> None:
    assert build_code(*parts) == code


def test_a_code_is_read_back_into_its_parts() -> None:
    parsed = HouseCode.parse(CODE)
    assert parsed == HouseCode("430104", 12, 3, 2, 5, 1)
    assert parsed is not None and parsed.building_code == "430104-0012-003"
    assert str(parsed) == CODE
    assert HouseCode.parse("430104-0012-003-02-501") is None
    assert HouseCode.parse(f"{CODE}-7") is None


@cache
def functions() -> FunctionRegistry:
    """The functions of an instance that loads this plugin, as the plugin manager builds it."""
    settings = Settings(plugins=["plugins.builtin.house_code"], plugin_entry_points=False)
    extensions = build_extensions(settings)
    [plugin] = extensions.plugins
    assert (plugin.name, plugin.status) == ("house_code", "active")
    assert plugin.description.startswith("One house, one code (一房一码)")
    return extensions.functions


HOUSE = {  # the housing unit's parts a code is built from, as the shipped entity has them
    "label": {"zh": "房屋", "en": "House"},
    "fields": {
        "code": {"type": "string", "max_length": 23},
        "stairwell": {"type": "string", "max_length": 10},
        "floor": {"type": "integer"},
        "room_no": {"type": "string", "max_length": 10},
    },
    "title_field": "code",
}


def unit_default(source: str) -> Any:
    """Compile `source` as a default of a housing unit, with the plugin's functions."""
    documents = [
        document_from_content("stock", "app", "app", {"label": {"zh": "房源"}}),
        document_from_content("stock", "entity", "house", HOUSE),
    ]
    definitions = load_definitions(documents, functions())
    scope = Scope(definitions, "stock", definitions.apps["stock"].entities["house"], DEFAULT)
    return compile_expression(source, scope, functions())


@pytest.mark.parametrize(
    "record, code",
    [
        ({"stairwell": "02", "floor": 5, "room_no": "0501"}, CODE),
        ({"stairwell": "2", "floor": 12, "room_no": "03"}, "430104-0012-003-02-1203"),
        ({"stairwell": None, "floor": 5, "room_no": "0501"}, None),
        ({"stairwell": "02", "floor": 5, "room_no": "0601"}, None),
    ],
)
def test_a_form_can_default_the_code_from_the_units_fields(
    record: dict[str, Any], code: str | None
) -> None:
    expression = unit_default("house_code('430104', 12, '003', stairwell, floor, room_no)")
    assert expression.type.kind == "string"
    assert expression.evaluate(record, Environment()) == code


def test_a_part_of_the_wrong_type_is_pointed_at() -> None:
    with pytest.raises(ExpressionError, match="argument 3 \\(building_no\\)"):
        unit_default("house_code('430104', 12, today, stairwell, floor, room_no)")
    with pytest.raises(ExpressionError):
        unit_default("house_code('430104', 12, 3, stairwell, floor)")


@pytest.mark.parametrize(
    "where, mistakes",
    [
        (
            Location("430104", "430104-0012-003", "02", 5, "0501"),
            [],
        ),
        (Location(), []),  # nothing to compare with
        (Location(stairwell="A", floor=-1, room_no="A501"), []),  # not comparable
        (Location(room_no="01"), []),  # the room on the floor
        (Location(room_no="501"), []),
        (Location(district_code="430105"), ["district 430104 is not the district's code"]),
        (Location(building_code="430104-0012-004"), ["must start with its building's code"]),
        (Location(stairwell="1"), ["stairwell 02 is not the stairwell 1"]),
        (Location(floor=6), ["floor 05 is not the floor 6"]),
        (Location(room_no="0510"), ["room 0501 is not the room number 0510"]),
        (
            Location("430104", "430104-0012-003", "02", 15, "1501"),
            ["floor 05 is not the floor 15", "room 0501 is not the room number 1501"],
        ),
    ],
)
def test_a_mistyped_code_disagrees_with_the_units_location(
    where: Location, mistakes: list[str]
) -> None:
    problems = location_problems(CODE, where, "en")
    assert len(problems) == len(mistakes)
    for problem, mistake in zip(problems, mistakes, strict=True):
        assert mistake in problem


def test_a_code_of_another_format_is_explained_in_chinese() -> None:
    [problem] = location_problems("430104-12-3-2-501", Location())
    assert "区县6位-项目4位-楼栋3位-单元2位-楼层房号4位" in problem


def test_the_demo_units_codes_agree_with_their_location() -> None:
    """Demo data is loaded in bulk, past the check: it must pass it all the same."""
    from plugins.builtin.demo_housing import generate  # with the demo's whole import chain

    rows: dict[str, list[dict[str, Any]]] = {}
    for _app, entity, batch in generate(300, {}):
        rows.setdefault(entity, []).extend(batch)
    regions = {row["id"]: row["code"] for row in rows["region"]}
    buildings = {row["id"]: row["code"] for row in rows["building"]}
    units = rows["housing_unit"]
    assert len(units) == 300
    problems = {
        unit["code"]: location_problems(
            unit["code"],
            Location(
                regions[unit["district"]],
                buildings[unit["building"]],
                unit["stairwell"],
                unit["floor"],
                unit["room_no"],
            ),
        )
        for unit in units
    }
    assert {code: found for code, found in problems.items() if found} == {}


KEY = house_key("the secret of one instance")


def test_a_token_is_stable_and_leads_back_to_its_code() -> None:
    token = public_token(KEY, CODE)
    assert token == public_token(house_key("the secret of one instance"), CODE)
    assert token.startswith(f"{CODE}-") and len(token) == len(CODE) + 1 + 24
    assert code_of_token(KEY, token) == CODE


def test_tokens_differ_from_unit_to_unit() -> None:
    codes = [
        f"430104-0012-003-{s:02d}-{f:02d}{r:02d}"
        for s in (1, 2)
        for f in range(1, 34)
        for r in range(1, 7)
    ]
    macs = {public_token(KEY, code).rsplit("-", 1)[1] for code in codes}
    assert len(macs) == len(codes)


def test_a_token_cannot_be_made_or_changed_without_the_key() -> None:
    token = public_token(KEY, CODE)
    mac = token.rsplit("-", 1)[1]
    other_instance = house_key("the secret of another instance")
    assert public_token(other_instance, CODE) != token
    assert code_of_token(other_instance, token) is None
    neighbour = "430104-0012-003-02-0502"
    assert code_of_token(KEY, f"{neighbour}-{mac}") is None  # walking the codes
    flipped = ("b" if mac[0] == "a" else "a") + mac[1:]
    assert code_of_token(KEY, f"{CODE}-{flipped}") is None
    for malformed in ("", CODE, f"{CODE}-{mac.upper()}", f"{CODE}-{mac}x", f"{token}.json"):
        assert code_of_token(KEY, malformed) is None

"""Canonical form: defaults stripped and a stable key order, so equal content hashes equally."""

from __future__ import annotations

from typing import Any

import pytest

from metamodel.canonical import canonical, content_hash
from metamodel.models import Entity


def canonical_entity(data: dict[str, Any]) -> dict[str, Any]:
    return canonical(Entity.model_validate({"name": "unit", **data}))


def test_defaults_are_stripped() -> None:
    spelled_out = {
        "fields": {
            "code": {
                "type": "string",
                "max_length": 255,
                "required": False,
                "unique": False,
                "index": False,
            },
            "rent": {"type": "decimal", "precision": 18, "scale": 2},
            "building": {"type": "reference", "entity": "building", "on_delete": "restrict"},
        },
        "indexes": [],
        "search_fields": [],
    }

    assert canonical_entity(spelled_out) == {
        "name": "unit",
        "fields": {
            "code": {"type": "string"},
            "rent": {"type": "decimal"},
            "building": {"type": "reference", "entity": "building"},
        },
    }


def test_name_and_type_lead_whatever_order_was_written() -> None:
    content = canonical_entity({"fields": {"floor": {"max": 9, "min": 1, "type": "integer"}}})

    assert list(content) == ["name", "fields"]
    assert list(content["fields"]["floor"]) == ["type", "min", "max"]


SAME_CONTENT = {
    "key order": (
        {"label": "房屋", "fields": {"floor": {"type": "integer", "min": 1, "required": True}}},
        {"fields": {"floor": {"required": True, "min": 1, "type": "integer"}}, "label": "房屋"},
    ),
    "plain-string label": (
        {"label": "房屋", "fields": {"code": {"type": "string", "label": "编码"}}},
        {"label": {"zh": "房屋"}, "fields": {"code": {"type": "string", "label": {"zh": "编码"}}}},
    ),
    "label languages in another order": (
        {"label": {"zh": "房屋", "en": "Unit"}, "fields": {"code": {"type": "string"}}},
        {"label": {"en": "Unit", "zh": "房屋"}, "fields": {"code": {"type": "string"}}},
    ),
    "defaults written out": (
        {"fields": {"active": {"type": "boolean"}}},
        {"fields": {"active": {"type": "boolean", "required": False, "default": None}}},
    ),
    "decimal written with a trailing zero": (
        {"fields": {"rent": {"type": "decimal", "min": "0.5"}}},
        {"fields": {"rent": {"type": "decimal", "min": "0.50"}}},
    ),
}


@pytest.mark.parametrize(("one", "other"), SAME_CONTENT.values(), ids=SAME_CONTENT.keys())
def test_same_content_has_the_same_hash(one: dict[str, Any], other: dict[str, Any]) -> None:
    assert content_hash(canonical_entity(one)) == content_hash(canonical_entity(other))


def test_different_content_has_another_hash() -> None:
    one = canonical_entity({"fields": {"floor": {"type": "integer", "min": 1}}})
    other = canonical_entity({"fields": {"floor": {"type": "integer", "min": 2}}})

    assert content_hash(one) != content_hash(other)


def test_dates_and_decimals_become_json_text() -> None:
    content = canonical_entity(
        {
            "fields": {
                "rent": {"type": "decimal", "min": "0.25"},
                "let_on": {"type": "date", "min": "2024-01-01"},
            }
        }
    )

    assert content["fields"]["rent"]["min"] == "0.25"
    assert content["fields"]["let_on"]["min"] == "2024-01-01"

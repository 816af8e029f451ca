"""What the public page of a unit shows: its verified status, and nothing about people.

The page lists the unit's code, the names of its project, building, district and street, and
the fields of `PUBLIC_FIELDS`, with the labels the entity's definition gives them. Nothing
else is read: no lessee, household or contract, no address, no remarks. A field the
definition marks `sensitive` is never shown, even if it is listed here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from engine.catalog import Catalog, CompiledEntity
from metamodel.fields import EnumField

HOUSE_ENTITY = ("housing_stock", "housing_unit")
NAMED = ("project", "building", "district", "street")  # references, shown by their `name`
PUBLIC_FIELDS = ("layout", "usable_area", "rent_standard", "status", "housing_type")
PLATFORM = {"zh": "安居住房保障平台", "en": "Anju housing platform"}


@dataclass(frozen=True)
class Item:
    """One line of the page: a field's labels and its value; `options` are an enum value's
    labels."""

    name: str
    label: dict[str, str]
    value: str
    options: dict[str, str] | None = None

    def as_json(self) -> str | dict[str, Any]:
        if self.options is None:
            return self.value
        return {"value": self.value, "label": self.options}


@dataclass(frozen=True)
class HouseStatus:
    """The view model of the public page (`templates/house.html`) and of its JSON."""

    code: str
    code_label: dict[str, str]
    items: list[Item]
    verified_on: date
    verified_by: dict[str, str]

    def as_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            **{item.name: item.as_json() for item in self.items},
            "verified_by": self.verified_by,
            "verified_on": self.verified_on.isoformat(),
        }


def house_entity(catalog: Catalog) -> CompiledEntity | None:
    return catalog.entity(*HOUSE_ENTITY)


def _shown(entity: CompiledEntity, name: str) -> bool:
    spec = entity.fields.get(name)
    return spec is not None and not spec.sensitive


def read_status(
    conn: sa.Connection, catalog: Catalog, code: str, today: date
) -> HouseStatus | None:
    """The public status of the unit with `code`, or None when there is none."""
    unit = house_entity(catalog)
    if unit is None:
        return None
    table = unit.table
    columns: list[sa.ColumnElement[Any]] = [table.c.code]
    joined: sa.FromClause = table
    named = []
    for name in NAMED:
        target = unit.references.get(name)
        if target is None or not _shown(unit, name) or not _shown(target, "name"):
            continue
        alias = target.table.alias(f"named_{name}")
        joined = joined.outerjoin(alias, alias.c.id == table.c[name])
        columns.append(alias.c.name.label(name))
        named.append(name)
    fields = [name for name in PUBLIC_FIELDS if _shown(unit, name)]
    columns += [table.c[name] for name in fields]
    query = sa.select(*columns).select_from(joined).where(table.c.code == code)
    row = conn.execute(query).mappings().first()
    if row is None:
        return None
    items = [_item(unit, name, row[name]) for name in (*named, *fields)]
    return HouseStatus(
        code=row["code"],
        code_label=_labels(unit, "code"),
        items=[item for item in items if item is not None],
        verified_on=today,
        verified_by=PLATFORM,
    )


def _plain(labels: Mapping[Any, str]) -> dict[str, str]:
    return {str(language): text for language, text in labels.items()}


def _labels(entity: CompiledEntity, name: str) -> dict[str, str]:
    return _plain(entity.fields[name].label) or {"zh": name, "en": name}


def _item(entity: CompiledEntity, name: str, value: Any) -> Item | None:
    if value is None:
        return None
    spec = entity.fields[name]
    if isinstance(spec, EnumField):
        option = next((o for o in spec.options if o.value == value), None)
        labels = _plain(option.label) if option is not None and option.label else {"zh": value}
        return Item(name, _labels(entity, name), str(value), labels)
    text = format(value, "f") if isinstance(value, Decimal) else str(value)
    return Item(name, _labels(entity, name), text)

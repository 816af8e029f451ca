"""Field values as screens show them: enum labels, yes/no, dates, exact decimals, file
names, reference titles. Masked values arrive masked from the records service and are
shown as they are."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson
import sqlalchemy as sa

from engine.catalog import CompiledEntity
from metamodel.fields import FieldDefinition
from metamodel.labels import pick

YES_NO = {"zh": ("是", "否"), "en": ("Yes", "No")}


def field_label(entity: CompiledEntity, name: str, language: str) -> str:
    spec = entity.fields.get(name)
    return pick(spec.label, language, name) if spec is not None else name


def show(
    spec: FieldDefinition, value: Any, language: str, titles: dict[int, str] | None = None
) -> str:
    """One value as text; `titles` maps a reference's ids to their titles."""
    if value is None or value == "":
        return ""
    kind = spec.type
    if kind == "enum":
        for option in getattr(spec, "options", []):
            if option.value == value:
                return pick(option.label, language, option.value)
        return str(value)
    if kind == "boolean":
        yes, no = YES_NO[language]
        return yes if value else no
    if kind == "reference":
        return (titles or {}).get(value, f"#{value}") if isinstance(value, int) else str(value)
    if kind == "datetime" and isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if kind == "file" and isinstance(value, dict):
        return str(value.get("name") or value.get("id") or "")
    if isinstance(value, dict | list):
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    return str(value)


def is_number(spec: FieldDefinition) -> bool:
    return spec.type in ("integer", "decimal")


def title_of(entity: CompiledEntity, record: dict[str, Any]) -> str:
    """A record's title: its title field, else `#id`."""
    name = entity.definition.title_field
    value = record.get(name) if name else None
    return str(value) if value not in (None, "") else f"#{record.get('id')}"


def reference_titles(
    conn: sa.Connection, entity: CompiledEntity, records: Iterable[dict[str, Any]]
) -> dict[str, dict[int, str]]:
    """For each reference field of `entity`, the titles of the records the rows point at:
    one query per reference field, whatever the number of rows. Titles are identifiers
    (the target's title field), read without the caller's row scope, as the API shows ids."""
    rows = list(records)
    titles: dict[str, dict[int, str]] = {}
    for name, target in entity.references.items():
        ids = {r[name] for r in rows if isinstance(r.get(name), int)}
        title_field = target.definition.title_field
        if not ids:
            titles[name] = {}
            continue
        if not title_field or title_field not in target.table.c:
            titles[name] = {i: f"#{i}" for i in ids}
            continue
        table = target.table
        query = sa.select(table.c.id, table.c[title_field]).where(table.c.id.in_(ids))
        titles[name] = {row[0]: str(row[1]) for row in conn.execute(query)}
    return titles

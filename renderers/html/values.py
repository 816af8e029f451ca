"""Field values as screens show them: enum labels, yes/no, dates, exact decimals, file
names, reference titles. Masked values arrive masked from the records service and are
shown as they are."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson
import sqlalchemy as sa

from engine.catalog import CompiledEntity
from engine.permissions import access_for
from engine.principal import Principal
from engine.records.evaluation import environment, sql_context
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
    return shower(spec, language, titles)(value)


Show = Callable[[Any], str]


def shower(spec: FieldDefinition, language: str, titles: dict[int, str] | None = None) -> Show:
    """`show` for one field, with the field's own work (its enum labels, its titles) done
    once: a list page shows hundreds of values of the same few fields."""
    kind = spec.type
    if kind == "enum":
        labels = {o.value: pick(o.label, language, o.value) for o in getattr(spec, "options", [])}
        return lambda value: "" if value is None else labels.get(value) or str(value)
    if kind == "boolean":
        yes, no = YES_NO[language]
        return lambda value: "" if value is None or value == "" else (yes if value else no)
    if kind == "reference":
        known = titles or {}
        return lambda value: "" if value is None else known.get(value) or f"#{value}"
    return lambda value: _text(kind, value)


def _text(kind: str, value: Any) -> str:
    if value is None or value == "":
        return ""
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
    conn: sa.Connection,
    entity: CompiledEntity,
    records: Iterable[dict[str, Any]],
    principal: Principal | None = None,
    fields: Collection[str] | None = None,
) -> dict[str, dict[int, str]]:
    """For each reference field of `entity`, the titles of the records the rows point at:
    one query per reference field, whatever the number of rows.

    With `principal`, a title is read only from records it may list and only when it sees
    the title field in clear, so a title never leaks; the others show as `#id`. Without one
    (the platform's own views), titles are read unscoped. `fields` limits the work to the
    reference fields a screen shows."""
    rows = list(records)
    titles: dict[str, dict[int, str]] = {}
    for name, target in entity.references.items():
        if fields is not None and name not in fields:
            continue
        ids = {r[name] for r in rows if isinstance(r.get(name), int)}
        found = _titles(conn, target, ids, principal) if ids else {}
        titles[name] = {i: found.get(i, f"#{i}") for i in ids}
    return titles


def _titles(
    conn: sa.Connection, target: CompiledEntity, ids: set[int], principal: Principal | None
) -> dict[int, str]:
    title_field = target.definition.title_field
    if not title_field or title_field not in target.table.c:
        return {}
    if title_field in target.sensitive_fields:
        return {}  # stored encrypted: never a title
    table = target.table
    query = sa.select(table.c.id, table.c[title_field]).where(table.c.id.in_(ids))
    if principal is not None:
        access = access_for(target, principal)
        if not access.allows("read") or not access.clear(title_field):
            return {}
        if not access.unrestricted:  # admin's scope is everything: skip building the context
            context = sql_context(conn, target, environment(None, target, principal))
            scope = access.row_condition("read", table, context)
            if scope is not None:
                query = query.where(scope)
    return {row[0]: str(row[1]) for row in conn.execute(query) if row[1] not in (None, "")}

"""Field values as screens show them: enum labels, yes/no, dates, exact decimals, file
names, reference titles. Masked values arrive masked from the records service and are
shown as they are."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import sqlalchemy as sa

from engine.catalog import DEFAULT_TIMEZONE, CompiledEntity
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
    spec: FieldDefinition,
    value: Any,
    language: str,
    titles: dict[int, str] | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> str:
    """One value as text; `titles` maps a reference's ids to their titles; a moment is shown
    on the clock of `timezone` (the catalog's, `zone_of(entity)`), not as stored (UTC)."""
    return shower(spec, language, titles, timezone)(value)


Show = Callable[[Any], str]


def shower(
    spec: FieldDefinition,
    language: str,
    titles: dict[int, str] | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> Show:
    """`show` for one field, with the field's own work (its enum labels, its titles, its
    time zone) done once: a list page shows hundreds of values of the same few fields."""
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
    if kind == "datetime":
        zone = ZoneInfo(timezone)
        return lambda value: _moment(value, zone) if isinstance(value, datetime) else _text(value)
    if kind == "file":
        return _file
    if kind in ("string", "integer"):
        return lambda value: "" if value is None else str(value)
    if kind == "decimal":
        return lambda value: format(value, "f") if isinstance(value, Decimal) else _text(value)
    return _text


def zone_of(entity: CompiledEntity) -> str:
    """The time zone an entity's moments are shown in: its catalog's."""
    return entity.catalog.options.timezone if entity.catalog is not None else DEFAULT_TIMEZONE


def _moment(value: datetime, zone: ZoneInfo) -> str:
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)  # stored in UTC
    return aware.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _text(value: Any) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dict | list):
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    return str(value)


def _file(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("name") or value.get("id") or "")
    return _text(value)


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
    principal: Principal,
    fields: Collection[str] | None = None,
) -> dict[str, dict[int, str]]:
    """For each reference field of `entity`, the titles of the records the rows point at:
    one query for all the fields (a `UNION ALL`), whatever the number of rows.

    A title is read only from records `principal` may list and only when it sees the title
    field in clear, so a title never leaks; the others show as `#id`. `fields` limits the
    work to the reference fields a screen shows."""
    rows = list(records)
    wanted = {
        name: {r[name] for r in rows if isinstance(r.get(name), int)}
        for name in entity.references
        if fields is None or name in fields
    }
    found: dict[str, dict[int, str]] = {name: {} for name in wanted}
    if any(wanted.values()):
        query = _titles_query(conn, entity, tuple(wanted), principal)
        if query is not None:
            values = {_ids_param(name): sorted(ids) for name, ids in wanted.items()}
            for name, record_id, title in conn.execute(query, values):
                if title not in (None, ""):
                    found[name][record_id] = str(title)
    return {name: {i: found[name].get(i, f"#{i}") for i in ids} for name, ids in wanted.items()}


def _titles_query(
    conn: sa.Connection,
    entity: CompiledEntity,
    names: tuple[str, ...],
    principal: Principal,
) -> sa.CompoundSelect | sa.Select[Any] | None:
    """The titles of the fields `names`, each from the ids in its `_ids_param`: None when no
    field has a title this principal may read. Without a row scope on any target the query
    is the same for every request, so it is built once per catalog version (and field set)."""
    parts: list[tuple[str, sa.ColumnElement[bool] | None]] = []
    for name in names:
        target = entity.references[name]
        allowed, scope = _title_access(conn, target, principal)
        if allowed:
            parts.append((name, scope))
    if not parts:
        return None
    if any(scope is not None for _, scope in parts):
        return _union(entity, parts)
    catalog = entity.catalog
    assert catalog is not None, "entities belong to a catalog"
    key = ("reference_titles", entity.app, entity.name, tuple(name for name, _ in parts))
    query = catalog.cache.get(key)
    if query is None:
        query = catalog.cache.setdefault(key, _union(entity, parts))
    return query  # type: ignore[no-any-return]


def _title_access(
    conn: sa.Connection, target: CompiledEntity, principal: Principal
) -> tuple[bool, sa.ColumnElement[bool] | None]:
    """Whether titles of `target` may be shown at all, and the row scope they are read in."""
    title_field = target.definition.title_field
    if not title_field or title_field not in target.table.c:
        return False, None
    if title_field in target.sensitive_fields:
        return False, None  # stored encrypted: never a title
    access = access_for(target, principal)
    if not access.allows("read") or not access.clear(title_field):
        return False, None
    if access.unrestricted:  # admin's scope is everything: skip building the context
        return True, None
    context = sql_context(conn, target, environment(None, target, principal))
    return True, access.row_condition("read", target.table, context)


def _union(
    entity: CompiledEntity, parts: list[tuple[str, sa.ColumnElement[bool] | None]]
) -> sa.CompoundSelect | sa.Select[Any]:
    selects = []
    for name, scope in parts:
        target = entity.references[name]
        table = target.table
        title: sa.ColumnElement[Any] = table.c[target.definition.title_field or "id"]
        if not isinstance(title.type, sa.String):
            title = sa.cast(title, sa.String)  # one column type for every part of the union
        query = sa.select(sa.literal(name, sa.String), table.c.id, title).where(
            table.c.id.in_(sa.bindparam(_ids_param(name), expanding=True))
        )
        selects.append(query if scope is None else query.where(scope))
    return selects[0] if len(selects) == 1 else sa.union_all(*selects)


def _ids_param(name: str) -> str:
    return f"ids_{name}"

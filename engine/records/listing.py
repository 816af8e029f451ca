"""Listing records: filter operators, text search, multi-key sort, keyset pages, capped counts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from engine.catalog import CompiledEntity
from engine.errors import ValidationFailed, field_error
from engine.permissions import FieldLevel, RecordAccess
from engine.principal import Principal
from engine.records.auditing import audit_read
from engine.records.cursor import decode_cursor, encode_cursor
from engine.records.evaluation import environment, sql_context
from engine.records.presenting import present, visible_columns
from engine.records.reading import require_action
from engine.records.sealing import blind_filter
from engine.values import ConversionError, convert, convert_system
from metamodel.fields import (
    BooleanField,
    EnumField,
    JsonField,
    PluginField,
    StringField,
    TextField,
)

OPERATORS = ("eq", "ne", "lt", "lte", "gt", "gte", "in", "contains", "startswith", "isnull")
RESERVED_PARAMS = ("q", "sort", "limit", "cursor")
TEXT_OPERATORS = ("contains", "startswith")
EXACT_OPERATORS = ("eq", "in", "isnull")  # all a masked or encrypted field can be filtered by
BOOLEAN = BooleanField(type="boolean")


@dataclass(frozen=True)
class Filter:
    column: str
    operator: str
    value: Any


@dataclass(frozen=True)
class ListQuery:
    filters: list[Filter] = field(default_factory=list)
    q: str | None = None
    sort: list[tuple[str, bool]] = field(default_factory=list)  # (column, descending)
    limit: int = 50
    cursor: str | None = None

    @property
    def sort_key(self) -> str:
        return ",".join(("-" if desc else "") + name for name, desc in self.sort)


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None
    count: int | None


def parse_list_query(
    entity: CompiledEntity,
    params: Mapping[str, str] | Sequence[tuple[str, str]],
    default_limit: int = 50,
    max_limit: int = 500,
    access: RecordAccess | None = None,
) -> ListQuery:
    """Read `?field=v&field__op=v&q=&sort=&limit=&cursor=`; a 422 names every bad parameter.

    With `access`, fields hidden from the principal are unknown, masked ones exact-match only,
    and a default sort on a field it may not sort by is dropped.
    """
    items = list(params.items()) if isinstance(params, Mapping) else list(params)
    errors: list[dict[str, Any]] = []
    filters: list[Filter] = []
    options: dict[str, str] = {}
    for name, raw in items:
        if name in RESERVED_PARAMS:
            options[name] = raw
            continue
        column, _, operator = name.partition("__")
        operator = operator or "eq"
        try:
            _check_filterable(access, column, operator)
            filters.append(Filter(column, operator, _filter_value(entity, column, operator, raw)))
        except ConversionError as exc:
            errors.append(field_error(name, str(exc)))
    sort = _parse_sort(entity, options.get("sort"), errors, access)
    limit = _parse_limit(options.get("limit"), default_limit, max_limit, errors)
    if errors:
        raise ValidationFailed("invalid query parameters", errors)
    return ListQuery(filters, options.get("q") or None, sort, limit, options.get("cursor") or None)


def _check_filterable(access: RecordAccess | None, column: str, operator: str) -> None:
    if access is None:
        return
    level = access.level(column)
    if level == FieldLevel.HIDDEN:
        raise ConversionError(f"unknown field {column!r}")
    if operator not in EXACT_OPERATORS and (
        level == FieldLevel.MASKED or column in access.entity.sensitive_fields
    ):
        raise ConversionError(
            f"{column!r} is protected; it can be filtered by {', '.join(EXACT_OPERATORS)} only"
        )


def check_query(access: RecordAccess, query: ListQuery) -> None:
    """Refuse a query that reads a field the principal may not filter, search or sort by."""
    errors = []
    for item in query.filters:
        try:
            _check_filterable(access, item.column, item.operator)
        except ConversionError as exc:
            errors.append(field_error(f"{item.column}__{item.operator}", str(exc)))
    for name, _ in query.sort:
        if not _sortable(access, name):
            errors.append(field_error("sort", f"cannot sort by {name!r}"))
    if errors:
        raise ValidationFailed("invalid query parameters", errors)


def _sortable(access: RecordAccess | None, name: str) -> bool:
    if access is None:
        return True
    return access.clear(name) and name not in access.entity.sensitive_fields


def _filter_value(entity: CompiledEntity, column: str, operator: str, raw: str) -> Any:
    if not entity.has_field(column):
        raise ConversionError(f"unknown field {column!r}")
    if operator not in OPERATORS:
        raise ConversionError(
            f"unknown operator {operator!r}; expected one of {', '.join(OPERATORS)}"
        )
    spec = entity.fields.get(column)
    if operator == "isnull":
        return convert_boolean(raw)
    if isinstance(spec, JsonField):
        raise ConversionError("json fields cannot be filtered")
    if operator in TEXT_OPERATORS:
        if not isinstance(spec, StringField | TextField | EnumField | PluginField):
            raise ConversionError(f"{operator} works on text fields only")
        return raw
    if operator == "in":
        return [_one_value(spec, column, part) for part in raw.split(",") if part != ""]
    return _one_value(spec, column, raw)


def convert_boolean(raw: str) -> bool:
    return bool(convert(BOOLEAN, raw))


def _one_value(spec: Any, column: str, raw: str) -> Any:
    return convert(spec, raw) if spec is not None else convert_system(column, raw)


def _parse_sort(
    entity: CompiledEntity,
    raw: str | None,
    errors: list[dict[str, Any]],
    access: RecordAccess | None = None,
) -> list[tuple[str, bool]]:
    terms = raw.split(",") if raw else (entity.definition.default_sort or ["id"])
    if not raw:
        terms = [t for t in terms if _sortable(access, t.lstrip("-"))]
    sort: list[tuple[str, bool]] = []
    for term in terms:
        term = term.strip()
        name = term.lstrip("-")
        if not entity.has_field(name) or (access is not None and not access.readable(name)):
            errors.append(field_error("sort", f"unknown field {name!r}"))
        elif not _sortable(access, name):
            errors.append(field_error("sort", f"{name!r} is protected and cannot be sorted"))
        elif isinstance(entity.fields.get(name), JsonField):
            errors.append(field_error("sort", f"json field {name!r} cannot be sorted"))
        elif name not in (s[0] for s in sort):
            sort.append((name, term.startswith("-")))
    if "id" not in (s[0] for s in sort):
        sort.append(("id", False))  # unique tie-breaker, so keyset pages never skip a row
    return sort


def _parse_limit(raw: str | None, default: int, maximum: int, errors: list[dict[str, Any]]) -> int:
    if raw is None:
        return default
    try:
        limit = int(raw)
    except ValueError:
        limit = 0
    if not 1 <= limit <= maximum:
        errors.append(field_error("limit", f"expected a whole number from 1 to {maximum}"))
    return limit


def list_records(
    conn: sa.Connection,
    entity: CompiledEntity,
    query: ListQuery,
    principal: Principal,
    count_limit: int = 10_000,
    *,
    where: Sequence[sa.ColumnElement[bool]] = (),
) -> Page:
    """One page of records the principal may see, with the cursor of the next page.

    The principal's row scope is part of the SQL, so the page, the cursor and the count
    only ever see records in scope. `where` adds conditions on the entity's table that the
    query string cannot express (a report cell's group: `engine.reports.drilling`).
    """
    table = entity.table
    access = require_action(conn, entity, principal, "read")
    check_query(access, query)
    context = sql_context(conn, entity, environment(None, entity, principal))
    columns = {name: entity.column(name, context) for name in _named(entity, query, access)}
    conditions = [*where_clause(entity, query, columns, access), *where]
    scope = access.row_condition("read", table, context)
    if scope is not None:
        conditions.append(scope)
    statement = sa.select(*visible_columns(entity, access, context)).where(*conditions)
    if query.cursor:
        statement = statement.where(
            _after(entity, query, decode_cursor(query.cursor, query.sort_key), columns)
        )
    order = [_order(columns[name], desc, conn.dialect.name) for name, desc in query.sort]
    rows = conn.execute(statement.order_by(*order).limit(query.limit + 1)).mappings().all()
    next_cursor = None
    if len(rows) > query.limit:
        last = rows[query.limit - 1]
        next_cursor = encode_cursor(query.sort_key, [last[name] for name, _ in query.sort])
    items, shown = present(entity, access, rows[: query.limit])
    if shown:
        audit_read(conn, entity, principal, "unmask", [i["id"] for i in items], shown)
    return Page(items, next_cursor, _count(conn, table, conditions, count_limit))


def _named(entity: CompiledEntity, query: ListQuery, access: RecordAccess) -> set[str]:
    """Every field the query filters, searches or sorts by."""
    return (
        {f.column for f in query.filters}
        | {n for n, _ in query.sort}
        | (set(searched_fields(entity, access)) if query.q else set())
    )


def searched_fields(entity: CompiledEntity, access: RecordAccess) -> list[str]:
    """The search fields `q` reads: those the principal sees in clear."""
    return [n for n in entity.search_fields if access.clear(n)]


def where_clause(
    entity: CompiledEntity,
    query: ListQuery,
    columns: dict[str, sa.ColumnElement[Any]],
    access: RecordAccess,
) -> list[sa.ColumnElement[bool]]:
    conditions = [
        blind_filter(entity, f.column, f.operator, f.value)
        if f.column in entity.sensitive_fields and f.operator != "isnull"
        else _condition(columns[f.column], f.operator, f.value)
        for f in query.filters
    ]
    if query.q:
        pattern = "%" + query.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        searched = [
            columns[name].ilike(pattern, escape="\\") for name in searched_fields(entity, access)
        ]
        conditions.append(sa.or_(*searched) if searched else sa.false())
    return conditions


def _condition(column: sa.ColumnElement[Any], operator: str, value: Any) -> sa.ColumnElement[bool]:
    match operator:
        case "eq":
            return column.is_(None) if value is None else column == value
        case "ne":
            return (
                column.is_not(None) if value is None else sa.or_(column != value, column.is_(None))
            )
        case "lt":
            return column < value
        case "lte":
            return column <= value
        case "gt":
            return column > value
        case "gte":
            return column >= value
        case "in":
            return column.in_(value)
        case "contains":  # case-insensitive on every database, as SQLite's LIKE is
            return column.icontains(value, autoescape=True)
        case "startswith":
            return column.istartswith(value, autoescape=True)
        case "isnull":
            return column.is_(None) if value else column.is_not(None)
    raise ValueError(operator)


def _order(column: sa.ColumnElement[Any], desc: bool, dialect: str) -> sa.ColumnElement[Any]:
    """Nulls sort as the smallest value on every database (SQLite's own rule)."""
    ordered = column.desc() if desc else column.asc()
    if dialect == "sqlite":
        return ordered
    return ordered.nulls_last() if desc else ordered.nulls_first()


def _after(
    entity: CompiledEntity,
    query: ListQuery,
    raw_values: list[Any],
    columns: dict[str, sa.ColumnElement[Any]],
) -> sa.ColumnElement[bool]:
    """Rows strictly after the cursor's row in the sort order: an OR of equal prefixes."""
    if len(raw_values) != len(query.sort):
        raise ValidationFailed(
            "malformed cursor", [field_error("cursor", "does not match the sort")]
        )
    values = []
    for (name, _), raw in zip(query.sort, raw_values, strict=True):
        try:
            values.append(None if raw is None else _one_value(entity.fields.get(name), name, raw))
        except ConversionError:
            raise ValidationFailed(
                "malformed cursor", [field_error("cursor", "bad value")]
            ) from None
    branches = []
    for i, (name, desc) in enumerate(query.sort):
        equal = [_equal(columns[n], values[j]) for j, (n, _) in enumerate(query.sort[:i])]
        branches.append(sa.and_(*equal, _beyond(columns[name], values[i], desc)))
    return sa.or_(*branches)


def _equal(column: sa.ColumnElement[Any], value: Any) -> sa.ColumnElement[bool]:
    return column.is_(None) if value is None else column == _bound(column, value)


def _beyond(column: sa.ColumnElement[Any], value: Any, desc: bool) -> sa.ColumnElement[bool]:
    if not desc:
        return column.is_not(None) if value is None else column > _bound(column, value)
    return sa.false() if value is None else sa.or_(column < _bound(column, value), column.is_(None))


def _bound(column: sa.ColumnElement[Any], value: Any) -> sa.BindParameter[Any]:
    """A bound value, so booleans compare with < and > like any other value."""
    return sa.bindparam(None, value, type_=column.type)


def _count(conn: sa.Connection, table: sa.Table, conditions: list[Any], limit: int) -> int | None:
    """The number of matching rows, or None when above `limit`, so a count never scans far."""
    capped = (
        sa.select(sa.literal(1)).select_from(table).where(*conditions).limit(limit + 1).subquery()
    )
    count = conn.execute(sa.select(sa.func.count()).select_from(capped)).scalar() or 0
    return None if count > limit else count

"""The list screen of an entity as a view model: its columns, the rows of one page as text,
sort links, pagination and what the user may do with the rows.

`load_list_page` runs the same list query as the JSON API plus one titles query per
reference field; `list_page` turns their results into the page without touching the
database, so the view model is testable on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any, NamedTuple
from urllib.parse import urlencode

import sqlalchemy as sa
from markupsafe import Markup

from engine import records
from engine.catalog import CompiledEntity
from engine.errors import ValidationFailed
from engine.permissions import RecordAccess, access_for
from engine.principal import Principal
from metamodel.labels import pick
from renderers.html.chrome import Chrome
from renderers.html.list_filters import Filter, FilterInput, filters_of, search_of
from renderers.html.values import (
    Show,
    field_label,
    is_number,
    reference_titles,
    shower,
    zone_of,
)

DEFAULT_COLUMNS = 6  # besides the title, when the entity names no `list_fields`
LONG_TYPES = ("text", "json", "file")  # too long for a table cell
LIMITS = (20, 50, 100, 200)
Params = list[tuple[str, str]]
SCREEN_PARAMS = ("lang", "deleted")  # the screen's own, never a filter

TEXTS = {
    "zh": {
        "select_all": "全选",
        "select_row": "选择",
        "delete_selected": "删除所选",
        "confirm_delete": "确定删除所选记录吗？此操作不可撤销。",
        "export_selected": "导出所选",
        "export": "导出 CSV",
        "export_limit": "导出最多 {limit} 条",
        "count": "共 {count} 条",
        "per_page": "每页条数",
        "any": "全部",
        "from": "起",
        "to": "止",
        "min": "最小",
        "max": "最大",
        "find": "查找",
        "record_id": "编号",
        "no_rows": "没有符合条件的记录。",
        "deleted": "已删除 {count} 条记录。",
        "filters": "筛选条件",
        "results": "查询结果",
    },
    "en": {
        "select_all": "Select all",
        "select_row": "Select",
        "delete_selected": "Delete selected",
        "confirm_delete": "Delete the selected records? This cannot be undone.",
        "export_selected": "Export selected",
        "export": "Export CSV",
        "export_limit": "exports at most {limit} rows",
        "count": "{count} records",
        "per_page": "Rows per page",
        "any": "Any",
        "from": "from",
        "to": "to",
        "min": "min",
        "max": "max",
        "find": "Find",
        "record_id": "No.",
        "no_rows": "No records match.",
        "deleted": "Deleted {count} records.",
        "filters": "Filters",
        "results": "Results",
    },
}


@dataclass(frozen=True)
class Column:
    """A column header; `sort_url` is None for a column that cannot be sorted, and
    `aria_sort` is "ascending"/"descending" on the column the page is sorted by."""

    name: str
    label: str
    numeric: bool
    sort_url: str | None
    aria_sort: str | None


class Cell(NamedTuple):
    """One value as the screen shows it (a tuple: a page builds hundreds of them)."""

    text: str
    url: str | None = None  # the record's page (its title) or the referenced record's
    numeric: bool = False


class Row(NamedTuple):
    id: int
    cells: list[Cell]


def rows_html(rows: list[Row], selectable: bool, select_word: str) -> Markup:
    """The table's rows as HTML. Built here, not in the template, because a template loop
    over every cell costs more than the list query itself, and the list page must stay
    within 1.5 times the JSON API's time. Every value is escaped; links are built from
    entity names and record numbers only."""
    word = escape(select_word)
    parts = []
    for row in rows:
        parts.append("<tr>")
        if selectable:
            box = f"select-{row.id}"
            parts.append(
                f'<td><input type="checkbox" name="ids" value="{row.id}" id="{box}">'
                f'<label for="{box}" class="sr-only">{word} #{row.id}</label></td>'
            )
        for text, url, numeric in row.cells:
            shown = f'<a href="{url}">{escape(text)}</a>' if url else escape(text)
            parts.append(f'<td class="num">{shown}</td>' if numeric else f"<td>{shown}</td>")
        parts.append("</tr>\n")
    return Markup("".join(parts))


@dataclass(frozen=True)
class Pagination:
    """`count_text` is empty when the count is unknown (very large tables)."""

    count: int | None
    count_text: str
    next_url: str | None
    first_url: str | None
    limit: int
    limits: list[int]


@dataclass(frozen=True)
class ListPage:
    """The list screen of one entity: the filter form, one page of rows and its links.

    `query` is the list's query string (without the cursor), carried by the bulk form so the
    user comes back to the same list; `errors` are bad filter values, shown above the rows.
    """

    chrome: Chrome
    title: str
    path: str  # /{app}/{entity}
    columns: list[Column]
    rows: list[Row]
    filters: list[Filter]
    search: FilterInput | None
    sort: str  # the order the rows are in, as a `sort=` value
    sort_param: str  # the `sort=` the user chose, kept when the filters change
    pagination: Pagination
    query: str
    can_create: bool
    can_delete: bool
    can_export: bool
    export_url: str
    export_limit: int
    notice: str = ""
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def texts(self) -> dict[str, str]:
        return self.chrome.texts

    @property
    def export_note(self) -> str:
        return self.chrome.texts["export_limit"].format(limit=self.export_limit)

    @property
    def selectable(self) -> bool:
        return self.can_delete or self.can_export

    @property
    def body(self) -> Markup:
        return rows_html(self.rows, self.selectable, self.chrome.texts["select_row"])


def list_columns(entity: CompiledEntity, access: RecordAccess) -> list[str]:
    """`list_fields`, else the title field and the first short fields; only readable ones."""
    names = list(entity.definition.list_fields)
    if not names:
        title = entity.definition.title_field
        others = [n for n, s in entity.fields.items() if n != title and s.type not in LONG_TYPES]
        names = ([title] if title else []) + others[:DEFAULT_COLUMNS]
    return [n for n in names if access.readable(n)]


def screen_params(items: Sequence[tuple[str, str]]) -> Params:
    """The list query in a request: empty form inputs and the screen's own words left out."""
    return [(k, v) for k, v in items if v != "" and k not in SCREEN_PARAMS]


def load_list_page(
    conn: sa.Connection,
    entity: CompiledEntity,
    principal: Principal,
    params: Params,
    chrome: Chrome,
    limits: tuple[int, int, int],
    notice: str = "",
) -> ListPage:
    """The page for `params` (`limits`: default page size, largest page size, count limit).
    A bad parameter is shown on the page with the filters kept, not raised."""
    page_size, max_page_size, count_limit = limits
    access = access_for(entity, principal)
    try:
        query = records.parse_list_query(entity, params, page_size, max_page_size, access)
        result = records.list_records(conn, entity, query, principal, count_limit)
    except ValidationFailed as invalid:
        empty = records.Page([], None, None)
        fallback = records.ListQuery(limit=page_size)
        return list_page(
            chrome,
            entity,
            access,
            params,
            fallback,
            empty,
            {},
            max_page_size,
            notice,
            invalid.details,
        )
    shown = list_columns(entity, access)
    titles = reference_titles(conn, entity, result.items, principal, shown)
    return list_page(chrome, entity, access, params, query, result, titles, max_page_size, notice)


def list_page(
    chrome: Chrome,
    entity: CompiledEntity,
    access: RecordAccess,
    params: Params,
    query: records.ListQuery,
    result: records.Page,
    titles: dict[str, dict[int, str]],
    max_page_size: int,
    notice: str = "",
    errors: list[dict[str, Any]] | None = None,
) -> ListPage:
    """The view model of one page of records already read (and masked) by the records service."""
    language = chrome.language
    path = f"/{entity.app}/{entity.name}"
    names = list_columns(entity, access)
    linked = _linked_column(entity, names)
    kept = [(k, v) for k, v in params if k != "cursor"]
    columns = _columns(entity, access, names, query, path, kept, language, chrome.texts)
    slots = _slots(entity, names, linked, titles, language)
    rows = [_row(item, slots, linked is None, path) for item in result.items]
    return ListPage(
        chrome=chrome,
        title=pick(entity.definition.label, language, entity.name),
        path=path,
        columns=columns,
        rows=rows,
        filters=filters_of(entity, access, names, params, chrome.texts, language, path),
        search=search_of(entity, access, params, chrome.texts),
        sort=query.sort_key,
        sort_param=dict(params).get("sort", ""),
        pagination=_pagination(result, query, kept, path, max_page_size, chrome.texts),
        query=urlencode(kept),
        can_create=access.allows("create"),
        can_delete=access.allows("delete"),
        can_export=access.allows("export"),
        export_url=f"{path}/export" + (f"?{urlencode(kept)}" if kept else ""),
        export_limit=EXPORT_LIMIT,
        notice=notice,
        errors=errors or [],
    )


EXPORT_LIMIT = 100_000  # rows in one export: enough for a district, bounded for the server


def _linked_column(entity: CompiledEntity, names: list[str]) -> str | None:
    """The column that links to the record: its title field when listed, else none (the
    page then leads with the record's number)."""
    title = entity.definition.title_field
    return title if title in names else None


def _columns(
    entity: CompiledEntity,
    access: RecordAccess,
    names: list[str],
    query: records.ListQuery,
    path: str,
    kept: Params,
    language: str,
    texts: dict[str, str],
) -> list[Column]:
    primary, descending = query.sort[0] if query.sort else ("id", False)
    base = [(k, v) for k, v in kept if k != "sort"]
    columns = []
    if _linked_column(entity, names) is None:
        columns.append(Column("id", texts["record_id"], True, None, None))
    for name in names:
        spec = entity.fields[name]
        sortable = (
            access.clear(name) and name not in entity.sensitive_fields and spec.type != "json"
        )
        current = name == primary
        aria = ("descending" if descending else "ascending") if current else None
        term = f"-{name}" if current and not descending else name
        url = f"{path}?{urlencode([*base, ('sort', term)])}" if sortable else None
        columns.append(
            Column(name, field_label(entity, name, language), is_number(spec), url, aria)
        )
    return columns


class _Slot(NamedTuple):
    """How one column's values become cells, worked out once per page, not per row (a
    tuple, unpacked once per cell)."""

    name: str
    show: Show
    numeric: bool
    links_record: bool  # the title column
    target_path: str | None  # a reference's target, `/{app}/{entity}`


def _slots(
    entity: CompiledEntity,
    names: list[str],
    linked: str | None,
    titles: dict[str, dict[int, str]],
    language: str,
) -> list[_Slot]:
    slots = []
    timezone = zone_of(entity)
    for name in names:
        spec = entity.fields[name]
        target = entity.references.get(name)
        target_path = f"/{target.app}/{target.name}" if target is not None else None
        shows = shower(spec, language, titles.get(name), timezone)
        slots.append(_Slot(name, shows, is_number(spec), name == linked, target_path))
    return slots


def _row(item: dict[str, Any], slots: list[_Slot], leading_id: bool, path: str) -> Row:
    record_id = item["id"]
    url = f"{path}/{record_id}"
    cells = [Cell(f"#{record_id}", url, True)] if leading_id else []
    for name, shows, numeric, links_record, target_path in slots:
        value = item.get(name)
        text = shows(value)
        if links_record:
            cells.append(Cell(text or f"#{record_id}", url))
        elif target_path is not None and value is not None and text != f"#{value}":
            cells.append(Cell(text, f"{target_path}/{value}"))
        else:
            cells.append(Cell(text, None, numeric))
    return Row(record_id, cells)


def _pagination(
    result: records.Page,
    query: records.ListQuery,
    kept: Params,
    path: str,
    max_page_size: int,
    texts: dict[str, str],
) -> Pagination:
    next_url = None
    if result.next_cursor:
        next_url = f"{path}?{urlencode([*kept, ('cursor', result.next_cursor)])}"
    first_url = f"{path}?{urlencode(kept)}" if query.cursor else None
    limits = sorted({n for n in LIMITS if n <= max_page_size} | {query.limit})
    count_text = texts["count"].format(count=result.count) if result.count is not None else ""
    return Pagination(result.count, count_text, next_url, first_url, query.limit, limits)

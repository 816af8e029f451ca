"""`/iot/devices`: the devices a user may read, with their connection in words, when they
were last heard from and their latest values; filtered by type, connection, status and a
search of their housing unit, a page at a time.

Devices are listed through `engine.records.list_records`, so the user's row scope and field
permissions apply exactly as on `/devices/device`; the state of the page's devices is read
in one query beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa

from engine.catalog import Catalog, CompiledEntity
from engine.errors import ValidationFailed
from engine.permissions import access_for
from engine.principal import Principal
from engine.records import list_records, parse_list_query
from iot.registry import device_entity, device_types
from iot.screens.filters import online_condition, unit_condition
from iot.screens.presenting import Presence, ShownValue, moment_text, presence, shown_values
from iot.telemetry.state import device_states_of
from metamodel.labels import pick
from renderers.html.chrome import Chrome
from renderers.html.values import reference_titles, shower

PAGE_SIZE = 50
SHOWN_VALUES = 4  # latest values per row; the device's page has them all
FILTERS = ("type", "online", "status", "unit")
ONLINE_CHOICES = ("online", "offline")
BASE = "/iot/devices"


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    selected: bool


@dataclass(frozen=True)
class DeviceFilter:
    name: str
    label: str
    choices: list[Choice]


@dataclass(frozen=True)
class DeviceRow:
    id: int
    url: str
    code: str
    name: str
    type_label: str
    unit: str
    unit_url: str
    status: str
    status_label: str
    presence: Presence
    last_seen: str
    values: list[ShownValue]


@dataclass(frozen=True)
class DevicesPage:
    chrome: Chrome
    filters: list[DeviceFilter]
    unit_search: str
    rows: list[DeviceRow]
    count_text: str
    next_url: str | None
    first_url: str | None
    errors: list[dict[str, Any]] = field(default_factory=list)


def device_filters(
    entity: CompiledEntity, values: dict[str, str], texts: dict[str, str], language: str
) -> list[DeviceFilter]:
    """Selects for the type, the connection and the status, each with "any" first."""
    options = {
        "type": _enum_options(entity, "device_type", language),
        "online": [(v, texts[f"is_{v}"]) for v in ONLINE_CHOICES],
        "status": _enum_options(entity, "status", language),
    }
    return [
        DeviceFilter(
            name,
            texts[name],
            [Choice("", texts["any"], not values.get(name))]
            + [Choice(v, label, values.get(name) == v) for v, label in choices],
        )
        for name, choices in options.items()
    ]


def _enum_options(entity: CompiledEntity, name: str, language: str) -> list[tuple[str, str]]:
    spec = entity.fields.get(name)
    return [(o.value, pick(o.label, language, o.value)) for o in getattr(spec, "options", [])]


def devices_page(
    conn: sa.Connection,
    catalog: Catalog,
    principal: Principal,
    chrome: Chrome,
    items: Sequence[tuple[str, str]],
) -> tuple[DevicesPage, int]:
    """The page for the query `items`; a bad filter (422) is shown above an empty list."""
    texts, language = chrome.texts, chrome.language
    entity = device_entity(catalog)
    values = {k: v.strip() for k, v in items if k in FILTERS and v.strip()}
    cursor = dict(items).get("cursor", "")
    asked = [("device_type", values.get("type")), ("status", values.get("status"))]
    params = [(name, value) for name, value in asked if value]
    params += [("sort", "code"), ("limit", str(PAGE_SIZE))]
    if cursor:
        params.append(("cursor", cursor))
    where = []
    if values.get("online") in ONLINE_CHOICES:
        where.append(online_condition(entity.table, values["online"] == "online"))
    if values.get("unit"):
        matching = unit_condition(catalog, entity, values["unit"])
        if matching is not None:
            where.append(matching)
    errors: list[dict[str, Any]] = []
    try:
        query = parse_list_query(entity, params, access=access_for(entity, principal))
        found = list_records(conn, entity, query, principal, where=where)
        records, next_cursor, count = found.items, found.next_cursor, found.count
    except ValidationFailed as refused:
        records, next_cursor, count, errors = [], None, None, refused.details
    kept = list(values.items())
    page = DevicesPage(
        chrome=chrome,
        filters=device_filters(entity, values, texts, language),
        unit_search=values.get("unit", ""),
        rows=device_rows(conn, catalog, entity, principal, records, chrome),
        count_text=texts["device_count"].format(count=count) if count is not None else "",
        next_url=f"{BASE}?{urlencode([*kept, ('cursor', next_cursor)])}" if next_cursor else None,
        first_url=f"{BASE}?{urlencode(kept)}" if cursor else None,
        errors=errors,
    )
    return page, 422 if errors else 200


def device_rows(
    conn: sa.Connection,
    catalog: Catalog,
    entity: CompiledEntity,
    principal: Principal,
    records: list[dict[str, Any]],
    chrome: Chrome,
) -> list[DeviceRow]:
    texts, language = chrome.texts, chrome.language
    timezone = catalog.options.timezone
    states = device_states_of(conn, [r["id"] for r in records])
    units = reference_titles(conn, entity, records, principal, ["housing_unit"])
    unit_titles = units.get("housing_unit", {})
    unit_target = getattr(entity.fields.get("housing_unit"), "entity", "") or ""
    show_type = shower(entity.fields["device_type"], language)
    show_status = shower(entity.fields["status"], language)
    types = device_types(catalog)
    rows = []
    for record in records:
        state = states[record["id"]]
        unit_id = record.get("housing_unit")
        unit = unit_titles.get(unit_id, "") if isinstance(unit_id, int) else ""
        values = state["values"]
        rows.append(
            DeviceRow(
                id=record["id"],
                url=f"{BASE}/{record['id']}",
                code=str(record.get("code", "")),
                name=str(record.get("name", "")),
                type_label=show_type(record.get("device_type")),
                unit=unit,
                unit_url=f"/{unit_target.replace('.', '/')}/{unit_id}"
                if unit and unit_target and unit != f"#{unit_id}"
                else "",
                status=str(record.get("status", "")),
                status_label=show_status(record.get("status")),
                presence=presence(state, texts, timezone),
                last_seen=moment_text(state["last_seen"], timezone),
                values=shown_values(types.get(record.get("device_type", "")), values, language)[
                    :SHOWN_VALUES
                ],
            )
        )
    return rows

"""Choosing the record a reference field points at: the first records the user may list,
searched by `q`, each with its title.

Served as `<option>`s by `GET /{app}/{entity}/pick/{field}?q=` (htmx swaps them into the
field's select as the user searches) and used to fill the select before any search, so the
form works without JavaScript too. Row scope applies: it goes through `list_records`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from engine import records
from engine.catalog import CompiledEntity
from engine.database import read_mostly
from engine.errors import NotFound
from engine.permissions import access_for
from engine.principal import Principal
from renderers.api.requests import entity_of, principal_of
from renderers.html.environment import language_of_page, render
from renderers.html.form_view import WORDS, Option
from renderers.html.values import reference_titles, title_of

PICK_LIMIT = 20


@dataclass(frozen=True)
class PickOptions:
    """The `<option>`s of a reference select: an empty choice, then the records found."""

    options: tuple[Option, ...]


def first_records(
    conn: sa.Connection,
    target: CompiledEntity,
    principal: Principal,
    q: str = "",
    limit: int = PICK_LIMIT,
) -> list[tuple[int, str]]:
    """(id, title) of the first records of `target` the principal may list that match `q`;
    none when it may not list them at all."""
    access = access_for(target, principal)
    if not access.allows("read"):
        return []
    params = [("limit", str(limit))] + ([("q", q)] if q.strip() else [])
    query = records.parse_list_query(target, params, limit, limit, access)
    page = records.list_records(conn, target, query, principal, count_limit=0)
    return [(item["id"], title_of(target, item)) for item in page.items]


def reference_choices(
    conn: sa.Connection,
    entity: CompiledEntity,
    names: Iterable[str],
    values: Mapping[str, Any],
    principal: Principal,
) -> dict[str, list[tuple[int, str]]]:
    """For each reference field among `names`: the record it points at now (by its title),
    then the first records the principal may choose."""
    fields = [n for n in names if n in entity.references]
    current = {n: _as_id(values.get(n)) for n in fields}
    titles = reference_titles(conn, entity, [{n: i for n, i in current.items() if i}], principal)
    choices: dict[str, list[tuple[int, str]]] = {}
    for name in fields:
        found = first_records(conn, entity.references[name], principal)
        chosen = current[name]
        if chosen is not None and chosen not in {i for i, _ in found}:
            found.insert(0, (chosen, titles.get(name, {}).get(chosen, f"#{chosen}")))
        choices[name] = found
    return choices


def _as_id(value: Any) -> int | None:
    if isinstance(value, int):
        return value
    text = str(value or "").strip()
    return int(text) if text.isdigit() else None


async def pick_records(request: Request) -> Response:
    """`GET /{app}/{entity}/pick/{field}?q=`: the options of a reference field; 404 for a
    field that is not a reference."""
    runtime = request.app.state.runtime
    entity = entity_of(runtime.require_catalog(), request)
    name = request.path_params["field"]
    target = entity.references.get(name)
    if target is None:
        raise NotFound(f"{entity.path} has no reference field {name}")
    principal = principal_of(request)
    q = request.query_params.get("q", "")

    def run() -> list[tuple[int, str]]:
        return read_mostly(runtime.engine, lambda conn: first_records(conn, target, principal, q))

    found = await run_in_threadpool(run)
    words = WORDS[language_of_page(request)]
    options = (Option("", words["choose"]), *(Option(str(i), title) for i, title in found))
    return render(request, "_pick_options.html", PickOptions(options))

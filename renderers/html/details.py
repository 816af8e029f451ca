"""A record's own page, `/{app}/{entity}/{id}`: its fields laid out by its form, its related
records, its flow with the transitions the user may take, and deleting it.

The page itself reads one record (plus the titles of what it refers to and, with a flow,
its timeline); related lists arrive afterwards, one htmx fragment each, so a record with
many referrers costs the page nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from engine import records
from engine.catalog import Catalog, CompiledEntity, Referrer
from engine.database import read_mostly
from engine.errors import Conflict, NotFound, ValidationFailed
from engine.files import file_info
from engine.flows.transitions import take_transition
from engine.permissions import RecordAccess, access_for
from engine.principal import Principal
from engine.runtime import Runtime
from metamodel.labels import pick
from metamodel.models import Form
from renderers.api.requests import principal_of
from renderers.html import flow_panel as panels
from renderers.html.chrome import Chrome, chrome_of
from renderers.html.environment import render
from renderers.html.login import safe_next
from renderers.html.pages import forget_notice, remember_notice, take_notice
from renderers.html.values import (
    field_label,
    is_number,
    reference_titles,
    show,
    title_of,
    zone_of,
)

RELATED_ROWS = 10
INT64_MAX = 2**63 - 1
INFO_FIELDS = ("created_by", "created_at", "updated_by", "updated_at")
TEXTS = {
    "zh": {
        "other_fields": "其他信息",
        "record_info": "记录信息",
        "record_no": "记录编号",
        "created_by": "创建人",
        "created_at": "创建时间",
        "updated_by": "修改人",
        "updated_at": "修改时间",
        "related": "相关记录",
        "loading": "正在加载…",
        "view_all": "查看全部",
        "no_related": "暂无相关记录",
        "count": "共 {n} 条",
        "many": "超过 {n} 条",
        "back_to_list": "返回列表",
        "delete_confirm": "确定删除这条记录吗？删除后无法恢复。",
        "deleted": "已删除：{title}",
        "delete_refused": "无法删除：",
        "moved": "已办理：{label}",
        "moved_before": "该记录已被他人先行办理，当前状态已更新，请查看后再操作。",
        "fix_below": "请按提示修改后重新提交。",
    },
    "en": {
        "other_fields": "Other details",
        "record_info": "About this record",
        "record_no": "Record number",
        "created_by": "Created by",
        "created_at": "Created at",
        "updated_by": "Changed by",
        "updated_at": "Changed at",
        "related": "Related records",
        "loading": "Loading…",
        "view_all": "View all",
        "no_related": "No related records",
        "count": "{n} in all",
        "many": "more than {n}",
        "back_to_list": "Back to the list",
        "delete_confirm": "Delete this record? This cannot be undone.",
        "deleted": "Deleted: {title}",
        "delete_refused": "It cannot be deleted:",
        "moved": "Done: {label}",
        "moved_before": "Someone else moved this record first; it is shown as it is now. "
        "Look again before you act.",
        "fix_below": "Correct what is marked below and submit again.",
    },
}


@dataclass(frozen=True)
class ShownField:
    """A field's label and value as text; `href` when the value links somewhere (a referenced
    record, a file)."""

    name: str
    label: str
    text: str
    href: str | None = None
    number: bool = False
    multiline: bool = False


@dataclass(frozen=True)
class Section:
    title: str
    columns: int
    fields: list[ShownField]


@dataclass(frozen=True)
class RelatedLink:
    """Where a related list will be loaded from (`url`, an htmx fragment) and where all the
    related records are listed (`view_all`)."""

    html_id: str
    title: str
    field_label: str
    url: str
    view_all: str


@dataclass(frozen=True)
class DetailPage:
    """One record for one user: fields by section, record info, the buttons it may press,
    the related lists to load, its flow panel (or None), and a notice or error to show."""

    chrome: Chrome
    entity_label: str
    title: str
    record_id: int
    list_url: str
    sections: list[Section]
    info: list[ShownField]
    edit_url: str | None
    delete_url: str | None
    related: list[RelatedLink]
    flow: panels.FlowPanel | None
    notice: str | None = None
    error: str | None = None
    error_details: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RelatedItem:
    title: str
    href: str
    state_label: str = ""


@dataclass(frozen=True)
class RelatedList:
    """The fragment of one related list: the first rows the user may see, and how many."""

    texts: dict[str, str]
    html_id: str
    items: list[RelatedItem]
    count_text: str
    view_all: str


def detail_page(
    conn: sa.Connection,
    runtime: Runtime,
    entity: CompiledEntity,
    record_id: int,
    principal: Principal,
    chrome: Chrome,
    next_url: str | None = None,
    attempt: panels.TransitionAttempt | None = None,
    notice: str | None = None,
) -> DetailPage:
    """The page of one record; 404 (NotFound) when it is missing or out of the user's scope.
    `next_url` is where the flow panel's forms return to (the page itself by default)."""
    language = chrome.language
    record = records.get_record(conn, entity, record_id, principal)
    access = access_for(entity, principal)
    titles = reference_titles(conn, entity, [record], principal, fields=record.keys())
    files = _file_names(conn, entity, record)
    base = f"/{entity.app}/{entity.name}"
    here = f"{base}/{record_id}"
    title = title_of(entity, record)
    zone = ZoneInfo(runtime.settings.timezone)
    return DetailPage(
        chrome=replace(chrome, title=title),
        entity_label=pick(entity.definition.label, language, entity.name),
        title=title,
        record_id=record_id,
        list_url=base,
        sections=sections_of(entity, record, titles, files, language, chrome.texts),
        info=_info(record, chrome.texts, zone),
        edit_url=f"{here}/edit" if _editable(entity, access, record) else None,
        delete_url=f"{here}/delete" if access.allows("delete") else None,
        related=related_links(entity, record_id, principal, language),
        flow=panels.flow_panel(
            conn, runtime, entity, record, principal, language, next_url or here, attempt
        ),
        notice=notice,
    )


def form_of(catalog: Catalog, entity: CompiledEntity) -> Form | None:
    """The first form laid out for `entity`, in any app."""
    for (app, name), compiled in catalog.forms.items():
        if (compiled.app, compiled.entity) == (entity.app, entity.name):
            return catalog.definitions.apps[app].forms[name]
    return None


def sections_of(
    entity: CompiledEntity,
    record: dict[str, Any],
    titles: dict[str, dict[int, str]],
    files: dict[str, str],
    language: str,
    texts: dict[str, str],
) -> list[Section]:
    """The readable fields by the sections of the entity's form (the fields no section holds
    come last), or all in definition order when it has no form. Fields the user may not read
    are absent from `record`, so they are absent here."""
    readable = [name for name in entity.fields if name in record]
    shown = {name: _shown(entity, name, record, titles, files, language) for name in readable}
    form = form_of(entity.catalog, entity) if entity.catalog is not None else None
    sections: list[Section] = []
    placed: set[str] = set()
    for section in form.sections if form else []:
        names = [n for n in section.fields if n in shown]
        placed.update(section.fields)
        if names:
            title = pick(section.title, language)
            sections.append(Section(title, section.columns, [shown[n] for n in names]))
    rest = [shown[n] for n in readable if n not in placed]
    if rest:
        sections.append(Section(texts["other_fields"] if form else "", 2, rest))
    return sections


def _shown(
    entity: CompiledEntity,
    name: str,
    record: dict[str, Any],
    titles: dict[str, dict[int, str]],
    files: dict[str, str],
    language: str,
) -> ShownField:
    spec = entity.fields[name]
    value = record.get(name)
    href = None
    text = show(spec, value, language, titles.get(name), zone_of(entity))
    target = entity.references.get(name)
    if target is not None and isinstance(value, int):
        href = f"/{target.app}/{target.name}/{value}"
    elif spec.type == "file" and isinstance(value, str) and value in files:
        href, text = f"/api/files/{value}", files[value]
    return ShownField(
        name=name,
        label=field_label(entity, name, language),
        text=text,
        href=href,
        number=is_number(spec),
        multiline=spec.type in ("text", "json"),
    )


def _file_names(
    conn: sa.Connection, entity: CompiledEntity, record: dict[str, Any]
) -> dict[str, str]:
    """The names of the files the record holds (file id → name); a masked value is no id."""
    names = {}
    for name, spec in entity.fields.items():
        value = record.get(name)
        if spec.type == "file" and isinstance(value, str) and value.isalnum():
            try:
                names[value] = str(file_info(conn, value)["name"])
            except NotFound:
                continue
    return names


def _info(record: dict[str, Any], texts: dict[str, str], zone: ZoneInfo) -> list[ShownField]:
    info = [ShownField("id", texts["record_no"], str(record["id"]))]
    for name in INFO_FIELDS:
        value = record.get(name)
        if isinstance(value, datetime):
            value = value.astimezone(zone).strftime("%Y-%m-%d %H:%M")
        if value:
            info.append(ShownField(name, texts[name], str(value)))
    return info


def _editable(entity: CompiledEntity, access: RecordAccess, record: dict[str, Any]) -> bool:
    """May update, and (with a flow) the record's state leaves some field editable."""
    if not access.allows("update"):
        return False
    if entity.flow is None:
        return True
    return entity.flow.editable(record.get("state")) != frozenset()


def related_links(
    entity: CompiledEntity, record_id: int, principal: Principal, language: str
) -> list[RelatedLink]:
    """A related list per referrer the user may list by its reference field."""
    links = []
    for referrer in entity.referrers:
        other = referrer.entity
        if not may_list_by(referrer, principal):
            continue
        path = f"{other.app}/{other.name}/{referrer.field}"
        links.append(
            RelatedLink(
                html_id=f"related-{other.app}-{other.name}-{referrer.field}",
                title=pick(other.definition.label, language, other.name),
                field_label=field_label(other, referrer.field, language),
                url=f"/{entity.app}/{entity.name}/{record_id}/related/{path}",
                view_all=f"/{other.app}/{other.name}?{urlencode({referrer.field: record_id})}",
            )
        )
    return links


def may_list_by(referrer: Referrer, principal: Principal) -> bool:
    """Whether the user may list the referring records and filter them by the reference."""
    access = access_for(referrer.entity, principal)
    return access.allows("read") and access.readable(referrer.field)


def related_list(
    conn: sa.Connection,
    runtime: Runtime,
    referrer: Referrer,
    record_id: int,
    principal: Principal,
    language: str,
) -> RelatedList:
    """The first related records the user may see, through the records service (so the
    user's row scope applies), with the count when it is cheap to know."""
    other = referrer.entity
    access = access_for(other, principal)
    query = records.parse_list_query(
        other, [(referrer.field, str(record_id))], RELATED_ROWS, RELATED_ROWS, access
    )
    page = records.list_records(conn, other, query, principal, runtime.settings.count_limit)
    texts = TEXTS[language]
    flow = other.flow
    items = []
    for item in page.items:
        state = flow.state(item["state"]) if flow and item.get("state") else None
        items.append(
            RelatedItem(
                title=title_of(other, item),
                href=f"/{other.app}/{other.name}/{item['id']}",
                state_label=pick(state.label, language, item["state"]) if state else "",
            )
        )
    if page.count is None:
        count_text = texts["many"].format(n=runtime.settings.count_limit)
    else:
        count_text = texts["count"].format(n=page.count)
    return RelatedList(
        texts=texts,
        html_id=f"related-{other.app}-{other.name}-{referrer.field}",
        items=items,
        count_text=count_text,
        view_all=f"/{other.app}/{other.name}?{urlencode({referrer.field: record_id})}",
    )


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _target(request: Request) -> tuple[Runtime, Catalog, CompiledEntity, int]:
    runtime = _runtime(request)
    catalog = runtime.require_catalog()
    app, name = request.path_params["app"], request.path_params["entity"]
    entity = catalog.entity(app, name)
    record_id = int(request.path_params["id"])
    if entity is None or not 1 <= record_id <= INT64_MAX:
        raise NotFound(f"no record {app}/{name}/{record_id}")
    return runtime, catalog, entity, record_id


async def _page(
    request: Request,
    status: int = 200,
    next_url: str | None = None,
    attempt: panels.TransitionAttempt | None = None,
    notice: str | None = None,
    error: str | None = None,
    error_details: list[str] | None = None,
) -> Response:
    runtime, catalog, entity, record_id = _target(request)
    chrome = chrome_of(request, catalog=catalog, own_texts=TEXTS)
    principal = principal_of(request)

    def run() -> DetailPage:
        return read_mostly(
            runtime.engine,
            lambda conn: detail_page(
                conn, runtime, entity, record_id, principal, chrome, next_url, attempt, notice
            ),
        )

    page = await run_in_threadpool(run)
    if error is not None:
        page = replace(page, error=error, error_details=error_details or [])
    return render(request, "detail.html", page, status)


async def show_detail(request: Request) -> Response:
    """`GET /{app}/{entity}/{id}`, with the notice a redirect left for it, once."""
    notice = take_notice(request)
    response = await _page(request, notice=notice)
    if notice:
        forget_notice(response)
    return response


async def show_related(request: Request) -> Response:
    """`GET /{app}/{entity}/{id}/related/{ref_app}/{ref_entity}/{field}`: one related list."""
    runtime, _, entity, record_id = _target(request)
    params = request.path_params
    wanted = (params["ref_app"], params["ref_entity"], params["field"])
    referrer = next(
        (r for r in entity.referrers if (r.entity.app, r.entity.name, r.field) == wanted), None
    )
    principal = principal_of(request)
    if referrer is None or not may_list_by(referrer, principal):
        raise NotFound(f"no related list {'/'.join(wanted)} of {entity.path}")
    language = chrome_of(request, with_menus=False).language

    def run() -> RelatedList:
        return read_mostly(
            runtime.engine,
            lambda conn: related_list(conn, runtime, referrer, record_id, principal, language),
        )

    return render(request, "_detail_related.html", await run_in_threadpool(run))


async def delete(request: Request) -> Response:
    """`POST /{app}/{entity}/{id}/delete`: to the list with a notice; a record others still
    refer to stays, and the page says why."""
    runtime, _, entity, record_id = _target(request)
    principal = principal_of(request)
    texts = chrome_of(request, with_menus=False, own_texts=TEXTS).texts

    def run() -> str:
        record = read_mostly(
            runtime.engine, lambda conn: records.get_record(conn, entity, record_id, principal)
        )
        title = title_of(entity, record)
        records.delete_record(runtime.engine, entity, record_id, principal)
        return title

    try:
        title = await run_in_threadpool(run)
    except Conflict as exc:
        details = [str(d["message"]) for d in exc.details] or [exc.message]
        return await _page(request, 409, error=texts["delete_refused"], error_details=details)
    response = RedirectResponse(f"/{entity.app}/{entity.name}", 303)
    remember_notice(response, texts["deleted"].format(title=title), runtime.settings.secure_cookies)
    return response


async def transition(request: Request) -> Response:
    """`POST /{app}/{entity}/{id}/transitions/{name}` from the flow panel's form."""
    runtime, _, entity, record_id = _target(request)
    name = request.path_params["name"]
    principal = principal_of(request)
    chrome = chrome_of(request, with_menus=False, own_texts=TEXTS)
    words = panels.TEXTS[chrome.language]
    async with request.form(max_files=0, max_fields=200) as form:
        items = list(form.multi_items())
        posted_next = form.get("next")
    here = f"/{entity.app}/{entity.name}/{record_id}"
    next_url = safe_next(posted_next) if isinstance(posted_next, str) and posted_next else here
    body, typed, problems = panels.read_transition_form(entity, items, words)
    if problems:
        attempt = panels.TransitionAttempt(name, typed, problems)
        return await _page(request, 422, next_url, attempt, error=chrome.texts["fix_below"])
    try:
        await run_in_threadpool(
            take_transition,
            runtime.engine,
            entity,
            record_id,
            name,
            body,
            principal,
            chrome.language,
        )
    except ValidationFailed as exc:
        errors: dict[str, str] = {}
        for detail in exc.details or [{"path": "", "message": exc.message}]:
            message = panels.in_words(str(detail["message"]), words)
            path = str(detail["path"])
            errors[path] = f"{errors[path]}; {message}" if path in errors else message
        attempt = panels.TransitionAttempt(name, typed, errors)
        return await _page(request, 422, next_url, attempt, error=chrome.texts["fix_below"])
    except Conflict as exc:
        notice = f"{chrome.texts['moved_before']} ({exc.message})"
        return await _page(request, 409, next_url, notice=notice)
    response = RedirectResponse(next_url, 303)
    label = _transition_label(entity, name, chrome.language)
    secure = runtime.settings.secure_cookies
    remember_notice(response, chrome.texts["moved"].format(label=label), secure)
    return response


def _transition_label(entity: CompiledEntity, name: str, language: str) -> str:
    found = entity.flow.transition(name) if entity.flow else None
    return pick(found.label, language, name) if found else name


ROUTES: list[BaseRoute] = [
    Route("/{app}/{entity}/{id:int}", show_detail, methods=["GET"]),
    Route(
        "/{app}/{entity}/{id:int}/related/{ref_app}/{ref_entity}/{field}",
        show_related,
        methods=["GET"],
    ),
    Route("/{app}/{entity}/{id:int}/delete", delete, methods=["POST"]),
    Route("/{app}/{entity}/{id:int}/transitions/{name}", transition, methods=["POST"]),
]

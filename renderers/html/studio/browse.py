"""`GET /studio`: every app's definitions by kind, which ones the draft changes, and the way
to a new definition (`GET /studio/new`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from metamodel.definitions import Key
from metamodel.fields import NAME_PATTERN
from metamodel.kinds import KIND_MODELS
from metamodel.labels import pick
from renderers.html.chrome import Chrome
from renderers.html.environment import render
from renderers.html.studio.context import (
    DefinitionsState,
    can_change,
    format_word,
    load_state,
    may_look,
    studio_chrome,
)

KINDS = tuple(KIND_MODELS)  # app, entity, form, roles, calendar, flow, template, report, …
NAME = re.compile(NAME_PATTERN)


@dataclass(frozen=True)
class DefinitionEntry:
    """One definition in the list: its editor's address and the draft's change, if any
    (`new`, `changed`, `deleted`)."""

    kind: str
    name: str
    label: str
    url: str
    change: str | None


@dataclass(frozen=True)
class KindGroup:
    """The definitions of one kind in an app, under that kind's word."""

    kind: str
    title: str
    entries: list[DefinitionEntry]


@dataclass(frozen=True)
class AppEntry:
    """One app with its definitions by kind, and how many the draft changes."""

    name: str
    label: str
    groups: list[KindGroup]
    pending: int  # definitions of this app that the draft changes


@dataclass(frozen=True)
class NewDefinition:
    """The "new definition" form as typed, with the problem of each input."""

    app: str = ""
    kind: str = "entity"
    name: str = ""
    errors: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BrowsePage:
    """The studio's front page. `version` is the published one (None before any);
    `pending` counts the draft's changes; `notice` reports what was just done."""

    chrome: Chrome
    version: int | None
    apps: list[AppEntry]
    pending: int
    can_change: bool
    kinds: list[tuple[str, str]]  # (kind, its word) for the new-definition form
    new: NewDefinition
    notice: str = ""


def definition_url(key: Key) -> str:
    app, kind, name = key
    return f"/studio/{app}/{kind}/{name}"


def build_browse_page(
    chrome: Chrome,
    state: DefinitionsState,
    can_change: bool,
    notice: str = "",
    new: NewDefinition | None = None,
) -> BrowsePage:
    """Published definitions and the draft's additions, deletions kept in view and marked."""
    texts, language = chrome.texts, chrome.language
    merged = state.merged
    keys = sorted(state.published.keys() | state.draft.keys())
    apps: list[AppEntry] = []
    for app in sorted({key[0] for key in keys}, key=lambda a: _app_order(merged, state, a)):
        groups = []
        for kind in KINDS:
            entries = [
                DefinitionEntry(
                    kind,
                    key[2],
                    _label(merged.get(key) or state.published.get(key), language),
                    definition_url(key),
                    state.change_of(key),
                )
                for key in keys
                if key[0] == app and key[1] == kind
            ]
            if entries:
                groups.append(KindGroup(kind, texts[f"kind_{kind}"], entries))
        app_content = merged.get((app, "app", app)) or state.published.get((app, "app", app))
        label = _label(app_content, language) or app
        pending = sum(1 for key in state.draft if key[0] == app)
        apps.append(AppEntry(app, label, groups, pending))
    return BrowsePage(
        chrome=chrome,
        version=state.version,
        apps=apps,
        pending=len(state.draft),
        can_change=can_change,
        kinds=[(kind, texts[f"kind_{kind}"]) for kind in KINDS],
        new=new or NewDefinition(),
        notice=notice,
    )


def check_new_definition(app: str, kind: str, name: str) -> NewDefinition:
    """The typed key with its problems; for an app or roles the name is implied."""
    if kind == "app":
        name = app
    elif kind == "roles":
        name = "roles"
    errors: dict[str, str] = {}
    if not _is_name(app):
        errors["app"] = "bad_name"
    if kind not in KINDS:
        errors["kind"] = "bad_kind"
    if not _is_name(name):
        errors["name"] = "bad_name"
    return NewDefinition(app, kind, name, errors)


def notice_of(query: dict[str, str], texts: dict[str, str]) -> str:
    """What the last action did, from the address it redirected to (numbers only)."""
    published, old = query.get("published", ""), query.get("rolled_back_to", "")
    if published.isdigit() and old.isdigit():
        return format_word(texts, "rolled_back_notice", n=published, old=old)
    if published.isdigit():
        return format_word(texts, "published_notice", n=published)
    if query.get("discarded") == "1":
        return texts["discarded"]
    deleted = query.get("deleted", "")
    if deleted and all(_is_name(part) for part in deleted.split("/")):
        return format_word(texts, "deleted", what=deleted)
    return ""


def _is_name(text: str) -> bool:
    return bool(NAME.fullmatch(text)) and len(text) <= 40


def _label(content: dict[str, Any] | None, language: str) -> str:
    label = (content or {}).get("label")
    if isinstance(label, str):
        return label
    return pick(label, language) if isinstance(label, dict) else ""


def _app_order(merged: dict[Key, dict[str, Any]], state: DefinitionsState, app: str) -> Any:
    content = merged.get((app, "app", app)) or state.published.get((app, "app", app)) or {}
    return (content.get("order", 100), app)


async def studio(request: Request) -> Response:
    may_look(request)
    chrome = studio_chrome(request)
    state = await load_state(request)
    notice = notice_of(dict(request.query_params), chrome.texts)
    page = build_browse_page(chrome, state, can_change(request), notice)
    return render(request, "studio/browse.html", page)


async def new_definition(request: Request) -> Response:
    """`GET /studio/new?app=&kind=&name=`: off to the editor of that (new) definition."""
    may_look(request)
    params = request.query_params
    new = check_new_definition(
        params.get("app", "").strip(), params.get("kind", ""), params.get("name", "").strip()
    )
    if not new.errors:
        return RedirectResponse(definition_url((new.app, new.kind, new.name)), 303)
    chrome = studio_chrome(request)
    state = await load_state(request)
    page = build_browse_page(chrome, state, can_change(request), new=new)
    return render(request, "studio/browse.html", page, 422)


ROUTES: list[BaseRoute] = [
    Route("/studio", studio, methods=["GET"]),
    Route("/studio/new", new_definition, methods=["GET"]),
]

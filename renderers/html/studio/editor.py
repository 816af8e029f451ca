"""`/studio/{app}/{kind}/{name}`: one definition as YAML (the draft's if there is one),
saved as the draft (`POST`, checked as `PUT /api/meta/definitions/…` checks it) or deleted
in the draft (`POST …/delete`). Errors show beside the editor with their line, and the
text stays as the user typed it."""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from engine import drafts
from engine.errors import NotFound, ValidationFailed
from metamodel.canonical import canonical_yaml
from metamodel.definitions import Key
from renderers.api.requests import principal_of
from renderers.html.chrome import Chrome
from renderers.html.environment import render
from renderers.html.studio.browse import definition_url
from renderers.html.studio.context import (
    DefinitionsState,
    Problem,
    can_change,
    first,
    load_state,
    may_change,
    may_look,
    problems_of,
    read_form,
    runtime_of,
    studio_chrome,
)
from renderers.html.studio.edits import NewField
from renderers.html.studio.field_editor import (
    EntityEditor,
    Errors,
    FormLayout,
    build_entity_editor,
    build_form_layout,
    field_types_of,
)

STARTERS = {  # a new definition's first text: the keys a configurator fills in
    "app": "label:\n  zh: \n  en: \n",
    "entity": "label:\n  zh: \n  en: \nfields:\n  title:\n    type: string\n    required: true\n",
}


@dataclass(frozen=True)
class EditorPage:
    """One definition in the editor. `status` says what the text is: `draft`, `published`,
    `deleted` (in the draft) or `new` (no such definition yet). Entities add the field
    editor (`entity_editor`), forms their layout and a preview link."""

    chrome: Chrome
    app: str
    kind: str
    name: str
    action: str
    text: str
    status: str
    version: int | None
    can_change: bool
    problems: list[Problem] = field(default_factory=list)
    notice: str = ""
    entity_editor: EntityEditor | None = None
    form_layout: FormLayout | None = None
    preview_url: str = ""

    @property
    def can_delete(self) -> bool:
        return self.can_change and self.status in ("draft", "published")


def build_editor_page(
    chrome: Chrome,
    state: DefinitionsState,
    key: Key,
    can_change: bool,
    field_types: list[str],
    text: str | None = None,
    problems: list[Problem] | None = None,
    notice: str = "",
    new_field: NewField | None = None,
    input_errors: Errors | None = None,
) -> EditorPage:
    app, kind, name = key
    merged = state.merged
    change = state.change_of(key)
    if change == "deleted":
        status = "deleted"
    elif change is not None:
        status = "draft"
    else:
        status = "published" if key in state.published else "new"
    shown = merged.get(key) or state.published.get(key)
    if text is None:
        text = canonical_yaml(shown) if shown else STARTERS.get(kind, "")
    language = chrome.language
    entity_editor = form_layout = None
    if kind == "entity" and key in merged:
        entity_editor = build_entity_editor(
            merged, app, name, field_types, language, new_field, input_errors
        )
    if kind == "form" and key in merged:
        form_layout = build_form_layout(merged, app, name, language, chrome.texts, input_errors)
    return EditorPage(
        chrome=chrome,
        app=app,
        kind=kind,
        name=name,
        action=definition_url(key),
        text=text,
        status=status,
        version=state.version,
        can_change=can_change,
        problems=problems or [],
        notice=notice,
        entity_editor=entity_editor,
        form_layout=form_layout,
        preview_url=f"/studio/{app}/form/{name}/preview" if form_layout else "",
    )


def key_of(request: Request) -> Key:
    params = request.path_params
    return drafts.check_key(params["app"], params["kind"], params["name"])


async def show_editor(
    request: Request,
    key: Key,
    status: int = 200,
    text: str | None = None,
    problems: list[Problem] | None = None,
    new_field: NewField | None = None,
    input_errors: Errors | None = None,
) -> Response:
    """The editor page; with `status` 422 it carries what the user typed and the errors."""
    chrome = studio_chrome(request, title="/".join(key))
    state = await load_state(request)
    writer = can_change(request)
    if not writer and key not in state.merged and key not in state.published:
        raise NotFound(f"no definition {'/'.join(key)}")
    notice = chrome.texts["saved"] if request.query_params.get("saved") == "1" else ""
    types = field_types_of(runtime_of(request).extensions.field_types)
    page = build_editor_page(
        chrome, state, key, writer, types, text, problems, notice, new_field, input_errors
    )
    return render(request, "studio/editor.html", page, status)


async def edit_definition(request: Request) -> Response:
    may_look(request)
    return await show_editor(request, key_of(request))


async def save_definition(request: Request) -> Response:
    """Store the posted YAML as the draft; 422 with every error and the text kept."""
    principal = may_change(request)
    key = key_of(request)
    text = first(await read_form(request), "definition")
    runtime = runtime_of(request)
    try:
        await run_in_threadpool(
            drafts.put_definition, runtime, key, text, False, principal.username
        )
    except ValidationFailed as exc:
        return await show_editor(request, key, 422, text, problems_of(exc))
    return RedirectResponse(definition_url(key) + "?saved=1", 303)


async def delete_definition(request: Request) -> Response:
    """Delete the definition in the draft (an app: all of its definitions)."""
    may_change(request)
    key = key_of(request)
    author = principal_of(request).username
    try:
        await run_in_threadpool(drafts.remove_definition, runtime_of(request), key, author)
    except ValidationFailed as exc:
        return await show_editor(request, key, 422, problems=problems_of(exc))
    return RedirectResponse("/studio?deleted=" + "/".join(key), 303)


ROUTES: list[BaseRoute] = [
    Route("/studio/{app}/{kind}/{name}/delete", delete_definition, methods=["POST"]),
    Route("/studio/{app}/{kind}/{name}", edit_definition, methods=["GET"]),
    Route("/studio/{app}/{kind}/{name}", save_definition, methods=["POST"]),
]

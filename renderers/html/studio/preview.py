"""`GET /studio/{app}/form/{name}/preview`: the form as users would get it once the draft
is published, laid out by the record forms' own widgets from a catalog compiled from the
draft, shown disabled. Previewed as the platform (`SYSTEM`), so every field shows whatever
the configurator's own grants."""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from engine.catalog import Catalog, compile_catalog
from engine.errors import NotFound, ValidationFailed
from engine.principal import SYSTEM
from engine.publishing import definitions_from_contents, draft_contents, plugin_field_types
from engine.runtime import Runtime
from renderers.html.chrome import Chrome
from renderers.html.environment import render
from renderers.html.studio.browse import definition_url
from renderers.html.studio.context import Problem, may_look, problems_of, runtime_of, studio_chrome
from renderers.html.widgets import FormView, build_form_view


@dataclass(frozen=True)
class PreviewPage:
    """The draft form `app/name`, or the draft's errors when it does not compile."""

    chrome: Chrome
    app: str
    name: str
    editor_url: str
    preview: FormView | None
    problems: list[Problem] = field(default_factory=list)


def draft_catalog(runtime: Runtime) -> Catalog:
    """The catalog the draft would become, compiled as a publish would compile it."""
    base = runtime.catalog()
    with runtime.engine.connect() as conn:
        contents = draft_contents(conn, base)
    options = runtime.options
    definitions = definitions_from_contents(
        contents, options.functions, plugin_field_types(options)
    )
    return compile_catalog((base.version if base else 0) + 1, definitions, options)


def build_preview(catalog: Catalog, app: str, name: str, language: str) -> FormView:
    """The form `app/name` of `catalog`, empty, every field shown."""
    compiled = catalog.forms.get((app, name))
    if compiled is None:
        raise NotFound(f"no form {app}/{name} in the draft")
    entity = catalog.entity(compiled.app, compiled.entity)
    if entity is None:
        raise NotFound(f"no entity {compiled.app}/{compiled.entity} in the draft")
    return build_form_view(catalog, entity, name, {}, [], SYSTEM, language)


async def preview(request: Request) -> Response:
    may_look(request)
    app, name = request.path_params["app"], request.path_params["name"]
    chrome = studio_chrome(request, "preview_title")
    editor_url = definition_url((app, "form", name))
    try:
        catalog = await run_in_threadpool(draft_catalog, runtime_of(request))
    except ValidationFailed as exc:
        page = PreviewPage(chrome, app, name, editor_url, None, problems_of(exc))
        return render(request, "studio/preview.html", page, 422)
    view = await run_in_threadpool(build_preview, catalog, app, name, chrome.language)
    page = PreviewPage(chrome, app, name, editor_url, view)
    return render(request, "studio/preview.html", page)


ROUTES: list[BaseRoute] = [Route("/studio/{app}/form/{name}/preview", preview, methods=["GET"])]

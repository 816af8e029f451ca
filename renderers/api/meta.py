"""`/api/meta/...`: apps, versions, definitions, drafts, diff, dry run, publish and rollback."""

from __future__ import annotations

import re
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from engine import drafts, forms
from engine.database import write_transaction
from engine.errors import BadRequest, NotFound, ValidationFailed, field_error
from engine.publishing import PublishResult, draft_contents, plan, version_contents
from engine.runtime import Runtime
from metamodel import store
from metamodel.diff import diff_contents
from renderers.api.requests import principal_of, read_body, read_json_object, require_roles
from renderers.api.responses import JSON

READERS = ("configurator", "auditor")  # admin passes every check
WRITERS = ("configurator",)


def _runtime(request: Request) -> Runtime:
    return request.app.state.runtime


async def list_plugins(request: Request) -> Response:
    """The plugins of this instance, with versions and hooks; failed ones with their error."""
    extensions = _runtime(request).extensions
    return JSON({"items": [plugin.as_json() for plugin in extensions.plugins]})


async def list_apps(request: Request) -> Response:
    catalog = _runtime(request).require_catalog()
    apps = []
    for name, bundle in catalog.definitions.apps.items():
        entities = [{"name": e.name, "label": e.label} for e in bundle.entities.values()]
        apps.append(
            {
                "name": name,
                "label": bundle.app.label,
                "description": bundle.app.description,
                "order": bundle.app.order,
                "entities": entities,
            }
        )
    apps.sort(key=lambda a: (a["order"], a["name"]))
    return JSON({"version": catalog.version, "apps": apps})


async def list_versions(request: Request) -> Response:
    require_roles(request, *READERS)

    def run() -> list[dict[str, Any]]:
        with _runtime(request).engine.connect() as conn:
            return [info.as_json() for info in store.list_versions(conn)]

    return JSON(await run_in_threadpool(run))


async def get_version(request: Request) -> Response:
    require_roles(request, *READERS)
    number = _int_param(request.path_params["version"], "version")

    def run() -> dict[str, Any]:
        with _runtime(request).engine.connect() as conn:
            info = store.get_version(conn, number)
            if info is None:
                raise NotFound(f"no definitions version {number}")
            contents = store.read_contents(conn, number)
        definitions = [
            {"app": a, "kind": k, "name": n, "content": c} for (a, k, n), c in contents.items()
        ]
        return {**info.as_json(), "definitions": definitions}

    return JSON(await run_in_threadpool(run))


async def get_definition(request: Request) -> Response:
    require_roles(request, *READERS)
    runtime = _runtime(request)
    key = drafts.check_key(**request.path_params)
    wanted = request.query_params.get("draft") in ("1", "true")
    version = request.query_params.get("version")

    def run() -> dict[str, Any]:
        with runtime.engine.connect() as conn:
            if version is not None:
                contents = version_contents(conn, _int_param(version, "version"))
            elif wanted:
                contents = draft_contents(conn, runtime.catalog())
            else:
                contents = runtime.require_catalog().definitions.contents
        if key not in contents:
            raise NotFound(f"no definition {'/'.join(key)}")
        return contents[key]

    return JSON(await run_in_threadpool(run))


async def put_definition(request: Request) -> Response:
    require_roles(request, *WRITERS)
    key = drafts.check_key(**request.path_params)
    body = await read_body(request)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("the body must be UTF-8 text") from None
    is_json = "json" in request.headers.get("content-type", "")
    author = principal_of(request).username
    content = await run_in_threadpool(
        drafts.put_definition, _runtime(request), key, text, is_json, author
    )
    return JSON({"draft": True, "content": content})


async def delete_definition(request: Request) -> Response:
    require_roles(request, *WRITERS)
    key = drafts.check_key(**request.path_params)
    await run_in_threadpool(
        drafts.remove_definition, _runtime(request), key, principal_of(request).username
    )
    return Response(status_code=204)


async def get_draft(request: Request) -> Response:
    require_roles(request, *READERS)
    runtime = _runtime(request)

    def run() -> list[dict[str, Any]]:
        with runtime.engine.connect() as conn:
            pending = store.read_draft(conn)
        return [
            {"app": a, "kind": k, "name": n, "removed": c is None}
            for (a, k, n), c in pending.items()
        ]

    return JSON(await run_in_threadpool(run))


async def discard_draft(request: Request) -> Response:
    require_roles(request, *WRITERS)

    def run() -> None:
        with write_transaction(_runtime(request).engine) as conn:
            store.discard_draft(conn)

    await run_in_threadpool(run)
    return Response(status_code=204)


async def diff(request: Request) -> Response:
    require_roles(request, *READERS)
    runtime = _runtime(request)
    params = request.query_params

    def contents_of(conn: Any, which: str | None, default: int) -> Any:
        if which == "draft":
            return draft_contents(conn, runtime.catalog())
        number = default if which is None else _int_param(which, "from/to")
        return version_contents(conn, number) if number > 0 else {}

    def run() -> dict[str, Any]:
        latest = runtime.require_catalog().version
        with runtime.engine.connect() as conn:
            old = contents_of(
                conn, params.get("from"), latest - 1 if params.get("to") is None else latest
            )
            new = contents_of(conn, params.get("to"), latest)
        return {"changes": [c.as_json() for c in diff_contents(old, new)]}

    return JSON(await run_in_threadpool(run))


async def dry_run(request: Request) -> Response:
    require_roles(request, *WRITERS)
    runtime = _runtime(request)

    def run() -> dict[str, Any]:
        base = runtime.catalog()
        with runtime.engine.connect() as conn:
            proposal = plan(conn, base, draft_contents(conn, base))
        return {
            "base_version": base.version if base else None,
            "changes": [c.as_json() for c in proposal.changes],
            "report": proposal.report.as_json(),
        }

    return JSON(await run_in_threadpool(run))


async def publish(request: Request) -> Response:
    require_roles(request, *WRITERS)
    runtime = _runtime(request)
    body = await read_json_object(request)
    message, force = _message(body), _force(body)

    def run() -> PublishResult:
        base = runtime.catalog()
        with runtime.engine.connect() as conn:
            contents = draft_contents(conn, base)
        author = principal_of(request).username
        return runtime.publish_contents(contents, author, message, force, clear_draft=True)

    return JSON(_published(await run_in_threadpool(run)))


async def rollback(request: Request) -> Response:
    require_roles(request, *WRITERS)
    runtime = _runtime(request)
    body = await read_json_object(request)
    target = body.get("version")
    if not isinstance(target, int) or isinstance(target, bool):
        raise ValidationFailed(
            "rollback needs a version", [field_error("version", "expected a version number")]
        )
    message = body.get("message") or f"Rollback to version {target}"
    force = _force(body)

    def run() -> PublishResult:
        with runtime.engine.connect() as conn:
            contents = version_contents(conn, target)
        return runtime.publish_contents(
            contents, principal_of(request).username, str(message), force
        )

    return JSON(_published(await run_in_threadpool(run)))


def _published(result: PublishResult) -> dict[str, Any]:
    return {
        **result.version.as_json(),
        "changes": [c.as_json() for c in result.plan.changes],
        "report": result.plan.report.as_json(),
        "migration": result.log.steps,
    }


def _message(body: dict[str, Any]) -> str:
    message = body.get("message")
    if not isinstance(message, str) or not message.strip():
        raise ValidationFailed("a publish needs a message", [field_error("message", "is required")])
    return message


def _force(body: dict[str, Any]) -> bool:
    force = body.get("force", False)
    if not isinstance(force, bool):
        raise ValidationFailed(
            "force must be true or false", [field_error("force", "expected a boolean")]
        )
    return force


def _int_param(raw: str, name: str) -> int:
    if not re.fullmatch(r"-?[0-9]{1,9}", raw):
        raise BadRequest(
            f"{name} must be a version number", [field_error(name, "expected an integer")]
        )
    return int(raw)


async def form_state(request: Request) -> Response:
    """The visible/read-only/required state of a form's fields for the values posted."""
    runtime = _runtime(request)
    catalog = runtime.require_catalog()
    values = await read_json_object(request)
    app, name = request.path_params["app"], request.path_params["form"]

    def run() -> dict[str, Any]:
        with runtime.engine.connect() as conn:
            return forms.form_state(conn, catalog, app, name, values, principal_of(request))

    return JSON(await run_in_threadpool(run))

"""`POST /studio/publish`, `POST /studio/draft/discard` and `POST /studio/rollback`: the
meta API's publishing path (`Runtime.publish_contents`), so this worker serves the new
catalog at once and the others on their next check. A refused publish or rollback shows
its reasons on the page it came from (422)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from engine.database import write_transaction
from engine.errors import AnjuError, NotFound
from engine.publishing import DataLossRefused, PublishResult, draft_contents, version_contents
from engine.runtime import Runtime
from metamodel import store
from metamodel.diff import diff_contents
from renderers.html.environment import language_of_page
from renderers.html.studio.changes import show_diff
from renderers.html.studio.context import (
    Problem,
    first,
    may_change,
    problems_of,
    read_form,
    runtime_of,
)
from renderers.html.studio.history import RollbackAttempt, show_history
from renderers.html.studio.words import TEXTS


class NothingToPublish(Exception):
    """The draft equals the published definitions."""


def refusal(error: AnjuError) -> list[Problem]:
    """Why the engine refused, then each detail it named (findings, definition errors)."""
    details = problems_of(error) if error.details else []
    return [Problem(error.message), *details]


def publish_draft(runtime: Runtime, author: str, message: str, force: bool) -> PublishResult:
    base = runtime.catalog()
    with runtime.engine.connect() as conn:
        contents = draft_contents(conn, base)
    if not diff_contents(base.definitions.contents if base else {}, contents):
        raise NothingToPublish
    return runtime.publish_contents(contents, author, message, force, clear_draft=True)


async def publish(request: Request) -> Response:
    principal = may_change(request)
    form = await read_form(request)
    message, force = first(form, "message").strip(), first(form, "force") == "1"
    texts = TEXTS[language_of_page(request)]
    if not message:
        return await show_diff(request, 422, message_error=texts["message_required"], force=force)
    runtime = runtime_of(request)
    try:
        result = await run_in_threadpool(publish_draft, runtime, principal.username, message, force)
    except NothingToPublish:
        return await show_diff(request, 422, [Problem(texts["nothing_to_publish"])], message)
    except AnjuError as exc:
        return await show_diff(request, 422, refusal(exc), message, force=force)
    return RedirectResponse(f"/studio?published={result.version.version}", 303)


async def discard_draft(request: Request) -> Response:
    may_change(request)

    def run() -> None:
        with write_transaction(runtime_of(request).engine) as conn:
            store.discard_draft(conn)

    await run_in_threadpool(run)
    return RedirectResponse("/studio?discarded=1", 303)


def roll_back(
    runtime: Runtime, version: int, author: str, message: str, force: bool
) -> PublishResult:
    """Publish the content of `version` as a new version; the draft stays as it is."""
    with runtime.engine.connect() as conn:
        contents = version_contents(conn, version)
    return runtime.publish_contents(contents, author, message, force)


async def rollback(request: Request) -> Response:
    principal = may_change(request)
    form = await read_form(request)
    raw, message = first(form, "version"), first(form, "message").strip()
    force = first(form, "force") == "1"
    if not raw.isdigit():
        raise NotFound(f"no definitions version {raw!r}")
    version = int(raw)
    if not message:
        words = TEXTS[language_of_page(request)]
        attempt = RollbackAttempt(version, message, words["message_required"])
        return await show_history(request, 422, attempt)
    runtime = runtime_of(request)
    try:
        result = await run_in_threadpool(
            roll_back, runtime, version, principal.username, message, force
        )
    except AnjuError as exc:
        lossy = isinstance(exc, DataLossRefused)
        attempt = RollbackAttempt(version, message, "", refusal(exc), force_offered=lossy)
        return await show_history(request, 422, attempt)
    return RedirectResponse(
        f"/studio?published={result.version.version}&rolled_back_to={version}", 303
    )


ROUTES: list[BaseRoute] = [
    Route("/studio/publish", publish, methods=["POST"]),
    Route("/studio/draft/discard", discard_draft, methods=["POST"]),
    Route("/studio/rollback", rollback, methods=["POST"]),
]

"""`GET /studio/history`: every published version, newest first, each with a link to its
diff in the auditor's view and, for versions before the current one, a rollback form."""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from metamodel import store
from renderers.html.chrome import Chrome
from renderers.html.environment import render
from renderers.html.studio.context import Problem, can_change, may_look, runtime_of, studio_chrome


@dataclass(frozen=True)
class VersionRow:
    """One version; `created_at` in the instance's time zone; `current` is the newest."""

    version: int
    author: str
    created_at: str
    message: str
    hash: str
    diff_url: str
    current: bool


@dataclass(frozen=True)
class RollbackAttempt:
    """A refused rollback: the version it aimed at, the message typed, and why."""

    version: int
    message: str = ""
    message_error: str = ""
    problems: list[Problem] = field(default_factory=list)
    force_offered: bool = False  # the refusal was data loss, which the user may accept


@dataclass(frozen=True)
class HistoryPage:
    """The versions, newest first, and the last refused rollback if any."""

    chrome: Chrome
    versions: list[VersionRow]
    can_change: bool
    attempt: RollbackAttempt | None = None


def build_history_page(
    chrome: Chrome,
    versions: list[store.VersionInfo],
    timezone: str,
    can_change: bool,
    attempt: RollbackAttempt | None = None,
) -> HistoryPage:
    zone = ZoneInfo(timezone)
    latest = max((v.version for v in versions), default=None)
    rows = [
        VersionRow(
            version=info.version,
            author=info.author,
            created_at=info.created_at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"),
            message=info.message,
            hash=info.hash,
            diff_url=f"/audit/versions/{info.version}",
            current=info.version == latest,
        )
        for info in sorted(versions, key=lambda v: v.version, reverse=True)
    ]
    return HistoryPage(chrome, rows, can_change, attempt)


def list_versions(request: Request) -> list[store.VersionInfo]:
    with runtime_of(request).engine.connect() as conn:
        return store.list_versions(conn)


async def show_history(
    request: Request, status: int = 200, attempt: RollbackAttempt | None = None
) -> Response:
    versions = await run_in_threadpool(list_versions, request)
    chrome = studio_chrome(request, "history")
    timezone = runtime_of(request).settings.timezone
    page = build_history_page(chrome, versions, timezone, can_change(request), attempt)
    return render(request, "studio/history.html", page, status)


async def history(request: Request) -> Response:
    may_look(request)
    return await show_history(request)


ROUTES: list[BaseRoute] = [Route("/studio/history", history, methods=["GET"])]

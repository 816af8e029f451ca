"""The application factory and the route table, built in one place."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from engine.auth.realm import Realm
from engine.errors import AnjuError
from engine.runtime import Runtime
from engine.settings import Settings
from renderers.api import access, admin, audit, auth, checks, files, flows, meta, records
from renderers.api import notifications as notification_api
from renderers.api.alerts import ROUTES as ALERT_ROUTES
from renderers.api.openapi import openapi_document
from renderers.api.reports import ROUTES as REPORT_ROUTES
from renderers.api.responses import JSON, anju_error, http_error, unexpected_error
from renderers.authentication import Authentication, PasswordWork
from renderers.html import login
from renderers.html.environment import build_environment
from renderers.html.pages import error_page, wants_html
from renderers.html.routes import record_screen_routes, screen_routes

log = logging.getLogger("anju")


async def health(request: Request) -> Response:
    catalog = request.app.state.runtime.catalog()
    return JSON({"status": "ok", "definitions_version": catalog.version if catalog else None})


async def openapi(request: Request) -> Response:
    return JSON(openapi_document(request.app.state.runtime.require_catalog()))


def routes() -> list[BaseRoute]:
    """Every URL of the platform. Entity URLs resolve against the catalog of each request,
    so a published entity is served at once, without rebuilding this table."""
    return [
        Route("/-/health", health),
        Route("/openapi.json", openapi),
        Route("/api/meta/apps", meta.list_apps),
        Route("/api/meta/versions", meta.list_versions),
        Route("/api/meta/versions/{version}", meta.get_version),
        Route("/api/meta/definitions/{app}/{kind}/{name}", meta.get_definition, methods=["GET"]),
        Route("/api/meta/definitions/{app}/{kind}/{name}", meta.put_definition, methods=["PUT"]),
        Route(
            "/api/meta/definitions/{app}/{kind}/{name}", meta.delete_definition, methods=["DELETE"]
        ),
        Route("/api/meta/draft", meta.get_draft, methods=["GET"]),
        Route("/api/meta/draft", meta.discard_draft, methods=["DELETE"]),
        Route("/api/meta/diff", meta.diff),
        Route("/api/meta/dry-run", meta.dry_run, methods=["POST"]),
        Route("/api/meta/publish", meta.publish, methods=["POST"]),
        Route("/api/meta/rollback", meta.rollback, methods=["POST"]),
        Route("/api/meta/forms/{app}/{form}/state", meta.form_state, methods=["POST"]),
        Route("/api/files", files.upload_file, methods=["POST"]),
        Route("/api/files/{file_id}", files.download_file, methods=["GET"]),
        Route("/api/inbox", flows.inbox, methods=["GET"]),
        Route("/api/inbox/{id}/claim", flows.claim, methods=["POST"]),
        Route("/api/inbox/{id}/release", flows.release, methods=["POST"]),
        Route("/api/messages", flows.messages, methods=["GET"]),
        Route("/api/messages/{id}/read", flows.read_message, methods=["POST"]),
        Route("/api/audit", audit.search, methods=["GET"]),
        Route("/api/audit/verify", audit.verify, methods=["GET"]),
        Route("/api/audit/head", audit.head, methods=["GET"]),
        Route("/api/meta/plugins", meta.list_plugins, methods=["GET"]),
        Route("/api/checks/rerun", checks.rerun_decision, methods=["POST"]),
        *REPORT_ROUTES,
        *ALERT_ROUTES,
        Route("/api/notifications/outbox", notification_api.outbox, methods=["GET"]),
        Route("/api/notifications/outbox/{id}/retry", notification_api.retry, methods=["POST"]),
        *auth_routes(),
    ]


def record_routes() -> list[BaseRoute]:
    """The routes of every entity; after all others, as their paths match almost anything."""
    return [
        Route("/api/{app}/{entity}", records.list_records, methods=["GET"]),
        Route("/api/{app}/{entity}", records.create_record, methods=["POST"]),
        Route("/api/{app}/{entity}/{id}", records.get_record, methods=["GET"]),
        Route("/api/{app}/{entity}/{id}/access", access.explain, methods=["GET"]),
        Route("/api/{app}/{entity}/{id}/flow", flows.record_flow, methods=["GET"]),
        Route("/api/{app}/{entity}/{id}/transitions/{name}", flows.transition, methods=["POST"]),
        Route("/api/{app}/{entity}/{id}", records.update_record, methods=["PATCH"]),
        Route("/api/{app}/{entity}/{id}", records.delete_record, methods=["DELETE"]),
    ]


def auth_routes() -> list[BaseRoute]:
    """Logging in and out, the current user, and administration of orgs and users."""
    return [
        Route("/login", login.login_form, methods=["GET"]),
        Route("/login", login.login, methods=["POST"]),
        Route("/logout", login.logout, methods=["POST"]),
        Route("/api/auth/token", auth.token, methods=["POST"]),
        Route("/api/auth/logout", auth.logout, methods=["POST"]),
        Route("/api/auth/me", auth.me, methods=["GET"]),
        Route("/api/auth/password", auth.password, methods=["POST"]),
        Route("/api/auth/orgs", admin.list_organisations, methods=["GET"]),
        Route("/api/auth/orgs", admin.create_organisation, methods=["POST"]),
        Route("/api/auth/orgs/{id}", admin.get_organisation, methods=["GET"]),
        Route("/api/auth/orgs/{id}", admin.update_organisation, methods=["PATCH"]),
        Route("/api/auth/users", admin.list_accounts, methods=["GET"]),
        Route("/api/auth/users", admin.create_account, methods=["POST"]),
        Route("/api/auth/users/{id}", admin.get_account, methods=["GET"]),
        Route("/api/auth/users/{id}", admin.update_account, methods=["PATCH"]),
        Route("/api/auth/users/{id}/roles", admin.put_roles, methods=["PUT"]),
        Route("/api/auth/users/{id}/password", admin.reset_account_password, methods=["POST"]),
        Route("/api/auth/users/{id}/unlock", admin.unlock_account, methods=["POST"]),
        Route("/api/auth/logins", admin.login_history, methods=["GET"]),
    ]


PLUGIN_PREFIXES = ("/api/plugins/", "/public/", "/api/iot/", "/iot/")  # `iot` is a reserved name


def plugin_routes(runtime: Runtime) -> list[BaseRoute]:
    """The routes plugins add (`anju_routes`), under `/api/plugins/` (login required),
    `/public/` (open to anyone) or the devices' `/api/iot/` and `/iot/`; a route elsewhere
    could shadow an app's entities or the platform's own paths, and is not mounted."""
    added = []
    for route in runtime.extensions.routes:
        path = str(getattr(route, "path", ""))
        if not path.startswith(PLUGIN_PREFIXES):
            log.error("a plugin route %s is outside %s; not mounted", path, PLUGIN_PREFIXES)
            continue
        added.append(route)
    return added


ErrorHandler = Callable[[Request, Exception], Awaitable[Response]]


def _as_page_or(answer_json: ErrorHandler) -> ErrorHandler:
    """Errors on screens render as a page in the user's language; on the API, as JSON."""

    async def handle(request: Request, exc: Exception) -> Response:
        if not wants_html(request):
            return await answer_json(request, exc)
        if isinstance(exc, AnjuError):
            return error_page(request, exc.status, exc.message, exc.details)
        if isinstance(exc, HTTPException):
            return error_page(request, exc.status_code)
        await unexpected_error(request, exc)  # logs the trace
        return error_page(request, 500)

    return handle


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> Starlette:
    """Build one isolated platform instance: its own database engine and catalog."""
    runtime = runtime or Runtime.create(settings or Settings())

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        runtime.start()
        yield
        runtime.dispose()

    realm = Realm.create(runtime.settings, runtime.engine)
    app = Starlette(
        routes=[
            *routes(),
            *screen_routes(),
            *plugin_routes(runtime),
            *record_routes(),
            *record_screen_routes(),
        ],
        lifespan=lifespan,
        middleware=[Middleware(Authentication, realm=realm)],
        exception_handlers={
            AnjuError: _as_page_or(anju_error),
            HTTPException: _as_page_or(http_error),
            Exception: _as_page_or(unexpected_error),
        },
    )
    app.state.runtime = runtime
    app.state.realm = realm
    app.state.password_work = PasswordWork.for_cpus()
    app.state.templates = build_environment()
    return app

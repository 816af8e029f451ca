"""The device screens' routes: `/iot/devices` (the list), `/iot/devices/{id}` (one device)
and `POST /iot/devices/{id}/commands` (request a command from the device's page).

Their templates (`iot/screens/templates/`) extend the platform's `layout.html`: they are
rendered by an overlay of the app's Jinja environment that looks in this folder first, kept
on the app beside the environment it extends.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from engine.database import write_transaction
from engine.errors import BadRequest, Conflict, NotFound, ValidationFailed, field_error
from engine.runtime import Runtime
from iot.registry import device_type, load_device
from iot.screens.command_form import PARAM_PREFIX, Failed, params_from_form
from iot.screens.device_list import DevicesPage, devices_page
from iot.screens.device_page import DevicePage, device_page
from iot.screens.texts import TEXTS
from metamodel.labels import pick
from renderers.api.requests import principal_of
from renderers.html.chrome import chrome_of
from renderers.html.environment import PAGE_HEADERS, language_of_page
from renderers.html.pages import forget_notice, remember_notice, take_notice

TEMPLATES = Path(__file__).with_name("templates")
MAX_FIELDS = 40


def _templates(request: Request) -> Environment:
    """The app's environment with this folder in front of its loader, made once per app."""
    state = request.app.state
    environment: Environment | None = getattr(state, "device_templates", None)
    if environment is None:
        base: Environment = state.templates
        loader = ChoiceLoader([FileSystemLoader(TEMPLATES), base.loader])  # type: ignore[list-item]
        environment = base.overlay(loader=loader)
        state.device_templates = environment
    return environment


def _render(request: Request, template: str, page: Any, status: int = 200) -> HTMLResponse:
    html = _templates(request).get_template(template).render(page=page)
    return HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _device_id(request: Request) -> int:
    device_id: int = request.path_params["device_id"]
    if device_id >= 2**63:
        raise NotFound(f"no device {device_id}")
    return device_id


async def devices_screen(request: Request) -> Response:
    """`GET /iot/devices?type=&online=&status=&unit=&cursor=`."""
    runtime = _runtime(request)
    catalog = runtime.require_catalog()
    title = TEXTS[language_of_page(request)]["devices_title"]
    chrome = chrome_of(request, title, catalog, TEXTS)
    principal = principal_of(request)
    items = request.query_params.multi_items()

    def run() -> tuple[DevicesPage, int]:
        with runtime.engine.connect() as conn:
            return devices_page(conn, catalog, principal, chrome, items)

    page, status = await run_in_threadpool(run)
    return _render(request, "devices.html", page, status)


async def device_screen(request: Request) -> Response:
    """`GET /iot/devices/{id}?field=&range=24h|7d|30d`."""
    runtime = _runtime(request)
    catalog = runtime.require_catalog()
    device_id = _device_id(request)
    principal = principal_of(request)
    notice = take_notice(request) or ""
    title = TEXTS[language_of_page(request)]["device_title"]
    chrome = chrome_of(request, title, catalog, TEXTS)
    asked = request.query_params

    def run() -> DevicePage:
        with runtime.engine.connect() as conn:
            return device_page(
                conn,
                catalog,
                principal,
                chrome,
                device_id,
                runtime.clock.now(),
                asked.get("field"),
                asked.get("range"),
                notice,
            )

    response = _render(request, "device.html", await run_in_threadpool(run))
    if notice:
        forget_notice(response)
    return response


async def request_command_screen(request: Request) -> Response:
    """`POST /iot/devices/{id}/commands` with `command`, `reason` and `param.<name>` fields:
    back to the device with a notice; a refusal (422, 409) shows the form again with what
    was entered and why it was refused."""
    from iot.commands.service import request_command

    runtime = _runtime(request)
    catalog = runtime.require_catalog()
    device_id = _device_id(request)
    principal = principal_of(request)
    async with request.form(max_files=0, max_fields=MAX_FIELDS) as form:
        values = {
            name: str(value)
            for name, value in form.items()
            if name in ("command", "reason") or name.startswith(PARAM_PREFIX)
        }
    command = values.get("command", "")

    def run() -> dict[str, Any]:
        with write_transaction(runtime.engine) as conn:
            device = load_device(conn, catalog, device_id)
            spec = device_type(catalog, device.type_name).commands.get(command)
            if spec is None:
                raise ValidationFailed(
                    "no such command", [field_error("command", f"no command {command!r}")]
                )
            params = params_from_form(spec, values, catalog.options.timezone)
            reason = values.get("reason", "").strip() or None
            return request_command(
                conn, runtime, catalog, principal, device, command, params, reason
            )

    texts = TEXTS[language_of_page(request)]
    try:
        requested = await run_in_threadpool(run)
    except (ValidationFailed, Conflict, BadRequest) as refused:
        details = refused.details or [{"path": "", "message": refused.message}]
        return await _refused(
            request, runtime, device_id, Failed(command, values, details), refused.status
        )
    target = f"/iot/devices/{device_id}"
    response = RedirectResponse(target, 303)
    label = _command_label(
        runtime, requested["device_type"], command, texts, language_of_page(request)
    )
    status = texts.get(f"status_{requested['status']}", requested["status"])
    remember_notice(
        response,
        texts["command_sent"].format(command=label, status=status),
        runtime.settings.secure_cookies,
    )
    return response


def _command_label(
    runtime: Runtime, type_name: str, command: str, texts: dict[str, str], language: str
) -> str:
    spec = device_type(runtime.require_catalog(), type_name).commands.get(command)
    return pick(spec.label, language, command) if spec is not None else command


async def _refused(
    request: Request, runtime: Runtime, device_id: int, failed: Failed, status: int
) -> Response:
    catalog = runtime.require_catalog()
    principal = principal_of(request)
    title = TEXTS[language_of_page(request)]["device_title"]
    chrome = chrome_of(request, title, catalog, TEXTS)

    def run() -> DevicePage:
        with runtime.engine.connect() as conn:
            return device_page(
                conn, catalog, principal, chrome, device_id, runtime.clock.now(), failed=failed
            )

    return _render(request, "device.html", await run_in_threadpool(run), status)


ROUTES: list[BaseRoute] = [
    Route("/iot/devices", devices_screen, methods=["GET"]),
    Route("/iot/devices/{device_id:int}", device_screen, methods=["GET"]),
    Route("/iot/devices/{device_id:int}/commands", request_command_screen, methods=["POST"]),
]

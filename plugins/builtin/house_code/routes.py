"""The plugin's URLs: a unit's public page, and its QR code and label for staff.

    GET /public/house/{token}                   the public page, to anyone; a 404 page if
                                                the token is unknown
    GET /public/house/{token}.json              the same as JSON
    GET /api/plugins/house_code/{id}            the unit's code, public URL and the links below
    GET /api/plugins/house_code/{id}/qr.svg     the QR code of the public URL
    GET /api/plugins/house_code/{id}/qr.png
    GET /api/plugins/house_code/{id}/label      a printable label: QR code, code and address

The staff URLs read the unit as the caller may (`engine.records.get_record`), as the records
API does: a unit outside the caller's scope is 404, a role that reads no units at all 403.
The QR code holds the absolute public URL: `settings.public_url` when the instance has such a
setting, else the base URL of the request.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import segno
import sqlalchemy as sa
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from engine import records
from engine.database import read_mostly
from engine.errors import Conflict, Forbidden, NotFound
from engine.expressions.builtins import local_date
from engine.principal import Principal
from engine.runtime import Runtime
from plugins.builtin.house_code.codes import HouseCode
from plugins.builtin.house_code.status import HouseStatus, house_entity, read_status
from plugins.builtin.house_code.tokens import code_of_token, instance_key, public_token
from renderers.api.responses import JSON

TEMPLATES = Path(__file__).with_name("templates")
STAFF = "/api/plugins/house_code/{unit_id:int}"
QR_ERROR = "m"  # 15 % of the symbol may be lost (a scuffed label) and it still reads
QR_SCALE = 8  # pixels (SVG units) per module
PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "img-src data:; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Robots-Tag": "noindex",  # one page per home: not for search engines
}


def build_templates() -> Environment:
    """The plugin's own templates; autoescaped, and a missing variable is an error."""
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@dataclass(frozen=True)
class UnitLabel:
    """A unit the caller may read, as its label shows it (`templates/label.html`)."""

    id: int
    code: str
    address: str
    public_url: str
    status: HouseStatus | None  # the public status, for the project and building names
    qr_svg: Markup = Markup("")

    def name(self, field: str) -> str:
        if self.status is None:
            return ""
        return next((item.value for item in self.status.items if item.name == field), "")


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _principal(request: Request) -> Principal:
    principal: Principal = request.state.principal
    return principal


def public_base(request: Request) -> str:
    """Where the public pages are reached from outside: `settings.public_url`, if the
    instance has one, else the request's base URL."""
    configured = getattr(_runtime(request).settings, "public_url", None)
    return str(configured or request.base_url).rstrip("/")


def public_status(runtime: Runtime, token: str) -> HouseStatus | None:
    """The status a public token shows, or None for a forged, mistyped or stale token."""
    code = code_of_token(instance_key(runtime.settings, runtime.engine), token)
    if code is None:
        return None
    today = local_date(runtime.settings.timezone, runtime.clock.now())
    with runtime.engine.connect() as conn:
        return read_status(conn, runtime.require_catalog(), code, today)


def readable_unit(runtime: Runtime, unit_id: int, principal: Principal, base: str) -> UnitLabel:
    """The unit as the caller may read it, with its public URL; 404 when out of scope."""
    catalog = runtime.require_catalog()
    entity = house_entity(catalog)
    if entity is None:
        raise NotFound("no housing units are defined")
    today = local_date(runtime.settings.timezone, runtime.clock.now())

    def work(conn: sa.Connection) -> tuple[dict[str, Any], str, HouseStatus | None]:
        record = records.get_record(conn, entity, unit_id, principal)
        code = record.get("code")
        if not isinstance(code, str):
            raise Forbidden("your roles may not read this unit's code")
        if HouseCode.parse(code) is None:
            raise Conflict(f"{code!r} is not a one-house-one-code; correct it to print its QR")
        return record, code, read_status(conn, catalog, code, today)

    record, code, status = read_mostly(runtime.engine, work)  # an unmasking read is audited
    token = public_token(instance_key(runtime.settings, runtime.engine), code)
    address = record.get("address")
    return UnitLabel(
        id=unit_id,
        code=code,
        address=address if isinstance(address, str) else "",
        public_url=f"{base}/public/house/{token}",
        status=status,
    )


def qr_code(url: str) -> segno.QRCode:
    return segno.make_qr(url, error=QR_ERROR)


def _image(content: bytes, media_type: str, filename: str) -> Response:
    headers = {
        "Cache-Control": "private, no-cache",
        "Content-Disposition": f'inline; filename="{filename}"',
        "X-Content-Type-Options": "nosniff",
    }
    return Response(content, media_type=media_type, headers=headers)


class HouseCodeViews:
    """The handlers, with the templates of one app instance."""

    def __init__(self, templates: Environment) -> None:
        self.templates = templates

    def routes(self) -> list[Route]:
        return [
            Route("/public/house/{token}.json", self.public_json, methods=["GET"]),
            Route("/public/house/{token}", self.public_page, methods=["GET"]),
            Route(STAFF, self.unit_links, methods=["GET"]),
            Route(f"{STAFF}/qr.svg", self.qr_svg, methods=["GET"]),
            Route(f"{STAFF}/qr.png", self.qr_png, methods=["GET"]),
            Route(f"{STAFF}/label", self.label, methods=["GET"]),
        ]

    def _page(self, template: str, page: Any, status: int = 200) -> HTMLResponse:
        html = self.templates.get_template(template).render(page=page)
        return HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)

    async def public_page(self, request: Request) -> Response:
        token = request.path_params["token"]
        status = await run_in_threadpool(public_status, _runtime(request), token)
        if status is None:
            return self._page("missing.html", None, status=404)
        return self._page("house.html", status)

    async def public_json(self, request: Request) -> Response:
        token = request.path_params["token"]
        status = await run_in_threadpool(public_status, _runtime(request), token)
        if status is None:
            raise NotFound("no house has this public token")
        headers = {"Cache-Control": "no-cache", "Access-Control-Allow-Origin": "*"}
        return JSON(status.as_json(), headers=headers)

    async def _unit(self, request: Request) -> UnitLabel:
        return await run_in_threadpool(
            readable_unit,
            _runtime(request),
            request.path_params["unit_id"],
            _principal(request),
            public_base(request),
        )

    async def unit_links(self, request: Request) -> Response:
        unit = await self._unit(request)
        staff = f"/api/plugins/house_code/{unit.id}"
        return JSON(
            {
                "id": unit.id,
                "code": unit.code,
                "public_url": unit.public_url,
                "qr_svg": f"{staff}/qr.svg",
                "qr_png": f"{staff}/qr.png",
                "label": f"{staff}/label",
            }
        )

    async def qr_svg(self, request: Request) -> Response:
        unit = await self._unit(request)
        buffer = io.BytesIO()
        qr_code(unit.public_url).save(buffer, kind="svg", scale=QR_SCALE, title=unit.code)
        return _image(buffer.getvalue(), "image/svg+xml", f"{unit.code}.svg")

    async def qr_png(self, request: Request) -> Response:
        unit = await self._unit(request)
        buffer = io.BytesIO()
        qr_code(unit.public_url).save(buffer, kind="png", scale=QR_SCALE)
        return _image(buffer.getvalue(), "image/png", f"{unit.code}.png")

    async def label(self, request: Request) -> Response:
        unit = await self._unit(request)
        svg = qr_code(unit.public_url).svg_inline(omitsize=True, title=unit.code)
        return self._page("label.html", replace(unit, qr_svg=Markup(svg)))  # segno's own markup

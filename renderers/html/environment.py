"""The Jinja2 environment of one app, and rendering a view model into a response.

Templates only read the view model they are given (`page`); they never query anything.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.requests import Request
from starlette.responses import HTMLResponse

TEMPLATES = Path(__file__).with_name("templates")
STATIC = Path(__file__).with_name("static")
LANGUAGE_COOKIE = "anju_lang"
LANGUAGES = ("zh", "en")
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'",
}


def build_environment() -> Environment:
    """Autoescape everywhere; a missing variable is an error, not an empty string."""
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(request: Request, template: str, page: Any, status: int = 200) -> HTMLResponse:
    environment: Environment = request.app.state.templates
    html = environment.get_template(template).render(page=page)
    return HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)


def language_of_page(request: Request) -> str:
    """`?lang=en|zh` first, then the language the user chose (a cookie), then
    `Accept-Language`; Chinese (zh-CN) is the default."""
    asked = request.query_params.get("lang")
    if asked in LANGUAGES:
        return asked
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    preferred = request.headers.get("accept-language", "").strip().lower()
    return "en" if preferred.startswith("en") else "zh"

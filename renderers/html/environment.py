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
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; "
    "frame-ancestors 'none'; form-action 'self'",
}


def build_environment() -> Environment:
    """Autoescape everywhere; a missing variable is an error, not an empty string."""
    return Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined
    )


def render(request: Request, template: str, page: Any, status: int = 200) -> HTMLResponse:
    environment: Environment = request.app.state.templates
    html = environment.get_template(template).render(page=page)
    return HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)


def language_of_page(request: Request) -> str:
    """`?lang=en|zh` first, then `Accept-Language`; Chinese (zh-CN) is the default."""
    asked = request.query_params.get("lang")
    if asked in ("en", "zh"):
        return asked
    preferred = request.headers.get("accept-language", "").strip().lower()
    return "en" if preferred.startswith("en") else "zh"

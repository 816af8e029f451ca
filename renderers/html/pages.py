"""What every screen shares beyond its frame: error pages instead of JSON for browsers,
the language switch, the one-time notice a redirect leaves for the next page, and the
static files."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from renderers.authentication import is_api
from renderers.html.chrome import Chrome, chrome_of
from renderers.html.environment import LANGUAGE_COOKIE, LANGUAGES, render

ONE_YEAR = 365 * 24 * 3600
NOTICE_COOKIE = "anju_notice"


@dataclass(frozen=True)
class ErrorPage:
    """An error in words for people: the status's sentence, the error's own message, and
    the fields at fault."""

    chrome: Chrome
    status: int
    message: str
    details: list[dict[str, Any]] = field(default_factory=list)


def wants_html(request: Request) -> bool:
    """Errors answer as pages to browsers (which ask for `text/html`) off the API; as JSON
    to everyone else, and always on the API and plugins' public routes."""
    path = request.url.path
    if is_api(path) or path.startswith(("/public/", "/static/")):
        return False
    return "text/html" in request.headers.get("accept", "")


def error_page(
    request: Request, status: int, message: str = "", details: list[dict[str, Any]] | None = None
) -> Response:
    try:
        chrome = chrome_of(request)
    except Exception:  # noqa: BLE001 - an error page must render even when the catalog cannot
        chrome = chrome_of(request, with_menus=False)
    sentence = chrome.texts.get(f"error_{status}", chrome.texts["error_500"])
    text = sentence if status >= 500 or not message else f"{sentence} {message}"
    page = ErrorPage(chrome=chrome, status=status, message=text, details=details or [])
    return render(request, "error.html", page, status)


async def switch_language(request: Request) -> Response:
    """`GET /-/language?to=en&next=/path`: remember the language, go back to the page."""
    from renderers.html.login import safe_next

    language = request.query_params.get("to")
    response = RedirectResponse(safe_next(request.query_params.get("next")), 303)
    if language in LANGUAGES:
        settings = request.app.state.runtime.settings
        response.set_cookie(
            LANGUAGE_COOKIE,
            language,
            max_age=ONE_YEAR,
            path="/",
            httponly=True,
            samesite="lax",
            secure=settings.secure_cookies,
        )
    return response


def remember_notice(response: RedirectResponse, text: str, secure: bool) -> None:
    """Leave a one-time message ("Deleted: A-1") for the page the redirect leads to, and
    only for that page. It travels in a cookie, as a list's query string is all filters.

        response = RedirectResponse("/estate/unit", 303)
        remember_notice(response, "已删除：A-1", settings.secure_cookies)
    """
    target = response.headers["location"]
    value = f"{quote(target, safe='')} {quote(text, safe='')}"
    response.set_cookie(
        NOTICE_COOKIE, value, max_age=60, path="/", samesite="lax", httponly=True, secure=secure
    )


def take_notice(request: Request) -> str | None:
    """The one-time message a redirect left for this page, if any; the page that shows it
    clears it with `forget_notice`, so a reload does not show it again."""
    target, _, text = request.cookies.get(NOTICE_COOKIE, "").partition(" ")
    meant_for = unquote(target).split("?")[0]
    return unquote(text) if text and meant_for == request.url.path else None


def forget_notice(response: Response) -> None:
    response.delete_cookie(NOTICE_COOKIE, path="/")

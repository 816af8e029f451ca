"""Browsing the screens in tests as a logged-in user: a client of the same app that holds a
session cookie (as a browser does), and the page's CSRF token for the forms it posts.

    page = browse(client)                      # admin
    page = browse(client, "li", USER_PASSWORD) # another user, created before
    response = page.get("/estate/unit")
    page.post("/estate/unit/new", data={"code": "A-1", "csrf_token": page.csrf})
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from starlette.testclient import TestClient

from tests.databases import ADMIN_PASSWORD

HTML = {"Accept": "text/html,application/xhtml+xml"}


def csrf_in(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


@dataclass
class Browser:
    """A cookie-holding client; `csrf` is the session's token (for `csrf_token` fields or
    the `X-CSRF-Token` header)."""

    client: TestClient
    csrf: str

    def get(self, url: str, **kwargs: object) -> object:
        return self.client.get(url, headers=HTML, **kwargs)  # type: ignore[arg-type]

    def post(self, url: str, data: dict | None = None, **kwargs: object) -> object:
        body = {"csrf_token": self.csrf, **(data or {})}
        return self.client.post(url, data=body, headers=HTML, **kwargs)  # type: ignore[arg-type]

    def htmx(self, method: str, url: str, **kwargs: object) -> object:
        """A request as htmx sends it: the CSRF header and `HX-Request`."""
        headers = {**HTML, "HX-Request": "true", "X-CSRF-Token": self.csrf}
        return self.client.request(method, url, headers=headers, **kwargs)  # type: ignore[arg-type]


def browse(client: TestClient, username: str = "admin", password: str = ADMIN_PASSWORD) -> Browser:
    """Log in through the login form, as a person would; follows no redirects after."""
    browser = TestClient(client.app, raise_server_exceptions=False, follow_redirects=False)
    form_page = browser.get("/login")
    form = {
        "username": username,
        "password": password,
        "next": "/",
        "csrf_token": csrf_in(form_page.text),
    }
    response = browser.post("/login", data=form)
    assert response.status_code == 303, response.text
    home = browser.get("/", headers=HTML)
    return Browser(browser, csrf_in(home.text))

"""Logging in with a browser: the login form and its CSRF token, the session cookie for
pages and API reads, CSRF on every change made with the cookie, logout and expiry."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx2 as httpx
import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from engine.auth.sessions import COOKIE_NAME
from engine.auth.tables import session_table, utcnow
from engine.settings import Settings
from renderers.app import create_app
from tests.databases import ADMIN_PASSWORD
from tests.identity import USER_PASSWORD, anonymous, create_user

BUILDINGS = "/api/estate/building"


@pytest.fixture
def browser(client: TestClient) -> TestClient:
    """A fresh browser on the app: no token, its own cookie jar."""
    return anonymous(client)


def csrf_in(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def log_in(
    browser: TestClient,
    username: str = "admin",
    password: str = ADMIN_PASSWORD,
    next_path: str = "/",
    **extra: str,
) -> httpx.Response:
    page = browser.get("/login", params={"next": next_path})
    form = {"username": username, "password": password, "next": next_path, **extra}
    form.setdefault("csrf_token", csrf_in(page.text))
    return browser.post("/login", data=form, follow_redirects=False)


def logged_in(browser: TestClient) -> str:
    """Log in as admin; the session's CSRF token, from the home page's logout form."""
    assert log_in(browser).status_code == 303
    return csrf_in(browser.get("/").text)


def set_session(client: TestClient, **values: Any) -> None:
    with client.app.state.runtime.engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(session_table.update().values(**values))


# --- the login page ---------------------------------------------------------------------


def test_the_login_page_is_chinese_by_default_with_labelled_inputs(browser: TestClient) -> None:
    page = browser.get("/login")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<html lang="zh-CN">' in page.text
    assert '<label for="username">用户名</label>' in page.text
    assert '<label for="password">密码</label>' in page.text
    assert 'id="username"' in page.text and 'id="password"' in page.text
    assert csrf_in(page.text)
    assert "anju_login_csrf" in page.headers["set-cookie"]
    assert page.headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize(
    ("params", "headers"),
    [({"lang": "en"}, {}), ({}, {"Accept-Language": "en-US,en;q=0.9"})],
)
def test_the_login_page_speaks_english_when_asked(
    browser: TestClient, params: dict[str, str], headers: dict[str, str]
) -> None:
    page = browser.get("/login", params=params, headers=headers)

    assert '<html lang="en">' in page.text
    assert '<label for="username">Username</label>' in page.text


def test_pages_send_anonymous_visitors_to_the_login(browser: TestClient) -> None:
    response = browser.get("/estate/unit?status=vacant", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Festate%2Funit%3Fstatus%3Dvacant"


def test_login_redirects_to_next_with_a_safe_session_cookie(browser: TestClient) -> None:
    response = log_in(browser, next_path="/estate/unit?status=vacant")

    assert response.status_code == 303
    assert response.headers["location"] == "/estate/unit?status=vacant"
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith(f"{COOKIE_NAME}=")
    )
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie


@pytest.mark.parametrize(
    "target", ["//evil.example/x", "https://evil.example/", "/\\evil.example", "/login", "x"]
)
def test_login_never_redirects_off_site(browser: TestClient, target: str) -> None:
    assert log_in(browser, next_path=target).headers["location"] == "/"


def test_the_home_page_names_the_user_and_offers_logout(browser: TestClient) -> None:
    log_in(browser)

    page = browser.get("/")

    assert '<dd id="username">admin</dd>' in page.text
    assert '<form method="post" action="/logout">' in page.text


# --- CSRF -------------------------------------------------------------------------------


@pytest.mark.parametrize("token", ["", "forged", None])
def test_a_login_without_the_forms_csrf_token_is_refused(
    browser: TestClient, token: str | None
) -> None:
    browser.get("/login")
    form = {"username": "admin", "password": ADMIN_PASSWORD}
    if token is not None:
        form["csrf_token"] = token

    response = browser.post("/login", data=form, follow_redirects=False)

    assert response.status_code == 403
    assert COOKIE_NAME not in browser.cookies


def test_a_login_form_from_another_browser_is_refused(client: TestClient) -> None:
    victim, attacker = anonymous(client), anonymous(client)
    token = csrf_in(attacker.get("/login").text)
    victim.get("/login")

    response = log_in(victim, csrf_token=token)

    assert response.status_code == 403


def test_the_cookie_authenticates_api_reads(browser: TestClient) -> None:
    log_in(browser)

    assert browser.get("/api/auth/me").json()["user"]["username"] == "admin"
    assert browser.get(BUILDINGS).status_code == 200


def test_api_changes_with_the_cookie_need_the_csrf_token(browser: TestClient) -> None:
    csrf = logged_in(browser)

    refused = browser.post(BUILDINGS, json={"name": "A"})
    wrong = browser.post(BUILDINGS, json={"name": "A"}, headers={"X-CSRF-Token": "nope"})
    created = browser.post(BUILDINGS, json={"name": "A"}, headers={"X-CSRF-Token": csrf})

    for response in (refused, wrong):
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "csrf_failed"
    assert created.status_code == 201
    assert browser.get(BUILDINGS).json()["count"] == 1


def test_a_form_field_carries_the_csrf_token_too(browser: TestClient) -> None:
    csrf = logged_in(browser)

    response = browser.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)

    assert response.status_code == 303 and response.headers["location"] == "/login"


def test_logout_without_the_csrf_token_is_refused(browser: TestClient) -> None:
    logged_in(browser)

    response = browser.post("/logout", data={}, follow_redirects=False)

    assert response.status_code == 403
    assert browser.get("/api/auth/me").status_code == 200


# --- ending sessions ----------------------------------------------------------------------


def test_logout_ends_the_session_on_the_server(browser: TestClient, client: TestClient) -> None:
    csrf = logged_in(browser)
    cookie = browser.cookies[COOKIE_NAME]

    browser.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)

    assert COOKIE_NAME not in browser.cookies
    replay = anonymous(client)
    replay.cookies.set(COOKIE_NAME, cookie)
    assert replay.get("/api/auth/me").status_code == 401
    assert replay.get("/", follow_redirects=False).headers["location"] == "/login?next=%2F"


def test_api_logout_with_the_cookie_ends_the_session(browser: TestClient) -> None:
    csrf = logged_in(browser)

    assert browser.post("/api/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204

    assert browser.get("/api/auth/me").status_code == 401


def test_a_session_idle_for_30_minutes_has_ended(browser: TestClient, client: TestClient) -> None:
    logged_in(browser)
    set_session(client, last_seen_at=utcnow() - timedelta(minutes=29))
    assert browser.get("/api/auth/me").status_code == 200

    set_session(client, last_seen_at=utcnow() - timedelta(minutes=31))

    response = browser.get("/", follow_redirects=False)
    assert response.headers["location"] == "/login?next=%2F"
    assert response.headers["set-cookie"].startswith(f'{COOKIE_NAME}=""; ')
    assert browser.get("/api/auth/me").status_code == 401


def test_activity_refreshes_the_idle_clock(browser: TestClient, client: TestClient) -> None:
    logged_in(browser)
    set_session(client, last_seen_at=utcnow() - timedelta(minutes=20))

    assert browser.get("/api/auth/me").status_code == 200

    with client.app.state.runtime.engine.connect() as conn:  # type: ignore[attr-defined]
        seen = conn.execute(sa.select(session_table.c.last_seen_at)).scalar_one()
    assert seen.replace(tzinfo=None) > (utcnow() - timedelta(minutes=1)).replace(tzinfo=None)


def test_a_session_ends_12_hours_after_login(browser: TestClient, client: TestClient) -> None:
    logged_in(browser)

    set_session(client, expires_at=utcnow() - timedelta(seconds=1))

    assert browser.get("/api/auth/me").status_code == 401


def test_a_password_change_ends_the_other_sessions(client: TestClient) -> None:
    create_user(client, "tenant")
    first, second = anonymous(client), anonymous(client)
    log_in(first, "tenant", USER_PASSWORD)
    log_in(second, "tenant", USER_PASSWORD)

    changed = anonymous(client).post(
        "/api/auth/password",
        json={
            "username": "tenant",
            "current_password": USER_PASSWORD,
            "new_password": "Tenant-Pass-2027",
        },
    )

    assert changed.status_code == 200
    assert first.get("/api/auth/me").status_code == 401
    assert second.get("/api/auth/me").status_code == 401


# --- messages beside the form -------------------------------------------------------------


def test_a_wrong_password_is_shown_beside_the_form(browser: TestClient) -> None:
    response = log_in(browser, password="Wrong-Pass-1", next_path="/x")

    assert response.status_code == 401
    assert "用户名或密码错误" in response.text
    assert 'value="admin"' in response.text and 'value="/x"' in response.text


def test_a_locked_account_says_so(client: TestClient, browser: TestClient) -> None:
    create_user(client, "tenant")
    for _ in range(5):
        log_in(browser, "tenant", "Wrong-Pass-1")

    response = log_in(browser, "tenant", USER_PASSWORD)

    assert response.status_code == 403
    assert "账号已被锁定" in response.text


def test_an_expired_password_is_changed_on_the_login_form(
    client: TestClient, browser: TestClient
) -> None:
    user = create_user(client, "tenant")
    client.post(f"/api/auth/users/{user['id']}/password", json={"password": "Temporary-Pass-1"})

    asked = log_in(browser, "tenant", "Temporary-Pass-1")
    assert asked.status_code == 403
    assert '<label for="new_password">' in asked.text
    mismatch = log_in(
        browser,
        "tenant",
        "Temporary-Pass-1",
        new_password="Tenant-Pass-2027",
        confirm_password="Tenant-Pass-2028",
    )
    assert mismatch.status_code == 422
    weak = log_in(
        browser, "tenant", "Temporary-Pass-1", new_password="weak", confirm_password="weak"
    )
    assert weak.status_code == 422 and "must be at least 8 characters long" in weak.text
    done = log_in(
        browser,
        "tenant",
        "Temporary-Pass-1",
        new_password="Tenant-Pass-2027",
        confirm_password="Tenant-Pass-2027",
    )

    assert done.status_code == 303
    assert browser.get("/api/auth/me").json()["user"]["username"] == "tenant"


def test_user_input_is_escaped(browser: TestClient) -> None:
    response = log_in(browser, username="<script>x</script>", password="Wrong-Pass-1")

    assert "<script>x</script>" not in response.text
    assert "&lt;script&gt;" in response.text


def test_secure_cookies_when_configured(settings: Settings) -> None:
    secure = settings.model_copy(update={"secure_cookies": True})
    with TestClient(create_app(secure), base_url="https://testserver") as browser:
        page = browser.get("/login")
        response = log_in(browser)

    cookies = page.headers.get_list("set-cookie") + response.headers.get_list("set-cookie")
    assert len(cookies) == 3 and all("Secure" in c for c in cookies)

"""`GET/POST /login`, `POST /logout` and the `/` page: logging in with a browser.

Before a session exists, the login form is protected by a signed double-submit token: a
random nonce in a cookie, its HMAC in the form. After login, the session's own CSRF token
guards every state-changing form (checked by the authentication middleware). A user whose
password has expired changes it on the same form, then is logged in.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from urllib.parse import urlencode

import anyio.to_thread
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from engine.audit import AuditEvent
from engine.auth.errors import AccountLocked, BadCredentials, PasswordExpired
from engine.auth.login import Attempt, Authenticated, authenticate, change_password
from engine.auth.realm import Realm
from engine.auth.sessions import COOKIE_NAME, NewSession, end_session, open_session
from engine.auth.tokens import revoke_token
from engine.database import write_transaction
from engine.errors import ValidationFailed
from renderers.api.requests import principal_of
from renderers.authentication import password_work, session_of, token_of
from renderers.html.environment import language_of_page, render

LOGIN_CSRF_COOKIE = "anju_login_csrf"
LOGIN_CSRF_PURPOSE = "login-csrf"
TEXTS = {
    "zh": {
        "app_name": "安居",
        "login_title": "登录",
        "username": "用户名",
        "password": "密码",
        "current_password": "当前密码",
        "new_password": "新密码",
        "confirm_password": "再次输入新密码",
        "login": "登录",
        "change_and_login": "修改密码并登录",
        "other_language": "English",
        "bad_credentials": "用户名或密码错误。",
        "locked": "登录失败次数过多，账号已被锁定。请稍后再试，或联系管理员解锁。",
        "expired": "密码已过期或须修改。请设置新密码后登录。",
        "mismatch": "两次输入的新密码不一致。",
        "policy": "新密码不符合密码策略：",
        "csrf": "页面已过期，请重新提交。",
    },
    "en": {
        "app_name": "Anju",
        "login_title": "Log in",
        "username": "Username",
        "password": "Password",
        "current_password": "Current password",
        "new_password": "New password",
        "confirm_password": "New password again",
        "login": "Log in",
        "change_and_login": "Change password and log in",
        "other_language": "中文",
        "bad_credentials": "Wrong username or password.",
        "locked": "Too many failed logins: the account is locked. Try again later, "
        "or ask an administrator to unlock it.",
        "expired": "Your password has expired or must be changed. Choose a new one to log in.",
        "mismatch": "The two new passwords differ.",
        "policy": "The new password does not meet the password policy:",
        "csrf": "The page had expired; please submit it again.",
    },
}


@dataclass(frozen=True)
class LoginPage:
    """The login form in one language, with its CSRF token, the page to go to after, the
    username typed so far, an error (and policy problems), and whether to ask for a new
    password."""

    language: str
    texts: dict[str, str]
    action: str
    switch_language_url: str
    csrf_token: str
    next: str
    username: str = ""
    error: str | None = None
    problems: list[str] = field(default_factory=list)
    change_password: bool = False


def _realm(request: Request) -> Realm:
    realm: Realm = request.app.state.realm
    return realm


def safe_next(target: str | None) -> str:
    """Only a local path: never another site (`//evil`, `/\\evil`, `https://…`), never /login."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    if any(ord(c) < 32 for c in target) or target.split("?")[0] == "/login":
        return "/"
    return target


async def login_form(request: Request) -> Response:
    next_path = safe_next(request.query_params.get("next"))
    if principal_of(request).is_authenticated:
        return RedirectResponse(next_path, 303)
    return await _form(request, next_path)


async def login(request: Request) -> Response:
    async with request.form(max_files=0, max_fields=10) as form:
        return await _login(request, form)


async def _login(request: Request, form: FormData) -> Response:
    realm = _realm(request)
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    username, password = values.get("username", "").strip(), values.get("password", "")
    next_path = safe_next(values.get("next"))
    texts = TEXTS[language_of_page(request)]
    nonce = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    keys = await anyio.to_thread.run_sync(realm.keys)
    if not nonce or not keys.verify(nonce, LOGIN_CSRF_PURPOSE, values.get("csrf_token", "")):
        return await _form(request, next_path, username, texts["csrf"], status=403)
    new_password = values.get("new_password")
    if new_password is not None and new_password != values.get("confirm_password"):
        return await _form(request, next_path, username, texts["mismatch"], 422, change=True)
    principal = principal_of(request)
    attempt = Attempt(
        username=username[:64],
        password=password,
        address=principal.address,
        user_agent=request.headers.get("user-agent"),
        method="session" if new_password is None else "password",
    )

    def run() -> NewSession:
        if new_password is None:
            user: Authenticated = authenticate(realm, attempt)
        else:
            user = change_password(realm, attempt, new_password)
        with write_transaction(realm.engine) as conn:
            return open_session(
                conn, keys, realm.settings, user.user_id, attempt.address, attempt.user_agent
            )

    try:
        session = await password_work(request).run(run)
    except BadCredentials:
        return await _form(request, next_path, username, texts["bad_credentials"], 401)
    except AccountLocked:
        return await _form(request, next_path, username, texts["locked"], 403)
    except PasswordExpired:
        return await _form(request, next_path, username, texts["expired"], 403, change=True)
    except ValidationFailed as exc:
        problems = [str(d["message"]) for d in exc.details]
        return await _form(
            request, next_path, username, texts["policy"], 422, change=True, problems=problems
        )
    response = RedirectResponse(next_path, 303)
    settings = realm.settings
    response.set_cookie(
        COOKIE_NAME,
        session.cookie,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login", secure=settings.secure_cookies)
    return response


async def logout(request: Request) -> Response:
    """End the session (or revoke the token); the CSRF check happened in the middleware."""
    realm, principal = _realm(request), principal_of(request)
    session, claims = session_of(request), token_of(request)

    def run() -> None:
        with write_transaction(realm.engine) as conn:
            if session is not None:
                end_session(conn, session.session_id)
            if claims is not None:
                revoke_token(conn, claims)
            method = "session" if session else "token"
            event = AuditEvent.by(
                principal, "auth.logout", "user", principal.user_id, {"method": method}
            )
            realm.audit(conn, event)

    await anyio.to_thread.run_sync(run)
    response = RedirectResponse("/login", 303)
    response.delete_cookie(COOKIE_NAME, path="/", secure=realm.settings.secure_cookies)
    return response


async def _form(
    request: Request,
    next_path: str,
    username: str = "",
    error: str | None = None,
    status: int = 200,
    change: bool = False,
    problems: list[str] | None = None,
) -> Response:
    """The login page, reusing the browser's nonce cookie (so several tabs work) or making one."""
    realm = _realm(request)
    keys = await anyio.to_thread.run_sync(realm.keys)
    nonce = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    language = language_of_page(request)
    lang_query = f"?lang={request.query_params['lang']}" if "lang" in request.query_params else ""
    other = "zh" if language == "en" else "en"
    page = LoginPage(
        language=language,
        texts=TEXTS[language],
        action=f"/login{lang_query}",
        switch_language_url=f"/login?{urlencode({'lang': other, 'next': next_path})}",
        csrf_token=keys.sign(nonce, LOGIN_CSRF_PURPOSE),
        next=next_path,
        username=username,
        error=error,
        problems=problems or [],
        change_password=change,
    )
    response = render(request, "login.html", page, status)
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        nonce,
        path="/login",
        httponly=True,
        samesite="lax",
        secure=realm.settings.secure_cookies,
    )
    return response

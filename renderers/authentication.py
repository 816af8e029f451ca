"""The authentication middleware: who is calling, from where, and whether they may.

Credentials are a bearer token (`Authorization: Bearer <jwt>`, for API clients) or the
session cookie (browsers). The principal goes into the request state for every handler.
Without credentials only a few public paths answer; API paths say 401 in the contract's
shape, HTML paths redirect to the login page. A cookie-authenticated POST, PUT, PATCH or
DELETE must carry the session's CSRF token (header `X-CSRF-Token` or form field
`csrf_token`, which a multipart form must send before its files); bearer tokens need none,
as browsers never send them on their own.
Checking credentials touches the database, so it runs in a worker thread.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from collections.abc import Callable
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

import anyio.to_thread
from anyio import CapacityLimiter
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.auth.realm import Realm
from engine.auth.sessions import COOKIE_NAME, ActiveSession, find_session, touch_session
from engine.auth.tokens import TokenClaims, principal_for_token, read_token
from engine.database import write_transaction
from engine.principal import ANONYMOUS, Principal
from renderers.api.requests import MAX_BODY
from renderers.api.responses import error_response

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

PUBLIC_PATHS = frozenset(
    {"/-/health", "/-/language", "/api/auth/token", "/api/auth/password", "/login"}
)
PUBLIC_PREFIXES = ("/static/", "/public/")  # /public/: pages plugins serve to anyone
DEVICE_PATHS = frozenset(  # devices authenticate in the route itself, with their own secret
    {"/api/iot/telemetry", "/api/iot/commands/pending", "/api/iot/commands/replies"}
)
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
MAX_PREFIX = 1024 * 1024  # how far into a multipart body the token is looked for
Result = TypeVar("Result")


@dataclass(frozen=True)
class Credentials:
    """What the request proved: the principal and the token or session it came with."""

    principal: Principal
    token: TokenClaims | None = None
    session: ActiveSession | None = None


def session_of(request: Request) -> ActiveSession | None:
    session: ActiveSession | None = getattr(request.state, "session", None)
    return session


def token_of(request: Request) -> TokenClaims | None:
    token: TokenClaims | None = getattr(request.state, "token", None)
    return token


def is_public(path: str) -> bool:
    """Paths that answer without a person's credentials: the login, health and static
    files, plugins' `/public/` pages, and the device endpoints (which check the device's)."""
    return path in PUBLIC_PATHS or path in DEVICE_PATHS or path.startswith(PUBLIC_PREFIXES)


def is_api(path: str) -> bool:
    return path.startswith(("/api/", "/-/")) or path in ("/api", "/openapi.json")


@dataclass
class PasswordWork:
    """Where password hashing runs: threads bounded to the number of CPUs, so logins use
    every core without stalling the event loop or crowding out other requests' threads.
    `limiter=None` hashes on the event loop: only the login benchmark's baseline does."""

    limiter: CapacityLimiter | None

    @classmethod
    def for_cpus(cls) -> PasswordWork:
        return cls(CapacityLimiter(os.cpu_count() or 1))

    async def run(self, function: Callable[..., Result], *args: Any) -> Result:
        if self.limiter is None:
            return function(*args)
        return await anyio.to_thread.run_sync(function, *args, limiter=self.limiter)


def password_work(request: Request) -> PasswordWork:
    work: PasswordWork = request.app.state.password_work
    return work


class Authentication:
    """Pure ASGI middleware, so streaming responses pass through untouched."""

    def __init__(self, app: ASGIApp, realm: Realm) -> None:
        self.app = app
        self.realm = realm
        self.proxies = [
            ipaddress.ip_network(p, strict=False) for p in realm.settings.trusted_proxies
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, method = scope["path"], scope["method"]
        headers = Headers(scope=scope)
        public, unsafe = is_public(path), method in UNSAFE_METHODS
        address = client_address(scope, headers, self.proxies)
        bearer = _bearer(headers)
        cookie = None if bearer is not None or (public and unsafe) else _cookie(headers)
        found = None
        if bearer is not None or cookie is not None:
            found = await anyio.to_thread.run_sync(self.identify, bearer, cookie, address)
        if found is None and not public:
            await self.refuse(scope, path, cookie is not None)(scope, receive, send)
            return
        if found is not None and found.session is not None and unsafe:
            receive, passed = await _csrf_passes(scope, headers, receive, found.session)
            if not passed:
                response = error_response(
                    403, "csrf_failed", "the CSRF token is missing or wrong; reload the page"
                )
                await response(scope, receive, send)
                return
        state = scope.setdefault("state", {})
        state["principal"] = found.principal if found else ANONYMOUS.from_address(address)
        state["token"] = found.token if found else None
        state["session"] = found.session if found else None
        await self.app(scope, receive, send)

    def identify(
        self, bearer: str | None, cookie: str | None, address: str | None
    ) -> Credentials | None:
        """The credentials' principal, or None when they are forged, expired or revoked."""
        realm = self.realm
        if bearer is not None:
            claims = read_token(realm.keys(), bearer)
            if claims is None:
                return None
            with realm.engine.connect() as conn:
                principal = principal_for_token(conn, claims, address)
            return None if principal is None else Credentials(principal, token=claims)
        assert cookie is not None
        with realm.engine.connect() as conn:
            session = find_session(conn, realm.keys(), realm.settings, cookie, address)
        if session is None:
            return None
        if session.stale:
            with write_transaction(realm.engine) as conn:
                touch_session(conn, session.session_id)
        return Credentials(session.principal, session=session)

    def refuse(self, scope: Scope, path: str, had_cookie: bool) -> Response:
        if is_api(path):
            response: Response = error_response(
                401,
                "unauthorized",
                "log in first: send Authorization: Bearer <token> from POST /api/auth/token",
            )
            response.headers["WWW-Authenticate"] = "Bearer"
        else:
            query = scope.get("query_string", b"").decode("latin-1")
            target = path + (f"?{query}" if query else "")
            next_path = target if scope["method"] == "GET" else "/"
            response = RedirectResponse(f"/login?next={quote(next_path, safe='')}", 303)
        if had_cookie:
            response.delete_cookie(COOKIE_NAME, path="/", secure=self.realm.settings.secure_cookies)
        return response


def client_address(
    scope: Scope, headers: Headers, proxies: list[ipaddress.IPv4Network | ipaddress.IPv6Network]
) -> str | None:
    """The peer's address; behind a trusted proxy, the first untrusted hop of
    `X-Forwarded-For` read from the right (the left end is whatever the client claims)."""
    client = scope.get("client")
    peer: str | None = client[0] if client else None
    if peer is None or not _trusted(peer, proxies):
        return peer
    hops = [hop.strip() for hop in headers.get("x-forwarded-for", "").split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _is_address(hop):
            return peer
        if not _trusted(hop, proxies):
            return hop
        peer = hop
    return peer


def _trusted(address: str, proxies: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in proxies)


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _bearer(headers: Headers) -> str | None:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _cookie(headers: Headers) -> str | None:
    raw = headers.get("cookie")
    if not raw:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except Exception:  # a malformed Cookie header is no credential at all
        return None
    morsel = jar.get(COOKIE_NAME)
    return morsel.value if morsel and morsel.value else None


async def _csrf_passes(
    scope: Scope, headers: Headers, receive: Receive, session: ActiveSession
) -> tuple[Receive, bool]:
    """Whether the request carries the session's CSRF token; reading it from a form means
    reading the body, so the returned `receive` hands the same body to the app."""
    sent = headers.get(CSRF_HEADER)
    content_type = headers.get("content-type", "")
    media_type = content_type.split(";")[0].strip().lower()
    if sent is None and media_type == "application/x-www-form-urlencoded":
        body = await _read_body(receive)
        if body is None:  # too large to buffer: such forms must send the header
            return receive, False
        async with Request(scope, _replay(body, False, receive)).form() as form:
            field = form.get(CSRF_FIELD)
            sent = field if isinstance(field, str) else None
        receive = _replay(body, False, receive)
    elif sent is None and media_type == "multipart/form-data":
        _, options = parse_options_header(content_type)
        if not options.get(b"boundary"):  # no parts to find the token in
            return receive, False
        finder = TokenFinder(options[b"boundary"])
        prefix, more = await finder.read(receive)
        sent = finder.token
        receive = _replay(prefix, more, receive)
    if not sent:
        return receive, False
    return receive, hmac.compare_digest(sent.encode(), session.csrf_token.encode())


class TokenFinder:
    """Reads a multipart body only as far as its `csrf_token` field. Our forms send that
    field first, so an upload behind it streams on to the app instead of being held here
    (and uploads may be larger than any body worth buffering). A token that is not among
    the first `MAX_PREFIX` bytes, or comes after a file, is missing."""

    def __init__(self, boundary: bytes) -> None:
        self.token: str | None = None
        self.done = False
        self.read_bytes = 0
        self._disposition = self._header = self._value = b""
        self._name: str | None = None
        self._data = bytearray()
        callbacks: MultipartCallbacks = {
            "on_part_begin": self._part_begins,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value,
            "on_header_end": self._header_ends,
            "on_headers_finished": self._headers_end,
            "on_part_data": self._part_data,
            "on_part_end": self._part_ends,
            "on_end": self._stop,
        }
        self._parser = MultipartParser(boundary, callbacks)

    async def read(self, receive: Receive) -> tuple[bytes, bool]:
        """The bytes read until the token was found or given up on, and whether the body
        goes on after them."""
        chunks: list[bytes] = []
        more = True
        while more and not self.done:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            more = message.get("more_body", False)
            chunks.append(chunk)
            self.feed(chunk)
        return b"".join(chunks), more

    def feed(self, chunk: bytes) -> None:
        """Parse the next bytes of the body, unless the token is already settled."""
        if self.done:
            return
        self.read_bytes += len(chunk)
        try:
            self._parser.write(chunk)
        except FormParserError:
            self._stop()
        if self.read_bytes > MAX_PREFIX:
            self._stop()

    def _part_begins(self) -> None:
        self._disposition, self._name, self._data = b"", None, bytearray()

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_ends(self) -> None:
        if self._header.lower() == b"content-disposition":
            self._disposition = self._value
        self._header = self._value = b""

    def _headers_end(self) -> None:
        _, options = parse_options_header(self._disposition)
        if b"filename" in options:  # a file before the token: it cannot be one of our forms
            self._stop()
        else:
            self._name = options.get(b"name", b"").decode("latin-1")

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._name == CSRF_FIELD and not self.done:
            self._data += data[start:end]

    def _part_ends(self) -> None:
        if self._name == CSRF_FIELD and not self.done:
            self.token = self._data.decode("utf-8", "replace")
            self._stop()

    def _stop(self) -> None:
        self.done = True


async def _read_body(receive: Receive) -> bytes | None:
    """The whole body, or None past `MAX_BODY`."""
    body = b""
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return body
        body += message.get("body", b"")
        if len(body) > MAX_BODY:
            return None
        if not message.get("more_body", False):
            return body


def _replay(body: bytes, more: bool, receive: Receive) -> Receive:
    """A `receive` that gives `body` once (saying whether `more` follows), then defers to
    the real one: the rest of the body, or the disconnect."""
    given = False

    async def replay() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": more}
        return await receive()

    return replay

"""The authentication middleware: client addresses behind proxies, public paths, the
address that reaches the audit trail, and the CSRF token of multipart forms found without
holding their uploads."""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
import sqlalchemy as sa
from starlette.datastructures import Headers
from starlette.testclient import TestClient
from starlette.types import Message

from engine.files import files
from engine.settings import Settings
from renderers.app import create_app
from renderers.authentication import MAX_PREFIX, TokenFinder, client_address, is_api, is_public
from tests.html.browsing import browse
from tests.identity import authorize

PROXIES = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1")]


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("203.0.113.9", None, "203.0.113.9"),
        ("203.0.113.9", "198.51.100.1", "203.0.113.9"),  # not a proxy: its header is ignored
        ("10.0.0.2", "198.51.100.1", "198.51.100.1"),
        ("10.0.0.2", "1.2.3.4, 198.51.100.1", "198.51.100.1"),  # the client may lie on the left
        ("10.0.0.2", "198.51.100.1, 10.0.0.3", "198.51.100.1"),  # two proxies in a row
        ("::1", "2001:db8::5", "2001:db8::5"),
        ("10.0.0.2", "not-an-address", "10.0.0.2"),
        ("10.0.0.2", None, "10.0.0.2"),
        ("10.0.0.2", "10.0.0.3", "10.0.0.3"),  # only proxies: the farthest one
    ],
)
def test_the_client_address_trusts_only_listed_proxies(
    peer: str, forwarded: str | None, expected: str
) -> None:
    headers = Headers({"x-forwarded-for": forwarded} if forwarded else {})

    assert client_address({"client": (peer, 1234)}, headers, PROXIES) == expected


def test_without_a_peer_there_is_no_address() -> None:
    assert client_address({}, Headers({}), PROXIES) is None


@pytest.mark.parametrize(
    ("path", "public", "api"),
    [
        ("/-/health", True, True),
        ("/api/auth/token", True, True),
        ("/api/auth/password", True, True),
        ("/login", True, False),
        ("/static/app.css", True, False),
        ("/api/auth/me", False, True),
        ("/openapi.json", False, True),
        ("/", False, False),
        ("/estate/unit", False, False),
        ("/loginx", False, False),
    ],
)
def test_public_and_api_paths(path: str, public: bool, api: bool) -> None:
    assert (is_public(path), is_api(path)) == (public, api)


def test_the_forwarded_address_reaches_the_login_history(settings: Settings) -> None:
    behind_proxy = settings.model_copy(update={"trusted_proxies": ["10.0.0.0/8"]})
    app = create_app(behind_proxy)
    with TestClient(
        app, client=("10.1.2.3", 4000), headers={"X-Forwarded-For": "198.51.100.7"}
    ) as client:
        authorize(client)

        [entry] = client.get("/api/auth/logins").json()["items"]

    assert entry["address"] == "198.51.100.7"


# --- the CSRF token of a multipart form ---

BOUNDARY = b"----anjuboundary"
CHUNK = 64 * 1024
UPLOAD = 25 * 1024 * 1024  # larger than any body the middleware buffers (MAX_BODY)


def text_part(name: str, value: bytes) -> bytes:
    return (
        b"--" + BOUNDARY + b"\r\n"
        b'Content-Disposition: form-data; name="' + name.encode() + b'"\r\n\r\n' + value + b"\r\n"
    )


def file_part(name: str, content: bytes) -> bytes:
    return (
        b"--" + BOUNDARY + b"\r\n"
        b'Content-Disposition: form-data; name="' + name.encode() + b'"; filename="big.bin"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n" + content + b"\r\n"
    )


def multipart(*parts: bytes) -> bytes:
    return b"".join(parts) + b"--" + BOUNDARY + b"--\r\n"


def find_token(body: bytes, chunk: int = CHUNK) -> tuple[TokenFinder, bytes, bool, int]:
    """Run the finder over `body` as a server delivers it, `chunk` bytes a message: what it
    found, the bytes it read, whether it said more follows, and the messages left unread."""
    messages: Iterator[Message] = iter(
        {"type": "http.request", "body": body[i : i + chunk], "more_body": i + chunk < len(body)}
        for i in range(0, len(body), chunk)
    )

    async def receive() -> Message:
        return next(messages)

    finder = TokenFinder(BOUNDARY)
    prefix, more = anyio.run(finder.read, receive)
    return finder, prefix, more, sum(1 for _ in messages)


def test_the_token_before_an_upload_is_found_in_the_first_chunk_of_the_body() -> None:
    body = multipart(text_part("csrf_token", b"t0ken"), file_part("file", b"x" * UPLOAD))

    finder, prefix, more, unread = find_token(body)

    assert finder.token == "t0ken"
    assert (len(prefix), more) == (CHUNK, True)
    assert prefix == body[:CHUNK]
    assert unread == len(body) // CHUNK  # the upload streams on to the app, unread here


def test_a_token_split_across_small_chunks_is_found() -> None:
    body = multipart(text_part("note", b"hello"), text_part("csrf_token", b"t0ken"))

    finder, prefix, more, _ = find_token(body, chunk=7)

    assert finder.token == "t0ken"
    assert body.startswith(prefix)


@pytest.mark.parametrize(
    ("body", "most_read"),
    [
        (multipart(file_part("file", b"x" * UPLOAD), text_part("csrf_token", b"t")), CHUNK),
        (
            multipart(text_part("note", b"x" * (2 * MAX_PREFIX)), text_part("csrf_token", b"t")),
            MAX_PREFIX + CHUNK,
        ),
        (multipart(text_part("note", b"no token here")), CHUNK),
        (b"not multipart at all", CHUNK),
    ],
    ids=["after-a-file", "too-far-in", "absent", "malformed"],
)
def test_a_token_after_a_file_or_far_into_the_body_is_missing(body: bytes, most_read: int) -> None:
    finder, prefix, _, _ = find_token(body)

    assert finder.token is None
    assert len(prefix) <= most_read


def stored_files(client: TestClient) -> int:
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    with runtime.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(files)).scalar_one())


def test_a_large_upload_with_its_token_first_passes_and_a_wrong_token_is_refused(
    client: TestClient,
) -> None:
    browser = browse(client)
    content = b"\x00\x01" * (UPLOAD // 2)
    headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY.decode()}"}

    def upload(token: bytes) -> Any:
        body = multipart(text_part("csrf_token", token), file_part("file", content))
        return browser.client.post("/api/files", content=body, headers=headers)

    refused = upload(b"wrong")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "csrf_failed"
    assert stored_files(client) == 0

    stored = upload(browser.csrf.encode())
    assert stored.status_code == 201, stored.text
    assert stored.json()["size"] == UPLOAD
    assert stored.json()["sha256"] == hashlib.sha256(content).hexdigest()
    assert stored_files(client) == 1

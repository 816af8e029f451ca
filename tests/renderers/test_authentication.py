"""The authentication middleware: client addresses behind proxies, public paths, and the
address that reaches the audit trail."""

from __future__ import annotations

import ipaddress

import pytest
from starlette.datastructures import Headers
from starlette.testclient import TestClient

from engine.settings import Settings
from renderers.app import create_app
from renderers.authentication import client_address, is_api, is_public
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

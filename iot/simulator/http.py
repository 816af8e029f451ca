"""Simulated devices over HTTP: telemetry posts, command polls and replies, each
authenticated with the device's code and secret (HTTP Basic).

The link talks through any client with httpx's `get`/`post(url, json=, auth=)` — a
Starlette `TestClient` in tests — or through `HttpSession`, a small keep-alive client on the
standard library for the command line and the benchmarks (httpx is only a test dependency).
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import threading
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from iot.simulator.device import SimulatedDevice

TELEMETRY = "/api/iot/telemetry"
PENDING = "/api/iot/commands/pending"
REPLIES = "/api/iot/commands/replies"


class Response(Protocol):
    @property
    def status_code(self) -> int: ...

    def json(self) -> Any: ...


class Client(Protocol):
    def get(self, url: str, *, auth: tuple[str, str]) -> Response: ...

    def post(self, url: str, *, json: Any, auth: tuple[str, str]) -> Response: ...


class LinkError(RuntimeError):
    """The platform answered a device with something other than success."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status, self.body = status, body


@dataclass(frozen=True)
class SessionResponse:
    status_code: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class HttpSession:
    """A keep-alive HTTP/1.1 client for one base URL, one connection per thread."""

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"expected an http(s):// base URL, not {base_url!r}")
        self.host, self.port, self.timeout = parts.hostname, parts.port, timeout
        self.parts = parts
        self.local = threading.local()

    def get(self, url: str, *, auth: tuple[str, str]) -> SessionResponse:
        return self._request("GET", url, None, auth)

    def post(self, url: str, *, json: Any, auth: tuple[str, str]) -> SessionResponse:
        return self._request("POST", url, json, auth)

    def close(self) -> None:
        connection = getattr(self.local, "connection", None)
        if connection is not None:
            connection.close()
            self.local.connection = None

    def _connection(self) -> http.client.HTTPConnection:
        connection = getattr(self.local, "connection", None)
        if connection is None:
            kind = (
                http.client.HTTPSConnection
                if self.parts.scheme == "https"
                else http.client.HTTPConnection
            )
            connection = kind(self.host, self.port, timeout=self.timeout)
            self.local.connection = connection
        return connection  # type: ignore[no-any-return]

    def _request(self, method: str, url: str, body: Any, auth: tuple[str, str]) -> SessionResponse:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        headers = {"Authorization": f"Basic {token}", "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        path = self.parts.path.rstrip("/") + url
        for attempt in (1, 2):  # a kept-alive connection the server closed: open a new one
            connection = self._connection()
            try:
                connection.request(method, path, body=data, headers=headers)
                response = connection.getresponse()
                return SessionResponse(response.status, response.read())
            except (http.client.HTTPException, ConnectionError):
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


class HttpLink:
    """What devices send and fetch over HTTP."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def send(self, device: SimulatedDevice, messages: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """Post reports, one message alone or several as a batch; the platform's answer
        (`accepted`, `rejected`), also when it refused them all (422)."""
        body = messages[0] if len(messages) == 1 else {"messages": list(messages)}
        response = self.client.post(TELEMETRY, json=body, auth=device.auth)
        answer = response.json()
        if response.status_code == 200:
            return answer  # type: ignore[no-any-return]
        if response.status_code == 422:  # none accepted: the problems are the error's details
            details = (answer.get("error") or {}).get("details") or []
            return {"accepted": 0, "rejected": [_indexed(d) for d in details]}
        raise LinkError(response.status_code, answer)

    def poll(self, device: SimulatedDevice, now_ms: int) -> int:
        """Fetch the device's pending commands and hand them to it; how many came."""
        response = self.client.get(PENDING, auth=device.auth)
        if response.status_code != 200:
            raise LinkError(response.status_code, response.json())
        commands = pending_commands(response.json())
        for command in commands:
            device.receive(command, now_ms)
        return len(commands)

    def answer(self, device: SimulatedDevice, now_ms: int) -> int:
        """Send the replies that are due, in one request; how many went."""
        replies = device.due_replies(now_ms)
        if not replies:
            return 0
        body = replies[0] if len(replies) == 1 else {"replies": replies}
        response = self.client.post(REPLIES, json=body, auth=device.auth)
        if response.status_code not in (200, 201, 202):
            raise LinkError(response.status_code, response.json())
        return len(replies)


def _indexed(problem: dict[str, Any]) -> dict[str, Any]:
    """A problem of a refused request with the index of its message, as a 200 names it:
    from its path (`messages[3].values.battery`), or 0 for a lone message."""
    found = re.match(r"messages\[(\d+)\]", str(problem.get("path", "")))
    return {"index": int(found.group(1)) if found else 0, **problem}


def pending_commands(body: Any) -> list[dict[str, Any]]:
    """The commands of a pending-commands answer: a list, or `{"commands": [...]}`."""
    found = body.get("commands", []) if isinstance(body, dict) else body
    return [command for command in found or [] if isinstance(command, dict)]

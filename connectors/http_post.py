"""JSON over HTTP POST with the standard library: one keep-alive connection per origin, a
timeout, and a verdict on each answer — 2xx sent; 408, 429, 5xx, timeouts and network
errors worth retrying; any other answer permanent.

    with JsonPoster(timeout=5) as poster:
        answer = poster.post("https://sms.example/send", {"to": "…"}, {"X-Api-Key": "…"})
"""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

RETRYABLE_STATUS = frozenset({408, 425, 429})
USER_AGENT = "Anju-Connector/1"
DETAIL_LENGTH = 200


@dataclass(frozen=True)
class Answer:
    """The server's answer, or why there was none (`status` 0)."""

    status: int
    body: bytes = b""
    error: str | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def retry(self) -> bool:
        """Worth trying again: no answer, the server's fault, or "slow down"."""
        return self.status == 0 or self.status >= 500 or self.status in RETRYABLE_STATUS

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None

    def describe(self) -> str:
        """`HTTP 503: gateway busy`, or the network error, for the outbox's `last_error`."""
        if self.status == 0:
            return self.error or "no answer"
        detail = self.body.decode("utf-8", "replace").strip()[:DETAIL_LENGTH]
        return f"HTTP {self.status}: {detail}" if detail else f"HTTP {self.status}"


class JsonPoster:
    """POSTs JSON, keeping one connection per scheme, host and port until closed."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._connections: dict[tuple[str, str, int | None], http.client.HTTPConnection] = {}

    def __enter__(self) -> JsonPoster:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        for connection in self._connections.values():
            connection.close()
        self._connections.clear()

    def post(self, url: str, payload: bytes | Any, headers: dict[str, str]) -> Answer:
        """POST `payload` (bytes, or anything JSON) to `url`; never raises for network trouble."""
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode("utf-8")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return Answer(0, error=f"not an http(s) URL: {parts.scheme}://{parts.hostname}")
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        origin = (parts.scheme, parts.hostname, parts.port)
        sent_headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            **headers,
        }
        for attempt in (1, 2):  # a kept-alive connection the server had closed: once more
            reused = origin in self._connections
            try:
                return self._exchange(origin, path, body, sent_headers)
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self._drop(origin)
                if not reused or attempt == 2:
                    return Answer(0, error="the server closed the connection without answering")
            except TimeoutError:
                self._drop(origin)
                return Answer(0, error=f"no answer within {self.timeout:g} s")
            except (OSError, http.client.HTTPException) as exc:
                self._drop(origin)
                return Answer(0, error=f"{type(exc).__name__}: {exc}")
        raise AssertionError("unreachable: the second attempt returns")

    def _exchange(
        self, origin: tuple[str, str, int | None], path: str, body: bytes, headers: dict[str, str]
    ) -> Answer:
        connection = self._connection(origin)
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        if response.will_close:
            self._drop(origin)
        return Answer(response.status, data)

    def _connection(self, origin: tuple[str, str, int | None]) -> http.client.HTTPConnection:
        connection = self._connections.get(origin)
        if connection is None:
            scheme, host, port = origin
            kind = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
            connection = kind(host, port, timeout=self.timeout)
            self._connections[origin] = connection
        return connection

    def _drop(self, origin: tuple[str, str, int | None]) -> None:
        connection = self._connections.pop(origin, None)
        if connection is not None:
            connection.close()

"""Fakes at the network edge, for tests and benchmarks: a real HTTP server on 127.0.0.1 in a
thread that plays an SMS gateway or a webhook receiver, recording what it receives.

    with FakeGateway() as gateway:
        settings = Settings(sms_url=gateway.url, ...)
        gateway.script(503, 503)  # the next two requests fail, then 200 again
        gateway.hang_next(1)  # the next request gets no answer until the client gives up
        ...
        assert gateway.received[0].json["to"] == "13812345678"
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from connectors.webhook import DELIVERY_HEADER, SIGNATURE_HEADER, verify_signature

POLL_SECONDS = 0.05  # how soon `stop()` is noticed
HANG_LIMIT_SECONDS = 30.0  # a hung request is released at the latest when the server stops


@dataclass(frozen=True)
class Received:
    """One request as the fake got it."""

    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool | None = None  # webhook receivers: whether the signature held

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class _Script:
    statuses: deque[int] = field(default_factory=deque)
    hangs: int = 0


class FakeGateway:
    """An SMS gateway: answers `{"message_id": "fake-<n>"}` with 200, or what `script` says."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self._script = _Script()
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._connections = 0
        self._messages = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(POLL_SECONDS,), daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/send"

    def __enter__(self) -> FakeGateway:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def stop(self) -> None:
        """Release hung requests, stop serving, close the socket, wait for the threads."""
        self._released.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def script(self, *statuses: int) -> None:
        """Answer the next requests with these statuses (then 200 again)."""
        with self._lock:
            self._script.statuses.extend(statuses)

    def hang_next(self, count: int = 1) -> None:
        """Give the next `count` requests no answer until the server stops."""
        with self._lock:
            self._script.hangs += count

    def count(self) -> int:
        """How many messages arrived (a batch request counts its messages)."""
        with self._lock:
            return self._messages

    def connections(self) -> int:
        """How many TCP connections clients opened (keep-alive reuses one)."""
        with self._lock:
            return self._connections

    def connected(self) -> None:
        with self._lock:
            self._connections += 1

    def answer(self, request: Received) -> tuple[int, dict[str, Any]]:
        """The status and JSON answer for `request`; records it. A batch (`{"messages":
        [...]}`) gets `{"results": [{"id", "message_id"}, ...]}`; a `to` starting `000` is
        rejected there, as an invalid number."""
        batch = _batch_of(request)
        with self._lock:
            self.received.append(request)
            first = self._messages + 1
            self._messages += len(batch) if batch is not None else 1
            status = self._script.statuses.popleft() if self._script.statuses else 200
        if status >= 300:
            return status, {"error": f"scripted {status}"}
        if batch is None:
            return status, {"message_id": f"fake-{first}"}
        results = [
            {"id": item.get("id"), "error": "invalid number", "retry": False}
            if str(item.get("to", "")).startswith("000")
            else {"id": item.get("id"), "message_id": f"fake-{first + index}"}
            for index, item in enumerate(batch)
        ]
        return status, {"results": results}

    def should_hang(self) -> bool:
        with self._lock:
            if self._script.hangs <= 0:
                return False
            self._script.hangs -= 1
            return True

    def wait_released(self) -> None:
        self._released.wait(HANG_LIMIT_SECONDS)

    def receive(self, path: str, headers: dict[str, str], body: bytes) -> Received:
        return Received(path, headers, body)


class WebhookReceiver(FakeGateway):
    """A webhook endpoint that checks `X-Anju-Signature` with `secret` and answers 401 to a
    request whose signature is wrong or too old (a replay)."""

    def __init__(self, secret: str, tolerance: int = 300) -> None:
        super().__init__()
        self.secret = secret
        self.tolerance = tolerance

    def receive(self, path: str, headers: dict[str, str], body: bytes) -> Received:
        signature = headers.get(SIGNATURE_HEADER.lower(), "")
        verified = verify_signature(self.secret, signature, body, self.tolerance)
        return Received(path, headers, body, verified)

    def answer(self, request: Received) -> tuple[int, dict[str, Any]]:
        status, answer = super().answer(request)
        if not request.verified:
            return 401, {"error": "bad signature"}
        return status, {**answer, "delivery": request.headers.get(DELIVERY_HEADER.lower())}

    def accepted(self) -> list[Received]:
        """The verified requests, each delivery id once."""
        seen: dict[str | None, Received] = {}
        with self._lock:
            for request in self.received:
                if request.verified:
                    seen.setdefault(request.headers.get(DELIVERY_HEADER.lower()), request)
        return list(seen.values())


def _batch_of(request: Received) -> list[dict[str, Any]] | None:
    try:
        document = request.json
    except ValueError:
        return None
    batch = document.get("messages") if isinstance(document, dict) else None
    return batch if isinstance(batch, list) else None


def _handler_for(fake: FakeGateway) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real gateways
        disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms wait
        timeout = 10  # an idle kept-alive connection ends after this

        def setup(self) -> None:
            super().setup()
            fake.connected()

        def do_POST(self) -> None:  # noqa: N802 (the http.server name)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            headers = {name.lower(): value for name, value in self.headers.items()}
            request = fake.receive(self.path, headers, body)
            if fake.should_hang():
                fake.answer(request)
                fake.wait_released()
                self.close_connection = True
                return
            status, answer = fake.answer(request)
            data = json.dumps(answer).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            """Quiet: tests and benchmarks read `received`, not a log."""

    return Handler

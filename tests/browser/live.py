"""A live Anju server for browser journeys: uvicorn in a thread on a free local port, over
the shipped `apps_config/`, on a clock the test controls; and Debian's Chromium driven by
Playwright.

The browser may talk only to the server under test: every request it makes is recorded, and
a journey fails if one goes anywhere else (the vendored htmx and ECharts make that so).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
import uvicorn

from engine.clock import FixedClock
from engine.runtime import Runtime
from engine.settings import Settings
from renderers.app import create_app
from run import cmd_demo_data
from tests.databases import ADMIN_PASSWORD, FAST_ARGON2

APPS_CONFIG = Path(__file__).resolve().parents[2] / "apps_config"
OUTPUT = Path(__file__).resolve().parents[2] / "test-output"
DEMO_PASSWORD = "Demo-Staff-2026!"
CHROMIUM_FLAGS = [  # quiet on a closed network: no background calls home
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str | None:
    return os.environ.get("ANJU_CHROMIUM") or shutil.which("chromium")


def require_chromium() -> str:
    """The browser's path; without one the journeys skip, unless CI demands them."""
    path = chromium_path()
    if path is None:
        if os.environ.get("ANJU_REQUIRE_BROWSER") == "1":
            pytest.fail("ANJU_REQUIRE_BROWSER=1 but no chromium: apt-get install chromium")
        pytest.skip("no chromium on this machine (Debian: apt-get install chromium)")
    return path


@dataclass
class LiveServer:
    url: str
    runtime: Runtime = field(repr=False)
    clock: FixedClock = field(repr=False)
    admin: httpx.Client = field(repr=False)  # the API as admin, for setting the scene
    clients: list[httpx.Client] = field(default_factory=list, repr=False)

    def api(self, username: str, password: str) -> httpx.Client:
        """An API client acting as another user."""
        client = httpx.Client(base_url=self.url, timeout=30)
        self.clients.append(client)  # closed with the server
        response = client.post("/api/auth/token", json={"username": username, "password": password})
        assert response.status_code == 200, response.text
        client.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
        return client


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def live_server(
    tmp_path: Path, database_url: str | None, clock: FixedClock, demo_units: int = 0
) -> Iterator[LiveServer]:
    """The server, after loading `demo_units` housing units of demo data (0: none)."""
    settings = Settings(
        data_dir=tmp_path / "var",
        apps_config=APPS_CONFIG,
        database_url=database_url,
        admin_password=ADMIN_PASSWORD,
        job_threads=False,
        catalog_check_seconds=0,
        demo_password=DEMO_PASSWORD,
        **FAST_ARGON2,
    )
    if demo_units:
        with contextlib.redirect_stdout(io.StringIO()):
            cmd_demo_data(
                settings, argparse.Namespace(units=demo_units, seed=2026, device_share=0.25)
            )
    runtime = Runtime.create(settings, clock)
    port = _free_port()
    config = uvicorn.Config(
        create_app(runtime=runtime), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}"
    admin = httpx.Client(base_url=url, timeout=30)
    token = admin.post("/api/auth/token", json={"username": "admin", "password": ADMIN_PASSWORD})
    admin.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
    live = LiveServer(url, runtime, clock, admin)
    try:
        yield live
    finally:
        for client in [admin, *live.clients]:
            client.close()
        server.should_exit = True
        thread.join(timeout=30)
        runtime.dispose()  # as the app's shutdown does; again, in case it never ran


@dataclass
class Journey:
    """One browser tab on the live server, and every request it made."""

    page: Any = field(repr=False)  # playwright.sync_api.Page
    server: LiveServer = field(repr=False)
    name: str = ""
    requests: list[str] = field(default_factory=list)

    def go(self, path: str) -> None:
        self.page.goto(self.server.url + path)

    def log_in(self, username: str, password: str) -> None:
        """Fill in the login form (opening it unless the tab is on it already)."""
        if "/login" not in self.page.url:
            self.go("/login")
        self.page.fill("#username", username)
        self.page.fill("#password", password)
        self.page.click("button[type=submit]")
        self.page.wait_for_url(re.compile(r"^(?!.*/login)"))

    def log_out(self) -> None:
        self.page.click("header form[action='/logout'] button")
        self.page.wait_for_url(re.compile(r".*/login.*"))

    def screenshot(self, step: str) -> Path:
        """Saved under `test-output/<journey>/` in the project (kept by CI as artifacts)."""
        folder = OUTPUT / self.name
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{step}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def offsite_requests(self) -> list[str]:
        return [u for u in self.requests if not u.startswith((self.server.url, "data:"))]


@contextmanager
def journey(server: LiveServer, name: str, phone: bool = False) -> Iterator[Journey]:
    from playwright.sync_api import sync_playwright

    executable = require_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_FLAGS
        )
        viewport = {"width": 390, "height": 844} if phone else {"width": 1280, "height": 900}
        context = browser.new_context(viewport=viewport, locale="zh-CN")
        page = context.new_page()
        page.on("dialog", lambda dialog: dialog.accept())  # confirm() of data-confirm forms
        page.set_default_timeout(15_000)
        current = Journey(page, server, name)
        page.on("request", lambda request: current.requests.append(request.url))
        try:
            yield current
        except BaseException:
            current.screenshot("failed")  # what the user saw when the journey broke
            raise
        finally:
            context.close()
            browser.close()
    assert current.offsite_requests() == [], "the page reached outside the machine"

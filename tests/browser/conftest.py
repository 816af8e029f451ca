"""Fixtures of the browser journeys: a live server over the shipped definitions."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine.clock import FixedClock
from tests.browser.live import LiveServer, live_server, require_chromium

START = datetime(2026, 4, 27, 2, 0, tzinfo=UTC)  # a Monday, 10:00 in Shanghai


@pytest.fixture
def server(tmp_path: Path, database_url: str | None) -> Iterator[LiveServer]:
    require_chromium()  # skip (or fail in CI) before paying for a server
    with live_server(tmp_path, database_url, FixedClock(START)) as live:
        yield live


@pytest.fixture
def demo_server(tmp_path: Path, database_url: str | None) -> Iterator[LiveServer]:
    """A live server with a small demo city: regions, projects, buildings, 40 units."""
    require_chromium()
    with live_server(tmp_path, database_url, FixedClock(START), demo_units=40) as live:
        yield live

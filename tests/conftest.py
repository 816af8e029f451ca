"""Fixtures: a definitions folder, settings on a real database, a runtime and an HTTP client.

The database is SQLite in `tmp_path`; with `ANJU_TEST_DATABASE_URL` set (a PostgreSQL URL),
each test gets its own schema, dropped after the test (see `tests/databases.py`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from engine.database import create_database_engine
from engine.runtime import Runtime
from engine.settings import Settings
from engine.system_schema import upgrade_system_schema
from renderers.app import create_app
from tests.databases import estate_settings, isolated_database, started_runtime
from tests.identity import authorize


@pytest.fixture(autouse=True, scope="session")
def _no_anju_environment() -> Iterator[None]:
    """Settings come from the fixtures only, never from the developer's environment. What
    the test harness itself reads stays: `ANJU_TEST_*` (databases, Redis), `ANJU_REQUIRE_*`
    (CI's demand for a browser and PDF support) and `ANJU_CHROMIUM`."""
    harness = ("ANJU_TEST_", "ANJU_REQUIRE_", "ANJU_CHROMIUM")
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith("ANJU_") and not name.startswith(harness):
                patch.delenv(name)
        yield


@pytest.fixture
def database_url() -> Iterator[str | None]:
    """None (SQLite in the data folder), or a PostgreSQL URL bound to a fresh schema."""
    with isolated_database() as url:
        yield url


@pytest.fixture
def settings(tmp_path: Path, database_url: str | None) -> Settings:
    """The estate definitions in `tmp_path/apps_config`, data in `tmp_path/var`."""
    return estate_settings(tmp_path, database_url)


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    """A started runtime: system tables upgraded and the folder published as version 1."""
    with started_runtime(settings) as started:
        yield started


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """The whole app over HTTP, logged in as `admin`; its lifespan imports the folder as
    version 1. `tests/identity.py` gives clients acting as other users."""
    with TestClient(create_app(settings)) as test_client:
        authorize(test_client)
        yield test_client


@pytest.fixture
def database(settings: Settings) -> Iterator[sa.Engine]:
    """The settings' database with Anju's system tables and nothing published."""
    engine = create_database_engine(settings)
    upgrade_system_schema(engine)
    try:
        yield engine
    finally:
        engine.dispose()

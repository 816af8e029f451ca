"""Fixtures for the jobs tests: every test that asks for `settings` or `runtime` runs once per
back-end (`jobs_backend`), with the handlers of `handlers.py` and their effect tables."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.runtime import Runtime
from engine.settings import Settings
from tests.databases import started_runtime
from tests.engine.jobs import handlers
from tests.jobs import Backend, job_settings, jobs_backend  # noqa: F401  (a fixture)


@pytest.fixture
def settings(tmp_path: Path, database_url: str | None, jobs_backend: Backend) -> Settings:  # noqa: F811
    return job_settings(tmp_path, database_url, jobs_backend, job_modules=[handlers.MODULE])


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    """A started runtime without job threads, and the tables the handlers write to."""
    with started_runtime(settings) as started:
        handlers.create_tables(started.engine)
        yield started

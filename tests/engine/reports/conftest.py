"""Fixtures of the reports engine's tests: a started runtime on the report folder, seeded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.runtime import Runtime
from engine.settings import Settings
from tests.engine.reports.world import report_runtime, report_settings, seed


@pytest.fixture
def settings(tmp_path: Path, database_url: str | None) -> Settings:
    return report_settings(tmp_path, database_url)


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    with report_runtime(settings) as started:
        yield started


@pytest.fixture
def units(runtime: Runtime) -> list[dict[str, Any]]:
    return seed(runtime)

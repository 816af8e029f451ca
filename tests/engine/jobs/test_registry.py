"""Handlers register by name when their module is imported; each runtime sees the handlers of
the modules its settings name."""

from __future__ import annotations

import pytest

from engine.jobs import JobContext, job_handler, load_handlers, periodic
from engine.jobs.registry import BUILTIN_JOB_MODULES
from engine.settings import Settings
from tests.engine.jobs import handlers, periodic_handlers


def test_a_runtime_sees_the_handlers_of_its_modules_only() -> None:
    with_periodic = load_handlers(Settings(job_modules=[handlers.MODULE, periodic_handlers.MODULE]))
    without = load_handlers(Settings(job_modules=[handlers.MODULE]))

    assert {"record", "flaky", "every_minute"} <= set(with_periodic)
    assert "record" in without and "every_minute" not in without
    assert with_periodic["every_minute"].every_seconds == 60
    assert with_periodic["record"].every_seconds is None


def test_builtin_modules_are_always_loaded() -> None:
    loaded = {handler.module for handler in load_handlers(Settings()).values()}

    assert loaded <= set(BUILTIN_JOB_MODULES)


def test_two_handlers_cannot_share_a_name() -> None:
    def other(ctx: JobContext) -> None: ...

    with pytest.raises(ValueError, match="'record' is already registered by tests.engine.jobs"):
        job_handler("record")(other)


def test_registering_the_same_handler_again_is_harmless() -> None:
    assert job_handler("record")(handlers.record) is handlers.record


def test_a_period_must_be_positive() -> None:
    with pytest.raises(ValueError, match="seconds must be positive"):
        periodic("never", seconds=0)


def test_an_unknown_module_is_an_import_error() -> None:
    with pytest.raises(ModuleNotFoundError):
        load_handlers(Settings(job_modules=["tests.engine.jobs.no_such_module"]))

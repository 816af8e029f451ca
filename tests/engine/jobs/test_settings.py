"""The job settings refuse values that would only fail later, in a worker."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from engine.settings import Settings


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("jobs_backend", "celery", "expected one of inprocess, rq"),
        ("redis_namespace", "my-app", "letters, digits and underscores"),
        ("job_queues", [], "at least one queue"),
    ],
)
def test_a_wrong_job_setting_is_refused(setting: str, value: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(**{setting: value})  # type: ignore[arg-type]


def test_job_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANJU_JOBS_BACKEND", "rq")
    monkeypatch.setenv("ANJU_JOB_QUEUES", '["default", "mail"]')
    monkeypatch.setenv("ANJU_JOB_THREADS", "false")

    settings = Settings()

    assert (settings.jobs_backend, settings.job_queues, settings.job_threads) == (
        "rq",
        ["default", "mail"],
        False,
    )

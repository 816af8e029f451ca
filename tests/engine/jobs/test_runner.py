"""How a run's outcome is written: the backoff between attempts and the error text clients see."""

from __future__ import annotations

import pytest

from engine.jobs.runner import backoff_seconds, error_text
from engine.settings import Settings


@pytest.mark.parametrize(
    ("base", "cap", "waits"),
    [
        (10, 3600, [10, 20, 40, 80, 160]),
        (10, 50, [10, 20, 40, 50, 50]),
        (0.5, 3600, [0.5, 1, 2, 4, 8]),
    ],
)
def test_backoff_is_exponential_and_capped(base: float, cap: float, waits: list[float]) -> None:
    settings = Settings(job_backoff_seconds=base, job_backoff_max_seconds=cap)

    assert [backoff_seconds(settings, attempt) for attempt in range(1, 6)] == waits


def test_backoff_stays_finite_after_very_many_attempts() -> None:
    assert backoff_seconds(Settings(), 10_000) == Settings().job_backoff_max_seconds


@pytest.mark.parametrize(
    ("error", "text"),
    [
        (ValueError("rent must be positive"), "ValueError: rent must be positive"),
        (TimeoutError(), "TimeoutError"),
        (RuntimeError("x" * 5000), "RuntimeError: " + "x" * (2000 - len("RuntimeError: "))),
    ],
)
def test_the_error_text_is_type_and_message_without_a_stack(error: Exception, text: str) -> None:
    assert error_text(error) == text

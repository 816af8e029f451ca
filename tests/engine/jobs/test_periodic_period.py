"""A periodic job's period: seconds, or a setting named in the decorator and read when the
scheduler runs, so the environment of a deployment decides it."""

from __future__ import annotations

import pytest

from engine.jobs.registry import JobHandler, periodic
from engine.settings import Settings


def tick(_ctx: object) -> None:
    pass


def test_a_period_named_by_a_setting_follows_the_settings() -> None:
    handler = JobHandler("sweep", tick, __name__, "iot_sweep_seconds")

    assert handler.period(Settings()) == 5.0
    assert handler.period(Settings(iot_sweep_seconds=30)) == 30.0
    assert JobHandler("hourly", tick, __name__, 3600).period(Settings()) == 3600
    assert JobHandler("once", tick, __name__).period(Settings()) is None


def test_a_period_naming_no_setting_is_refused_at_registration() -> None:
    with pytest.raises(ValueError, match="there is no setting 'iot_sweep_secs'"):
        periodic("typo", seconds="iot_sweep_secs")
    with pytest.raises(ValueError, match="seconds must be positive"):
        periodic("never", seconds=0)

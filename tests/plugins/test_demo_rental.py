"""The demo applications agree with the qualification flow: each rests in a state of
`flows/application.yaml` with the fields, dates and pre-review report the flow would have
given it on the way there."""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from engine.expressions.calendar import WorkingCalendar, add_working_days
from engine.expressions.definitions import load_definitions, working_calendar
from engine.flows.checks import rerun
from engine.settings import Settings
from metamodel.definitions import Definitions
from metamodel.flows import Flow
from metamodel.loader import read_folder
from plugins.builtin.demo_common import TODAY, _add_years
from plugins.builtin.demo_housing import generate
from plugins.builtin.eligibility import CHECK
from plugins.manager import build_extensions

APPS_CONFIG = Path(__file__).resolve().parents[2] / "apps_config"
UNITS = 3_000  # 300 households
SUBMITTED = ("street_review", "street_publicity", "district_review", "announcement")
DONE = ("qualified", "rejected", "withdrawn")


@pytest.fixture(scope="module")
def definitions() -> Definitions:
    """The shipped definitions, with the built-in plugins' functions and field types."""
    extensions = build_extensions(Settings(plugin_entry_points=False))
    folder = read_folder(APPS_CONFIG)
    return load_definitions(folder, extensions.functions, extensions.field_types)


@pytest.fixture(scope="module")
def flow(definitions: Definitions) -> Flow:
    found = definitions.flow_of("public_rental", "application")
    assert found is not None
    return found


@pytest.fixture(scope="module")
def calendar(definitions: Definitions) -> WorkingCalendar:
    found = definitions.calendar("public_rental")
    assert found is not None
    return working_calendar(found[1])


@pytest.fixture(scope="module")
def applications() -> list[dict[str, Any]]:
    return [
        row for _, entity, batch in generate(UNITS, {}) if entity == "application" for row in batch
    ]


def test_applications_rest_in_every_state_most_of_them_closed(
    applications: list[dict[str, Any]], flow: Flow
) -> None:
    states = Counter(row["state"] for row in applications)
    assert set(states) == set(flow.states) - {"pre_review"}  # left at once, automatically
    closed = sum(states[s] for s in DONE)
    assert closed > len(applications) / 2
    assert all(states[s] >= 2 for s in SUBMITTED)


def test_the_check_judges_by_the_lines_the_flow_publishes(
    applications: list[dict[str, Any]], flow: Flow
) -> None:
    """Each report is the check's decision by the flow's params, and judged again alike."""
    reports = [row["pre_review_report"] for row in applications if row["pre_review_report"]]
    assert reports and all(report["params"] == flow.params for report in reports)
    assert all(rerun(CHECK, report).same for report in reports)
    assert {report["level"] for report in reports} >= {"green", "yellow", "red"}


def test_the_pre_review_report_decides_the_path(applications: list[dict[str, Any]]) -> None:
    for row in applications:
        report = row["pre_review_report"]
        if row["state"] == "draft":
            assert (row["submitted_at"], report, row["pre_review_result"]) == (
                None,
                None,
                "pending",
            )
            assert row["applicant_name"] is None
            continue
        assert (report["check"], report["version"], report["plugin"]) == (
            "eligibility",
            "1",
            "eligibility",
        )
        assert report["today"] == row["submitted_at"].date().isoformat()
        assert row["pre_review_result"] == ("passed" if report["passed"] else "failed")
        assert row["applicant_name"] and row["household_size"] == report["inputs"]["household_size"]
        if not report["passed"]:
            assert row["state"] == "returned" and report["reasons"] and report["level"] == "red"
            assert row["publicity_start"] is None


def test_dates_follow_the_flow_periods_on_the_working_day_calendar(
    applications: list[dict[str, Any]], flow: Flow, calendar: WorkingCalendar
) -> None:
    days = flow.params
    for row in applications:
        if row["publicity_start"] is not None:
            end = add_working_days(calendar, row["publicity_start"], days["publicity_days"])
            assert row["publicity_end"] == end
            assert row["submitted_at"].date() <= row["publicity_start"]
        if row["announcement_start"] is not None:
            end = add_working_days(calendar, row["announcement_start"], days["announcement_days"])
            assert row["announcement_end"] == end
            assert row["announcement_start"] == row["reviewed_on"] > row["publicity_end"]
        if row["state"] == "street_publicity":
            assert row["publicity_start"] <= TODAY <= row["publicity_end"]
        if row["state"] == "district_review":
            assert row["publicity_end"] < TODAY and row["reviewed_on"] is None
        if row["state"] == "announcement":
            assert row["announcement_start"] <= TODAY <= row["announcement_end"]


def test_qualified_and_rejected_cases_carry_the_decision(
    applications: list[dict[str, Any]], flow: Flow
) -> None:
    for row in applications:
        decided = row["state"] in ("announcement", "qualified", "rejected")
        assert (row["reviewer"] is not None) == decided or row["state"] == "returned"
        if row["reviewer"] is not None:
            assert re.fullmatch(r"district_[0-9]{6}", row["reviewer"])
        if row["state"] == "qualified":
            qualified = row["announcement_end"] + timedelta(days=1)  # the timer's midnight
            assert row["qualified_on"] == qualified <= TODAY
            years = flow.params["validity_years"]
            assert row["qualification_valid_until"] == _add_years(qualified, years)
            assert row["confirmation_no"] == f"ZG{qualified.year}{row['application_no'][6:]}"
        else:
            assert row["qualified_on"] is row["confirmation_no"] is None
        if row["state"] == "rejected":
            assert len(row["reject_reason"]) >= 15  # the flow's rule on `reject`
        else:
            assert row["reject_reason"] is None

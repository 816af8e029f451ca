"""Credit management of the shipped `rental_market` app over HTTP: a market supervisor keeps the
scoring standards (记分标准), records credit events against rental enterprises, and scores a
year with the `credit_review` flow; the score puts an enterprise on the red or black list,
whose entries can be cancelled (注销) (seed 001, L101-117).

The documents give no point values; the standards below are illustrative. The lines are the
flow's params: base 100, red list at 110 or more, black list below 60.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from engine.clock import FixedClock
from engine.runtime import Runtime
from engine.settings import Settings
from renderers.app import create_app
from tests.databases import ADMIN_PASSWORD, FAST_ARGON2
from tests.identity import authorize, client_as, create_org

APPS_CONFIG = Path(__file__).resolve().parents[2] / "apps_config"
API = "/api/rental_market"
TODAY = "2026-01-15"

STANDARDS = [  # rule no., item, type, suggested points, operation type
    ("XY-J001", "获评市级住房租赁诚信示范企业", "add", "10", "人工记分"),
    ("XY-J002", "租赁合同网签备案率达到 100%", "add", "5", "系统自动记分"),
    ("XY-K001", "发布虚假房源信息", "deduct", "20", "人工记分"),
    ("XY-K002", "未按规定办理租赁合同网签备案", "deduct", "15", "系统自动记分"),
    ("XY-K003", "无正当理由克扣租赁押金", "deduct", "10", "人工记分"),
]
ENTERPRISES = [  # key, name, unified social credit code (GB 32100, with its check characters)
    ("good", "安居租赁有限公司", "91430104000000019N"),
    ("bad", "速租房屋经纪有限公司", "91430104000000027H"),
]


@dataclass
class Market:
    admin: TestClient
    supervisor: TestClient
    rules: dict[str, int]  # rule no. → id
    enterprises: dict[str, dict[str, Any]]  # "good" / "bad" → record
    numbers: Iterator[int]


@pytest.fixture
def market(tmp_path: Path, database_url: str | None) -> Iterator[Market]:
    settings = Settings(
        data_dir=tmp_path / "var",
        apps_config=APPS_CONFIG,
        database_url=database_url,
        admin_password=ADMIN_PASSWORD,
        job_threads=False,
        **FAST_ARGON2,
    )
    runtime = Runtime.create(settings, FixedClock(datetime(2026, 1, 15, 2, 0, tzinfo=UTC)))
    with TestClient(create_app(runtime=runtime)) as admin:
        authorize(admin)
        enterprises = {
            key: created(
                admin,
                "/api/housing_stock/enterprise",
                name=name,
                uscc=code,
                enterprise_type="rental",
                contact="刘洋",
                phone="13912345678",
            )
            for key, name, code in ENTERPRISES
        }
        # the enterprises are housing_stock's, which grants reading them to district_centre
        supervisor = client_as(admin, "zhao", "market_supervisor", "district_centre")
        rules = {
            rule_no: created(
                supervisor,
                f"{API}/scoring_rule",
                rule_no=rule_no,
                item=item,
                score_type=kind,
                points=points,
                operation_type=operation,
            )["id"]
            for rule_no, item, kind, points, operation in STANDARDS
        }
        yield Market(admin, supervisor, rules, enterprises, iter(range(1, 100)))


def created(client: TestClient, path: str, **body: Any) -> dict[str, Any]:
    response = client.post(path, json=body)
    assert response.status_code == 201, response.text
    record: dict[str, Any] = response.json()
    return record


def record_event(market: Market, who: str, rule_no: str, day: str, **body: Any) -> dict[str, Any]:
    return created(
        market.supervisor,
        f"{API}/credit_event",
        enterprise=market.enterprises[who]["id"],
        rule=market.rules[rule_no],
        occurred_on=day,
        **body,
    )


def review(market: Market, who: str) -> dict[str, Any]:
    """A review of the enterprise's 2025, scored."""
    assessment = created(
        market.supervisor,
        f"{API}/credit_assessment",
        assessment_no=f"XYPJ2025{next(market.numbers):04d}",
        enterprise=market.enterprises[who]["id"],
        period_start="2025-01-01",
        period_end="2025-12-31",
    )
    return score(market, assessment)


def score(market: Market, assessment: dict[str, Any]) -> dict[str, Any]:
    path = f"{API}/credit_assessment/{assessment['id']}/transitions/score"
    response = market.supervisor.post(path, json={})
    assert response.status_code == 200, response.text
    scored: dict[str, Any] = response.json()
    return scored


def entries(client: TestClient, **filters: Any) -> list[dict[str, Any]]:
    response = client.get(f"{API}/credit_list_entry", params={"sort": "id", **filters})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_an_event_takes_its_points_and_type_from_the_rule(market: Market) -> None:
    copied = record_event(market, "bad", "XY-K001", "2025-03-10")
    assert (copied["points"], copied["score_type"]) == ("20.00", "deduct")
    lighter = record_event(market, "bad", "XY-K001", "2025-04-02", points="8", note="情节较轻")
    assert (lighter["points"], lighter["score_type"]) == ("8.00", "deduct")


def test_a_year_of_good_conduct_puts_the_enterprise_on_the_red_list(market: Market) -> None:
    record_event(market, "good", "XY-K003", "2024-12-31")  # before the period: not counted
    record_event(market, "good", "XY-J001", "2025-01-01")
    record_event(market, "good", "XY-J002", "2025-12-31")
    record_event(market, "bad", "XY-K001", "2025-06-01")  # another enterprise's
    scored = review(market, "good")
    assert (scored["state"], scored["score"], scored["level"]) == ("scored", "115.00", "red")
    assert (scored["additions"], scored["deductions"], scored["event_count"]) == (
        "15.00",
        "0.00",
        2,
    )
    assert [(d["rule_no"], d["points"]) for d in scored["details"]] == [
        ("XY-J001", "10.00"),
        ("XY-J002", "5.00"),
    ]
    assert scored["scored_on"] == TODAY
    [entry] = entries(market.supervisor)
    assert entry["id"] == scored["list_entry"]
    assert (entry["list_type"], entry["score"], entry["listed_on"], entry["status"]) == (
        "red",
        "115.00",
        TODAY,
        "in_force",
    )
    assert entry["reason"] == (
        "信用评价 2025-01-01 至 2025-12-31 得分 115.00（基础分 100，加分 15.00，扣分 0.00），"
        "不低于 110 分，列入红名单"
    )


def test_deductions_below_60_put_the_enterprise_on_the_black_list(market: Market) -> None:
    for rule_no, day in (
        ("XY-K001", "2025-02-01"),
        ("XY-K002", "2025-05-20"),
        ("XY-K003", "2025-09-09"),
    ):
        record_event(market, "bad", rule_no, day)
    scored = review(market, "bad")
    assert (scored["score"], scored["level"], scored["deductions"]) == ("55.00", "black", "45.00")
    [entry] = entries(market.supervisor, list_type="black")
    assert (entry["enterprise"], entry["score"]) == (market.enterprises["bad"]["id"], "55.00")


def test_at_the_black_line_the_enterprise_is_on_neither_list(market: Market) -> None:
    record_event(market, "bad", "XY-K001", "2025-02-01")
    record_event(market, "bad", "XY-K001", "2025-03-01")  # 100 − 40 = 60: not below 60
    scored = review(market, "bad")
    assert (scored["score"], scored["level"], scored.get("list_entry")) == ("60.00", "none", None)
    assert entries(market.supervisor) == []


def test_a_new_score_moves_the_enterprise_off_its_list(market: Market) -> None:
    record_event(market, "good", "XY-J001", "2025-01-10")
    scored = review(market, "good")
    assert scored["level"] == "red"
    record_event(market, "good", "XY-K003", "2025-11-30")  # 110 − 10 = 100
    rescored = score(market, scored)
    assert (rescored["score"], rescored["level"]) == ("100.00", "none")
    [entry] = entries(market.supervisor)
    assert rescored["list_entry"] == entry["id"]  # the entry this review cancelled
    assert (entry["status"], entry["cancelled_on"]) == ("cancelled", TODAY)
    assert entry["cancel_reason"].startswith(
        "重新评定：信用评价 2025-01-01 至 2025-12-31 得分 100.00"
    )


def test_a_supervisor_cancels_a_list_entry_with_a_reason(market: Market) -> None:
    for rule_no in ("XY-K001", "XY-K002", "XY-K003"):
        record_event(market, "bad", rule_no, "2025-07-01")
    entry_id = review(market, "bad")["list_entry"]
    path = f"{API}/credit_list_entry/{entry_id}"
    no_reason = market.supervisor.patch(path, json={"cancelled_on": TODAY})
    assert no_reason.status_code == 422
    assert no_reason.json()["error"]["details"][0]["message"] == "注销须填写注销原因"
    cancelled = market.supervisor.patch(
        path, json={"cancelled_on": TODAY, "cancel_reason": "已完成整改并通过信用修复"}
    )
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert entries(market.supervisor, status="in_force") == []


def test_an_enterprise_sees_only_its_own_list_entries(market: Market) -> None:
    record_event(market, "good", "XY-J001", "2025-03-01")
    for rule_no in ("XY-K001", "XY-K002", "XY-K003"):
        record_event(market, "bad", rule_no, "2025-07-01")
    review(market, "good")
    review(market, "bad")
    assert [e["list_type"] for e in entries(market.supervisor)] == ["red", "black"]
    good = market.enterprises["good"]
    org = create_org(market.admin, good["uscc"], "enterprise", name=good["name"])
    staff = client_as(market.admin, "anju_staff", "enterprise", org_id=org["id"])
    assert [(e["list_type"], e["enterprise"]) for e in entries(staff)] == [("red", good["id"])]
    events = staff.get(f"{API}/credit_event").json()["items"]
    assert {e["enterprise"] for e in events} == {good["id"]}


def test_a_rule_no_longer_active_cannot_be_used(market: Market) -> None:
    rule = f"{API}/scoring_rule/{market.rules['XY-K003']}"
    assert market.supervisor.patch(rule, json={"active": False}).status_code == 200
    refused = market.supervisor.post(
        f"{API}/credit_event",
        json={
            "enterprise": market.enterprises["bad"]["id"],
            "rule": market.rules["XY-K003"],
            "occurred_on": "2025-08-01",
        },
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["details"][0]["message"] == "该记分标准已停用，不能用于新的记分"


def test_the_score_is_the_flows_to_set(market: Market) -> None:
    assessment = created(
        market.supervisor,
        f"{API}/credit_assessment",
        assessment_no="XYPJ20250099",
        enterprise=market.enterprises["good"]["id"],
        period_start="2025-01-01",
        period_end="2025-12-31",
    )
    path = f"{API}/credit_assessment/{assessment['id']}"
    forged = market.supervisor.patch(path, json={"score": "120", "level": "red"})
    assert forged.status_code == 403, forged.text

"""The public rental qualification flow and the lease-request flow of the shipped `apps_config/`,
over HTTP with real logins, on a clock the tests move through the 2026 working-day calendar.

The people: an applicant family (`zhang`), street officers of two streets of Yuelu district
(`jiang` at 橘子洲街道, `wu` at 望岳街道), two reviewers of the Yuelu district centre (`chen`
first, `lin` second) and one of Kaifu district (`zhou`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from starlette.testclient import TestClient

from engine.clock import FixedClock
from engine.expressions.definitions import load_definitions
from engine.flows.jobs import sweep_timers
from engine.runtime import Runtime
from engine.settings import Settings
from metamodel.loader import read_folder
from plugins.builtin.demo_common import id_check_char
from plugins.manager import build_extensions
from renderers.app import create_app
from tests.databases import ADMIN_PASSWORD, FAST_ARGON2
from tests.identity import authorize, client_as, create_org, create_user, login

APPS_CONFIG = Path(__file__).resolve().parents[2] / "apps_config"
APPLICATIONS = "/api/public_rental/application"
REQUESTS = "/api/public_rental/performance_request"
SHANGHAI = timedelta(hours=8)


def local(day: date, hour: int = 10, minute: int = 0, second: int = 0) -> datetime:
    """A moment given in Shanghai time, as the UTC the clock keeps."""
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=UTC) - SHANGHAI


MONDAY = date(2026, 4, 27)  # the week before the Labour Day holiday (1-5 May 2026)


@dataclass
class World:
    admin: TestClient
    runtime: Runtime
    clock: FixedClock
    regions: dict[str, int]
    applicant: TestClient
    jiang: TestClient  # street officer, 橘子洲街道 430104001
    wu: TestClient  # street officer, 望岳街道 430104002
    chen: TestClient  # district centre, 岳麓区 430104
    lin: TestClient  # district centre, 岳麓区 430104
    zhou: TestClient  # district centre, 开福区 430105
    numbers: Iterator[int]
    families: Iterator[int]  # each household's people have ID numbers of their own

    def at(self, moment: datetime) -> None:
        self.clock.set(moment)

    def sweep(self) -> Any:
        return sweep_timers(self.runtime.engine, self.runtime.require_catalog(), self.clock.now())


@pytest.fixture
def world(tmp_path: Path, database_url: str | None) -> Iterator[World]:
    settings = Settings(
        data_dir=tmp_path / "var",
        apps_config=APPS_CONFIG,
        database_url=database_url,
        admin_password=ADMIN_PASSWORD,
        job_threads=False,
        **FAST_ARGON2,
    )
    clock = FixedClock(local(MONDAY))
    runtime = Runtime.create(settings, clock)
    with TestClient(create_app(runtime=runtime)) as admin:
        authorize(admin)
        orgs = organisations(admin)
        regions = region_records(admin)
        yield World(
            admin=admin,
            runtime=runtime,
            clock=clock,
            regions=regions,
            applicant=client_as(admin, "zhang", "applicant"),
            jiang=client_as(admin, "jiang", "street_officer", org_id=orgs["430104001"]),
            wu=client_as(admin, "wu", "street_officer", org_id=orgs["430104002"]),
            chen=client_as(admin, "chen", "district_centre", org_id=orgs["430104"]),
            lin=client_as(admin, "lin", "district_centre", org_id=orgs["430104"]),
            zhou=client_as(admin, "zhou", "district_centre", org_id=orgs["430105"]),
            numbers=iter(range(1, 1000)),
            families=iter(range(90)),
        )


REGIONS = [  # code, name, level, parent code
    ("430100", "长沙市", "city", None),
    ("430104", "岳麓区", "district", "430100"),
    ("430104001", "橘子洲街道", "street", "430104"),
    ("430104002", "望岳街道", "street", "430104"),
    ("430105", "开福区", "district", "430100"),
    ("430105001", "东风路街道", "street", "430105"),
]


def organisations(admin: TestClient) -> dict[str, int]:
    ids: dict[str, int] = {}
    for code, name, level, parent in REGIONS:
        org = create_org(admin, code, level, ids.get(parent) if parent else None, name)
        ids[code] = org["id"]
    return ids


def region_records(admin: TestClient) -> dict[str, int]:
    ids: dict[str, int] = {}
    for code, name, level, parent in REGIONS:
        body = {"name": name, "code": code, "level": level, "parent": ids.get(parent)}
        response = admin.post("/api/housing_stock/region", json=body)
        assert response.status_code == 201, response.text
        ids[code] = response.json()["id"]
    return ids


def id_number(birth: date, serial: int) -> str:
    body = f"430104{birth:%Y%m%d}{serial:03d}"
    return body + id_check_char(body)


FAMILY = [  # name, relation, gender, birth date, annual income, ID number serial
    ("张伟", "self", "male", date(1988, 6, 12), "52000.00", 1),
    ("李娜", "spouse", "female", date(1990, 2, 3), "38000.00", 2),
    ("张子涵", "child", "female", date(2016, 9, 1), "0.00", 4),
]


def family_id_number(family: int, relation: str) -> str:
    """The ID number of a member of the family numbered `family` (0 is the first's)."""
    [(birth, serial)] = [(m[3], m[5]) for m in FAMILY if m[1] == relation]
    return id_number(birth, 10 + 10 * family + serial)


def new_household(
    world: World, client: TestClient, family: int | None = None, **changes: Any
) -> dict[str, Any]:
    """A family of three within the admission lines (CNY 30,000 a head), with its members:
    new people each time, or those of an earlier `family` number."""
    family = next(world.families) if family is None else family
    street = changes.pop("street", "430104001")
    body = {
        "applicant_name": "张伟",
        "id_number": family_id_number(family, "self"),
        "phone": "13812345678",
        "hukou_district": world.regions[street[:6]],
        "hukou_street": world.regions[street],
        "household_size": 3,
        "marital_status": "married",
        "marital_status_since": "2014-10-01",
        "annual_income": "90000.00",
        "per_capita_assets": "45000.00",
        "housing_situation": "renting",
        **changes,
    }
    response = client.post("/api/public_rental/household", json=body)
    assert response.status_code == 201, response.text
    household = response.json()
    for name, relation, gender, birth, income, _ in FAMILY:
        member = {
            "household": household["id"],
            "name": name,
            "relation": relation,
            "id_number": family_id_number(family, relation),
            "gender": gender,
            "birth_date": birth.isoformat(),
            "annual_income": income,
        }
        added = client.post("/api/public_rental/household_member", json=member)
        assert added.status_code == 201, added.text
    return household


def apply(
    world: World,
    client: TestClient | None = None,
    street: str = "430104001",
    family: int | None = None,
    **household: Any,
) -> dict[str, Any]:
    """A household and its application, created (not yet submitted) by `client`."""
    client = client or world.applicant
    people = new_household(world, client, family, street=street, **household)
    body = {
        "application_no": f"SQ2026{street[:6]}{next(world.numbers):06d}",
        "household": people["id"],
        "security_mode": "in_kind",
        "applied_district": world.regions[street[:6]],
        "applied_street": world.regions[street],
        "channel": "mini_program",
    }
    response = client.post(APPLICATIONS, json=body)
    assert response.status_code == 201, response.text
    application: dict[str, Any] = response.json()
    assert application["state"] == "draft"
    return application


def take(client: TestClient, record: dict[str, Any], name: str, path: str = APPLICATIONS, **body):
    return client.post(f"{path}/{record['id']}/transitions/{name}", json=body)


def moved(client: TestClient, record: dict[str, Any], name: str, path: str = APPLICATIONS, **body):
    """Take a transition that must succeed; the record as it is now."""
    response = take(client, record, name, path, **body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def flow(client: TestClient, record: dict[str, Any], path: str = APPLICATIONS) -> dict[str, Any]:
    response = client.get(f"{path}/{record['id']}/flow")
    assert response.status_code == 200, response.text
    view: dict[str, Any] = response.json()
    return view


def state(client: TestClient, record: dict[str, Any], path: str = APPLICATIONS) -> str:
    response = client.get(f"{path}/{record['id']}")
    assert response.status_code == 200, response.text
    found: str = response.json()["state"]
    return found


def submitted(world: World, **household: Any) -> dict[str, Any]:
    """An application submitted on Monday 27 April, waiting for its street."""
    application = apply(world, **household)
    result = moved(world.applicant, application, "submit")
    assert result["state"] == "street_review", result
    return result


def in_district_review(world: World, **household: Any) -> dict[str, Any]:
    """An application past its street publicity, at the centre's first review on 13 May."""
    application = submitted(world, **household)
    world.at(local(date(2026, 4, 29)))
    moved(world.jiang, application, "street_approve")
    world.at(local(date(2026, 5, 13), 0, 0, 1))
    world.sweep()
    assert state(world.chen, application) == "district_review"
    world.at(local(date(2026, 5, 13)))
    return application


def transitions(view: dict[str, Any]) -> list[str]:
    return [choice["name"] for choice in view["transitions"]]


def messages(client: TestClient) -> list[str]:
    return [item["title"] for item in client.get("/api/messages").json()["items"]]


# The qualification flow ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["application", "performance_request"])
def test_every_state_and_transition_is_labelled_in_both_languages(name: str) -> None:
    extensions = build_extensions(Settings(plugin_entry_points=False))  # plugin functions
    folder = read_folder(APPS_CONFIG)
    definitions = load_definitions(folder, extensions.functions, extensions.field_types)
    flow = definitions.apps["public_rental"].flows[name]
    labels = [(f"states.{n}", s.label) for n, s in flow.states.items()]
    labels += [(f"transitions.{n}", t.label) for n, t in flow.transitions.items()]
    labels += [
        (f"transitions.{n}.confirm", t.confirm) for n, t in flow.transitions.items() if t.confirm
    ]
    assert [where for where, label in labels if set(label) != {"zh", "en"}] == []


def test_an_application_goes_from_submission_to_qualified(world: World) -> None:
    application = apply(world)
    view = flow(world.applicant, application)
    assert (view["state"], view["category"]) == ("draft", "draft")
    assert transitions(view) == ["submit", "withdraw"]
    [submit] = [c for c in view["transitions"] if c["name"] == "submit"]
    assert submit["confirm"].startswith("提交后系统将自动进行资格预审")

    submitted = moved(world.applicant, application, "submit")
    assert submitted["state"] == "street_review"
    assert submitted["pre_review_result"] == "passed"
    assert (submitted["applicant_name"], submitted["household_size"]) == ("张伟", 3)
    assert submitted["applicant_id_number"] == "430104********0114"  # masked, as the household's
    assert (submitted["submitted_at"], submitted["admission_year"]) == (
        "2026-04-27T02:00:00+00:00",
        2026,
    )
    report = submitted["pre_review_report"]
    assert (report["check"], report["version"], report["passed"]) == ("eligibility", "1", True)
    assert (report["level"], report["reasons"], report["plugin"]) == ("green", [], "eligibility")
    assert report["inputs"]["per_capita_income"] == "30000.00"
    assert report["inputs"]["application"] == application["id"]  # never its own duplicate
    assert report["params"]["income_limit_large"] == 39600

    [task] = world.jiang.get("/api/inbox").json()["items"]
    assert (task["state"], task["step"], task["title"]) == (
        "street_review",
        "street_check",
        application["application_no"],
    )
    assert world.wu.get("/api/inbox").json()["items"] == []  # another street's officer

    world.at(local(date(2026, 4, 29)))  # Wednesday, two days before the Labour Day holiday
    claimed = world.jiang.post(f"/api/inbox/{task['id']}/claim")
    assert claimed.status_code == 200 and claimed.json()["claimed_by"] == "jiang"
    publicity = moved(world.jiang, application, "street_approve", comment="原件核验无误")
    assert publicity["state"] == "street_publicity"
    # 7 working days: 30 April, then 6, 7, 8, 9 (a Saturday worked, 调休), 11 and 12 May
    assert (publicity["publicity_start"], publicity["publicity_end"]) == (
        "2026-04-29",
        "2026-05-12",
    )
    [timer] = flow(world.jiang, application)["timers"]
    assert timer["name"] == "publicity_over"

    world.at(local(date(2026, 5, 8), 23, 59))  # 7 working days if the holiday were worked
    world.sweep()
    assert state(world.jiang, application) == "street_publicity"
    world.at(local(date(2026, 5, 12), 23, 59, 59))  # 6 working days passed, the 7th not over
    world.sweep()
    assert state(world.jiang, application) == "street_publicity"
    world.at(local(date(2026, 5, 13), 0, 0, 1))  # the 7th working day is over
    assert world.sweep().moved == 1
    assert state(world.chen, application) == "district_review"

    world.at(local(date(2026, 5, 13)))
    assert [t["step"] for t in world.chen.get("/api/inbox").json()["items"]] == ["first_review"]
    assert world.zhou.get("/api/inbox").json()["items"] == []  # Kaifu's centre
    first = moved(
        world.chen, application, "district_approve", comment="同意", review_opinion="符合条件"
    )
    assert first["state"] == "district_review"
    assert [t["step"] for t in world.lin.get("/api/inbox").json()["items"]] == ["second_review"]
    second = moved(world.lin, application, "district_approve", comment="同意")
    assert second["state"] == "announcement"
    assert (second["reviewer"], second["reviewed_on"]) == ("lin", "2026-05-13")
    assert (second["announcement_start"], second["announcement_end"]) == (
        "2026-05-13",
        "2026-05-22",
    )

    world.at(local(date(2026, 5, 22), 23, 59))
    world.sweep()
    assert state(world.chen, application) == "announcement"
    world.at(local(date(2026, 5, 23), 0, 0, 1))
    world.sweep()
    qualified = world.applicant.get(f"{APPLICATIONS}/{application['id']}").json()
    assert qualified["state"] == "qualified"
    assert qualified["qualified_on"] == "2026-05-23"
    assert qualified["qualification_valid_until"] == "2028-05-23"
    assert qualified["confirmation_no"] == "ZG2026" + application["application_no"][6:]

    certificate = world.applicant.get(f"/api/files/{qualified['qualification_certificate']}")
    assert certificate.status_code == 200
    assert certificate.headers["content-type"].startswith("text/html")
    html = certificate.text
    assert "公共租赁住房保障资格确认单" in html
    assert qualified["confirmation_no"] in html and "张伟" in html
    assert id_number(date(1988, 6, 12), 11) in html  # in full on the certificate itself
    assert "3 人" in html and "实物配租" in html
    assert "本确认单有效期至 2028 年\n5 月 23 日" in html

    timeline = flow(world.applicant, application)["timeline"]
    assert [(e["kind"], e["transition"], e["to_state"], e["actor"]) for e in timeline] == [
        ("create", None, "draft", "zhang"),
        ("transition", "submit", "pre_review", "zhang"),
        ("transition", "pre_review_passed", "street_review", "system"),
        ("transition", "street_approve", "street_publicity", "jiang"),
        ("transition", "publicity_ends", "district_review", "system"),
        ("approval", "district_approve", "district_review", "chen"),
        ("transition", "district_approve", "announcement", "lin"),
        ("transition", "announcement_ends", "qualified", "system"),
    ]
    assert "公租房申请 " + application["application_no"] + " 已通过资格确认" in messages(
        world.applicant
    )


def test_a_rejection_needs_a_reason_of_fifteen_characters(world: World) -> None:
    application = in_district_review(world)
    view = flow(world.chen, application)
    assert transitions(view) == ["district_approve", "send_back", "return_for_supplement", "reject"]
    [reject] = [c for c in view["transitions"] if c["name"] == "reject"]
    assert (reject["fields"], reject["required"]) == (
        ["reject_reason", "review_opinion"],
        ["reject_reason"],
    )
    assert reject["confirm"] == "驳回后申请办结，确认驳回？"

    missing = take(world.chen, application, "reject")
    assert missing.status_code == 422
    assert missing.json()["error"]["details"] == [
        {"path": "reject_reason", "message": "is required"}
    ]
    short = take(world.chen, application, "reject", reject_reason="收入不符")
    assert short.status_code == 422
    assert short.json()["error"]["details"] == [
        {"path": "reject_reason", "message": "驳回原因不少于 15 个字"}
    ]
    english = world.chen.post(
        f"{APPLICATIONS}/{application['id']}/transitions/reject",
        json={"reject_reason": "too short"},
        headers={"Accept-Language": "en"},
    )
    assert english.json()["error"]["details"][0]["message"] == (
        "Give a reason of at least 15 characters"
    )
    assert state(world.chen, application) == "district_review"  # nothing of it was kept

    reason = "经入户核查，申请人家庭实际居住于自有住房，不符合住房困难条件"
    rejected = moved(world.chen, application, "reject", reject_reason=reason, comment="驳回")
    assert rejected["state"] == "rejected"
    assert (rejected["reject_reason"], rejected["reviewer"]) == (reason, "chen")
    assert flow(world.chen, application)["transitions"] == []
    assert world.chen.get("/api/inbox").json()["items"] == []
    assert f"公租房申请 {application['application_no']} 未通过审核" in messages(world.applicant)
    assert (
        world.applicant.get(f"{APPLICATIONS}/{application['id']}").json()["reject_reason"] == reason
    )


def test_returned_for_supplement_and_submitted_again(world: World) -> None:
    application = in_district_review(world)
    refused = take(world.chen, application, "send_back", comment="退回")
    assert refused.status_code == 409  # the first step has no step before it
    moved(world.chen, application, "district_approve")
    back = moved(world.lin, application, "send_back", comment="请初审补充入户核查意见")
    assert back["state"] == "district_review"
    assert [t["step"] for t in world.chen.get("/api/inbox").json()["items"]] == ["first_review"]

    no_comment = take(world.chen, application, "return_for_supplement")
    assert no_comment.status_code == 422
    assert no_comment.json()["error"]["details"] == [{"path": "comment", "message": "is required"}]
    returned = moved(
        world.chen, application, "return_for_supplement", comment="请补充近一年的收入证明"
    )
    assert returned["state"] == "returned"
    assert world.chen.get("/api/inbox").json()["items"] == []
    assert f"公租房申请 {application['application_no']} 被退回，请补正后重新提交" in messages(
        world.applicant
    )

    edited = world.applicant.patch(
        f"{APPLICATIONS}/{application['id']}", json={"requested_layout": "two_bedroom"}
    )
    assert edited.status_code == 200, edited.text
    again = moved(world.applicant, application, "submit")
    assert again["state"] == "street_review"
    assert again["submitted_at"] == returned["submitted_at"]  # the first submission's time
    assert [t["step"] for t in world.jiang.get("/api/inbox").json()["items"]] == ["street_check"]
    steps = [
        (e["transition"], e["to_state"], e["step"])
        for e in flow(world.jiang, application)["timeline"]
    ]
    assert steps[-5:] == [
        ("district_approve", "district_review", "first_review"),
        ("send_back", "district_review", "first_review"),
        ("return_for_supplement", "returned", "first_review"),
        ("submit", "pre_review", None),
        ("pre_review_passed", "street_review", None),
    ]


def test_fields_are_fixed_while_the_application_is_reviewed(world: World) -> None:
    application = submitted(world)
    fixed = world.applicant.patch(
        f"{APPLICATIONS}/{application['id']}", json={"requested_layout": "studio"}
    )
    assert fixed.status_code == 409
    assert fixed.json()["error"]["details"] == [
        {
            "path": "requested_layout",
            "message": "cannot be changed while the record is street_review",
        }
    ]
    noted = world.jiang.patch(f"{APPLICATIONS}/{application['id']}", json={"remarks": "已电话联系"})
    assert noted.status_code == 200, noted.text


def test_the_submitter_withdraws_and_nobody_else_may(world: World) -> None:
    application = submitted(world)
    assert "withdraw" not in transitions(flow(world.jiang, application))
    refused = take(world.jiang, application, "withdraw", comment="代为撤销")
    assert refused.status_code == 403
    bare = take(world.applicant, application, "withdraw")
    assert bare.status_code == 422
    assert bare.json()["error"]["details"] == [{"path": "comment", "message": "is required"}]
    view = flow(world.applicant, application)
    assert transitions(view) == ["withdraw"]
    withdrawn = moved(world.applicant, application, "withdraw", comment="已购买住房，撤销申请")
    assert withdrawn["state"] == "withdrawn"
    assert world.jiang.get("/api/inbox").json()["items"] == []
    assert flow(world.applicant, application)["transitions"] == []
    assert take(world.applicant, application, "submit").status_code == 409


def test_a_failed_pre_review_returns_the_application_with_its_reasons(world: World) -> None:
    application = apply(world, annual_income="123000.00")  # CNY 41,000 a head for three
    returned = moved(world.applicant, application, "submit")
    assert returned["state"] == "returned"
    assert returned["pre_review_result"] == "failed"
    reason = "【红色·经济状况】家庭人均年可支配收入 41,000.00 元，超过 3 人及以上家庭标准 39,600 元"
    assert returned["pre_review_report"]["reasons"] == [reason]
    assert returned["pre_review_report"]["level"] == "red"
    [failed] = [e for e in flow(world.applicant, application)["timeline"] if e["checks"]]
    assert (failed["transition"], failed["to_state"]) == ("pre_review_failed", "returned")
    [check] = failed["checks"]
    assert (check["check"], check["passed"], check["reasons"]) == ("eligibility", False, [reason])
    assert "inputs" not in check  # personal figures: only for roles that may unmask
    [audited] = [e for e in flow(world.admin, application)["timeline"] if e["checks"]]
    assert audited["checks"][0]["inputs"]["per_capita_income"] == "41000.00"
    assert audited["checks"][0]["params"]["income_limit_large"] == 39600
    assert world.jiang.get("/api/inbox").json()["items"] == []

    household = world.applicant.patch(
        f"/api/public_rental/household/{application['household']}",
        json={"annual_income": "118800.00"},  # at the line: 39,600 a head
    )
    assert household.status_code == 200, household.text
    again = moved(world.applicant, application, "submit")
    assert (again["state"], again["pre_review_result"]) == ("street_review", "passed")


def test_a_second_application_of_the_same_people_is_blocked_red(world: World) -> None:
    first = submitted(world)  # family 0, waiting for its street
    again = apply(world, family=0)  # the same people, as a household filed anew
    blocked = moved(world.applicant, again, "submit")
    assert (blocked["state"], blocked["pre_review_result"]) == ("returned", "failed")
    report = blocked["pre_review_report"]
    reason = (
        "【红色·重复申请】同一产品重复申请：申请人本人另有公租房申请 "
        f"{first['application_no']} 正在办理"
    )
    assert (report["passed"], report["level"], report["reasons"]) == (False, "red", [reason])
    found = [  # each person of the first case, matched by ID number, none of them copied
        (case["application"], case["state"], case["person"], case["role"])
        for case in report["inputs"]["cases"]
    ]
    assert found == [
        (first["id"], "street_review", "张伟", "applicant"),
        (first["id"], "street_review", "李娜", "member"),
        (first["id"], "street_review", "张子涵", "member"),
    ]
    [event] = [e for e in flow(world.applicant, again)["timeline"] if e["checks"]]
    assert (event["transition"], event["checks"][0]["reasons"]) == ("pre_review_failed", [reason])

    moved(world.applicant, first, "withdraw", comment="重复提交，撤销此件")
    resubmitted = moved(world.applicant, again, "submit")
    assert resubmitted["state"] == "street_review"  # a withdrawn case is closed
    assert resubmitted["pre_review_report"]["level"] == "green"


def test_a_co_resident_of_an_open_case_applying_alone_is_yellow(world: World) -> None:
    first = submitted(world)  # family 0: 张伟, 李娜 and their daughter
    spouse = family_id_number(0, "spouse")
    household = world.applicant.post(
        "/api/public_rental/household",
        json={
            "applicant_name": "李娜",
            "id_number": spouse,
            "phone": "13812345679",
            "hukou_district": world.regions["430104"],
            "household_size": 1,
            "marital_status": "married",
            "marital_status_since": "2014-10-01",
            "annual_income": "38000.00",
            "per_capita_assets": "60000.00",
            "housing_situation": "renting",
        },
    ).json()
    member = {
        "household": household["id"],
        "name": "李娜",
        "relation": "self",
        "id_number": spouse,
        "gender": "female",
        "birth_date": "1990-02-03",
    }
    assert (
        world.applicant.post("/api/public_rental/household_member", json=member).status_code == 201
    )
    application = world.applicant.post(
        APPLICATIONS,
        json={
            "application_no": "SQ2026430104000777",
            "household": household["id"],
            "security_mode": "rent_subsidy",
            "applied_district": world.regions["430104"],
            "channel": "web",
        },
    ).json()
    warned = moved(world.applicant, application, "submit")
    assert warned["state"] == "street_review"  # yellow warns, it does not block
    report = warned["pre_review_report"]
    assert (report["passed"], report["level"]) == (True, "yellow")
    assert report["reasons"] == [
        f"【黄色·共同居住】申请人本人是另一公租房申请 {first['application_no']} "
        "的共同居住家庭成员，该申请正在办理"
    ]


def test_objections_during_the_street_publicity(world: World) -> None:
    first, second = submitted(world), submitted(world)
    for application in (first, second):
        moved(world.jiang, application, "street_approve")
    assert transitions(flow(world.jiang, first)) == ["objection_recheck", "objection_reject"]
    assert transitions(flow(world.chen, first)) == []  # the street's own decision
    rechecked = moved(world.jiang, first, "objection_recheck", comment="群众反映收入不实，重新核验")
    assert rechecked["state"] == "street_review"
    assert flow(world.jiang, first)["timers"][0]["name"] == "street_sla"
    short = take(world.jiang, second, "objection_reject", reject_reason="有房")
    assert short.status_code == 422
    reason = "公示期间接到实名举报，经核实申请人名下有住房一套"
    rejected = moved(world.jiang, second, "objection_reject", reject_reason=reason)
    assert (rejected["state"], rejected["reject_reason"]) == ("rejected", reason)
    world.at(local(date(2026, 6, 1)))
    world.sweep()  # the publicity timer of both ended with the state
    assert (state(world.jiang, first), state(world.jiang, second)) == ("street_review", "rejected")


def test_an_objection_to_the_announcement_goes_back_to_the_centre(world: World) -> None:
    application = in_district_review(world)
    moved(world.chen, application, "district_approve")
    moved(world.lin, application, "district_approve")
    assert transitions(flow(world.applicant, application)) == []
    back = moved(world.chen, application, "announcement_objection", comment="公告期间收到异议")
    assert back["state"] == "district_review"
    assert [t["step"] for t in world.chen.get("/api/inbox").json()["items"]] == ["first_review"]


FLOW_DEFINITION = "/api/meta/definitions/public_rental/flow/application"


def test_the_second_review_is_switched_off_by_a_published_param(world: World) -> None:
    waiting = in_district_review(world)
    definition = world.admin.get(FLOW_DEFINITION).json()
    assert definition["params"]["second_review"] is True
    definition["params"]["second_review"] = False
    draft = world.admin.put(
        FLOW_DEFINITION,
        content=yaml.safe_dump(definition, allow_unicode=True, sort_keys=False),
        headers={"content-type": "application/yaml"},
    )
    assert draft.status_code == 200, draft.text
    published = world.admin.post("/api/meta/publish", json={"message": "复审暂停"})
    assert published.status_code == 200, published.text
    version = published.json()["version"]

    approved = moved(world.chen, waiting, "district_approve", comment="同意")
    assert approved["state"] == "announcement"  # one review is the whole approval now
    entries = flow(world.chen, waiting)["timeline"]
    assert [e["flow_version"] for e in entries][-2:] == [1, version]
    assert flow(world.chen, waiting)["flow_version"] == version

    later = in_district_review(world)
    assert moved(world.chen, later, "district_approve")["state"] == "announcement"
    assert world.lin.get("/api/inbox").json()["items"] == []


def test_staff_act_only_within_their_scope(world: World) -> None:
    application = submitted(world)
    path = f"{APPLICATIONS}/{application['id']}"
    assert world.wu.get(path).status_code == 404  # the officer of another street
    assert world.wu.get(f"{path}/flow").status_code == 404
    assert take(world.wu, application, "street_approve").status_code == 404
    assert world.jiang.get(path).status_code == 200
    assert take(world.applicant, application, "street_approve").status_code == 403
    assert take(world.chen, application, "street_approve").status_code == 403  # not a street's

    moved(world.jiang, application, "street_approve")
    world.at(local(date(2026, 5, 14)))
    world.sweep()
    assert state(world.chen, application) == "district_review"
    assert world.zhou.get(path).status_code == 404  # the centre of another district
    assert take(world.zhou, application, "district_approve").status_code == 404
    assert take(world.applicant, application, "district_approve").status_code == 403
    assert take(world.jiang, application, "district_approve").status_code == 403
    assert transitions(flow(world.applicant, application)) == ["withdraw"]
    assert transitions(flow(world.jiang, application)) == []

    [task] = world.chen.get("/api/inbox").json()["items"]
    assert world.chen.post(f"/api/inbox/{task['id']}/claim").status_code == 200
    assert world.zhou.post(f"/api/inbox/{task['id']}/claim").status_code == 404
    claimed = take(world.lin, application, "district_approve")
    assert claimed.status_code == 409  # chen holds the first review
    assert "claimed by chen" in claimed.json()["error"]["message"]
    assert world.chen.post(f"/api/inbox/{task['id']}/release").status_code == 200
    assert moved(world.lin, application, "district_approve")["state"] == "district_review"


def test_a_review_waiting_too_long_reminds_its_reviewers(world: World) -> None:
    application = submitted(world)  # Monday 27 April, in street review
    # 5 working days: 28, 29, 30 April, 6 and 7 May (1-5 May is the Labour Day holiday)
    world.at(local(date(2026, 5, 7), 23, 59))
    world.sweep()
    assert messages(world.jiang) == []
    world.at(local(date(2026, 5, 8), 0, 1))
    assert world.sweep().fired == 1
    reminder = f"【催办】公租房申请 {application['application_no']} 待街道核验已超过 5 个工作日"
    assert messages(world.jiang) == [reminder]
    assert messages(world.wu) == []  # not their street
    inbox = world.jiang.get("/api/messages?unread=1").json()
    assert inbox["unread"] == 1 and inbox["items"][0]["record_id"] == application["id"]
    reminders = [e for e in flow(world.jiang, application)["timeline"] if e["kind"] == "reminder"]
    assert [(e["actor"], e["to_state"]) for e in reminders] == [("system", "street_review")]
    world.at(local(date(2026, 6, 30)))
    world.sweep()
    assert messages(world.jiang) == [reminder]  # once

    moved(world.jiang, application, "street_approve")  # on 30 June: publicity to 9 July
    world.at(local(date(2026, 7, 10)))
    world.sweep()
    assert state(world.chen, application) == "district_review"
    world.at(local(date(2026, 7, 16), 23, 59))  # 5 working days: 13-17 July
    world.sweep()
    assert messages(world.chen) == []
    world.at(local(date(2026, 7, 18)))
    world.sweep()
    assert (
        messages(world.chen)
        == messages(world.lin)
        == [f"【催办】公租房申请 {application['application_no']} 待中心复核已超过 5 个工作日"]
    )
    assert messages(world.zhou) == []


# Lease requests ----------------------------------------------------------------------------


def lease(world: World) -> dict[str, Any]:
    """Zhang's family's lease of a unit in 橘子洲街道, 1 June 2023 to 31 May 2026."""
    admin, district, street = world.admin, world.regions["430104"], world.regions["430104001"]
    household = new_household(world, world.applicant)
    project = admin.post(
        "/api/housing_stock/project",
        json={
            "name": "洋湖公租房小区",
            "code": "XM4301040001",
            "housing_type": "public_rental",
            "district": district,
            "street": street,
            "address": "长沙市岳麓区洋湖大道 88 号",
        },
    ).json()
    building = admin.post(
        "/api/housing_stock/building",
        json={
            "project": project["id"],
            "code": "430104-0001-001",
            "building_no": "1",
            "name": "1 栋",
            "floors_above_ground": 18,
        },
    ).json()
    units = []
    for room in ("0501", "0802"):
        unit = admin.post(
            "/api/housing_stock/housing_unit",
            json={
                "code": f"430104-0001-001-01-{room}",
                "project": project["id"],
                "building": building["id"],
                "district": district,
                "street": street,
                "floor": int(room[:2]),
                "room_no": room,
                "building_area": "55.00",
                "usable_area": "43.00",
                "housing_type": "public_rental",
                "rent_standard": "2.60",  # monthly rent computed: 2.6 × 43.0 = 111.80
                "status": "let",
                "address": f"长沙市岳麓区洋湖大道 88 号 1 栋 {room}",
            },
        )
        assert unit.status_code == 201, unit.text
        assert unit.json()["monthly_rent"] == "111.80"
        units.append(unit.json())
    contract = admin.post(
        "/api/public_rental/lease_contract",
        json={
            "contract_no": "HT2023430104000001",
            "household": household["id"],
            "housing_unit": units[0]["id"],
            "lessee_name": "张伟",
            "lessee_id_number": household["id_number"],
            "lessee_phone": "13812345678",
            "start_date": "2023-06-01",
            "end_date": "2026-05-31",
            "term_months": 36,
            "usable_area": "43.00",
            "rent_standard": "2.60",
            "monthly_rent": "111.80",
            "deposit": "223.60",
            "payment_cycle": "quarterly",
            "status": "active",
        },
    )
    assert contract.status_code == 201, contract.text
    return contract.json() | {"spare_unit": units[1]["id"]}


def request(world: World, contract: dict[str, Any], kind: str, **values: Any) -> dict[str, Any]:
    body = {
        "request_no": f"LY2026430104{next(world.numbers):06d}",
        "request_type": kind,
        "lease_contract": contract["id"],
        "reason": "家庭仍符合保障条件，申请续租" if kind == "renew" else "工作调动，申请办理",
        "desired_date": "2026-06-01",
        **values,
    }
    response = world.applicant.post(REQUESTS, json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    assert created["state"] == "draft"
    submitted = moved(world.applicant, created, "submit", REQUESTS)
    assert submitted["state"] == "centre_review"
    return submitted


def test_an_approved_renewal_creates_the_renewal_contract(world: World) -> None:
    contract = lease(world)
    missing = world.applicant.post(
        REQUESTS,
        json={
            "request_no": "LY2026430104000999",
            "request_type": "renew",
            "lease_contract": contract["id"],
            "reason": "申请续租",
            "desired_date": "2026-06-01",
        },
    )
    assert missing.status_code == 422
    assert missing.json()["error"]["details"] == [
        {"path": "renewal_months", "message": "续租须填写续租期限"}
    ]
    renewal = request(world, contract, "renew", renewal_months=36)
    assert renewal["org_id"] == contract["org_id"]  # the street where the unit is
    [task] = world.chen.get("/api/inbox").json()["items"]
    assert (task["entity"], task["step"]) == ("performance_request", "centre_check")
    assert world.zhou.get("/api/inbox").json()["items"] == []

    unnumbered = take(world.chen, renewal, "approve", REQUESTS)
    assert unnumbered.status_code == 422
    assert unnumbered.json()["error"]["details"] == [
        {"path": "renewal_contract_no", "message": "批准续租须给出续签合同编号"}
    ]
    world.at(local(date(2026, 5, 6)))
    approved = moved(
        world.chen,
        renewal,
        "approve",
        REQUESTS,
        renewal_contract_no="HT2026430104000002",
        decision_opinion="租金缴纳正常，同意续租",
    )
    assert approved["state"] == "renewed"
    assert (approved["handler"], approved["decided_on"]) == ("chen", "2026-05-06")
    assert approved["effective_date"] == "2026-06-01"
    assert approved["completed_at"] is not None

    found = world.applicant.get(
        "/api/public_rental/lease_contract", params={"previous_contract": contract["id"]}
    ).json()["items"]
    [renewed] = found
    assert renewed["contract_no"] == "HT2026430104000002"
    assert (renewed["contract_type"], renewed["status"]) == ("renewal", "draft")
    assert (renewed["start_date"], renewed["end_date"], renewed["term_months"]) == (
        "2026-06-01",
        "2029-05-31",
        36,
    )
    assert (renewed["household"], renewed["housing_unit"]) == (
        contract["household"],
        contract["housing_unit"],
    )
    assert (renewed["usable_area"], renewed["rent_standard"], renewed["monthly_rent"]) == (
        "43.00",
        "2.60",
        "111.80",
    )
    assert renewed["payment_cycle"] == "quarterly"
    assert "remarks" not in renewed  # hidden from the tenant
    assert (
        world.chen.get(f"/api/public_rental/lease_contract/{renewed['id']}").json()["remarks"]
        == f"由履约申请 {renewal['request_no']} 续租生成"
    )
    assert f"续租申请 {renewal['request_no']} 已批准" in messages(world.applicant)
    timeline = flow(world.applicant, renewal, REQUESTS)["timeline"]
    assert [(e["transition"], e["to_state"]) for e in timeline][-2:] == [
        ("approve", "approved"),
        ("renew", "renewed"),
    ]


def test_move_out_and_room_change_record_their_outcome(world: World) -> None:
    contract = lease(world)
    move_out = request(world, contract, "move_out", desired_date="2026-05-31")
    closed = moved(world.chen, move_out, "approve", REQUESTS, comment="同意")
    assert (closed["state"], closed["effective_date"], closed["handler"]) == (
        "moved_out",
        "2026-05-31",
        "chen",
    )
    assert f"退租：申请 {move_out['request_no']} 将于 2026-05-31 退房，请安排验收" in messages(
        world.jiang
    )
    assert messages(world.wu) == []

    change = request(world, contract, "change_room", desired_date="2026-07-01")
    nowhere = take(world.chen, change, "approve", REQUESTS)
    assert nowhere.json()["error"]["details"] == [
        {"path": "new_housing_unit", "message": "批准换房须指定换入房屋"}
    ]
    same = take(world.chen, change, "approve", REQUESTS, new_housing_unit=contract["housing_unit"])
    assert same.status_code == 422
    assert same.json()["error"]["details"][0]["path"] == "new_housing_unit"
    changed = moved(
        world.chen,
        change,
        "approve",
        REQUESTS,
        new_housing_unit=contract["spare_unit"],
        effective_date="2026-07-06",
    )
    assert (changed["state"], changed["effective_date"]) == ("room_changed", "2026-07-06")
    [only] = world.admin.get("/api/public_rental/lease_contract").json()["items"]
    assert only["id"] == contract["id"]  # no contract is created for these


def test_a_lease_request_is_rejected_returned_or_withdrawn(world: World) -> None:
    contract = lease(world)
    first = request(world, contract, "renew", renewal_months=12)
    short = take(world.chen, first, "reject", REQUESTS, reject_reason="欠租")
    assert short.json()["error"]["details"] == [
        {"path": "reject_reason", "message": "驳回原因不少于 15 个字"}
    ]
    reason = "合同期内累计欠缴租金超过六个月，不符合续租条件"
    rejected = moved(world.chen, first, "reject", REQUESTS, reject_reason=reason)
    assert (rejected["state"], rejected["handler"]) == ("rejected", "chen")
    assert f"履约申请 {first['request_no']} 未获批准" in messages(world.applicant)

    second = request(world, contract, "move_out")
    returned = moved(world.chen, second, "return", REQUESTS, comment="请上传退租承诺书")
    assert returned["state"] == "returned"
    assert take(world.jiang, second, "withdraw", REQUESTS, comment="撤销").status_code == 403
    withdrawn = moved(world.applicant, second, "withdraw", REQUESTS, comment="暂不退租")
    assert withdrawn["state"] == "withdrawn"


def test_a_tenant_asks_only_about_its_own_lease(world: World) -> None:
    contract = lease(world)
    create_user(world.admin, "li", "applicant")
    other = login(world.admin, "li")
    body = {
        "request_no": "LY2026430104000500",
        "request_type": "move_out",
        "lease_contract": contract["id"],
        "reason": "代他人申请退租",
        "desired_date": "2026-06-01",
    }
    refused = other.post(REQUESTS, json=body)
    assert refused.status_code == 422  # a lease li cannot see is no lease at all
    assert refused.json()["error"]["details"] == [
        {
            "path": "lease_contract",
            "message": f"no public_rental.lease_contract with id {contract['id']}",
        }
    ]
    assert other.get(REQUESTS).json()["items"] == []
    mine = request(world, contract, "move_out")
    assert other.get(f"{REQUESTS}/{mine['id']}").status_code == 404
    assert take(world.applicant, mine, "approve", REQUESTS).status_code == 403

"""The `eligibility` check, rule by rule at and around its numbers (DOMAIN.md, "Rules with
numbers"; Fair Guard, §A4 of domain/shanghai-and-rental-platforms.md).

`decide` is pure, so most tests hand it inputs as `gather` would give them; `gather` is
tested over an in-memory stand-in for the records it reads, and a stored decision is
judged again with `engine.flows.checks.rerun`. The flow over HTTP is in
tests/features/test_prh_flow.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from engine.flows.checks import CheckInput, CheckResult, rerun
from engine.settings import Settings
from plugins.builtin.eligibility import CHECK, decide
from plugins.manager import build_extensions

TODAY = date(2026, 3, 16)
PRH = {"marriage_rule": True}  # the public rental flow switches the marriage rule on
ECONOMY = "【红色·经济状况】"
DUPLICATE = "【红色·重复申请】同一产品重复申请："


def inputs(**changes: Any) -> dict[str, Any]:
    """A married household of three within every line (CNY 30,000 a head), no other case."""
    return {
        "application": 1,
        "business_type": "new",
        "household": 7,
        "household_size": 3,
        "members_registered": 3,
        "applicant_registered": True,
        "annual_income": "90000.00",
        "income_source": "household",
        "per_capita_income": "30000.00",
        "per_capita_assets": "50000.00",
        "illness_poor": False,
        "marital_status": "married",
        "marital_status_since": "2010-05-01",
        "previously_secured": False,
        "minimum_living_allowance": False,
        "allowance_months": None,
        "cases": [],
        "leases": [],
        **changes,
    }


def judged(params: Mapping[str, Any] | None = None, **changes: Any) -> CheckResult:
    return decide(inputs(**changes), params or {}, TODAY)


def test_a_household_within_every_line_passes_green() -> None:
    result = judged(PRH)
    assert (result.passed, result.level, result.reasons) == (True, "green", [])


# Economic admission ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "size, per_capita, reason",
    [
        (3, "39600.00", None),  # at the line
        (3, "39600.01", "家庭人均年可支配收入 39,600.01 元，超过 3 人及以上家庭标准 39,600 元"),
        (5, "39600.00", None),
        (5, "41000.00", "家庭人均年可支配收入 41,000.00 元，超过 3 人及以上家庭标准 39,600 元"),
        (2, "43560.00", None),
        (2, "43560.01", "家庭人均年可支配收入 43,560.01 元，超过 2 人及以下家庭标准 43,560 元"),
        (2, "39600.01", None),  # above the large household's line, within the small one's
        (1, "43560.00", None),
        (1, "43560.01", "家庭人均年可支配收入 43,560.01 元，超过 2 人及以下家庭标准 43,560 元"),
    ],
)
def test_per_capita_income_line_by_household_size(
    size: int, per_capita: str, reason: str | None
) -> None:
    result = judged(household_size=size, members_registered=size, per_capita_income=per_capita)
    assert result.reasons == ([ECONOMY + reason] if reason else [])
    assert (result.passed, result.level) == ((True, "green") if reason is None else (False, "red"))


@pytest.mark.parametrize(
    "size, assets, reason",
    [
        (3, "120000.00", None),
        (3, "120000.01", "家庭人均资产 120,000.01 元，超过 3 人及以上家庭标准 120,000 元"),
        (4, "131000.00", "家庭人均资产 131,000.00 元，超过 3 人及以上家庭标准 120,000 元"),
        (2, "132000.00", None),
        (2, "132000.01", "家庭人均资产 132,000.01 元，超过 2 人及以下家庭标准 132,000 元"),
        (1, "125000.00", None),
    ],
)
def test_per_capita_assets_line_by_household_size(
    size: int, assets: str, reason: str | None
) -> None:
    result = judged(household_size=size, members_registered=size, per_capita_assets=assets)
    assert result.reasons == ([ECONOMY + reason] if reason else [])
    assert result.passed is (reason is None)


@pytest.mark.parametrize(
    "income, assets, reasons",
    [
        ("43560.00", "132000.00", []),
        (
            "43560.01",
            "132000.01",
            [
                "家庭人均年可支配收入 43,560.01 元，超过因病支出型贫困家庭标准 43,560 元",
                "家庭人均资产 132,000.01 元，超过因病支出型贫困家庭标准 132,000 元",
            ],
        ),
    ],
)
def test_an_illness_spending_poor_household_has_the_small_household_lines(
    income: str, assets: str, reasons: list[str]
) -> None:
    found = {"per_capita_income": income, "per_capita_assets": assets, "household_size": 4}
    poor = judged(illness_poor=True, members_registered=4, **found)
    assert poor.reasons == [ECONOMY + reason for reason in reasons]
    ordinary = judged(members_registered=4, **found)
    assert not ordinary.passed  # above 39,600 and 120,000 for a household of four


def test_undeclared_income_and_assets_block() -> None:
    result = judged(per_capita_income=None, per_capita_assets=None, annual_income=None)
    assert result.reasons == [ECONOMY + "未申报家庭年收入", ECONOMY + "未申报家庭人均资产"]


def test_the_lines_are_the_flow_params() -> None:
    params = {"income_limit_large": 30000, "assets_limit_large": "40000.50", "large_household": 4}
    four = judged(params, household_size=4, members_registered=4, per_capita_income="30000.01")
    assert four.reasons == [
        ECONOMY + "家庭人均年可支配收入 30,000.01 元，超过 4 人及以上家庭标准 30,000 元",
        ECONOMY + "家庭人均资产 50,000.00 元，超过 4 人及以上家庭标准 40,000.50 元",
    ]
    three = judged(params, per_capita_income="43560.00")  # three persons are "small" now
    assert three.passed
    assert not judged(per_capita_income="43560.00").passed  # by the documents' lines
    assert judged({"economic_rule": False}, per_capita_income="99999.00").passed


# Marriage ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "status, since, reason",
    [
        ("married", "2025-03-31", None),  # March to March: 12 months
        ("married", "2025-04-01", "结婚未满 1 年（2025 年 4 月结婚，至 2026 年 3 月为 11 个月）"),
        ("married", "2026-03-01", "结婚未满 1 年（2026 年 3 月结婚，至 2026 年 3 月为 0 个月）"),
        ("divorced", "2023-03-20", None),  # 36 months
        ("divorced", "2023-04-02", "离婚未满 3 年（2023 年 4 月离婚，至 2026 年 3 月为 35 个月）"),
        ("widowed", "2026-01-05", None),
        ("unmarried", None, None),
        ("married", None, None),  # no date declared: nothing to judge
    ],
)
def test_marriage_counted_to_the_month_of_the_application(
    status: str, since: str | None, reason: str | None
) -> None:
    result = judged(PRH, marital_status=status, marital_status_since=since)
    assert result.reasons == ([f"【红色·婚姻状况】{reason}"] if reason else [])
    assert result.passed is (reason is None)


def test_the_marriage_rule_is_a_product_switch() -> None:
    newly_wed = {"marital_status": "married", "marital_status_since": "2026-01-10"}
    assert not judged({"product": "low_rent"}, **newly_wed).passed  # the documents' LRH rule
    assert judged({"product": "public_rental"}, **newly_wed).passed  # not asked of PRH
    assert not judged({"product": "public_rental", "marriage_rule": True}, **newly_wed).passed
    assert judged({"product": "low_rent", "marriage_rule": False}, **newly_wed).passed
    two_months = {"product": "low_rent", "married_min_months": 2}  # January to March
    assert judged(two_months, **newly_wed).passed
    assert not judged(
        two_months | {"divorced_min_months": 2},
        **newly_wed | {"marital_status_since": "2026-02-01"},
    ).passed


def test_an_unknown_product_is_refused() -> None:
    with pytest.raises(ValueError, match="params.product 'talent' is not one of"):
        judged({"product": "talent"})


# Minimum-living allowance (低保) -------------------------------------------------------------


FULL_YEAR = "【绿色·低保】领取低保 13 个月，满 13 个月视为满一年，免于经济状况核查"
SHORT_OF_A_YEAR = "不满一年（满 13 个月视为一年），仍须核查经济状况"


@pytest.mark.parametrize(
    "months, per_capita, passed, level, reasons",
    [
        (13, "30000.00", True, "green", [FULL_YEAR]),
        (13, "50000.00", True, "green", [FULL_YEAR]),  # the economic check is waived
        (12, "30000.00", True, "yellow", [f"【黄色·低保】领取低保 12 个月，{SHORT_OF_A_YEAR}"]),
        (
            12,
            "50000.00",
            False,
            "red",
            [
                ECONOMY + "家庭人均年可支配收入 50,000.00 元，超过 3 人及以上家庭标准 39,600 元",
                f"【黄色·低保】领取低保 12 个月，{SHORT_OF_A_YEAR}",
            ],
        ),
        (None, "30000.00", True, "yellow", [f"【黄色·低保】领取低保 0 个月，{SHORT_OF_A_YEAR}"]),
    ],
)
def test_thirteen_allowance_payments_are_a_year_and_waive_the_economic_check(
    months: int | None, per_capita: str, passed: bool, level: str, reasons: list[str]
) -> None:
    result = judged(
        minimum_living_allowance=True, allowance_months=months, per_capita_income=per_capita
    )
    assert (result.passed, result.level, result.reasons) == (passed, level, reasons)


def test_the_allowance_waiver_and_its_year_are_params() -> None:
    full_year = {"minimum_living_allowance": True, "allowance_months": 13}
    checked = judged(
        {"allowance_waives_economic": False}, per_capita_income="50000.00", **full_year
    )
    assert checked.level == "red" and checked.reasons[-1].endswith("仍须核查经济状况")
    longer = judged({"allowance_full_year_months": 14}, **full_year)
    assert longer.level == "yellow"


# Household data and earlier housing security ----------------------------------------------


@pytest.mark.parametrize(
    "changes, reasons",
    [
        ({"members_registered": 0}, ["未登记家庭成员"]),
        ({"members_registered": 2}, ["已登记家庭成员 2 人，与申报的家庭人口 3 人不一致"]),
        ({"applicant_registered": False}, ["家庭成员中未登记申请人本人"]),
        ({"previously_secured": True}, ["已享受过住房保障待遇"]),
    ],
)
def test_household_data_and_earlier_security_block(
    changes: dict[str, Any], reasons: list[str]
) -> None:
    result = judged(**changes)
    assert (result.passed, result.level) == (False, "red")
    assert [reason.split("】")[1] for reason in result.reasons] == reasons


def test_an_application_without_its_household_fails() -> None:
    result = decide({"application": 1, "business_type": "new", "household": None}, {}, TODAY)
    assert (result.passed, result.reasons) == (False, ["【红色·家庭信息】未找到申请家庭，无法预审"])


# Fair Guard: duplicate cases ---------------------------------------------------------------


def case(
    state: str = "street_review",
    role: str = "applicant",
    relation: str = "self",
    person: str = "张伟",
    pre_review: str = "passed",
    valid_until: str | None = None,
    number: int = 1,
) -> dict[str, Any]:
    return {
        "application": 100 + number,
        "application_no": f"SQ2026430104{number:06d}",
        "state": state,
        "pre_review": pre_review,
        "qualification_valid_until": valid_until,
        "person": person,
        "relation": relation,
        "role": role,
    }


def lease(status: str = "active", end: str = "2027-05-31") -> dict[str, Any]:
    return {
        "contract_no": "HT2024430104000001",
        "status": status,
        "end_date": end,
        "person": "张伟",
        "relation": "self",
    }


OPEN = DUPLICATE + "申请人本人另有公租房申请 SQ2026430104000001 正在办理"
HELD = DUPLICATE + "申请人本人已持有公租房保障资格（申请 SQ2026430104000001，有效期至 2026-03-16）"
CO_RESIDENT = (
    "【黄色·共同居住】家庭成员 张子涵（子女）是另一公租房申请 SQ2026430104000001 "
    "的共同居住家庭成员，该申请"
)
CHILD = {"role": "member", "relation": "child", "person": "张子涵"}


@pytest.mark.parametrize(
    "other, level, reason",
    [
        (case(), "red", OPEN),
        (case("returned", pre_review="passed"), "red", OPEN),  # returned by a reviewer
        (case("returned", pre_review="failed"), "green", None),  # failed its pre-review
        (case("draft", pre_review="pending"), "green", None),
        (case("rejected"), "green", None),
        (case("withdrawn"), "green", None),
        (
            case(relation="spouse", person="李娜"),
            "red",
            DUPLICATE + "家庭成员 李娜（配偶）另有公租房申请 SQ2026430104000001 正在办理",
        ),
        (case("qualified", valid_until="2026-03-16"), "red", HELD),  # valid to the end of today
        (case("qualified", valid_until="2026-03-15"), "green", None),  # expired yesterday
        (case(**CHILD), "yellow", CO_RESIDENT + "正在办理"),
        (
            case("qualified", valid_until="2027-01-01", **CHILD),
            "yellow",
            CO_RESIDENT + "已取得保障资格",
        ),
        (case("qualified", valid_until="2026-03-15", **CHILD), "green", None),
        (case("rejected", **CHILD), "green", None),
    ],
)
def test_another_case_of_the_same_people(
    other: dict[str, Any], level: str, reason: str | None
) -> None:
    result = judged(cases=[other])
    assert (result.level, result.reasons) == (level, [reason] if reason else [])
    assert result.passed is (level != "red")


TENANT = "【橙色·在租住房】申请人本人正在承租保障性住房（合同 HT2024430104000001，租期至 "


@pytest.mark.parametrize(
    "status, end, reasons",
    [
        ("active", "2027-05-31", [TENANT + "2027-05-31）"]),
        ("pending_approval", "2029-05-31", [TENANT + "2029-05-31）"]),
        ("expired", "2026-02-28", []),
        ("terminated", "2027-05-31", []),
    ],
)
def test_a_sitting_tenant_applying_anew_is_orange(
    status: str, end: str, reasons: list[str]
) -> None:
    result = judged(leases=[lease(status, end)])
    assert (result.passed, result.reasons) == (True, reasons)
    assert result.level == ("orange" if reasons else "green")


def test_a_renewal_expects_its_qualification_and_its_lease() -> None:
    held = case("qualified", valid_until="2027-01-01")
    renewal = judged(business_type="renewal", cases=[held], leases=[lease()])
    assert (renewal.passed, renewal.level, renewal.reasons) == (True, "green", [])
    again = judged(business_type="renewal", cases=[held, case(number=2)])
    assert again.level == "red"  # a second case in progress is a duplicate all the same


def test_the_most_severe_signal_decides_and_comes_first() -> None:
    member = case(number=2, **CHILD)
    warned = judged(cases=[member], leases=[lease()])
    assert (warned.passed, warned.level) == (True, "orange")
    assert [reason[:6] for reason in warned.reasons] == ["【橙色·在租", "【黄色·共同"]
    blocked = judged(cases=[member, case()], leases=[lease()], per_capita_income="41000.00")
    assert (blocked.passed, blocked.level) == (False, "red")
    assert [reason[:6] for reason in blocked.reasons] == [
        "【红色·经济",
        "【红色·重复",
        "【橙色·在租",
        "【黄色·共同",
    ]


def test_one_signal_per_case_naming_everyone_in_it() -> None:
    both = [
        case(role="member", relation="spouse", person="李娜"),
        case(role="member", relation="child", person="张子涵"),
    ]
    [reason] = judged(cases=both).reasons
    assert (
        reason
        == CO_RESIDENT.replace("家庭成员 张子涵", "家庭成员 李娜（配偶）、家庭成员 张子涵")
        + "正在办理"
    )


def test_the_case_states_and_the_product_are_params() -> None:
    returned = case("returned")
    assert judged(cases=[returned]).level == "red"
    closed = {"case_closed_states": "rejected, withdrawn, returned"}
    assert judged(closed, cases=[returned]).level == "green"
    low_rent = judged({"product": "low_rent"}, cases=[case()])
    assert low_rent.reasons == [DUPLICATE + "申请人本人另有廉租房申请 SQ2026430104000001 正在办理"]
    no_leases = judged({"lease_active_statuses": ""}, leases=[lease()])
    assert no_leases.level == "green"


# gather over the records it reads ----------------------------------------------------------


@dataclass
class Records:
    """An in-memory stand-in for the records a check reads: rows by `app.entity` path."""

    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def lookup(self, path: str, record_id: int) -> dict[str, Any] | None:
        return next((r for r in self.tables.get(path, []) if r["id"] == record_id), None)

    def related(self, path: str, name: str, record_id: int) -> list[Mapping[str, Any]]:
        return [r for r in self.tables.get(path, []) if r.get(name) == record_id]

    def find(self, path: str, name: str, value: Any) -> list[Mapping[str, Any]]:
        wanted = value if isinstance(value, list | tuple) else [value]
        return [r for r in self.tables.get(path, []) if r.get(name) in wanted]

    def given(self, record: dict[str, Any], params: Mapping[str, Any] | None = None) -> CheckInput:
        return CheckInput(record, self.lookup, self.related, params or {}, TODAY, find=self.find)


ZHANG, LI, ZIHAN, GRANDMA = (
    "430104198806120114",
    "430104199002030126",
    "430104201609010148",
    "430104195501010165",
)


def member(
    id_: int, household: int, name: str, relation: str, number: str, income: str
) -> dict[str, Any]:
    return {
        "id": id_,
        "household": household,
        "name": name,
        "relation": relation,
        "id_number": number,
        "annual_income": Decimal(income),
    }


def application(
    id_: int, household: int, state: str, applicant: str | None, **more: Any
) -> dict[str, Any]:
    return {
        "id": id_,
        "application_no": f"SQ2026430104{id_:06d}",
        "household": household,
        "applicant_id_number": applicant,
        "business_type": "new",
        "state": state,
        "pre_review_result": "passed" if state != "draft" else "pending",
        "qualification_valid_until": None,
        **more,
    }


VALID = date(2027, 5, 23)  # the grandmother's qualification


def records() -> Records:
    """Zhang's family (household 7) applying with application 1; the spouse's earlier case
    (household 8, still in review); the grandmother's household 9, where the daughter is
    registered, with a qualified case; Zhang's expired lease; and a stranger's case."""
    household = {
        "id": 7,
        "applicant_name": "张伟",
        "id_number": ZHANG,
        "household_size": 3,
        "annual_income": None,  # the members' incomes are summed
        "per_capita_assets": Decimal("45000.00"),
        "marital_status": "married",
        "marital_status_since": date(2014, 10, 1),
        "previously_secured": False,
        "minimum_living_allowance": True,
        "allowance_months": 12,
        "certified_illness_poor": True,
    }
    return Records(
        {
            "public_rental.household": [household],
            "public_rental.household_member": [
                member(1, 7, "张伟", "self", ZHANG, "52000.00"),
                member(2, 7, "李娜", "spouse", LI, "38000.03"),
                member(3, 7, "张子涵", "child", ZIHAN, "0.00"),
                member(4, 8, "李娜", "self", LI, "38000.00"),
                member(5, 9, "王秀英", "self", GRANDMA, "20000.00"),
                member(6, 9, "张子涵", "other", ZIHAN, "0.00"),
            ],
            "public_rental.application": [
                application(1, 7, "pre_review", ZHANG),
                application(2, 7, "draft", None),
                application(3, 8, "district_review", LI),
                application(4, 9, "qualified", GRANDMA, qualification_valid_until=VALID),
                application(5, 10, "street_review", "430104197001010011"),
            ],
            "public_rental.lease_contract": [
                {"id": 1, "contract_no": "HT2023430104000001", "lessee_id_number": ZHANG,
                 "status": "expired", "end_date": date(2026, 2, 28)},
            ],
        }
    )  # fmt: skip


def test_gather_reads_the_household_its_members_and_the_same_peoples_cases() -> None:
    found = CHECK.gather(records().given({"id": 1, "household": 7, "business_type": "new"}))
    assert found == {
        "application": 1,
        "business_type": "new",
        "household": 7,
        "household_size": 3,
        "members_registered": 3,
        "applicant_registered": True,
        "annual_income": "90000.03",
        "income_source": "members",
        "per_capita_income": "30000.01",  # 30,000.01 a head, rounded half up
        "per_capita_assets": "45000.00",
        "illness_poor": False,  # no field named by params.illness_poor_field
        "marital_status": "married",
        "marital_status_since": "2014-10-01",
        "previously_secured": False,
        "minimum_living_allowance": True,
        "allowance_months": 12,
        "cases": [
            {"application": 2, "application_no": "SQ2026430104000002", "state": "draft",
             "pre_review": "pending", "qualification_valid_until": None, "person": "张伟",
             "relation": "self", "role": "applicant"},
            {"application": 3, "application_no": "SQ2026430104000003", "state": "district_review",
             "pre_review": "passed", "qualification_valid_until": None, "person": "李娜",
             "relation": "spouse", "role": "applicant"},
            {"application": 4, "application_no": "SQ2026430104000004", "state": "qualified",
             "pre_review": "passed", "qualification_valid_until": "2027-05-23", "person": "张子涵",
             "relation": "child", "role": "member"},
        ],
        "leases": [
            {"contract_no": "HT2023430104000001", "status": "expired", "end_date": "2026-02-28",
             "person": "张伟", "relation": "self"},
        ],
    }  # fmt: skip
    assert not any(number in repr(found) for number in (ZHANG, LI, ZIHAN, GRANDMA))
    result = decide(found, {}, TODAY)
    assert (result.passed, result.level) == (False, "red")
    assert result.reasons == [
        DUPLICATE + "家庭成员 李娜（配偶）另有公租房申请 SQ2026430104000003 正在办理",
        f"【黄色·低保】领取低保 12 个月，{SHORT_OF_A_YEAR}",
        CO_RESIDENT.replace("000001", "000004") + "已取得保障资格",
    ]


def test_gather_reads_the_illness_poor_flag_a_param_names() -> None:
    given = records().given(
        {"id": 1, "household": 7}, {"illness_poor_field": "certified_illness_poor"}
    )
    assert CHECK.gather(given)["illness_poor"] is True


def test_gather_without_a_household() -> None:
    found = CHECK.gather(Records().given({"id": 1, "household": 7}))
    assert found == {"application": 1, "business_type": None, "household": 7}
    assert decide(found, {}, TODAY).reasons == ["【红色·家庭信息】未找到申请家庭，无法预审"]


def test_the_applicant_must_be_registered_under_the_households_id_number() -> None:
    data = records()
    data.tables["public_rental.household_member"][0]["id_number"] = GRANDMA
    found = CHECK.gather(data.given({"id": 1, "household": 7}))
    assert found["applicant_registered"] is False


# Stored decisions --------------------------------------------------------------------------


def test_a_stored_decision_is_judged_again_alike_and_a_param_changes_it() -> None:
    params = {"income_limit_small": 43560, "marriage_rule": True, "publicity_days": 7}
    given = records().given({"id": 1, "household": 7, "business_type": "renewal"}, params)
    result = CHECK.run(given)
    stored = CHECK.decision(result, params, TODAY, definitions=3)
    assert (stored["check"], stored["version"], stored["today"]) == (
        "eligibility",
        "1",
        "2026-03-16",
    )
    again = rerun(CHECK, stored)
    assert again.same and again.now["reasons"] == stored["reasons"]

    closing = {"case_closed_states": "rejected, withdrawn, district_review"}
    relaxed = rerun(CHECK, stored | {"params": params | closing})
    assert not relaxed.same
    assert (stored["passed"], relaxed.now["passed"]) == (
        False,
        True,
    )  # 李娜's case no longer counts

    later = stored | {"today": "2027-05-24"}  # the grandmother's qualification has run out
    assert "共同居住" not in "".join(rerun(CHECK, later).now["reasons"])


def test_the_plugin_registers_the_check_with_its_description(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path, plugins=["plugins.builtin.eligibility"], plugin_entry_points=False
    )
    extensions = build_extensions(settings)
    [plugin] = extensions.plugins
    assert (plugin.name, plugin.status, plugin.hooks) == ("eligibility", "active", ("anju_checks",))
    assert plugin.description.startswith("Eligibility of public rental (公租房) and low-rent")
    registered = extensions.checks["eligibility"]
    assert (registered.plugin, registered.decide) == ("eligibility", decide)

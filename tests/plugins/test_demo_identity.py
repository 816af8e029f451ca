"""The demo organisation tree and staff accounts: consistent, complete and repeatable."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pytest

from plugins.builtin.demo_housing import generate
from plugins.builtin.demo_identity import Organisation, organisations, users

UNITS = 3_000
CODE_LENGTHS = {"city": 6, "district": 6, "street": 9, "community": 12, "enterprise": 18}
PARENT_KINDS = {
    "city": {None},
    "district": {"city"},
    "street": {"district"},
    "community": {"street"},
    "enterprise": {"district", "city"},
}


@pytest.fixture(scope="module")
def rows() -> dict[str, list[dict[str, Any]]]:
    """The demo regions and enterprises (they come before any unit is generated)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for _app, entity, batch in generate(UNITS, {}):
        if entity not in ("region", "enterprise"):
            break
        found.setdefault(entity, []).extend(batch)
    return found


@pytest.fixture(scope="module")
def orgs(rows: dict[str, list[dict[str, Any]]]) -> list[Organisation]:
    return organisations(rows["region"], rows["enterprise"])


def test_every_region_and_enterprise_is_an_organisation(
    rows: dict[str, list[dict[str, Any]]], orgs: list[Organisation]
) -> None:
    codes = [org["code"] for org in orgs]
    assert len(codes) == len(set(codes))
    assert set(codes) == {r["code"] for r in rows["region"]} | {
        e["uscc"] for e in rows["enterprise"]
    }
    kinds = Counter(org["kind"] for org in orgs)
    assert kinds["city"] == 1 and kinds["district"] == 9
    assert kinds["enterprise"] == len(rows["enterprise"]) >= 2


def test_every_parent_exists_and_comes_first(orgs: list[Organisation]) -> None:
    seen: dict[str, str] = {}
    for org in orgs:
        parent = org["parent_code"]
        assert (seen[parent] if parent else None) in PARENT_KINDS[org["kind"]], org
        seen[org["code"]] = org["kind"]


def test_codes_follow_the_division_levels(orgs: list[Organisation]) -> None:
    for org in orgs:
        assert len(org["code"]) == CODE_LENGTHS[org["kind"]], org
        if org["kind"] in ("street", "community"):
            assert org["code"].startswith(org["parent_code"] or "-"), org


def test_enterprises_sit_under_the_district_they_are_registered_in(
    rows: dict[str, list[dict[str, Any]]], orgs: list[Organisation]
) -> None:
    region_codes = {r["id"]: r["code"] for r in rows["region"]}
    parents = {org["code"]: org["parent_code"] for org in orgs}
    for enterprise in rows["enterprise"]:
        assert parents[enterprise["uscc"]] == region_codes[enterprise["district"]]
        assert enterprise["uscc"][2:8] == parents[enterprise["uscc"]]  # GB 32100 area code


@pytest.mark.parametrize(
    "level, name, parent, expected",
    [
        ("city", "长沙市", None, "长沙市住房保障服务中心"),
        ("district", "岳麓区", "长沙市", "岳麓区住房保障服务中心"),
        ("street", "望岳街道", "岳麓区", "岳麓区望岳街道办事处"),
        ("street", "铜官镇", "望城区", "望城区铜官镇人民政府"),
        ("community", "桃花岭社区", "望岳街道", "望岳街道桃花岭社区居民委员会"),
    ],
)
def test_offices_are_named_as_the_administration_names_them(
    level: str, name: str, parent: str | None, expected: str
) -> None:
    regions = [{"id": 2, "name": name, "code": "430104", "level": level, "parent": 1}]
    if parent:
        above = {"id": 1, "name": parent, "code": "430100", "level": "district", "parent": None}
        regions.insert(0, above)
    assert organisations(regions)[-1]["name"] == expected


def test_each_office_and_enterprise_has_its_officer(orgs: list[Organisation]) -> None:
    accounts = users(orgs, seed=7)
    roles_by_org: dict[str | None, list[str]] = {}
    for account in accounts:
        roles_by_org.setdefault(account["org_code"], []).extend(account["roles"])
    expected = {
        "city": "city_centre",
        "district": "district_centre",
        "street": "street_officer",
        "enterprise": "enterprise",
    }
    for org in orgs:
        if org["kind"] in expected:
            assert expected[org["kind"]] in roles_by_org.get(org["code"], []), org
    assert set(roles_by_org[None]) == {"applicant"}  # applicants belong to no organisation
    every_role = Counter(role for account in accounts for role in account["roles"])
    assert every_role["auditor"] == every_role["configurator"] == 1


def test_accounts_are_unique_ascii_and_belong_to_known_organisations(
    orgs: list[Organisation],
) -> None:
    accounts = users(orgs, seed=7)
    names = [account["username"] for account in accounts]
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", name) for name in names)
    assert "street_430104001" in names
    codes = {org["code"] for org in orgs}
    assert all(a["org_code"] in codes for a in accounts if a["org_code"] is not None)
    assert all(a["display_name"] and not a["display_name"].isascii() for a in accounts)


def test_the_same_seed_gives_the_same_accounts(orgs: list[Organisation]) -> None:
    assert users(orgs, seed=7) == users(orgs, seed=7)
    assert users(orgs, seed=7) != users(orgs, seed=8)

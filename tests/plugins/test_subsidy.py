"""The subsidy plugin: tiers picked by household size or income band, the amount (standard ×
quantity × ratio, capped, reduced in transition, half up to the fen), in Python, in computed
fields (closure and SQL) and through the `subsidy.compute` flow action.

The documents give the parts, not the numbers (seed 004, L887-894): the examples below read
the deck's housing subsidy row (T8: subsidy standard 0.9, amount 800.0) as a tier ratio of
0.9 with a ceiling of CNY 800 a person, and use illustrative district standards.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from plugins.builtin.subsidy import (
    Tier,
    compute_subsidy,
    entitled_area,
    parse_tiers,
    pick_tier,
    subsidy_amount,
)
from renderers.app import create_app
from tests.databases import estate_settings
from tests.definitions import entity, estate, write_folder
from tests.identity import authorize, client_as

# The difference-subsidy table of one district: by people-count range (配租人数范围)
BY_SIZE = [
    {
        "label": "1-2 人户",
        "min_persons": 1,
        "max_persons": 2,
        "ratio": "0.9",
        "cap_per_person": 800,
    },
    {
        "label": "3-4 人户",
        "min_persons": 3,
        "max_persons": 4,
        "ratio": "0.8",
        "cap_per_person": 800,
    },
    {"label": "5 人及以上", "min_persons": 5, "ratio": "0.7", "cap": "3200"},
]
# Income bands of the LRH dashboard (seed 004, L922): below 2000, 2000-2800, 2800-3300
BY_INCOME = [
    {"max_income": 2000, "ratio": 1},
    {"min_income": 2000, "max_income": 2800, "ratio": "0.9"},
    {"min_income": 2800, "max_income": 3300, "ratio": "0.8"},
]


def d(text: str | int) -> Decimal:
    return Decimal(str(text))


@pytest.mark.parametrize(
    ("persons", "label"),
    [
        (1, "1-2 人户"),
        (2, "1-2 人户"),
        (3, "3-4 人户"),
        (4, "3-4 人户"),
        (5, "5 人及以上"),
        (9, "5 人及以上"),
    ],
)
def test_the_tier_is_the_people_count_range_the_household_falls_in(
    persons: int, label: str
) -> None:
    assert pick_tier(parse_tiers(BY_SIZE), persons=persons).label == label


@pytest.mark.parametrize(
    ("income", "ratio"),
    [("0", "1"), ("1999.99", "1"), ("2000", "0.9"), ("2799.99", "0.9"), ("2800", "0.8")],
)
def test_an_income_band_holds_its_lower_bound_and_not_its_upper(income: str, ratio: str) -> None:
    assert pick_tier(parse_tiers(json.dumps(BY_INCOME)), income=d(income)).ratio == d(ratio)


def test_an_income_above_every_band_has_no_tier() -> None:
    with pytest.raises(LookupError, match="no subsidy tier is for a per-capita income of 3300"):
        pick_tier(parse_tiers(BY_INCOME), income=d(3300))


def test_overlapping_tiers_are_refused_with_their_numbers() -> None:
    tiers = parse_tiers([{"max_persons": 3, "ratio": 1}, {"min_persons": 3, "ratio": "0.8"}])
    with pytest.raises(LookupError, match="tiers 1 and 2 overlap: both are for 3 persons"):
        pick_tier(tiers, persons=3)


def test_tiers_by_size_need_the_number_of_persons() -> None:
    with pytest.raises(ValueError, match="give the number of persons"):
        pick_tier(parse_tiers(BY_SIZE), income=d(1500))


@pytest.mark.parametrize(
    ("tiers", "message"),
    [
        ("[{", "not valid JSON"),
        ("[]", "non-empty list"),
        ([{"min_persons": 1}], "tier 1: the ratio is missing"),
        (
            [{"ratio": 1}, {"ratio": "1.2"}],
            r"tier 2: the ratio must be between 0 and 1 \(got 1.2\)",
        ),
        ([{"ratio": 1, "ratoi": 1}], "tier 1: unknown key 'ratoi'"),
        ([{"ratio": 1, "min_persons": 4, "max_persons": 2}], "min_persons is above max_persons"),
        ([{"ratio": 1, "min_persons": "2"}], "min_persons must be a whole number"),
        ([{"ratio": "nine tenths"}], "ratio must be a number"),
        ([{"ratio": 1, "cap": -5}], "tier 1: cap must not be negative"),
    ],
)
def test_a_mistake_in_the_tiers_names_the_tier_and_key(tiers: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_tiers(tiers)


@pytest.mark.parametrize(
    ("standard", "quantity", "ratio", "cap", "transition", "amount"),
    [
        ("1000", "1", "0.9", "800", None, "800.00"),  # T8: 900 over the 800 ceiling
        ("1000", "1", "0.9", "800", "0.5", "400.00"),  # in transition: half of the 800
        ("400", "2", "0.9", "1600", None, "720.00"),  # under the ceiling of 2 × 800
        ("40", "40", "0.8", None, None, "1280.00"),  # 40 CNY/m² on 40 m²
        ("33.33", "10", "0.85", None, None, "283.31"),  # 283.305, half up
        ("33.33", "10", "0.85", None, "0.5", "141.65"),  # 141.6525
        ("40", "0", "0.8", None, None, "0.00"),
    ],
)
def test_the_amount_is_standard_times_quantity_times_ratio_capped_then_reduced(
    standard: str, quantity: str, ratio: str, cap: str | None, transition: str | None, amount: str
) -> None:
    found = subsidy_amount(
        d(standard),
        d(quantity),
        d(ratio),
        None if cap is None else d(cap),
        None if transition is None else d(transition),
    )
    assert str(found) == amount


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("-1", "1", "0.9"), "standard must not be negative"),
        (("1", "-1", "0.9"), "quantity"),
        (("1", "1", "1.1"), "ratio must be between 0 and 1"),
    ],
)
def test_numbers_out_of_range_are_refused(arguments: tuple[str, str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        subsidy_amount(*(d(a) for a in arguments))


@pytest.mark.parametrize(
    ("persons", "living", "area"), [(3, "5", "40"), (1, "0", "15"), (2, "40", "0")]
)
def test_the_area_entitlement_is_the_shortfall_below_15_m2_a_person(
    persons: int, living: str, area: str
) -> None:
    assert entitled_area(persons, d(15), d(living)) == d(area)


def test_an_area_based_subsidy_of_a_family_of_three() -> None:
    """40 CNY/m² a month on (3 × 15 − 5) m² at the 3-4 person ratio 0.8: 1,280 a month; the
    ceiling of 3 × 800 does not bite; in transition at 0.5: 640."""
    tiers = parse_tiers(BY_SIZE)
    full = compute_subsidy(d(40), 3, tiers, "area", d(15), d(5))
    assert (full.amount, full.quantity, full.tier.label, full.capped) == (
        d("1280.00"),
        d(40),
        "3-4 人户",
        False,
    )
    reduced = compute_subsidy(
        d(40), 3, tiers, "area", d(15), d(5), transition=True, transition_ratio=d("0.5")
    )
    assert reduced.amount == d("640.00")
    assert reduced.explanation() == (
        "补贴标准 40 元/㎡·月 × 40 ㎡ × 补贴比例 0.8（3-4 人户，3-4 人），过渡期按 0.5 发放，"
        "月补贴 640.00 元"
    )


def test_the_t8_row_a_person_based_subsidy_held_at_800() -> None:
    subsidy = compute_subsidy(d(1000), 1, parse_tiers(BY_SIZE), "person")
    assert (subsidy.amount, subsidy.tier.ratio, subsidy.cap, subsidy.capped) == (
        d("800.00"),
        d("0.9"),
        d(800),
        True,
    )
    assert subsidy.as_json()["tier"] == {
        "ratio": "0.9",
        "min_persons": 1,
        "max_persons": 2,
        "cap_per_person": "800",
        "label": "1-2 人户",
    }


def test_the_lower_of_two_caps_holds() -> None:
    """A family of six at 1,000 a person and 0.7: 4,200, held to the household's 3,200."""
    assert compute_subsidy(d(1000), 6, parse_tiers(BY_SIZE), "person").amount == d("3200.00")


def test_a_family_in_transition_needs_the_transition_ratio() -> None:
    with pytest.raises(ValueError, match="needs the transition ratio"):
        compute_subsidy(d(1000), 1, [Tier(ratio=d(1))], "person", transition=True)


# In definitions: the expression functions, stored and virtual (SQL) --------------------------


@pytest.fixture
def estate_client(tmp_path: Path, database_url: str | None) -> Iterator[TestClient]:
    settings = estate_settings(tmp_path, database_url)
    folder = estate()
    fields = entity(folder, "unit")["fields"]
    for name in ("standard", "ratio", "cap", "transition_ratio"):
        fields[name] = {"type": "decimal", "scale": 2}
    fields["persons"] = {"type": "integer", "min": 1}
    fields["tiers"] = {"type": "json"}
    amount = "subsidy_amount(standard, persons, ratio, cap, transition_ratio)"
    fields["amount"] = {"type": "decimal", "scale": 2, "computed": amount}
    fields["live_amount"] = {"type": "decimal", "scale": 2, "computed": amount, "virtual": True}
    fields["tier_ratio"] = {
        "type": "decimal",
        "scale": 2,
        "computed": "subsidy_ratio(tiers, persons)",
    }
    write_folder(settings.apps_config, folder)
    with TestClient(create_app(settings)) as client:
        authorize(client)
        yield client


@pytest.mark.parametrize(
    ("values", "amount"),
    [
        ({"standard": "1000", "persons": 1, "ratio": "0.9", "cap": "800"}, "800.00"),
        (
            {
                "standard": "1000",
                "persons": 1,
                "ratio": "0.9",
                "cap": "800",
                "transition_ratio": "0.5",
            },
            "400.00",
        ),
        ({"standard": "400", "persons": 2, "ratio": "0.9", "cap": "1600"}, "720.00"),
        ({"standard": "33.33", "persons": 10, "ratio": "0.85"}, "283.31"),
        (
            {"standard": "33.33", "persons": 10, "ratio": "0.85", "transition_ratio": "0.5"},
            "141.65",
        ),
        ({"standard": "33.33", "persons": 10, "ratio": "1.50"}, None),  # no ratio above 1
        ({"persons": 10, "ratio": "0.85"}, None),
    ],
)
def test_the_database_computes_the_amount_as_python_does(
    estate_client: TestClient, values: dict[str, Any], amount: str | None
) -> None:
    created = estate_client.post("/api/estate/unit", json={"code": "A-1", **values})
    assert created.status_code == 201, created.text
    unit = created.json()
    assert (unit.get("amount"), unit.get("live_amount")) == (amount, amount)


def test_the_tier_ratio_of_a_household_from_a_json_table(estate_client: TestClient) -> None:
    ratios = []
    for code, persons in (("A-1", 2), ("A-2", 3), ("A-3", 7)):
        body = {"code": code, "persons": persons, "tiers": BY_SIZE}
        created = estate_client.post("/api/estate/unit", json=body)
        assert created.status_code == 201, created.text
        ratios.append(created.json()["tier_ratio"])
    assert ratios == ["0.90", "0.80", "0.70"]
    gap = estate_client.post(
        "/api/estate/unit", json={"code": "A-4", "persons": 3, "tiers": BY_SIZE[:1]}
    )
    assert gap.status_code == 201, gap.text
    assert gap.json().get("tier_ratio") is None  # no tier for three persons: no ratio


# The flow action ------------------------------------------------------------------------------

ALLOWANCE_FLOW: dict[str, Any] = {
    "entity": "allowance",
    "initial": "draft",
    "params": {
        "subsidy_basis": "person",
        "subsidy_tiers": json.dumps(BY_SIZE),
        "subsidy_transition_ratio": "0.5",
    },
    "states": {"draft": {"editable": "all"}, "computed": {"category": "done"}},
    "transitions": {
        "compute": {
            "from": ["draft"],
            "to": "computed",
            "roles": ["officer"],
            "actions": [
                {
                    "call": "subsidy.compute",
                    "with": {
                        "standard": "standard",
                        "persons": "persons",
                        "transition": "transition",
                    },
                }
            ],
        }
    },
}


@pytest.fixture
def officer(tmp_path: Path, database_url: str | None) -> Iterator[TestClient]:
    """An officer of the estate app, whose allowances (租金配租单) compute their subsidy."""
    settings = estate_settings(tmp_path, database_url)
    folder = estate()
    folder["estate/roles.yaml"]["roles"]["officer"] = {"label": "经办"}
    folder["estate/entities/allowance.yaml"] = {
        "fields": {
            "family": {"type": "string", "required": True},
            "standard": {"type": "decimal", "scale": 2},
            "persons": {"type": "integer"},
            "transition": {"type": "boolean", "default": False},
            "subsidy_amount": {"type": "decimal", "scale": 2},
            "subsidy_tier": {"type": "json"},
        },
        "title_field": "family",
        "permissions": {"officer": {"actions": ["read", "create", "update"], "scope": "all"}},
    }
    folder["estate/flows/allowance.yaml"] = ALLOWANCE_FLOW
    write_folder(settings.apps_config, folder)
    with TestClient(create_app(settings)) as admin:
        authorize(admin)
        yield client_as(admin, "wang", "officer")


def computed(officer: TestClient, **values: Any) -> Any:
    created = officer.post("/api/estate/allowance", json={"family": "王家", **values})
    assert created.status_code == 201, created.text
    return officer.post(
        f"/api/estate/allowance/{created.json()['id']}/transitions/compute", json={}
    )


def test_the_action_stores_the_amount_and_the_tier_used(officer: TestClient) -> None:
    response = computed(officer, standard="1000", persons=1)
    assert response.status_code == 200, response.text
    allowance = response.json()
    assert (allowance["state"], allowance["subsidy_amount"]) == ("computed", "800.00")
    tier = allowance["subsidy_tier"]
    assert (tier["tier"]["label"], tier["quantity"], tier["capped"]) == ("1-2 人户", "1", True)
    assert tier["explanation"] == (
        "补贴标准 1000.00 元/人·月 × 1 人 × 补贴比例 0.9（1-2 人户，1-2 人），以上限 800 元为准，"
        "月补贴 800.00 元"
    )


def test_a_family_in_transition_gets_the_reduced_amount(officer: TestClient) -> None:
    response = computed(officer, standard="400", persons=3, transition=True)
    assert response.status_code == 200, response.text
    assert response.json()["subsidy_amount"] == "480.00"  # 400 × 3 × 0.8 = 960, × 0.5


def test_missing_inputs_refuse_the_transition_with_a_reason(officer: TestClient) -> None:
    response = computed(officer, standard="400")
    assert response.status_code == 422
    assert "subsidy.compute: give 'persons'" in response.json()["error"]["message"]

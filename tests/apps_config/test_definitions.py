"""The shipped `apps_config/`: it loads, has zh and en labels, and has the benchmark index."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.expressions.definitions import load_definitions
from metamodel.definitions import Definitions
from metamodel.fields import DecimalField, EnumField, ReferenceField, StringField
from metamodel.loader import read_folder
from tests.apps_config.shipped import SHIPPED

APPS_CONFIG = Path(__file__).resolve().parents[2] / "apps_config"
SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")


@pytest.fixture(scope="module")
def definitions() -> Definitions:
    return load_definitions(read_folder(APPS_CONFIG), SHIPPED.functions, SHIPPED.field_types)


def labels_of(definitions: Definitions) -> Iterator[tuple[str, dict[str, str]]]:
    """Every label, title and non-empty help text, with where it is."""
    for app_name, bundle in definitions.apps.items():
        yield f"{app_name}/app.yaml: label", bundle.app.label
        for role_name, role in bundle.roles.roles.items():
            yield f"{app_name}/roles.yaml: {role_name}", role.label
        for entity in bundle.entities.values():
            where = f"{app_name}/entities/{entity.name}.yaml"
            yield f"{where}: label", entity.label
            for name, spec in entity.fields.items():
                yield f"{where}: fields.{name}.label", spec.label
                if spec.help:
                    yield f"{where}: fields.{name}.help", spec.help
                for option in getattr(spec, "options", []):
                    yield f"{where}: fields.{name}.options.{option.value}", option.label
        for form in bundle.forms.values():
            yield f"{app_name}/forms/{form.name}.yaml: label", form.label
            for i, section in enumerate(form.sections):
                yield f"{app_name}/forms/{form.name}.yaml: sections[{i}].title", section.title


def test_shipped_apps_load(definitions: Definitions) -> None:
    assert {"housing_stock", "public_rental"} <= set(definitions.apps)
    stock = definitions.apps["housing_stock"].entities
    rental = definitions.apps["public_rental"].entities
    assert {"region", "enterprise", "project", "building", "unit_type", "housing_unit"} <= set(
        stock
    )
    assert {"household", "household_member", "application", "lease_contract"} <= set(rental)


def test_every_label_is_in_chinese_and_english(definitions: Definitions) -> None:
    missing = [
        where
        for where, labels in labels_of(definitions)
        if set(labels) != {"zh", "en"} or not all(text.strip() for text in labels.values())
    ]
    assert missing == []


def test_enum_values_are_snake_case_identifiers(definitions: Definitions) -> None:
    bad = [
        f"{app}.{entity.name}.{name}: {option.value}"
        for app, entity in definitions.entities()
        for name, spec in entity.fields.items()
        if isinstance(spec, EnumField)
        for option in spec.options
        if not SNAKE.match(option.value)
    ]
    assert bad == []


def test_every_app_has_roles_and_every_entity_a_title(definitions: Definitions) -> None:
    for bundle in definitions.apps.values():
        assert {"city_centre", "district_centre", "street_officer"} <= set(bundle.roles.roles)
    assert [e.name for _, e in definitions.entities() if not e.title_field] == []


def test_housing_unit_has_the_benchmark_fields_and_index(definitions: Definitions) -> None:
    unit = definitions.apps["housing_stock"].entities["housing_unit"]
    district, status, rent = (unit.fields[n] for n in ("district", "status", "monthly_rent"))
    assert isinstance(district, ReferenceField) and district.entity == "region"
    assert isinstance(status, EnumField)
    statuses = {option.value for option in status.options}
    assert {"vacant", "reserved", "let", "maintenance", "sealed"} <= statuses
    assert isinstance(rent, DecimalField) and rent.scale == 2
    assert [index.fields for index in unit.indexes if not index.unique][0] == [
        "district",
        "status",
        "monthly_rent",
    ]


def test_housing_unit_is_found_by_its_one_house_one_code(definitions: Definitions) -> None:
    unit = definitions.apps["housing_stock"].entities["housing_unit"]
    code = unit.fields["code"]
    assert isinstance(code, StringField) and code.required and code.unique
    assert code.pattern and re.fullmatch(code.pattern, "430104-0012-003-02-0501")
    assert unit.title_field == "code"
    assert {"code", "address"} <= set(unit.search_fields)


@pytest.mark.parametrize(
    "app, entity, field, target",
    [
        ("public_rental", "household", "hukou_district", ("housing_stock", "region")),
        ("public_rental", "application", "sponsor_enterprise", ("housing_stock", "enterprise")),
        ("public_rental", "lease_contract", "housing_unit", ("housing_stock", "housing_unit")),
        (
            "public_rental",
            "lease_contract",
            "previous_contract",
            ("public_rental", "lease_contract"),
        ),
        ("housing_stock", "building", "project", ("housing_stock", "project")),
    ],
)
def test_references_resolve_across_apps(
    definitions: Definitions, app: str, entity: str, field: str, target: tuple[str, str]
) -> None:
    spec = definitions.apps[app].entities[entity].fields[field]
    assert isinstance(spec, ReferenceField)
    resolved = definitions.resolve(app, spec.entity)
    assert resolved is not None and (resolved[0], resolved[1].name) == target


def test_every_entity_has_an_organisation_and_grants(definitions: Definitions) -> None:
    for app in ("housing_stock", "public_rental", "subsidy"):
        for entity in definitions.apps[app].entities.values():
            where = f"{app}.{entity.name}"
            assert entity.org, where
            assert {"city_centre", "district_centre", "auditor"} <= set(entity.permissions), where
            assert entity.permissions["auditor"].actions == ["read"], where


@pytest.mark.parametrize(
    "entity, fields",
    [
        (
            "household",
            ["id_number", "phone", "agent_id_number", "agent_phone", "annual_income"]
            + ["per_capita_income", "per_capita_assets"],
        ),
        ("household_member", ["id_number", "phone", "annual_income"]),
        ("lease_contract", ["lessee_id_number", "lessee_phone", "agent_id_number"]),
    ],
)
def test_personal_data_is_sensitive(
    definitions: Definitions, entity: str, fields: list[str]
) -> None:
    specs = definitions.apps["public_rental"].entities[entity].fields
    assert [name for name in fields if not specs[name].sensitive] == []
    assert all(specs[name].mask for name in fields if isinstance(specs[name], StringField))


def test_subsidy_roster_keeps_personal_data_sensitive(definitions: Definitions) -> None:
    specs = definitions.apps["subsidy"].entities["subsidy_recipient"].fields
    assert [n for n in ("id_number", "phone", "bank_account") if not specs[n].sensitive] == []


def test_alert_rules_cover_the_supervision_families(definitions: Definitions) -> None:
    rules = definitions.apps["supervision"].alerts
    families = {rule.family for rule in rules.values()}
    assert families == {
        "contract",
        "rent",
        "unit",
        "subsidy",
        "enterprise_credit",
        "tenant_credit",
        "project",
        "supplier",
    }
    templates = definitions.apps["supervision"].messages
    for name, rule in rules.items():
        if rule.message.template is not None:  # the text comes from a message template
            rule = rule.with_template(templates[rule.message.template])
        assert (
            set(rule.label)
            == set(rule.message.title)
            == set(rule.message.body)
            == {
                "zh",
                "en",
            }
        ), name
        assert rule.recipients and "in_app" in rule.channels, name


def test_reports_and_dashboards_are_labelled_and_widgets_resolve(
    definitions: Definitions,
) -> None:
    reports = {
        f"{app}.{name}": report
        for app, bundle in definitions.apps.items()
        for name, report in bundle.reports.items()
    }
    assert "housing_stock.units_by_status" in reports
    assert all(set(report.label) == {"zh", "en"} for report in reports.values())
    for bundle in definitions.apps.values():
        for dashboard in bundle.dashboards.values():
            assert set(dashboard.label) == {"zh", "en"}
            assert [w.report for w in dashboard.widgets if w.report not in reports] == []

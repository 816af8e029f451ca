"""A message template that only puts values into text renders by `%` formatting exactly as
Jinja2 renders it — the text a user reads is the same either way — and anything else is
left to Jinja2."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from jinja2.sandbox import SandboxedEnvironment

from engine.alerts.plain_templates import plain_template

CONSTANTS: dict[str, Any] = {
    "rule": "房屋空置",
    "labels": {"rent": "租金", "code": "编号"},
    "severity": "yellow",
    "today": date(2026, 3, 2),
}
RECORDS: list[dict[str, Any]] = [
    {"code": "A-1", "rent": Decimal("1000.00"), "since": date(2025, 5, 10), "days": 561},
    {"code": None, "rent": None, "since": None, "days": 0},  # null reads `None`, as in Jinja2
    {"id": 7},  # fields missing altogether read empty
]


@pytest.mark.parametrize(
    "source",
    [
        "房屋 {{ record.code }} 已空置 {{ record.days }} 天",
        "{{ labels.rent }}：{{ record.rent }}（{{ rule }}，{{ severity }}，{{ today }}）",
        "100% {{ record.code }} %s %(x)s",  # percent signs are text
        "  {{- record.code -}}  | {# a comment #}{{ record.since }}\n",
        "{{ labels.missing }}{{ record.code }}",  # a missing label reads empty
        "no values at all",
        "",
    ],
)
def test_plain_templates_render_as_jinja2_does(source: str) -> None:
    plain = plain_template(source, CONSTANTS)
    assert plain is not None
    template = SandboxedEnvironment(autoescape=False).from_string(source)
    for record in RECORDS:
        assert plain.render(record) == template.render(**CONSTANTS, record=record)


@pytest.mark.parametrize(
    "source",
    [
        "{{ record.code | upper }}",  # a filter
        "{% if record.code %}{{ record.code }}{% endif %}",  # a tag
        "{{ record['code'] }}",  # an index
        "{{ record.items }}",  # a dict's method, which Jinja2 reads first
        "{{ record }}",
        "{{ record.unit.code }}",
        "{{ unknown_name }}",  # Jinja2 decides what an unknown name means
        "{{ 'text' }}",
    ],
)
def test_anything_else_is_left_to_jinja2(source: str) -> None:
    assert plain_template(source, CONSTANTS) is None

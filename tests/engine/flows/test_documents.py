"""Document and message templates print an empty value as nothing, never as `None`; a name
the context lacks is still an error in a document."""

from __future__ import annotations

import pytest
from jinja2 import UndefinedError

from engine.flows.documents import render_document, render_text


def test_an_empty_value_prints_as_nothing() -> None:
    context = {"record": {"title": "许可", "decided_on": None}}

    assert render_document("<p>{{ record.title }}：{{ record.decided_on }}</p>", context) == (
        "<p>许可：</p>"
    )
    assert render_text("{{ record.decided_on }}审批", context) == "审批"


def test_a_false_or_zero_value_still_prints() -> None:
    context = {"record": {"paid": False, "amount": 0}}

    assert render_text("{{ record.paid }} {{ record.amount }}", context) == "False 0"


def test_a_missing_name_is_still_an_error_in_a_document() -> None:
    with pytest.raises(UndefinedError):
        render_document("<p>{{ missing.value }}</p>", {"record": {}})

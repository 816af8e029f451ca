"""Message templates (`messages/<name>.yaml`) load with their per-channel texts; a template
that does not parse, an SMS text too long for any gateway, and a flow `notify` or an alert
rule naming a template that does not exist are refused naming the file and path."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from jinja2.sandbox import SandboxedEnvironment

from metamodel.errors import DefinitionsInvalid
from metamodel.loader import build_definitions, read_folder
from metamodel.messages import MessageTemplate, fixed_length
from tests.definitions import Folder, write_folder
from tests.engine.alerts.world import HIGH_RENT, alert_folder
from tests.flows import permit_folder

REFUSED: dict[str, Any] = {
    "label": {"zh": "许可未获批准", "en": "Permit refused"},
    "title": {"zh": "许可 {{ record.title }} 未获批准", "en": "Permit {{ record.title }} refused"},
    "body": {"zh": "原因：{{ record.note }}", "en": "Reason: {{ record.note }}"},
    "sms": {"zh": "您的许可申请{{ record.title }}未获批准。"},
    "email": {"subject": {"zh": "许可申请结果：{{ record.title }}"}},
}
FILE = "estate/messages/permit_refused.yaml"
FLOW = "estate/flows/permit.yaml"


def folder_with(message: dict[str, Any] | None = None, *actions: dict[str, Any]) -> Folder:
    """The permit folder with the `permit_refused` template and `actions` on entering
    `refused`."""
    folder = copy.deepcopy(permit_folder())
    if message is not None:
        folder[FILE] = message
    folder[FLOW]["states"]["refused"]["on_enter"] = list(actions)
    return folder


def errors_of(root: Path, folder: Folder) -> list[tuple[str, str, str]]:
    with pytest.raises(DefinitionsInvalid) as raised:
        build_definitions(read_folder(write_folder(root, folder)))
    return [(e.file, e.path, e.message) for e in raised.value.errors]


def test_a_template_loads_and_gives_each_channel_its_text(tmp_path: Path) -> None:
    notify = {"notify": {"expression": "created_by"}, "template": "permit_refused"}
    folder = folder_with(REFUSED, {**notify, "channels": ["in_app", "sms", "email"]})

    definitions = build_definitions(read_folder(write_folder(tmp_path, folder)))

    template = definitions.apps["estate"].messages["permit_refused"]
    assert template.channel_text("in_app") == (REFUSED["title"], REFUSED["body"])
    assert template.channel_text("webhook") == (REFUSED["title"], REFUSED["body"])
    assert template.channel_text("sms") == ({}, REFUSED["sms"])
    assert template.channel_text("email") == (REFUSED["email"]["subject"], REFUSED["body"])
    assert definitions.contents[("estate", "message", "permit_refused")] == {
        "name": "permit_refused",
        **REFUSED,
    }
    [action] = definitions.apps["estate"].flows["permit"].states["refused"].on_enter
    assert action.channels == ["in_app", "sms", "email"]  # type: ignore[union-attr]


@pytest.mark.parametrize("channel", ["in_app", "sms", "email", "webhook"])
def test_without_variants_every_channel_sends_the_title_and_body(channel: str) -> None:
    plain = MessageTemplate(name="plain", title={"zh": "标题"}, body={"zh": "正文"})

    assert plain.channel_text(channel) == ({"zh": "标题"}, {"zh": "正文"})


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        ({"sms": {"en": "Permit {{ record.title }"}}, "sms.en", "template line 1: unexpected '}'"),
        (
            {"title": {"zh": "{% if x %}"}},
            "title.zh",
            "template line 1: Unexpected end of template. Jinja was looking for the following "
            "tags: 'elif' or 'else' or 'endif'. The innermost block that needs to be closed is "
            "'if'.",
        ),
        (
            {"email": {"body": {"zh": "{{ record.note | }}"}}},
            "email.body.zh",
            "template line 1: expected token 'name', got 'end of print statement'",
        ),
        ({"email": {}}, "email", "Value error, give subject, body or both"),
        (
            {"sms": {"zh": "长" * 501 + "{{ record.title }}"}},
            "sms.zh",
            "501 characters before any value is filled in; SMS take 500",
        ),
        ({"title": {}}, "title", "Value should have at least 1 item after validation, not 0"),
    ],
)
def test_a_bad_template_is_refused_naming_file_and_path(
    tmp_path: Path, change: dict[str, Any], path: str, message: str
) -> None:
    folder = folder_with({**REFUSED, **change})

    assert errors_of(tmp_path, folder) == [(FILE, path, message)]


def test_an_sms_text_counts_only_its_fixed_words() -> None:
    source = "合同{{ record.contract_no }}将于{{ record.end_date }}到期"

    assert fixed_length(SandboxedEnvironment().parse(source)) == 6


NOTIFY = {"notify": {"role": "manager"}}


@pytest.mark.parametrize(
    ("action", "path", "message"),
    [
        ({**NOTIFY}, "states.refused.on_enter[0]", "give title (and message), or template"),
        (
            {**NOTIFY, "title": "x", "template": "permit_refused"},
            "states.refused.on_enter[0]",
            "give title (and message), or template",
        ),
        (
            {**NOTIFY, "template": "permit_refused", "message": "m"},
            "states.refused.on_enter[0].message",
            "the template says the message; drop it here",
        ),
        (
            {**NOTIFY, "template": "permit_refusal"},
            "states.refused.on_enter[0].template",
            "no message template 'permit_refusal' in estate/messages/",
        ),
        (
            {**NOTIFY, "title": "x", "channels": ["sms", "fax"]},
            "states.refused.on_enter[0].channels[1]",
            "'fax' is not one of ['in_app', 'sms', 'email', 'webhook']",
        ),
        (
            {**NOTIFY, "title": "x", "channels": ["sms", "sms"]},
            "states.refused.on_enter[0].channels",
            "a channel is listed twice",
        ),
        (
            {"notify": {"rol": "manager"}, "title": "x"},
            "states.refused.on_enter[0].notify.rol",
            "unknown key 'rol'; allowed keys: expression, field, org, role",
        ),
    ],
)
def test_a_bad_notify_is_refused_naming_its_path(
    tmp_path: Path, action: dict[str, Any], path: str, message: str
) -> None:
    assert errors_of(tmp_path, folder_with(REFUSED, action)) == [(FLOW, path, message)]


def test_an_alert_rule_takes_its_message_from_a_template(tmp_path: Path) -> None:
    folder = alert_folder(high_rent={**HIGH_RENT, "message": {"template": "permit_refused"}})
    folder[FILE] = REFUSED

    definitions = build_definitions(read_folder(write_folder(tmp_path, folder)))

    rule = definitions.apps["estate"].alerts["high_rent"]
    assert rule.message.title == {}
    sent = rule.with_template(definitions.apps["estate"].messages["permit_refused"])
    assert (sent.message.title, sent.message.body) == (REFUSED["title"], REFUSED["body"])


@pytest.mark.parametrize(
    ("message", "path", "problem"),
    [
        (
            {"template": "rent_notice"},
            "message.template",
            "no message template 'rent_notice' in estate/messages/",
        ),
        (
            {"template": "permit_refused", "title": "x"},
            "message",
            "Value error, give title (and body), or template",
        ),
        ({"body": "x"}, "message", "Value error, give title (and body), or template"),
    ],
)
def test_an_alert_rule_naming_a_bad_template_is_refused(
    tmp_path: Path, message: dict[str, Any], path: str, problem: str
) -> None:
    folder = alert_folder(high_rent={**HIGH_RENT, "message": message})
    folder[FILE] = REFUSED

    assert errors_of(tmp_path, folder) == [("estate/alerts/high_rent.yaml", path, problem)]

"""A flow's `notify` on every channel: in-app messages as before, SMS and e-mail through the
notification outbox in the move's transaction — from a message template with per-channel
texts or from the action's own title — keyed per timeline entry, action, channel and
recipient; nothing is queued for a refused transition."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from connectors.testing import FakeGateway
from engine.flows.jobs import sweep_timers
from engine.flows.tables import history
from engine.notifications.tables import outbox
from tests.databases import estate_settings
from tests.definitions import write_folder
from tests.engine.flows.test_permit_flow import World, in_publicity, in_review, take
from tests.flows import permit_client, permit_folder
from tests.identity import create_org, create_user, login

REFUSED = {
    "title": {"zh": "许可 {{ record.title }} 未获批准", "en": "Permit {{ record.title }} refused"},
    "body": {"zh": "原因：{{ record.note }}"},
    "sms": {"zh": "您的许可申请{{ record.title }}未获批准，请登录查看原因。"},
    "email": {"subject": {"zh": "许可申请结果：{{ record.title }}"}},
}
REASON = "招牌尺寸超过街道规定的上限，不予批准"  # a refusal needs 15 characters
PHONES = {"clerk1": "13812345678", "boss1": "13900001111", "chief1": None}


@pytest.fixture
def gateway() -> Iterator[FakeGateway]:
    with FakeGateway() as fake:
        yield fake


@pytest.fixture
def world(tmp_path: Path, database_url: str | None, gateway: FakeGateway) -> Iterator[World]:
    """The permit flow telling the clerk of a refusal in-app, by SMS and by e-mail (from the
    `permit_refused` template), the clerk of a return by SMS, and the managers of the
    publicity reminder in-app and by SMS; the SMS gateway is a fake, no mail server."""
    folder = copy.deepcopy(permit_folder())
    folder["estate/messages/permit_refused.yaml"] = REFUSED
    flow = folder["estate/flows/permit.yaml"]
    flow["states"]["refused"]["on_enter"] = [
        {
            "notify": {"expression": "created_by"},
            "template": "permit_refused",
            "channels": ["in_app", "sms", "email"],
        }
    ]
    flow["states"]["returned"]["on_enter"] = [
        {
            "notify": {"expression": "created_by"},
            "title": "退回：{{ record.title }}",
            "channels": ["sms"],
        }
    ]
    flow["states"]["publicity"]["timers"][1]["actions"][0]["channels"] = ["in_app", "sms"]
    settings_values: dict[str, Any] = {
        "plugins": ["plugins.builtin", "tests.flows"],
        "sms_url": gateway.url,
        "sms_api_key": "key-123",
        "sms_sender": "安居",
        "notification_per_recipient_hour": 0,
        "notification_per_second": 0,
    }
    settings = estate_settings(tmp_path, database_url, **settings_values)
    write_folder(settings.apps_config, folder)
    with permit_client(settings) as (admin, runtime, clock):
        city = create_org(admin, "C01", "city")
        street = create_org(admin, "S01", "street", parent_id=city["id"])
        people = {
            "clerk1": ("clerk", street),
            "boss1": ("manager", city),
            "chief1": ("manager", city),
        }
        world: World = {"admin": admin, "runtime": runtime, "clock": clock, "gateway": gateway}
        for username, (role, org) in people.items():
            email = f"{username}@example.org"
            create_user(
                admin, username, role, org_id=org["id"], phone=PHONES[username], email=email
            )
            world[username.rstrip("1")] = login(admin, username)
        yield world


def outbox_rows(world: World) -> list[dict[str, Any]]:
    with world["runtime"].engine.connect() as conn:
        query = sa.select(outbox).order_by(outbox.c.id)
        return [dict(row) for row in conn.execute(query).mappings()]


def last_entry(world: World, record_id: int) -> int:
    with world["runtime"].engine.connect() as conn:
        query = sa.select(sa.func.max(history.c.id)).where(history.c.record_id == record_id)
        return int(conn.execute(query).scalar())


def test_a_refusal_reaches_the_clerk_in_app_by_sms_and_by_email(world: World) -> None:
    permit = in_review(world)
    entry = last_entry(world, permit["id"])

    refused = take(world["boss"], permit["id"], "refuse", note=REASON)

    assert refused.json()["state"] == "refused"
    inbox = world["clerk"].get("/api/messages").json()["items"]
    assert [(m["title"], m["body"]) for m in inbox] == [
        ("许可 Shop sign 未获批准", f"原因：{REASON}")
    ]
    sms, mail = outbox_rows(world)
    refused_entry = entry + 1  # the refusal's timeline row, which entered `refused`
    assert (sms["channel"], sms["recipient"], sms["address"], sms["status"]) == (
        "sms",
        "clerk1",
        "138****5678",
        "queued",
    )
    assert sms["key"] == f"flow:{refused_entry}:states.refused.on_enter.0:sms:clerk1"
    assert (sms["about_kind"], sms["about_id"]) == ("flow", refused_entry)
    assert (mail["subject"], mail["body"]) == ("许可申请结果：Shop sign", f"原因：{REASON}")
    assert (mail["status"], mail["last_error"]) == (
        "skipped",
        "no connector for channel 'email' (see docs/notifications.md)",
    )

    assert world["runtime"].jobs.run_pending() == 1
    [request] = world["gateway"].received
    assert request.json["text"] == "您的许可申请Shop sign未获批准，请登录查看原因。"
    assert request.json["to"] == "13812345678"


def test_a_refused_transition_queues_nothing(world: World) -> None:
    permit = in_review(world)

    response = take(world["boss"], permit["id"], "refuse", note="太短")

    assert response.status_code == 422
    assert outbox_rows(world) == []
    assert world["clerk"].get("/api/messages").json()["items"] == []


def test_each_return_is_a_message_of_its_own(world: World) -> None:
    """The key is per timeline entry: a permit returned twice sends two SMS, not one."""
    permit = in_review(world)
    for _ in range(2):
        sent_back = take(world["boss"], permit["id"], "send_back", comment="补充材料")
        assert sent_back.json()["state"] == "returned"
        assert take(world["clerk"], permit["id"], "submit").json()["state"] == "review"

    rows = outbox_rows(world)
    assert [(r["channel"], r["recipient"], r["subject"]) for r in rows] == [
        ("sms", "clerk1", "退回：Shop sign"),
        ("sms", "clerk1", "退回：Shop sign"),
    ]
    assert len({r["key"] for r in rows}) == 2


def test_the_reminder_timer_texts_each_manager_once(world: World) -> None:
    runtime, clock = world["runtime"], world["clock"]
    permit = in_publicity(world)
    entry = last_entry(world, permit["id"])

    clock.advance(days=2)
    assert sweep_timers(runtime.engine, runtime.require_catalog(), clock.now()).fired == 1
    assert sweep_timers(runtime.engine, runtime.require_catalog(), clock.now()).fired == 0

    rows = outbox_rows(world)
    assert [(r["recipient"], r["status"], r["last_error"]) for r in rows] == [
        ("boss1", "queued", None),
        ("chief1", "skipped", "user 'chief1' has no phone number"),
    ]
    path = "states.publicity.timers.1.actions.0"
    assert rows[0]["key"] == f"flow:{entry}:{path}:sms:boss1"
    assert [m["title"] for m in world["boss"].get("/api/messages").json()["items"]] == [
        "公示中：Shop sign"
    ]

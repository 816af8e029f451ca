"""An alert rule whose message is a message template (`message: {template: name}`) opens
its alerts with the template's title and body, reading the record's fields as an inline
message would, and sends a channel the template gives words of its own (an SMS) those."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from connectors.testing import FakeGateway
from engine.alerts.tables import alerts
from engine.notifications.tables import outbox
from tests.engine.alerts.world import HIGH_RENT, alert_folder, alert_world
from tests.identity import create_user

RENT_NOTICE = {
    "title": {"zh": "房屋 {{ record.code }} 租金 {{ record.rent }}", "en": "{{ record.code }}"},
    "body": {"zh": "{{ labels.floor }}：{{ record.floor }}", "en": "Floor {{ record.floor }}"},
    "sms": {"zh": "房屋{{ record.code }}租金过高"},
}


def test_an_alert_takes_its_title_and_body_from_the_template(
    tmp_path: Path, database_url: str | None
) -> None:
    folder = alert_folder(high_rent={**HIGH_RENT, "message": {"template": "rent_notice"}})
    folder["estate/messages/rent_notice.yaml"] = RENT_NOTICE

    with alert_world(tmp_path, database_url, folder) as world:
        world.unit("A-1", rent="9000", floor=12, keeper="keeper1")
        with world.runtime.engine.connect() as conn:
            query = sa.select(alerts.c.title, alerts.c.body, alerts.c.title_en, alerts.c.body_en)
            [alert] = conn.execute(query.where(alerts.c.rule == "high_rent")).all()

    assert tuple(alert) == ("房屋 A-1 租金 9000.00", "floor：12", "A-1", "Floor 12")


def test_an_sms_carries_the_templates_short_text_and_other_channels_the_title_and_body(
    tmp_path: Path, database_url: str | None
) -> None:
    rule = {**HIGH_RENT, "message": {"template": "rent_notice"}, "channels": ["in_app", "sms"]}
    folder = alert_folder(high_rent=rule)
    folder["estate/messages/rent_notice.yaml"] = RENT_NOTICE

    with FakeGateway() as gateway:
        sms = {"sms_url": gateway.url, "sms_api_key": "key-1", "sms_sender": "安居"}
        with alert_world(tmp_path, database_url, folder, **sms) as world:
            create_user(world.admin, "keeper2", org_id=world.orgs["S1"]["id"], phone="13812345678")
            world.unit("A-1", rent="9000", floor=12, keeper="keeper2")
            assert world.runtime.jobs.run_pending() == 1
            with world.runtime.engine.connect() as conn:
                sent = conn.execute(sa.select(outbox.c.channel, outbox.c.subject)).all()
            in_app = world.admin.get("/api/alerts").json()["items"]

    [request] = gateway.received
    assert (request.json["to"], request.json["text"]) == ("13812345678", "房屋A-1租金过高")
    assert sorted(sent) == [("in_app", "房屋 A-1 租金 9000.00"), ("sms", "")]
    assert [a["title"] for a in in_app] == ["房屋 A-1 租金 9000.00"]

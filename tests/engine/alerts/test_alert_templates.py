"""An alert rule whose message is a message template (`message: {template: name}`) opens
its alerts with the template's title and body, reading the record's fields as an inline
message would."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from engine.alerts.tables import alerts
from tests.engine.alerts.world import HIGH_RENT, alert_folder, alert_world

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

"""Writing many alerts in a few statements: rows a unique index refuses are left out and
not returned, constants of any column type are stored as a single-row insert stores them,
and a list of ids matches with one parameter — on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from engine.alerts.many_rows import id_list, insert_many
from engine.alerts.tables import alerts
from engine.database import write_transaction

NOW = datetime(2026, 3, 2, 2, 0, 30, 123456, tzinfo=UTC)
SAME = {
    "app": "estate",
    "rule": "vacant_unit",
    "family": "unit",
    "entity": "estate.unit",
    "body": "",
    "title_en": "",
    "body_en": "",
    "severity": "yellow",
    "status": "open",
    "opened_at": NOW,
    "def_version": 1,
}
COLUMNS = ["record_id", "org_id", "title"]


def test_rows_a_unique_index_refuses_are_left_out(database: sa.Engine) -> None:
    with write_transaction(database) as conn:
        first = insert_many(
            conn,
            alerts,
            COLUMNS,
            [(1, 10, "房屋 A-1 空置"), (2, None, "房屋 A-2 空置")],
            SAME,
            skip_conflicts=True,
            returning=["id", "record_id"],
        )
        again = insert_many(
            conn,
            alerts,
            COLUMNS,
            [(2, None, "又一次"), (3, 10, "房屋 A-3 空置")],
            SAME,
            skip_conflicts=True,
            returning=["id", "record_id"],
        )
    assert [record for _, record in first] == [1, 2]
    assert [record for _, record in again] == [3]
    assert first[0][0] < first[1][0] < again[0][0]
    with database.connect() as conn:
        query = sa.select(alerts.c.record_id, alerts.c.org_id, alerts.c.title, alerts.c.opened_at)
        stored = conn.execute(query.order_by(alerts.c.record_id)).all()
    assert [tuple(row) for row in stored] == [
        (1, 10, "房屋 A-1 空置", NOW),
        (2, None, "房屋 A-2 空置", NOW),
        (3, 10, "房屋 A-3 空置", NOW),
    ]


def test_a_list_of_ids_matches_with_one_parameter(database: sa.Engine) -> None:
    rows = [(n, None, f"#{n}") for n in range(1, 2001)]
    with write_transaction(database) as conn:
        inserted = insert_many(conn, alerts, COLUMNS, rows, SAME, returning=["id"])
        wanted = [row[0] for row in inserted[::500]]
        query = sa.select(alerts.c.title).where(alerts.c.id.in_(id_list(conn, wanted)))
        assert sorted(conn.execute(query).scalars()) == ["#1", "#1001", "#1501", "#501"]
        assert insert_many(conn, alerts, COLUMNS, [], SAME, returning=["id"]) == []

"""Transactions that read and then write while other writers commit (SQLite's weak spot)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from engine.database import is_sqlite, read_mostly, write_transaction

metadata = sa.MetaData()
counts = sa.Table(
    "test_counts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("n", sa.Integer, nullable=False),
)


@pytest.fixture
def table(database: sa.Engine) -> sa.Table:
    metadata.create_all(database)
    return counts


def _others_commit(engine: sa.Engine, n: int) -> None:
    with write_transaction(engine) as other:
        other.execute(counts.insert().values(n=n))


def test_a_plain_read_then_write_fails_on_sqlite_when_another_writer_went_first(
    database: sa.Engine, table: sa.Table
) -> None:
    if not is_sqlite(database):
        pytest.skip("PostgreSQL lets the write wait for its row locks instead")
    with pytest.raises(sa.exc.OperationalError, match="database is locked"):  # noqa: SIM117
        with database.begin() as conn:
            conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()
            _others_commit(database, 1)
            conn.execute(table.insert().values(n=2))


def test_read_mostly_runs_the_work_again_holding_the_lock_and_loses_nothing(
    database: sa.Engine, table: sa.Table
) -> None:
    calls: list[int] = []

    def work(conn: sa.Connection) -> int:
        seen = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
        calls.append(seen)
        if len(calls) == 1:
            _others_commit(database, 1)  # between this work's read and its write
        conn.execute(table.insert().values(n=seen + 10))
        return seen

    result = read_mostly(database, work)

    with database.connect() as conn:
        stored = sorted(conn.execute(sa.select(table.c.n)).scalars())
    if is_sqlite(database):
        assert calls == [0, 1]  # the first try saw a stale count, so it was rolled back
        assert (result, stored) == (1, [1, 11])
    else:
        assert calls == [0]
        assert (result, stored) == (0, [1, 10])


def test_read_mostly_passes_other_errors_through_untouched(
    database: sa.Engine, table: sa.Table
) -> None:
    def work(conn: sa.Connection) -> None:
        conn.execute(sa.text("SELECT no_such_column FROM test_counts"))

    with pytest.raises(sa.exc.OperationalError if is_sqlite(database) else sa.exc.DBAPIError):
        read_mostly(database, work)

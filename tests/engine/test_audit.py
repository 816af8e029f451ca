"""The audit chain: appends verify, and every kind of tampering is found and named."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import ValidationError

from engine.audit import AuditEvent, append, read_head
from engine.audit.chain import GENESIS, digest, entry_hash
from engine.audit.retention import purge_expired
from engine.audit.search import AuditFilters, parse_audit_query, search_audit
from engine.audit.trail import audit_table, head_table
from engine.audit.verify import Verification, verify_chain
from engine.errors import ValidationFailed
from engine.runtime import Runtime
from engine.settings import Settings


def write(engine: sa.Engine, count: int, algorithm: str = "sha256", **fields: Any) -> None:
    """`count` entries, each in a transaction of its own like real changes."""
    for n in range(count):
        event = AuditEvent(**{"action": "record.update", "actor": f"user{n}", **fields})
        with engine.begin() as conn:
            append(conn, event, algorithm)


def verify(
    engine: sa.Engine, anchors: list[tuple[int, str]] | None = None, batch_size: int = 2
) -> Verification:
    """Small batches, so every test also crosses batch boundaries."""
    with engine.connect() as conn:
        return verify_chain(conn, anchors or [], batch_size=batch_size)


def found(engine: sa.Engine, anchors: list[tuple[int, str]] | None = None) -> list[tuple[int, str]]:
    return [(p.seq, p.kind) for p in verify(engine, anchors).problems]


def drop_trigger(conn: sa.Connection) -> None:
    """What an attacker with database rights does first."""
    if conn.dialect.name == "sqlite":
        conn.execute(sa.text("DROP TRIGGER anju_audit_no_update"))
    else:
        conn.execute(sa.text("DROP TRIGGER anju_audit_no_update ON anju_audit"))


def tamper(engine: sa.Engine, *statements: str) -> None:
    with engine.begin() as conn:
        drop_trigger(conn)
        for statement in statements:
            conn.execute(sa.text(statement))


def entry(engine: sa.Engine, seq: int) -> dict[str, Any]:
    with engine.connect() as conn:
        query = audit_table.select().where(audit_table.c.seq == seq)
        return dict(conn.execute(query).mappings().one())


@pytest.mark.parametrize("algorithms", [["sha256"], ["sm3"], ["sha256", "sm3"]])
def test_a_chain_verifies_with_each_hash(database: sa.Engine, algorithms: list[str]) -> None:
    for algorithm in algorithms:
        write(database, 3, algorithm, detail={"changes": {"rent": [1000, 1200]}})
    result = verify(database)
    assert result.ok and result.checked == 3 * len(algorithms)
    assert (result.head.seq, result.head.hash) == (
        result.checked,
        entry(database, result.checked)["hash"],
    )
    assert [entry(database, n)["algorithm"] for n in (1, result.checked)] == [
        algorithms[0],
        algorithms[-1],
    ]


@pytest.mark.parametrize(
    ("algorithm", "expected"),
    [  # the standards' test vectors for "abc"
        ("sha256", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("sm3", "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"),
    ],
)
def test_digests_follow_the_standards(algorithm: str, expected: str) -> None:
    assert digest(algorithm, b"abc") == expected


def test_an_empty_chain_verifies(database: sa.Engine) -> None:
    result = verify(database)
    assert result.ok and result.checked == 0 and result.head.hash == GENESIS


def test_the_database_refuses_to_update_an_entry(database: sa.Engine) -> None:
    write(database, 2)
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), database.begin() as conn:
        conn.execute(sa.text("UPDATE anju_audit SET actor = 'mallory' WHERE seq = 1"))
    assert verify(database).ok


@pytest.mark.parametrize(
    "change",
    [
        "actor = 'mallory'",
        'detail = \'{"changes":{"rent":[1000,1]}}\'',
        "outcome = 'denied'",
        "address = '10.0.0.66'",
        "record_id = '99'",
        "hash = '" + "f" * 64 + "'",
    ],
)
def test_an_edited_entry_is_named(database: sa.Engine, change: str) -> None:
    write(database, 5)
    tamper(database, f"UPDATE anju_audit SET {change} WHERE seq = 3")
    assert found(database) == [(3, "edited")]
    assert verify(database).problems[0].line() == (
        "entry 3: edited — its content no longer matches its hash"
    )


def test_an_entry_rewritten_with_a_fresh_hash_breaks_the_next_link(database: sa.Engine) -> None:
    write(database, 5)
    forged = {**entry(database, 3), "actor": "mallory"}
    tamper(
        database,
        f"UPDATE anju_audit SET actor = 'mallory', hash = '{entry_hash(forged)}' WHERE seq = 3",
    )
    [problem] = verify(database).problems
    assert (problem.seq, problem.kind) == (4, "broken link")
    assert "entry 3 was rewritten" in problem.message


@pytest.mark.parametrize(
    ("deleted", "expected"),
    [
        ([3], [(3, "deleted", "entry 3 is missing from the chain")]),
        ([2, 3, 4], [(2, "deleted", "entries 2–4 are missing from the chain")]),
        ([1], [(1, "deleted", "entry 1 is missing from the chain")]),
    ],
)
def test_a_deleted_entry_is_named(
    database: sa.Engine, deleted: list[int], expected: list[tuple[int, str, str]]
) -> None:
    write(database, 6)
    with database.begin() as conn:  # deletes are allowed, for retention
        conn.execute(audit_table.delete().where(audit_table.c.seq.in_(deleted)))
    assert [(p.seq, p.kind, p.message) for p in verify(database).problems] == expected


def test_deleting_the_newest_entry_leaves_the_head_behind(database: sa.Engine) -> None:
    write(database, 4)
    with database.begin() as conn:
        conn.execute(audit_table.delete().where(audit_table.c.seq == 4))
    [problem] = verify(database).problems
    assert (problem.seq, problem.kind) == (4, "head mismatch")
    assert "entry 4 was removed from the end" in problem.message


def test_swapped_seq_numbers_are_named_as_reordered(database: sa.Engine) -> None:
    write(database, 6)
    tamper(
        database,
        "UPDATE anju_audit SET seq = -1 WHERE seq = 3",
        "UPDATE anju_audit SET seq = 3 WHERE seq = 4",
        "UPDATE anju_audit SET seq = 4 WHERE seq = -1",
    )
    result = verify(database)
    assert [(p.seq, p.kind) for p in result.problems] == [(3, "reordered"), (4, "reordered")]
    assert "written as 4" in result.problems[0].message


def test_swapped_contents_are_named_as_reordered(database: sa.Engine) -> None:
    write(database, 6)
    third, fifth = entry(database, 3), entry(database, 5)
    with database.begin() as conn:
        drop_trigger(conn)
        for seq, content in ((3, fifth), (5, third)):
            values = {c: v for c, v in content.items() if c != "seq"}
            conn.execute(audit_table.update().where(audit_table.c.seq == seq).values(**values))
    assert found(database) == [(3, "reordered"), (5, "reordered")]


def test_anchors_catch_a_truncated_end_the_chain_cannot_see(database: sa.Engine) -> None:
    write(database, 5)
    anchored = (5, entry(database, 5)["hash"])
    assert verify(database, [anchored, (2, entry(database, 2)["hash"])]).ok
    rewound = entry(database, 3)["hash"]
    with database.begin() as conn:  # remove the newest entries and rewind the head to match
        conn.execute(audit_table.delete().where(audit_table.c.seq > 3))
        conn.execute(head_table.update().values(seq=3, hash=rewound))
    assert verify(database).ok
    assert found(database, [anchored]) == [(5, "anchor mismatch")]


def test_an_anchor_with_another_hash_is_a_mismatch(database: sa.Engine) -> None:
    write(database, 3)
    [problem] = verify(database, [(2, "a" * 64)]).problems
    assert (problem.seq, problem.kind) == (2, "anchor mismatch")
    assert "rewritten" in problem.message


def test_concurrent_appends_make_one_gap_free_chain(database: sa.Engine) -> None:
    errors: list[Exception] = []

    def worker(n: int) -> None:
        try:
            write(database, 15, actor_org_id=n)
        except Exception as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    result = verify(database, batch_size=50)
    assert result.ok and result.checked == 120 and result.head.seq == 120


def test_purge_keeps_the_rest_provable(database: sa.Engine) -> None:
    write(database, 4)
    third = entry(database, 3)
    at = third["at"] if third["at"].tzinfo else third["at"].replace(tzinfo=UTC)
    assert entry(database, 2)["at"] < third["at"]
    result = purge_expired(database, 180, now=at + timedelta(days=180))
    assert (result.purged, result.first_seq, result.last_seq) == (2, 1, 2)
    check = verify(database)
    assert check.ok and check.checked == 3  # entries 3 and 4, and the purge itself
    assert (check.head.base_seq, check.head.base_hash) == (2, entry(database, 3)["prev_hash"])
    purge = entry(database, 5)
    assert purge["action"] == "audit.purge" and '"to_seq":2' in purge["detail"]
    write(database, 2)
    later = purge_expired(database, 400, now=datetime.now(UTC) + timedelta(days=401))
    assert (later.purged, later.first_seq, later.last_seq) == (5, 3, 7)
    assert verify(database).ok and verify(database).checked == 1


def test_purge_with_nothing_expired_changes_nothing(database: sa.Engine) -> None:
    write(database, 2)
    assert purge_expired(database, 180).purged == 0
    with database.connect() as conn:
        assert read_head(conn).seq == 2


def test_purge_refuses_a_range_that_does_not_verify(database: sa.Engine) -> None:
    write(database, 3)
    tamper(database, "UPDATE anju_audit SET actor = 'mallory' WHERE seq = 2")
    result = purge_expired(database, 180, now=datetime.now(UTC) + timedelta(days=365))
    assert result.purged == 0 and result.refused is not None
    assert found(database) == [(2, "edited")]


def test_a_checkpoint_moved_without_a_purge_entry_is_named(database: sa.Engine) -> None:
    write(database, 4)
    second = entry(database, 2)["hash"]
    with database.begin() as conn:  # purge by hand, without recording it
        conn.execute(audit_table.delete().where(audit_table.c.seq <= 2))
        conn.execute(head_table.update().values(base_seq=2, base_hash=second))
    assert found(database) == [(2, "checkpoint mismatch")]


@pytest.mark.parametrize("days", [0, 30, 179])
def test_retention_below_180_days_is_refused(database: sa.Engine, days: int) -> None:
    with pytest.raises(ValueError, match="at least 180 days"):
        purge_expired(database, days)
    with pytest.raises(ValidationError, match="at least 180 days"):
        Settings(audit_retention_days=days)


def test_search_filters_and_pages_newest_first(database: sa.Engine) -> None:
    write(database, 3, action="auth.login", actor="alice", address="10.0.0.1")
    write(database, 1, action="auth.login_failed", actor="bob", outcome="failed")
    write(
        database,
        2,
        action="record.update",
        actor="alice",
        target="estate.unit",
        record_id=7,
        detail={"changes": {"rent": [1000, 1200]}},
    )

    def seqs(**filters: object) -> list[int]:
        with database.connect() as conn:
            page = search_audit(conn, AuditFilters(**filters), limit=50)  # type: ignore[arg-type]
        return [item["seq"] for item in page.items]

    assert seqs() == [6, 5, 4, 3, 2, 1]
    assert seqs(actor="alice") == [6, 5, 3, 2, 1]
    assert seqs(action="auth.") == [4, 3, 2, 1]
    assert seqs(action="auth.login") == [3, 2, 1]
    assert seqs(outcome="failed") == [4]
    assert seqs(address="10.0.0.1") == [3, 2, 1]
    assert seqs(target="estate.unit", record_id="7") == [6, 5]
    assert seqs(since=datetime.now(UTC) + timedelta(minutes=1)) == []
    assert seqs(until=datetime.now(UTC) + timedelta(minutes=1)) == [6, 5, 4, 3, 2, 1]
    with database.connect() as conn:
        first = search_audit(conn, AuditFilters(actor="alice"), limit=2)
        second = search_audit(conn, AuditFilters(actor="alice"), 2, first.next_cursor)
        last = search_audit(conn, AuditFilters(actor="alice"), 2, second.next_cursor)
    assert [[i["seq"] for i in p.items] for p in (first, second, last)] == [[6, 5], [3, 2], [1]]
    assert last.next_cursor is None
    assert first.items[0]["detail"] == {"changes": {"rent": [1000, 1200]}}
    assert first.items[0]["at"].tzinfo is not None


def test_search_query_parameters_are_checked() -> None:
    query = parse_audit_query(
        [("actor", "alice"), ("from", "2026-03-01"), ("to", "2026-03-31"), ("limit", "10")],
        timezone="Asia/Shanghai",
    )
    assert query.filters.actor == "alice" and query.limit == 10
    assert query.filters.since == datetime(2026, 2, 28, 16, tzinfo=UTC)
    assert query.filters.until == datetime(2026, 3, 31, 16, tzinfo=UTC)  # the whole 31st
    with pytest.raises(ValidationFailed) as error:
        parse_audit_query([("limit", "0"), ("from", "yesterday"), ("actr", "x"), ("cursor", "a")])
    assert [d["path"] for d in error.value.details] == ["limit", "from", "actr", "cursor"]


def test_publishing_is_audited_with_the_changes(settings: Settings) -> None:
    runtime = Runtime.create(settings)
    try:
        runtime.start()
        with runtime.engine.connect() as conn:
            page = search_audit(conn, AuditFilters(action="definitions.publish"))
            assert verify_chain(conn).ok
    finally:
        runtime.dispose()
    [published] = page.items
    assert (published["actor"], published["target"], published["record_id"]) == (
        "system",
        "definitions",
        "1",
    )
    assert published["detail"]["message"] == "Imported apps_config"
    assert {"app": "estate", "kind": "entity", "name": "unit", "change": "added"} in published[
        "detail"
    ]["changes"]

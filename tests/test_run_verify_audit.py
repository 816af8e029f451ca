"""`run.py verify-audit`: an auditor's proof that the trail is intact, or which entry is not."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

import run
from engine.audit import AuditEvent, append, read_head
from engine.runtime import Runtime
from engine.settings import Settings


@pytest.fixture
def audited(runtime: Runtime, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> sa.Engine:
    """A started platform (its start writes the first entries) with three logins, and the
    command line pointed at the same database through `ANJU_*` variables."""
    monkeypatch.setenv("ANJU_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("ANJU_APPS_CONFIG", str(settings.apps_config))
    if settings.database_url:
        monkeypatch.setenv("ANJU_DATABASE_URL", settings.database_url)
    for actor in ("alice", "bob", "carol"):
        with runtime.engine.begin() as conn:
            append(conn, AuditEvent("auth.login", actor, f"user:{actor}"))
    return runtime.engine


def head_line(engine: sa.Engine) -> str:
    with engine.connect() as conn:
        head = read_head(conn)
    return f"head: seq={head.seq} hash={head.hash}"


def seq_of(engine: sa.Engine, actor: str) -> int:
    with engine.connect() as conn:
        query = sa.text("SELECT seq FROM anju_audit WHERE actor = :actor")
        return int(conn.execute(query, {"actor": actor}).scalar_one())


def test_an_intact_chain_exits_0_and_prints_the_head_to_anchor(
    audited: sa.Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run.main(["verify-audit"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"checked {seq_of(audited, 'carol')} entries after checkpoint 0",
        head_line(audited),
        "audit chain intact",
    ]


def test_an_edited_entry_exits_1_naming_it(
    audited: sa.Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    with audited.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(sa.text("DROP TRIGGER anju_audit_no_update"))
        else:
            conn.execute(sa.text("DROP TRIGGER anju_audit_no_update ON anju_audit"))
        conn.execute(sa.text("UPDATE anju_audit SET actor = 'mallory' WHERE actor = 'bob'"))

    assert run.main(["verify-audit"]) == 1
    out = capsys.readouterr().out.splitlines()
    bob = seq_of(audited, "mallory")
    assert f"entry {bob}: edited — its content no longer matches its hash" in out
    assert out[-1] == "audit chain BROKEN"


def test_a_deleted_entry_exits_1_naming_it(
    audited: sa.Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    bob = seq_of(audited, "bob")
    with audited.begin() as conn:
        conn.execute(sa.text("DELETE FROM anju_audit WHERE actor = 'bob'"))

    assert run.main(["verify-audit"]) == 1
    missing = f"entry {bob}: deleted — entry {bob} is missing from the chain"
    assert missing in capsys.readouterr().out


def test_anchors_recorded_earlier_must_still_match(
    audited: sa.Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    anchor = head_line(audited).removeprefix("head: seq=").replace(" hash=", ":")
    assert run.main(["verify-audit", "--anchor", anchor, "--anchor", f"1:{'0' * 64}"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert [line.split(" — ")[0] for line in out if line.startswith("entry")] == [
        "entry 1: anchor mismatch"
    ]


def test_a_malformed_anchor_is_a_usage_error(
    audited: sa.Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        run.main(["verify-audit", "--anchor", "17"])
    assert exit_.value.code == 2
    assert "expected SEQ:HASH" in capsys.readouterr().err


def test_a_database_without_the_audit_tables_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ANJU_DATA_DIR", str(tmp_path / "var"))
    assert run.main(["verify-audit"]) == 1
    assert "run `run.py migrate`" in capsys.readouterr().err

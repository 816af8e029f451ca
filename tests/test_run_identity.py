"""`run.py create-org` and `run.py create-user`: setting up people without the API."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

import run
from engine.auth.login import Attempt, authenticate
from engine.auth.realm import Realm
from engine.runtime import Runtime
from engine.settings import Settings
from tests.databases import ADMIN_PASSWORD, FAST_ARGON2
from tests.definitions import estate, write_folder
from tests.identity import USER_PASSWORD


@pytest.fixture
def environment(
    tmp_path: Path, database_url: str | None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:
    """The `ANJU_*` variables `run.py` reads, and the settings they amount to."""
    variables = {
        "ANJU_APPS_CONFIG": str(write_folder(tmp_path / "apps_config", estate())),
        "ANJU_DATA_DIR": str(tmp_path / "var"),
        "ANJU_ADMIN_PASSWORD": ADMIN_PASSWORD,
        **{f"ANJU_{name.upper()}": str(value) for name, value in FAST_ARGON2.items()},
    }
    if database_url:
        variables["ANJU_DATABASE_URL"] = database_url
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    yield Settings()


def log_in(settings: Settings, username: str, password: str) -> str:
    runtime = Runtime.create(settings)
    try:
        realm = Realm.create(settings, runtime.engine)
        return authenticate(realm, Attempt(username, password)).username
    finally:
        runtime.dispose()


def test_create_org_and_user_with_a_password_from_stdin(
    environment: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run.main(["create-org", "310000", "上海市", "--kind", "city"]) == 0
    assert (
        run.main(["create-org", "310101", "黄浦区", "--kind", "district", "--parent", "310000"])
        == 0
    )
    monkeypatch.setattr("sys.stdin", io.StringIO(USER_PASSWORD + "\n"))

    code = run.main(
        ["create-user", "zhang", "--role", "manager", "--role", "auditor", "--org", "310101",
         "--display-name", "张三", "--password-stdin"]
    )  # fmt: skip

    assert code == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "created organisation 310000 上海市 (id 1, path /1/)"
    assert lines[1] == "created organisation 310101 黄浦区 (id 2, path /1/2/)"
    assert lines[2] == "created user zhang (id 2), roles: auditor, manager"
    assert log_in(environment, "zhang", USER_PASSWORD) == "zhang"


def test_without_stdin_the_password_is_asked_twice(
    environment: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = iter([USER_PASSWORD, "Something-Else-1"])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))

    assert run.main(["create-user", "li"]) == 1
    assert "the two passwords differ" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["create-user", "wu", "--role", "wizard", "--password-stdin"], "roles[0].role"),
        (["create-user", "wu", "--org", "999", "--password-stdin"], "--org: unknown code"),
        (["create-org", "X", "x", "--kind", "planet"], "kind:"),
    ],
)
def test_mistakes_are_named(
    environment: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    arguments: list[str],
    message: str,
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(USER_PASSWORD + "\n"))

    assert run.main(arguments) == 1
    assert message in capsys.readouterr().err


def test_a_weak_password_lists_the_policy_rules(
    environment: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))

    assert run.main(["create-user", "wu", "--password-stdin"]) == 1
    err = capsys.readouterr().err
    assert "password: must be at least 8 characters long" in err

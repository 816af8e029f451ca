"""The first administrator, created on a new database with the configured or a generated
password."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from engine.auth.bootstrap import ensure_admin, generate_password
from engine.auth.login import Attempt, authenticate
from engine.auth.policies import POLICIES
from engine.auth.realm import Realm
from engine.auth.tables import user_role_table, user_table
from engine.errors import ValidationFailed
from engine.settings import Settings
from tests.databases import ADMIN_PASSWORD


def test_the_runtime_creates_admin_with_the_configured_password(realm: Realm) -> None:
    user = authenticate(realm, Attempt("admin", ADMIN_PASSWORD))

    with realm.engine.connect() as conn:
        roles = conn.execute(
            sa.select(user_role_table.c.role, user_role_table.c.org_id).where(
                user_role_table.c.user_id == user.user_id
            )
        ).all()
    assert [tuple(r) for r in roles] == [("admin", None)]


def test_admin_is_created_once(realm: Realm) -> None:
    assert ensure_admin(realm.engine, realm.settings) is None

    with realm.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(user_table)).scalar() == 1


def test_without_a_password_one_is_generated_and_printed_once(
    database: sa.Engine, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    unset = settings.model_copy(update={"admin_password": None})

    generated = ensure_admin(database, unset)
    again = ensure_admin(database, unset)

    assert generated is not None and again is None
    assert capsys.readouterr().out == f"admin password: {generated}\n"
    realm = Realm.create(unset, database)
    assert authenticate(realm, Attempt("admin", generated)).username == "admin"


def test_a_configured_password_must_meet_the_policy(
    database: sa.Engine, settings: Settings
) -> None:
    weak = settings.model_copy(update={"admin_password": "admin"})

    with pytest.raises(ValidationFailed) as raised:
        ensure_admin(database, weak)

    assert {d["path"] for d in raised.value.details} == {"ANJU_ADMIN_PASSWORD"}


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_generated_passwords_meet_every_policy(policy: str) -> None:
    for _ in range(50):
        assert POLICIES[policy].unmet_rules(generate_password(), "admin") == []

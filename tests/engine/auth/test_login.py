"""Logging in: lockout and unlock, expired passwords, rehashing, history and audit."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from engine.audit.trail import audit_table
from engine.auth.errors import AccountLocked, BadCredentials, PasswordExpired
from engine.auth.history import LoginFilter, list_logins
from engine.auth.login import Attempt, authenticate, change_password
from engine.auth.passwords import hasher_for
from engine.auth.realm import Realm
from engine.auth.tables import utcnow
from engine.auth.users import reset_password, unlock_user
from engine.errors import ValidationFailed
from engine.principal import SYSTEM
from tests.engine.auth.conftest import add_user, set_user, user_row
from tests.identity import USER_PASSWORD

WRONG = "Wrong-Pass-0000"


def attempt(password: str = USER_PASSWORD, username: str = "alice", **extra: Any) -> Attempt:
    return Attempt(username, password, address="10.0.0.7", user_agent="pytest", **extra)


def outcomes(realm: Realm, username: str = "alice") -> list[str]:
    with realm.engine.connect() as conn:
        rows = list_logins(conn, LoginFilter(username=username))
    return [row["outcome"] for row in reversed(rows)]


def audited(realm: Realm, prefix: str = "auth.") -> list[tuple[str, str, dict[str, Any]]]:
    query = sa.select(audit_table).where(audit_table.c.action.startswith(prefix))
    with realm.engine.connect() as conn:
        rows = conn.execute(query.order_by(audit_table.c.seq)).mappings().all()
    return [(r["action"], r["outcome"], orjson.loads(r["detail"])) for r in rows]


def fail(realm: Realm, times: int, password: str = WRONG) -> list[type[Exception]]:
    raised = []
    for _ in range(times):
        with pytest.raises((BadCredentials, AccountLocked)) as info:
            authenticate(realm, attempt(password))
        raised.append(type(info.value))
    return raised


def test_the_right_password_logs_in_and_is_recorded(realm: Realm) -> None:
    user_id = add_user(realm)

    user = authenticate(realm, attempt())

    assert (user.user_id, user.username) == (user_id, "alice")
    assert user_row(realm, user_id)["last_login_at"] is not None
    assert outcomes(realm) == ["ok"]
    assert audited(realm) == [("auth.login", "ok", {"method": "token"})]


@pytest.mark.parametrize(
    ("username", "password", "outcome"),
    [("alice", WRONG, "bad_password"), ("nobody", USER_PASSWORD, "unknown_user")],
)
def test_wrong_credentials_get_one_message(
    realm: Realm, username: str, password: str, outcome: str
) -> None:
    add_user(realm)

    with pytest.raises(BadCredentials) as raised:
        authenticate(realm, attempt(password, username))

    assert raised.value.status == 401
    assert raised.value.message == "wrong username or password"
    assert outcomes(realm, username) == [outcome]
    assert audited(realm) == [
        ("auth.login_failed", "failed", {"method": "token", "reason": outcome})
    ]


def test_five_failures_lock_the_account_even_against_the_right_password(realm: Realm) -> None:
    user_id = add_user(realm)

    assert fail(realm, 5) == [BadCredentials] * 4 + [AccountLocked]
    with pytest.raises(AccountLocked) as raised:
        authenticate(realm, attempt())

    assert raised.value.status == 403 and raised.value.code == "account_locked"
    assert outcomes(realm) == ["bad_password"] * 5 + ["locked"]
    locked = [a for a in audited(realm) if a[0] == "auth.locked"]
    assert len(locked) == 1 and locked[0][1] == "denied"
    assert audited(realm)[-1] == (
        "auth.login_failed",
        "denied",
        {"method": "token", "reason": "locked"},
    )
    assert user_row(realm, user_id)["locked_until"] is not None


def test_a_success_resets_the_count_of_failures(realm: Realm) -> None:
    add_user(realm)
    fail(realm, 4)
    authenticate(realm, attempt())

    assert fail(realm, 4) == [BadCredentials] * 4
    authenticate(realm, attempt())


def test_the_lock_ends_after_lockout_minutes(realm: Realm) -> None:
    user_id = add_user(realm)
    fail(realm, 5)
    later = utcnow() + timedelta(minutes=realm.settings.lockout_minutes, seconds=1)

    assert authenticate(realm, attempt(), now=later).user_id == user_id


def test_an_administrator_unlocks(realm: Realm) -> None:
    user_id = add_user(realm)
    fail(realm, 5)

    unlocked = unlock_user(realm, user_id, SYSTEM)

    assert unlocked["locked"] is False and unlocked["failed_logins"] == 0
    assert authenticate(realm, attempt()).user_id == user_id
    assert [a[0] for a in audited(realm, "user.unlock")] == ["user.unlock"]


def test_a_disabled_account_is_refused_like_a_wrong_password(realm: Realm) -> None:
    user_id = add_user(realm)
    set_user(realm, user_id, active=False)

    with pytest.raises(BadCredentials):
        authenticate(realm, attempt())

    assert outcomes(realm) == ["disabled"]


def test_an_mlps3_password_expires_after_90_days(realm: Realm) -> None:
    user_id = add_user(realm)
    changed_at = user_row(realm, user_id)["password_changed_at"]
    day_89 = utcnow() + timedelta(days=89)

    assert authenticate(realm, attempt(), now=day_89).user_id == user_id
    with pytest.raises(PasswordExpired) as raised:
        authenticate(realm, attempt(), now=utcnow() + timedelta(days=90, seconds=1))

    assert raised.value.status == 403 and raised.value.code == "password_expired"
    assert outcomes(realm) == ["ok", "password_expired"]
    assert user_row(realm, user_id)["password_changed_at"] == changed_at


def test_asvs_passwords_never_expire(runtime: Any) -> None:
    settings = runtime.settings.model_copy(update={"password_policy": "asvs"})
    realm = Realm.create(settings, runtime.engine)
    add_user(realm, password="a long enough passphrase")

    later = utcnow() + timedelta(days=3650)
    assert authenticate(realm, attempt("a long enough passphrase"), now=later)


def test_an_expired_password_is_changed_with_the_current_one(realm: Realm) -> None:
    user_id = add_user(realm)
    set_user(realm, user_id, password_changed_at=utcnow() - timedelta(days=100))

    change_password(realm, attempt(method="password"), "Tenant-Pass-2027")

    assert authenticate(realm, attempt("Tenant-Pass-2027")).user_id == user_id
    with pytest.raises(BadCredentials):
        authenticate(realm, attempt())
    assert outcomes(realm) == ["ok", "ok", "bad_password"]
    assert ("auth.password_change", "ok", {"method": "password"}) in audited(realm)


def test_changing_needs_the_current_password_and_counts_failures(realm: Realm) -> None:
    add_user(realm)

    for _ in range(4):
        with pytest.raises(BadCredentials):
            change_password(realm, attempt(WRONG, method="password"), "Tenant-Pass-2027")
    with pytest.raises(AccountLocked):
        change_password(realm, attempt(WRONG, method="password"), "Tenant-Pass-2027")


def test_the_new_password_meets_the_policy_and_history(realm: Realm) -> None:
    add_user(realm)

    with pytest.raises(ValidationFailed) as raised:
        change_password(realm, attempt(method="password"), USER_PASSWORD)
    assert [(d["path"], d["rule"]) for d in raised.value.details] == [("new_password", "history")]

    with pytest.raises(ValidationFailed) as raised:
        change_password(realm, attempt(method="password"), "short")
    assert "min_length" in [d["rule"] for d in raised.value.details]


def test_a_reset_password_must_be_changed_before_use(realm: Realm) -> None:
    user_id = add_user(realm)
    fail(realm, 5)

    reset_password(realm, user_id, "Temporary-Pass-1", SYSTEM)

    with pytest.raises(PasswordExpired):
        authenticate(realm, attempt("Temporary-Pass-1"))
    change_password(realm, attempt("Temporary-Pass-1", method="password"), "Tenant-Pass-2027")
    assert authenticate(realm, attempt("Tenant-Pass-2027")).user_id == user_id
    reset = audited(realm, "user.password_reset")
    assert reset == [("user.password_reset", "ok", {"username": "alice"})]


def test_a_hash_with_old_parameters_is_replaced_at_login(realm: Realm, runtime: Any) -> None:
    user_id = add_user(realm)
    old_hash = user_row(realm, user_id)["password_hash"]
    stronger = runtime.settings.model_copy(update={"argon2_time_cost": 2})
    upgraded = Realm.create(stronger, runtime.engine)

    authenticate(upgraded, attempt())

    new_hash = user_row(realm, user_id)["password_hash"]
    assert new_hash != old_hash and "t=1," in old_hash and "t=2," in new_hash
    assert not hasher_for(stronger).check_needs_rehash(new_hash)
    assert authenticate(realm, attempt()).user_id == user_id  # the old realm still verifies


def test_audit_details_never_hold_a_password_or_hash(realm: Realm) -> None:
    user_id = add_user(realm)
    stored = user_row(realm, user_id)["password_hash"]
    fail(realm, 1)
    change_password(realm, attempt(method="password"), "Tenant-Pass-2027")

    with realm.engine.connect() as conn:
        details = " ".join(conn.execute(sa.select(audit_table.c.detail)).scalars())
    for secret in (USER_PASSWORD, WRONG, "Tenant-Pass-2027", stored, "$argon2"):
        assert secret not in details

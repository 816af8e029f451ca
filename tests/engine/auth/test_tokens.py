"""Access tokens: signed, short-lived, and refused after logout, password or role changes."""

from __future__ import annotations

from datetime import timedelta

import jwt
import sqlalchemy as sa

from engine.auth.keys import SigningKeys, load_keys
from engine.auth.login import Attempt, change_password
from engine.auth.realm import Realm
from engine.auth.roles import RoleGrant, known_roles, set_roles
from engine.auth.tables import revoked_token_table, utcnow
from engine.auth.tokens import issue_token, principal_for_token, read_token, revoke_token
from engine.principal import SYSTEM, Principal
from tests.engine.auth.conftest import add_user, set_user
from tests.identity import USER_PASSWORD


def principal(realm: Realm, token: str) -> Principal | None:
    claims = read_token(realm.keys(), token)
    if claims is None:
        return None
    with realm.engine.connect() as conn:
        return principal_for_token(conn, claims, "10.0.0.7")


def token(realm: Realm, user_id: int, minutes: int = 15) -> str:
    return issue_token(realm.keys(), user_id, "alice", minutes).token


def test_a_token_names_its_user_roles_and_address(realm: Realm) -> None:
    user_id = add_user(realm, "alice", "manager", "auditor")

    found = principal(realm, token(realm, user_id))

    assert found is not None
    assert (found.user_id, found.username, found.address) == (user_id, "alice", "10.0.0.7")
    assert found.roles == ("auditor", "manager")


def test_a_token_carries_the_documented_claims(realm: Realm) -> None:
    issued = issue_token(realm.keys(), 7, "alice", 15)

    claims = jwt.decode(issued.token, realm.keys().token, algorithms=["HS256"])

    assert set(claims) == {"sub", "username", "jti", "iat", "exp"}
    assert claims["sub"] == "7" and claims["jti"] == issued.jti
    assert issued.as_json() == {
        "access_token": issued.token,
        "token_type": "bearer",
        "expires_in": 900,
    }


def test_expired_forged_and_foreign_tokens_are_refused(realm: Realm) -> None:
    user_id = add_user(realm)
    expired = issue_token(realm.keys(), user_id, "alice", 15, now=utcnow() - timedelta(hours=1))
    foreign = issue_token(SigningKeys.from_secret("another app"), user_id, "alice", 15)
    good = token(realm, user_id)
    forged = good[:-2] + ("AA" if not good.endswith("AA") else "BB")
    unsigned = jwt.encode({"sub": str(user_id)}, "", algorithm="none")

    for bad in (expired.token, foreign.token, forged, unsigned, "not a token"):
        assert principal(realm, bad) is None
    assert principal(realm, good) is not None


def test_logout_revokes_only_that_token(realm: Realm) -> None:
    user_id = add_user(realm)
    first, second = token(realm, user_id), token(realm, user_id)

    claims = read_token(realm.keys(), first)
    assert claims is not None
    with realm.engine.begin() as conn:
        revoke_token(conn, claims)
        revoke_token(conn, claims)  # twice is harmless

    assert principal(realm, first) is None
    assert principal(realm, second) is not None


def test_revocations_past_their_expiry_are_purged(realm: Realm) -> None:
    user_id = add_user(realm)
    old = read_token(realm.keys(), token(realm, user_id, minutes=1))
    new = read_token(realm.keys(), token(realm, user_id))
    assert old is not None and new is not None
    with realm.engine.begin() as conn:
        revoke_token(conn, old)
        revoke_token(conn, new, now=utcnow() + timedelta(minutes=2))
        kept = conn.execute(sa.select(revoked_token_table.c.jti)).scalars().all()

    assert kept == [new.jti]


def test_a_password_change_revokes_every_earlier_token(realm: Realm) -> None:
    user_id = add_user(realm)
    before = token(realm, user_id)

    change_password(realm, Attempt("alice", USER_PASSWORD, method="password"), "Tenant-Pass-2027")
    after = token(realm, user_id)

    assert principal(realm, before) is None
    assert principal(realm, after) is not None


def test_a_role_change_revokes_earlier_tokens(realm: Realm) -> None:
    user_id = add_user(realm, "alice", "manager")
    before = token(realm, user_id)

    set_roles(realm, user_id, [RoleGrant(role="auditor")], known_roles(None), SYSTEM)

    assert principal(realm, before) is None
    found = principal(realm, token(realm, user_id))
    assert found is not None and found.roles == ("auditor",)


def test_a_deactivated_user_has_no_principal(realm: Realm) -> None:
    user_id = add_user(realm)
    issued = token(realm, user_id)

    set_user(realm, user_id, active=False)

    assert principal(realm, issued) is None


def test_the_generated_key_is_shared_by_every_realm_on_the_database(realm: Realm) -> None:
    other = Realm.create(realm.settings, realm.engine)

    assert other.keys() == realm.keys()
    assert load_keys(realm.engine, realm.settings.model_copy(update={"secret_key": "set"})) != (
        realm.keys()
    )

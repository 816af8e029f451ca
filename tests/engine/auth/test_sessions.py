"""Browser sessions: signed cookies, idle and absolute limits, and ending them."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from engine.auth.realm import Realm
from engine.auth.sessions import (
    ActiveSession,
    NewSession,
    end_session,
    end_sessions_of,
    find_session,
    open_session,
    touch_session,
)
from engine.auth.tables import as_utc, session_table, utcnow
from tests.engine.auth.conftest import add_user, set_user


def opened(realm: Realm, user_id: int, now: datetime | None = None) -> NewSession:
    with realm.engine.begin() as conn:
        return open_session(conn, realm.keys(), realm.settings, user_id, "10.0.0.7", "pytest", now)


def found(realm: Realm, cookie: str, now: datetime | None = None) -> ActiveSession | None:
    with realm.engine.connect() as conn:
        return find_session(conn, realm.keys(), realm.settings, cookie, "10.0.0.8", now)


def test_a_cookie_finds_its_session_and_user(realm: Realm) -> None:
    user_id = add_user(realm, "alice", "manager")
    session = opened(realm, user_id)

    active = found(realm, session.cookie)

    assert active is not None
    assert active.csrf_token == session.csrf_token and len(active.csrf_token) >= 32
    assert (active.principal.user_id, active.principal.roles) == (user_id, ("manager",))
    assert active.principal.address == "10.0.0.8"


def test_the_server_keeps_only_a_hash_of_the_token(realm: Realm) -> None:
    session = opened(realm, add_user(realm))
    token = session.cookie.split(".")[0]

    with realm.engine.connect() as conn:
        [stored] = conn.execute(sa.select(session_table.c.id)).scalars()

    assert stored == session.session_id and token not in stored and len(stored) == 64


def test_a_forged_or_tampered_cookie_finds_nothing(realm: Realm) -> None:
    session = opened(realm, add_user(realm))
    token, signature = session.cookie.split(".")

    for cookie in (token, f"{token}.{'0' * 64}", f"x{token}.{signature}", "", "."):
        assert found(realm, cookie) is None
    assert found(realm, session.cookie) is not None


def test_a_session_idles_out_after_30_minutes(realm: Realm) -> None:
    session = opened(realm, add_user(realm))
    start = utcnow()

    assert found(realm, session.cookie, start + timedelta(minutes=29)) is not None
    assert found(realm, session.cookie, start + timedelta(minutes=31)) is None


def test_activity_keeps_a_session_alive_until_the_absolute_limit(realm: Realm) -> None:
    start = utcnow()
    session = opened(realm, add_user(realm), start)
    for step in range(1, 36):  # every 20 minutes, up to 11 h 40
        moment = start + timedelta(minutes=20 * step)
        active = found(realm, session.cookie, moment)
        assert active is not None and active.stale
        with realm.engine.begin() as conn:
            touch_session(conn, active.session_id, moment)

    assert found(realm, session.cookie, start + timedelta(hours=12, seconds=1)) is None


def test_last_seen_is_written_at_most_once_a_minute(realm: Realm) -> None:
    start = utcnow()
    session = opened(realm, add_user(realm), start)

    fresh = found(realm, session.cookie, start + timedelta(seconds=59))
    stale = found(realm, session.cookie, start + timedelta(seconds=61))

    assert fresh is not None and not fresh.stale
    assert stale is not None and stale.stale


def test_ended_sessions_are_refused(realm: Realm) -> None:
    user_id = add_user(realm)
    first, second, third = (opened(realm, user_id) for _ in range(3))

    with realm.engine.begin() as conn:
        end_session(conn, first.session_id)
        end_sessions_of(conn, user_id, keep=third.session_id)

    assert [found(realm, s.cookie) is not None for s in (first, second, third)] == [
        False,
        False,
        True,
    ]


def test_a_deactivated_users_sessions_are_refused(realm: Realm) -> None:
    user_id = add_user(realm)
    session = opened(realm, user_id)

    set_user(realm, user_id, active=False)

    assert found(realm, session.cookie) is None


def test_opening_a_session_purges_long_ended_ones(realm: Realm) -> None:
    user_id = add_user(realm)
    opened(realm, user_id, utcnow() - timedelta(days=40))

    new = opened(realm, user_id)

    with realm.engine.connect() as conn:
        rows = conn.execute(sa.select(session_table.c.id, session_table.c.expires_at)).all()
    assert [row.id for row in rows] == [new.session_id]
    assert as_utc(rows[0].expires_at) == new.expires_at

"""Where a notification goes: a user's phone number or e-mail address, or a webhook endpoint,
and how that address shows in the send log (masked).

The outbox never stores a real phone number or e-mail address, only its mask: the real one
is read from the user when the row is sent. Personal data then lives in one place (the
user), a corrected number is used by the retries, and the send log — kept long, listed to
administrators, copied into backups — holds nothing that identifies a phone or a mailbox.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import sqlalchemy as sa

from engine.auth.tables import user_table
from engine.protection import mask_value
from engine.settings import Settings

USER_ADDRESSES = {"sms": "phone", "email": "email"}  # channel → the user's column
ADDRESS_NAMES = {"phone": "phone number", "email": "e-mail address"}
IN_CHUNK = 500  # usernames per IN (...) list


@dataclass(frozen=True)
class Contact:
    """What the notifications read of a user."""

    username: str
    active: bool
    phone: str | None
    email: str | None


def contacts(conn: sa.Connection, usernames: Collection[str]) -> dict[str, Contact]:
    """The users among `usernames`, by username; unknown names are absent."""
    names = sorted(set(usernames))
    found: dict[str, Contact] = {}
    columns = (user_table.c.username, user_table.c.active, user_table.c.phone, user_table.c.email)
    for start in range(0, len(names), IN_CHUNK):
        chunk = names[start : start + IN_CHUNK]
        query = sa.select(*columns).where(user_table.c.username.in_(chunk))
        for row in conn.execute(query):
            found[row.username] = Contact(row.username, bool(row.active), row.phone, row.email)
    return found


def resolve(
    channel: str, recipient: str, known: dict[str, Contact], settings: Settings
) -> tuple[str | None, str | None]:
    """The address of `recipient` on `channel`, or None and the reason it has none."""
    if channel == "webhook":
        if recipient in settings.webhooks:
            return recipient, None
        return None, f"no webhook endpoint {recipient!r} in ANJU_WEBHOOKS"
    contact = known.get(recipient)
    if contact is None:
        return None, f"no user {recipient!r}"
    if not contact.active:
        return None, f"user {recipient!r} is deactivated"
    column = USER_ADDRESSES.get(channel)
    if column is None:  # in_app: the username is the address
        return recipient, None
    address = getattr(contact, column)
    if not address:
        return None, f"user {recipient!r} has no {ADDRESS_NAMES[column]}"
    return str(address), None


def masked(channel: str, address: str | None) -> str | None:
    """How an address shows in the send log: `138****5678`, `z****@example.org`; in-app
    usernames and webhook endpoint names (not personal, never URLs) as they are."""
    if address is None:
        return None
    if channel == "sms":
        return mask_value(address, "3*4")
    if channel == "email":
        local, _, domain = address.rpartition("@")
        return f"{mask_value(local, '1*0')}@{domain}" if local else mask_value(address, "1*0")
    return address

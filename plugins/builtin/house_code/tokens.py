"""Public tokens: the part of a unit's public URL that cannot be guessed.

A token is the house code and a MAC of it: `430104-0012-003-02-0501-` followed by 24
characters of base32, the first 120 bits of HMAC-SHA256 of the code. The MAC's key is derived
from the instance's secret (`ANJU_SECRET_KEY`, else the one generated and kept in the
database), with its own purpose label, so it is never a key that signs sessions.

Why this design: the token needs no stored field, so units loaded in bulk (which fire no
hooks) have one at once; it is stable, so a printed label keeps working; a unit is found by
its code through the code's unique index; and walking the codes gives nothing, since each
needs its MAC. The code in the URL reveals only what the label beside the QR code shows.
Changing the secret changes every token: labels printed before must then be printed again.

    >>> key = house_key("an instance secret")
    >>> token = public_token(key, "430104-0012-003-02-0501")
    >>> code_of_token(key, token)
    '430104-0012-003-02-0501'
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

import sqlalchemy as sa

from engine.auth.keys import stored_secret
from engine.settings import Settings

PURPOSE = b"anju/house-code/public-token"
MAC_BYTES = 15  # 120 bits: 24 base32 characters, no padding
TOKEN = re.compile(r"([0-9]{6}-[0-9]{4}-[0-9]{3}-[0-9]{2}-[0-9]{4})-([a-z2-7]{24})")


def house_key(secret: str) -> bytes:
    """The MAC key of public tokens, derived from the instance's secret."""
    return hmac.new(secret.encode(), PURPOSE, hashlib.sha256).digest()


def instance_key(settings: Settings, engine: sa.Engine) -> bytes:
    """The key of this instance: from `ANJU_SECRET_KEY`, else from the stored secret (which
    is what the platform signs with when the setting is empty)."""
    return house_key(settings.secret_key or stored_secret(engine))


def _mac(key: bytes, code: str) -> str:
    digest = hmac.new(key, code.encode(), hashlib.sha256).digest()[:MAC_BYTES]
    return base64.b32encode(digest).decode().lower()


def public_token(key: bytes, code: str) -> str:
    """The public token of the unit with `code`."""
    return f"{code}-{_mac(key, code)}"


def code_of_token(key: bytes, token: str) -> str | None:
    """The code a token was made for, or None when it is malformed or its MAC is wrong."""
    found = TOKEN.fullmatch(token)
    if found is None:
        return None
    code, mac = found.groups()
    return code if hmac.compare_digest(mac, _mac(key, code)) else None

"""Keyset cursors: the last row's sort values, opaque to clients, checked against the sort."""

from __future__ import annotations

import base64
from typing import Any

import orjson

from engine.errors import BadRequest
from engine.values import to_json


def encode_cursor(sort_key: str, values: list[Any]) -> str:
    payload = orjson.dumps([sort_key, [to_json(v) for v in values]])
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def decode_cursor(cursor: str, sort_key: str) -> list[Any]:
    """The raw JSON values of a cursor made for the same sort, or a 400."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        made_for, values = orjson.loads(base64.urlsafe_b64decode(padded))
    except (ValueError, TypeError, orjson.JSONDecodeError):
        raise BadRequest(
            "malformed cursor", [{"path": "cursor", "message": "not a cursor from this API"}]
        ) from None
    if made_for != sort_key:
        message = "the cursor belongs to another sort order; start again without a cursor"
        raise BadRequest(message, [{"path": "cursor", "message": message}])
    return list(values)

"""Searching the audit trail: who did what, when, from where, with the before/after detail.

Newest first, a page at a time; the cursor is the `seq` of the last entry shown, so paging
stays stable while new entries arrive.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import sqlalchemy as sa

from engine.audit.trail import audit_table
from engine.errors import ValidationFailed, field_error

TEXT_FILTERS = ("actor", "action", "target", "record_id", "outcome", "address")
TIME_FILTERS = ("from", "to")


@dataclass(frozen=True)
class AuditFilters:
    """Every filter is optional. `action` is exact, or a prefix when it ends in `.` or `*`
    (`auth.` matches `auth.login` and `auth.login_failed`); `since` is inclusive, `until`
    exclusive."""

    actor: str | None = None
    action: str | None = None
    target: str | None = None
    record_id: str | None = None
    outcome: str | None = None
    address: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class AuditQuery:
    filters: AuditFilters = field(default_factory=AuditFilters)
    limit: int = 50
    cursor: str | None = None


@dataclass(frozen=True)
class AuditPage:
    items: list[dict[str, Any]]
    next_cursor: str | None


def search_audit(
    conn: sa.Connection, filters: AuditFilters, limit: int = 50, cursor: str | None = None
) -> AuditPage:
    """One page of entries matching `filters`, newest first, after `cursor` if given."""
    query = sa.select(audit_table).where(*_conditions(filters))
    if cursor is not None:
        try:
            query = query.where(audit_table.c.seq < _cursor_seq(cursor))
        except ValueError as exc:
            raise ValidationFailed("malformed cursor", [field_error("cursor", str(exc))]) from None
    rows = conn.execute(query.order_by(audit_table.c.seq.desc()).limit(limit + 1)).mappings()
    items = [_item(row) for row in rows]
    more = len(items) > limit
    items = items[:limit]
    return AuditPage(items, str(items[-1]["seq"]) if more else None)


def parse_audit_query(
    params: Iterable[tuple[str, str]],
    page_size: int = 50,
    max_page_size: int = 500,
    timezone: str = "UTC",
) -> AuditQuery:
    """Filters, limit and cursor from query parameters; 422 naming each bad parameter.
    Times without a zone are in `timezone`; a bare date `to=2026-03-31` includes that day."""
    errors: list[dict[str, Any]] = []
    values: dict[str, Any] = {}
    limit, cursor = page_size, None
    zone = ZoneInfo(timezone)
    for name, raw in params:
        if not raw:  # an empty form field filters nothing
            continue
        try:
            if name in TEXT_FILTERS:
                values[name] = raw
            elif name in TIME_FILTERS:
                values["since" if name == "from" else "until"] = _moment(raw, zone, name == "to")
            elif name == "limit":
                limit = _limit(raw, max_page_size)
            elif name == "cursor":
                cursor = str(_cursor_seq(raw))
            else:
                errors.append(field_error(name, "unknown parameter"))
        except ValueError as exc:
            errors.append(field_error(name, str(exc)))
    if errors:
        raise ValidationFailed("invalid query parameters", errors)
    return AuditQuery(AuditFilters(**values), limit, cursor)


def _conditions(filters: AuditFilters) -> list[sa.ColumnElement[bool]]:
    columns = audit_table.c
    conditions: list[sa.ColumnElement[bool]] = []
    for name in ("actor", "target", "record_id", "outcome", "address"):
        value = getattr(filters, name)
        if value is not None:
            conditions.append(columns[name] == value)
    if filters.action is not None:
        action = filters.action
        if action.endswith(("*", ".")):
            conditions.append(columns.action.startswith(action.rstrip("*"), autoescape=True))
        else:
            conditions.append(columns.action == action)
    # SQLite stores `at` without a zone, in UTC: bind UTC on every database.
    if filters.since is not None:
        conditions.append(columns.at >= filters.since.astimezone(UTC))
    if filters.until is not None:
        conditions.append(columns.at < filters.until.astimezone(UTC))
    return conditions


def _item(row: sa.RowMapping) -> dict[str, Any]:
    item = dict(row)
    at = item["at"]
    item["at"] = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC)
    item["detail"] = orjson.loads(item["detail"])
    return item


def _moment(raw: str, zone: ZoneInfo, end_of_day: bool) -> datetime:
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            moment = datetime(day.year, day.month, day.day)
            if end_of_day:
                moment += timedelta(days=1)
        else:
            moment = datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError("expected a date or an ISO 8601 time, e.g. 2026-03-31T08:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def _limit(raw: str, maximum: int) -> int:
    if not re.fullmatch(r"[0-9]{1,6}", raw) or not 1 <= int(raw) <= maximum:
        raise ValueError(f"expected a whole number from 1 to {maximum}")
    return int(raw)


def _cursor_seq(cursor: str) -> int:
    if not re.fullmatch(r"[0-9]{1,18}", cursor):
        raise ValueError("expected the next_cursor of a previous page")
    return int(cursor)

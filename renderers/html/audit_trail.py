"""The audit trail screen: a GET form of the filters `engine.audit.search` supports, and one
page of entries, newest first, with a cursor to the next.

The form's parameters are the JSON API's (`/api/audit?actor=…&action=record.&from=…`), so a
filtered page and the API agree on what matches; bad values come back beside their fields.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from engine.audit.search import TEXT_FILTERS, TIME_FILTERS, parse_audit_query, search_audit
from engine.errors import ValidationFailed
from engine.settings import Settings
from renderers.html.audit_versions import HASH_PREFIX, moment_text
from renderers.html.chrome import Chrome

TRAIL_URL = "/audit/trail"
FILTERS = (*TEXT_FILTERS, *TIME_FILTERS)  # every filter the engine supports, in form order
PAGING = ("limit", "cursor")
OUTCOMES = ("ok", "denied", "failed")
OUTCOME_BADGES = {"ok": "ok", "denied": "warn", "failed": "bad"}
DETAIL_LIMIT = 120  # characters of an entry's detail shown in the table before folding


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    selected: bool


@dataclass(frozen=True)
class TrailFilter:
    """One input of the filter form: `kind` is `text`, `date` or `select` (with `choices`);
    `error` is the reason its value was refused."""

    name: str
    label: str
    value: str
    kind: str = "text"
    hint: str = ""
    error: str = ""
    choices: list[Choice] = field(default_factory=list)

    @property
    def input_id(self) -> str:
        return f"filter-{self.name}"


@dataclass(frozen=True)
class TrailEntry:
    """One audit entry as a table row; `detail` is the compact JSON, `detail_full` the whole
    of it indented when the compact form was cut."""

    seq: int
    at: str
    actor: str
    actor_url: str
    address: str
    action: str
    action_url: str
    target: str
    outcome: str
    outcome_text: str
    outcome_badge: str
    detail: str
    detail_full: str
    hash: str

    @property
    def short_hash(self) -> str:
        return self.hash[:HASH_PREFIX]


@dataclass(frozen=True)
class TrailPage:
    """`GET /audit/trail`: the filters as entered, the matching entries (none when a filter
    is invalid, then `errors` says why) and the links to page on."""

    chrome: Chrome
    filters: list[TrailFilter]
    entries: list[TrailEntry]
    errors: list[str]
    next_url: str | None
    first_url: str | None

    @property
    def invalid(self) -> bool:
        return bool(self.errors) or any(f.error for f in self.filters)


def trail_page(
    conn: sa.Connection, chrome: Chrome, params: Iterable[tuple[str, str]], settings: Settings
) -> TrailPage:
    """Search with the filters in `params` (other parameters, such as `lang`, are the page's
    own and ignored); a bad value fills in `errors` or its filter's `error` instead."""
    wanted = [(k, v) for k, v in params if k in FILTERS or k in PAGING]
    values = {k: v for k, v in wanted if k in FILTERS}
    texts, zone = chrome.texts, ZoneInfo(settings.timezone)
    try:
        query = parse_audit_query(
            wanted, settings.page_size, settings.max_page_size, settings.timezone
        )
    except ValidationFailed as failed:
        problems = {d.get("path", ""): str(d.get("message", "")) for d in failed.details}
        bad_times = {name: texts["bad_date"] for name in TIME_FILTERS if name in problems}
        others = [f"{p}: {m}" for p, m in problems.items() if p not in FILTERS]
        filters = _filters(texts, values, bad_times)
        return TrailPage(chrome, filters, [], [texts["bad_filters"], *others], None, None)
    found = search_audit(conn, query.filters, query.limit, query.cursor)
    kept = [(k, v) for k, v in wanted if v and k != "cursor"]
    return TrailPage(
        chrome=chrome,
        filters=_filters(texts, values, {}),
        entries=[_entry(item, texts, zone) for item in found.items],
        errors=[],
        next_url=_url([*kept, ("cursor", found.next_cursor)]) if found.next_cursor else None,
        first_url=_url(kept) if query.cursor else None,
    )


def _filters(
    texts: dict[str, str], values: dict[str, str], errors: dict[str, str]
) -> list[TrailFilter]:
    filters = []
    for name in FILTERS:
        value = values.get(name, "")
        kind = "date" if name in TIME_FILTERS else "select" if name == "outcome" else "text"
        choices = _outcome_choices(texts, value) if kind == "select" else []
        hint = texts.get(f"filter_{name}_hint", "")
        label = texts[f"filter_{name}"]
        filters.append(TrailFilter(name, label, value, kind, hint, errors.get(name, ""), choices))
    return filters


def _outcome_choices(texts: dict[str, str], chosen: str) -> list[Choice]:
    anything = Choice("", texts["any"], not chosen)
    return [anything, *(Choice(o, texts[f"outcome_{o}"], o == chosen) for o in OUTCOMES)]


def _entry(item: dict[str, Any], texts: dict[str, str], zone: ZoneInfo) -> TrailEntry:
    detail = json.dumps(item["detail"], ensure_ascii=False, separators=(", ", ": "), default=str)
    folded = len(detail) > DETAIL_LIMIT
    target = item["target"] or ""
    if item["record_id"] is not None:
        target = f"{target} #{item['record_id']}"
    outcome = item["outcome"] or ""
    return TrailEntry(
        seq=int(item["seq"]),
        at=moment_text(item["at"], zone),
        actor=item["actor"] or "",
        actor_url=_url([("actor", item["actor"] or "")]),
        address=item["address"] or "",
        action=item["action"] or "",
        action_url=_url([("action", item["action"] or "")]),
        target=target,
        outcome=outcome,
        outcome_text=texts.get(f"outcome_{outcome}", outcome),
        outcome_badge=OUTCOME_BADGES.get(outcome, ""),
        detail=detail[: DETAIL_LIMIT - 1] + "…" if folded else detail,
        detail_full=(
            json.dumps(item["detail"], ensure_ascii=False, indent=2, default=str) if folded else ""
        ),
        hash=item["hash"] or "",
    )


def _url(params: list[tuple[str, str]]) -> str:
    return f"{TRAIL_URL}?{urlencode(params)}" if params else TRAIL_URL

"""The audit overview: the published definition versions, newest first, and the state of the
audit chain, so an auditor sees at a glance what changed and what to verify."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from engine.audit import AuditHead, read_head
from metamodel import store
from metamodel.store import VersionInfo
from renderers.html.audit_texts import text
from renderers.html.chrome import Chrome

VERSIONS_PER_PAGE = 20
HASH_PREFIX = 12


@dataclass(frozen=True)
class VersionSummary:
    """One published version as the auditor reads it; `url` opens what it changed."""

    number: int
    author: str
    created_at: str
    message: str
    hash: str
    url: str

    @property
    def short_hash(self) -> str:
        return self.hash[:HASH_PREFIX]


@dataclass(frozen=True)
class ChainState:
    """The head of the audit chain: the values to note down (anchor) and how many entries
    verification will walk (those after the retention checkpoint `base_seq`)."""

    head_seq: int
    head_hash: str
    base_seq: int
    entries: int
    purged_note: str


@dataclass(frozen=True)
class OverviewPage:
    """`GET /audit`: one page of versions and the chain's state."""

    chrome: Chrome
    versions: list[VersionSummary]
    position: str  # "page 2 of 5"
    previous_url: str | None
    next_url: str | None
    chain: ChainState


def moment_text(moment: datetime, zone: ZoneInfo) -> str:
    """A stored time in the instance's time zone, to the second: what people compare with
    their own records. Times without a zone are UTC (SQLite)."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


def version_summary(info: VersionInfo, zone: ZoneInfo) -> VersionSummary:
    return VersionSummary(
        number=info.version,
        author=info.author,
        created_at=moment_text(info.created_at, zone),
        message=info.message,
        hash=info.hash,
        url=f"/audit/versions/{info.version}",
    )


def chain_state(head: AuditHead, texts: dict[str, str]) -> ChainState:
    note = text(texts, "purged_before", n=head.base_seq) if head.base_seq else ""
    return ChainState(head.seq, head.hash, head.base_seq, head.seq - head.base_seq, note)


def overview_page(
    conn: sa.Connection,
    chrome: Chrome,
    page_number: int,
    zone: ZoneInfo,
    per_page: int = VERSIONS_PER_PAGE,
) -> OverviewPage:
    """Versions newest first, `per_page` at a time; a page past the end is simply empty."""
    newest_first = store.list_versions(conn)[::-1]
    pages = max(1, math.ceil(len(newest_first) / per_page))
    start = (page_number - 1) * per_page
    shown = newest_first[start : start + per_page]
    return OverviewPage(
        chrome=chrome,
        versions=[version_summary(info, zone) for info in shown],
        position=text(chrome.texts, "page_of", n=page_number, count=pages),
        previous_url=_page_url(page_number - 1) if 1 < page_number <= pages + 1 else None,
        next_url=_page_url(page_number + 1) if page_number < pages else None,
        chain=chain_state(read_head(conn), chrome.texts),
    )


def _page_url(number: int) -> str:
    return "/audit" if number == 1 else "/audit?" + urlencode({"page": number})
